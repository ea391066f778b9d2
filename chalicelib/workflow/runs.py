"""Start an invoice run: one execution of the generate-invoices state machine.

The execution name is derived from the run's scope (period, mode, customers) and an attempt
number, so the same request while a run executes returns that run instead of starting another.
"""

from __future__ import annotations

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
            if _start_execution(run_id, period, mode, customer_ids):
                return doc
            # An execution of this name ran before and its run record is gone (execution names
            # stay taken for 90 days): this record never runs; the next attempt's name will.
            invoices.save_run(
                {**doc, "status": "failed", "error": {"message": "execution name already used"}}
            )
        else:
            existing = invoices.get_run(run_id)
            if existing["status"] == "running":
                if _still_executing(existing):
                    return existing
                # The execution ended without closing its run (FinishRun failed): say so, go on.
                invoices.save_run(
                    {**existing, "status": "failed", "error": {"message": "the run did not finish"}}
                )
        attempt += 1


def _start_execution(run_id: str, period: str, mode: str, customer_ids: list[str] | None) -> bool:
    """Start the run's execution; False when an execution of that name exists already."""
    sfn = client("stepfunctions")
    try:
        sfn.start_execution(
            stateMachineArn=get_config().generate_invoices_state_machine_arn,
            name=run_id,
            input=json.dumps(
                {"run_id": run_id, "period": period, "mode": mode, "customer_ids": customer_ids}
            ),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        return False
    return True


def execution_arn(run_id: str) -> str:
    machine = get_config().generate_invoices_state_machine_arn
    return f"{machine.replace(':stateMachine:', ':execution:')}:{run_id}"


def _still_executing(run: dict[str, Any], grace_seconds: int = 60) -> bool:
    sfn = client("stepfunctions")
    try:
        status = sfn.describe_execution(executionArn=execution_arn(run["run_id"]))["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        # Created a moment ago by a request that is about to start its execution?
        requested = datetime.fromisoformat(run["requested_at"])
        return (datetime.now(UTC) - requested).total_seconds() < grace_seconds
    return bool(status == "RUNNING")
