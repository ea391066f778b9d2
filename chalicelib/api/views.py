"""API views: authenticate, validate, call one function, shape the response."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from chalice import Response

from chalicelib.api.auth import Principal, authenticate
from chalicelib.api.errors import error_response
from chalicelib.billing.periods import Period
from chalicelib.errors import InvalidInput, RebillError
from chalicelib.reporting import billing_report as build_report
from chalicelib.reporting import report_csv
from chalicelib.store import bills, invoices, objects
from chalicelib.workflow.runs import start_invoice_run as start_run

F = TypeVar("F", bound=Callable[..., Any])

CSV_LINK_SECONDS = 300


def api_view(func: F) -> F:
    @functools.wraps(func)
    def wrapper(request: Any, *args: Any) -> Any:
        try:
            principal = authenticate(request.headers.get("authorization"))
            return func(request, principal, *args)
        except RebillError as error:
            return error_response(error)

    return wrapper  # type: ignore[return-value]


def _period(request: Any) -> str:
    params = request.query_params or {}
    value = params.get("period")
    if not value:
        raise InvalidInput("period is required (YYYY-MM)", field="period")
    try:
        return Period.parse(value).label
    except ValueError:
        raise InvalidInput(f"period {value!r} is not YYYY-MM", field="period") from None


@api_view
def billing_report(request: Any, principal: Principal) -> Any:
    principal.require_operator()
    period = _period(request)
    report = build_report(period)
    if (request.query_params or {}).get("format") == "csv":
        return Response(
            body=report_csv(report), status_code=200, headers={"Content-Type": "text/csv"}
        )
    return report


@api_view
def start_invoice_run(request: Any, principal: Principal) -> Any:
    principal.require_operator()
    body = request.json_body or {}
    if not isinstance(body, dict) or "period" not in body:
        raise InvalidInput("period is required", field="period")
    try:
        period = Period.parse(str(body["period"])).label
    except ValueError:
        raise InvalidInput("period is not YYYY-MM", field="period") from None
    run = start_run(period, body.get("mode", "issue"), body.get("customer_ids"))
    return Response(body={"run_id": run["run_id"], "status": run["status"]}, status_code=202)


@api_view
def get_invoice_run(request: Any, principal: Principal, run_id: str) -> Any:
    principal.require_operator()
    return invoices.get_run(run_id)


def _public_invoice(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("csv_key", "sequence")}


@api_view
def list_invoices(request: Any, principal: Principal) -> Any:
    params = request.query_params or {}
    customer_id = params.get("customer_id") or principal.customer_id
    if principal.role != "operator":
        customer_id = principal.customer_id
    if customer_id:
        docs = invoices.invoices_of_customer(customer_id)
        if params.get("period"):
            docs = [d for d in docs if d["period"] == params["period"]]
    elif params.get("period"):
        docs = invoices.invoices_of_period(_period(request))
    else:
        raise InvalidInput("give customer_id or period", field="period")
    if params.get("status"):
        docs = [d for d in docs if d["status"] == params["status"]]
    return {"items": [_public_invoice(d) for d in docs], "next_cursor": None}


@api_view
def get_invoice(request: Any, principal: Principal, invoice_id: str) -> Any:
    doc = invoices.get_invoice(invoice_id)
    principal.require_customer_access(doc["customer_id"], f"invoice {invoice_id!r}")
    return _public_invoice(doc)


@api_view
def get_invoice_csv(request: Any, principal: Principal, invoice_id: str) -> Any:
    doc = invoices.get_invoice(invoice_id)
    principal.require_customer_access(doc["customer_id"], f"invoice {invoice_id!r}")
    url = objects.presigned_get(doc["csv_key"], CSV_LINK_SECONDS)
    expires_at = datetime.now(UTC) + timedelta(seconds=CSV_LINK_SECONDS)
    if (request.query_params or {}).get("redirect") == "false":
        return {"url": url, "expires_at": expires_at.isoformat(timespec="seconds")}
    return Response(body="", status_code=302, headers={"Location": url})


@api_view
def list_bills(request: Any, principal: Principal) -> Any:
    principal.require_operator()
    return {"items": bills.bills_of_period(_period(request)), "next_cursor": None}
