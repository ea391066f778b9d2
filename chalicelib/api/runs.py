"""Invoice runs over the API: start one (the generate-invoices state machine) and watch it."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.api.endpoint import Call, json_response, operation
from chalicelib.errors import InvalidInput
from chalicelib.store import invoices, reference
from chalicelib.workflow.runs import start_invoice_run

Doc = dict[str, Any]


@operation("startInvoiceRun")
def start_run(call: Call) -> Response:
    body = call.fields
    customer_ids: list[str] | None = body.get("customer_ids")
    if customer_ids:
        # The state machine would skip unknown customers silently: say which now.
        known = reference.existing_documents("customer", customer_ids)
        for position, customer_id in enumerate(customer_ids):
            if customer_id not in known:
                raise InvalidInput(
                    f"customer {customer_id!r} does not exist", field=f"customer_ids[{position}]"
                )
    # Deterministic run ids: the same request while the run executes returns that run.
    run = start_invoice_run(body["period"], body.get("mode") or "issue", customer_ids)
    return json_response(
        {"run_id": run["run_id"], "status": run["status"]},
        202,
        {"Location": f"/invoice-runs/{run['run_id']}"},
    )


def _progress(run: Doc) -> tuple[Doc, list[Doc]]:
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
    failed = [r for r in results if r["status"] == "failed"]
    progress = {
        "customers": run.get("customer_count"),
        "done": len(results),
        "saved": sum(1 for r in results if r["status"] == "saved"),
        "unchanged": sum(1 for r in results if r["status"] == "unchanged"),
        "failed": len(failed),
    }
    errors = [{"customer_id": r["customer_id"], **(r.get("error") or {})} for r in failed]
    return progress, errors


@operation("getInvoiceRun")
def get_run(call: Call, run_id: str) -> Doc:
    run = invoices.get_run(run_id)
    progress, errors = _progress(run)
    errors = [
        {
            "customer_id": e.get("customer_id", ""),
            "type": str(e.get("type") or "Error"),
            "message": str(e.get("message") or ""),
        }
        for e in errors
    ]
    return {**run, "progress": progress, "errors": errors}
