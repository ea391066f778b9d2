"""Invoice runs: start one (an execution of the generate-invoices state machine), follow it.

The run id is derived from the run's scope (period, mode, customers) and an attempt number,
so the same request while a run executes returns that run instead of starting another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.billing.money import display
from chalicelib.config import get_config
from chalicelib.errors import InvalidInput
from chalicelib.service.reconciliation import reconcile_run_safely
from chalicelib.store import executions, invoices, reference
from chalicelib.store.records import Doc, RunRecord
from chalicelib.vocabulary import RUN_MODES

# A run record without an execution yet may belong to a request that is about to start it.
START_GRACE_SECONDS = 60


def run_key(period: str, mode: str, customer_ids: list[str] | None) -> str:
    scope = ",".join(sorted(customer_ids)) if customer_ids else "*"
    return hashlib.sha256(f"{period}|{mode}|{scope}".encode()).hexdigest()[:12]


def execution_arn(run_id: str) -> str:
    return executions.execution_arn(get_config().generate_invoices_state_machine_arn, run_id)


def start_invoice_run(
    period: str,
    mode: str = "issue",
    customer_ids: list[str] | None = None,
    started_by: Doc | None = None,
) -> RunRecord:
    """Start a run (or return the one of this scope that executes already). ``started_by``:
    who asked, ``{subject, name}``, kept on the run record."""
    if mode not in RUN_MODES:
        raise InvalidInput(f"mode must be one of {', '.join(RUN_MODES)}", field="mode")
    machine = get_config().generate_invoices_state_machine_arn
    records: dict[str, RunRecord] = {}

    def claim(attempt: int, run_id: str) -> bool | None:
        doc: RunRecord = {
            "run_id": run_id,
            "period": period,
            "mode": mode,
            "customer_ids": customer_ids,
            "status": "running",
            "requested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if started_by is not None:
            doc["started_by"] = started_by
        if invoices.create_run(run_id, doc):
            records[run_id] = doc
            return True
        existing = invoices.get_run(run_id)
        if existing["status"] == "running":
            if _still_executing(existing):
                records[run_id] = existing
                return None
            # The execution ended without closing its run (FinishRun failed): say so, go on.
            invoices.save_run(
                {**existing, "status": "failed", "error": {"message": "the run did not finish"}}
            )
        return False

    def taken(attempt: int, run_id: str) -> None:
        # An execution of this name ran before and its run record is gone (execution names
        # stay taken for 90 days): this record never runs, and is no run of the history;
        # the next attempt's name will run.
        records.pop(run_id)
        invoices.delete_run(run_id)

    started = executions.start_with_attempt_name(
        machine,
        f"{period}-{mode}-{run_key(period, mode, customer_ids)}",
        lambda run_id: {
            "run_id": run_id,
            "period": period,
            "mode": mode,
            "customer_ids": customer_ids,
        },
        claim,
        taken,
    )
    if started is None:  # this very run executes already
        (running,) = records.values()
        return running
    return records[started.name]


def require_customers(customer_ids: list[str]) -> None:
    """Every customer named exists (the state machine would skip unknown ones silently)."""
    if not customer_ids:
        return
    known = reference.existing_documents("customer", customer_ids)
    for position, customer_id in enumerate(customer_ids):
        if customer_id not in known:
            raise InvalidInput(
                f"customer {customer_id!r} does not exist", field=f"customer_ids[{position}]"
            )


def _still_executing(run: Mapping[str, Any]) -> bool:
    machine = get_config().generate_invoices_state_machine_arn
    status = executions.status(machine, run["run_id"])
    if status is None:
        # Created a moment ago by a request that is about to start its execution?
        requested = datetime.fromisoformat(run["requested_at"])
        return (datetime.now(UTC) - requested).total_seconds() < START_GRACE_SECONDS
    return status == "RUNNING"


RESULT_STATUSES = ("saved", "unchanged", "failed")  # what a run did for one customer


def result_counts(results: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many of a run's customers were saved, left unchanged and failed."""
    return {status: sum(1 for r in results if r["status"] == status) for status in RESULT_STATUSES}


def result_errors(results: Sequence[Mapping[str, Any]]) -> list[Doc]:
    """Why each failed customer failed: ``{customer_id, type, message}``."""
    return [
        {"customer_id": r["customer_id"], **(r.get("error") or {})}
        for r in results
        if r["status"] == "failed"
    ]


def run_progress(run: Mapping[str, Any]) -> tuple[Doc, list[Doc]]:
    """Counts and per-customer errors: from the finished run, or from the results so far."""
    counts = run.get("counts")
    if run["status"] != "running" and counts:
        done = counts.get("saved", 0) + counts.get("unchanged", 0) + counts.get("failed", 0)
        progress = {
            "customers": counts.get("customers"),
            "done": done,
            "saved": counts.get("saved", 0),
            "unchanged": counts.get("unchanged", 0),
            "failed": counts.get("failed", 0),
        }
        return progress, list(run.get("errors") or [])
    results = invoices.run_results(run["run_id"])
    return {"customers": run.get("customer_count"), "done": len(results)} | result_counts(
        results
    ), result_errors(results)


def finish_run(run: Doc, error: str | None = None) -> Doc:
    """Close a run: its counts, its status and, unless the run itself failed (``error``), the
    reconciliation of what it priced against the bills. Returns the run as stored."""
    results = invoices.run_results(run["run_id"])
    counts: Doc = {"customers": run.get("customer_count", len(results))} | result_counts(results)
    counts["not_run"] = max(0, counts["customers"] - len(results))
    if error is not None:
        status = "failed"
        run["error"] = {"message": error}
    elif counts["failed"] or counts["not_run"]:
        missing = counts["failed"] + counts["not_run"]
        status = "failed" if missing == counts["customers"] else "partial"
    else:
        status = "succeeded"
    run.update(status=status, counts=counts, finished_at=_now(), errors=result_errors(results))
    if error is None:
        priced = [r["customer_id"] for r in results if r["status"] != "failed"]
        run["reconciliation"] = reconcile_run_safely(
            run["run_id"], run["period"], priced, whole_period=not run.get("customer_ids")
        )
    invoices.save_run(run)
    return run


def run_summary(run: Mapping[str, Any]) -> Doc:
    """A run as the run history lists it: what, when, who, its counts and whether it balanced."""
    progress, _errors = run_progress_stored(run)
    reconciliation = run.get("reconciliation") or None
    return {
        "run_id": run["run_id"],
        "period": run["period"],
        "mode": run.get("mode"),
        "status": run["status"],
        "customer_ids": run.get("customer_ids"),
        "requested_at": run.get("requested_at"),
        "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"),
        "started_by": run.get("started_by"),
        "counts": progress,
        "reconciliation": None
        if reconciliation is None
        else {
            "balanced": reconciliation.get("balanced"),
            "differences": [
                {
                    "currency": c["currency"],
                    "difference": c["difference"],
                    "difference_display": display(Decimal(c["difference"]), c["currency"]),
                }
                for c in reconciliation.get("currencies") or []
                if Decimal(c.get("difference") or 0) != 0
            ],
            "duplicated_lines": reconciliation.get("duplicated_lines", 0),
            "error": reconciliation.get("error"),
        },
    }


def run_progress_stored(run: Mapping[str, Any]) -> tuple[Doc, list[Doc]]:
    """As :func:`run_progress`, but only from the run's record (a running run's results are not
    read, its counts so far are null): a list of runs stays one query."""
    if run["status"] != "running" and run.get("counts"):
        return run_progress(run)
    nothing: Doc = dict.fromkeys(("done", "saved", "unchanged", "failed"))
    return {"customers": run.get("customer_count"), **nothing}, []


def list_runs(period: str | None, after: str | None, limit: int) -> tuple[list[Doc], str | None]:
    """Runs newest first, of one period or of every period: summaries and the next position."""
    runs, last = invoices.recent_runs(period, after, limit)
    return [run_summary(run) for run in runs], last


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
