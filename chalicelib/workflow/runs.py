"""Start an invoice run: one execution of the generate-invoices state machine.

The execution name is derived from the run's scope (period, mode, customers) and an attempt
number, so the same request while a run executes returns that run instead of starting another.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.config import get_config
from chalicelib.errors import InvalidInput
from chalicelib.store import invoices
from chalicelib.store.aws import client
from chalicelib.workflow.invoice_run import run_key

MODES = ("issue", "draft")


def start_invoice_run(
    period: str, mode: str = "issue", customer_ids: list[str] | None = None
) -> dict[str, Any]:
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {', '.join(MODES)}", field="mode")
    key = run_key(period, mode, customer_ids)
    attempt = 1
    while True:
        run_id = f"{period}-{mode}-{key}-{attempt}"
        doc = {
            "run_id": run_id,
            "period": period,
            "mode": mode,
            "customer_ids": customer_ids,
            "status": "running",
            "requested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if invoices.create_run(run_id, doc):
            break
        existing = invoices.get_run(run_id)
        if existing["status"] == "running":
            return existing
        attempt += 1
    sfn = client("stepfunctions")
    # A retried request finds the execution of this run already under way.
    with contextlib.suppress(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(
            stateMachineArn=get_config().generate_invoices_state_machine_arn,
            name=run_id,
            input=json.dumps(
                {"run_id": run_id, "period": period, "mode": mode, "customer_ids": customer_ids}
            ),
        )
    return doc
