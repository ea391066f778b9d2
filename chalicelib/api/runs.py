"""Invoice runs over the API: start one (the generate-invoices state machine), watch it, and
list the runs of a period or of every period."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.endpoint import Call, json_response, operation
from chalicelib.api.pagination import decode_cursor, page_body, position_of
from chalicelib.service.runs import list_runs, require_customers, run_progress, start_invoice_run
from chalicelib.store import invoices
from chalicelib.store.records import Doc


@operation("startInvoiceRun")
def start_run(call: Call) -> Response:
    body = call.fields
    customer_ids: list[str] | None = body.get("customer_ids")
    require_customers(customer_ids or [])
    # Deterministic run ids: the same request while the run executes returns that run.
    started_by = {"subject": call.principal.subject, "name": call.principal.name}
    run = start_invoice_run(body["period"], body.get("mode") or "issue", customer_ids, started_by)
    return json_response(
        {"run_id": run["run_id"], "status": run["status"]},
        202,
        {"Location": f"/invoice-runs/{run['run_id']}"},
    )


@operation("getInvoiceRun")
def get_run(call: Call, run_id: str) -> Doc:
    run = invoices.get_run(run_id)
    progress, errors = run_progress(run)
    errors = [
        {
            "customer_id": e.get("customer_id", ""),
            "type": str(e.get("type") or "Error"),
            "message": str(e.get("message") or ""),
        }
        for e in errors
    ]
    return {**run, "progress": progress, "errors": errors}


@operation("listInvoiceRuns")
def list_invoice_runs(call: Call) -> Doc:
    period = call.query.get("period")
    scope = f"invoice-runs:{period or ''}"
    after = decode_cursor(call.query.get("cursor"), scope)
    page, last = list_runs(
        period, None if after is None else position_of(after, str), call.query["limit"]
    )
    return page_body(page, last, scope)
