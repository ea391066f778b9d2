"""Starting invoice runs: deterministic run ids, one run at a time per scope, stuck runs."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.stack


def test_the_same_request_while_a_run_executes_returns_that_run(clean_stack: Any) -> None:
    from datetime import UTC, datetime

    from chalicelib.service.runs import run_key, start_invoice_run
    from chalicelib.store import invoices

    # A request created this run a moment ago and is about to start its execution.
    run_id = f"2031-01-draft-{run_key('2031-01', 'draft', ['acme'])}-1"
    now = datetime.now(UTC).isoformat(timespec="seconds")
    invoices.create_run(
        run_id,
        {
            "run_id": run_id,
            "period": "2031-01",
            "mode": "draft",
            "customer_ids": ["acme"],
            "status": "running",
            "requested_at": now,
        },
    )
    assert start_invoice_run("2031-01", "draft", ["acme"])["run_id"] == run_id
    # Another scope is another run.
    assert start_invoice_run("2031-01", "draft", ["globex"])["run_id"] != run_id


def test_a_run_whose_execution_ended_without_closing_is_not_returned(clean_stack: Any) -> None:
    from chalicelib.service.runs import run_key, start_invoice_run
    from chalicelib.store import invoices

    stuck_id = f"2031-02-draft-{run_key('2031-02', 'draft', None)}-1"
    invoices.create_run(
        stuck_id,
        {
            "run_id": stuck_id,
            "period": "2031-02",
            "mode": "draft",
            "customer_ids": None,
            "status": "running",
            "requested_at": "2026-01-01T00:00:00+00:00",
        },
    )
    run = start_invoice_run("2031-02", "draft")
    assert run["run_id"].endswith("-2")
    assert invoices.get_run(stuck_id)["status"] == "failed"


def test_an_execution_name_used_before_is_not_reused(clean_stack: Any) -> None:
    """Execution names stay taken for 90 days, also when the run's record is gone: the run
    takes the next attempt's name rather than waiting for an execution that never starts."""
    import json

    from chalicelib.config import get_config
    from chalicelib.errors import NotFound
    from chalicelib.service.runs import execution_arn, run_key, start_invoice_run
    from chalicelib.store import invoices
    from chalicelib.store.aws import client

    taken = f"2031-04-draft-{run_key('2031-04', 'draft', ['acme'])}-1"
    sfn = client("stepfunctions")
    sfn.start_execution(
        stateMachineArn=get_config().generate_invoices_state_machine_arn,
        name=taken,
        input=json.dumps({"run_id": "elsewhere", "period": "2031-04", "mode": "draft"}),
    )
    run = start_invoice_run("2031-04", "draft", ["acme"])
    assert run["run_id"].endswith("-2")
    assert (
        sfn.describe_execution(executionArn=execution_arn(run["run_id"]))["name"] == run["run_id"]
    )
    # The attempt that could not start is no run of the history.
    with pytest.raises(NotFound):
        invoices.get_run(taken)


def test_an_unknown_mode_is_refused(clean_stack: Any) -> None:
    from chalicelib.errors import InvalidInput
    from chalicelib.service.runs import start_invoice_run

    with pytest.raises(InvalidInput) as error:
        start_invoice_run("2031-03", "final")
    assert error.value.field == "mode"
