"""Invoices over the API: the filtered list, one invoice, its CSV link, and its lifecycle.

A customer sees only its own invoices: another customer's invoice, and a draft, are "not
found" on every route, with the same message as an id that does not exist. Customers see the
invoice as billed (:func:`customer_view`) and its customer CSV; the reseller's figures (cost,
margin, savings retained, price list and rule, FX rates, the detailed CSV) are for operators.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalice.app import Response

from chalicelib.api.auth import Principal
from chalicelib.api.endpoint import Call, operation
from chalicelib.api.pagination import decode_cursor, page_body, position_of
from chalicelib.billing.lifecycle import LineCredit
from chalicelib.errors import Forbidden, InvalidInput, NotFound
from chalicelib.service import invoice_email, payments
from chalicelib.service import invoices as invoice_lifecycle
from chalicelib.store import invoices, objects
from chalicelib.store.invoice_keys import CUSTOMER_CSV_FIELD, DETAIL_CSV_FIELD, InvoiceFilter
from chalicelib.store.invoice_search import search_invoices
from chalicelib.store.records import Doc, InvoiceRecord

CSV_LINK_SECONDS = 300  # a CSV link is for downloading now, not for sharing
INTERNAL_FIELDS = (DETAIL_CSV_FIELD, CUSTOMER_CSV_FIELD, "sequence")
# What a customer sees of an invoice: named fields only, so a field added later for operators
# (a reseller figure) stays with the operators until someone decides otherwise.
CUSTOMER_FIELDS = (
    "id",
    "number",
    "kind",
    "customer_id",
    "period",
    "currency",
    "status",
    "issued_at",
    "issue_date",
    "due_date",
    "service_period",
    "payment_terms_days",
    "paid_at",
    "voided_at",
    "credit_note_for",
    "credited_invoice_id",
    "credited_invoice_number",
    "lines",
    "subscriptions_total",
    "cloud_usage_total",
    "prepurchased_applied",
    "overage",
    "discount_total",
    "subtotal",
    "taxes",
    "tax_total",
    "total",
    "payments",
    "amount_paid",
    "balance_due",
    "overdue",
)
CUSTOMER_LINE_FIELDS = ("kind", "description", "provider", "service", "quantity", "amount")
CUSTOMER_TAX_FIELDS = ("name", "rate", "base", "amount", "note")


def _now() -> datetime:
    return datetime.now(UTC)


def _pick(doc: Mapping[str, Any], fields: tuple[str, ...]) -> Doc:
    return {k: doc[k] for k in fields if k in doc}


def customer_view(doc: Mapping[str, Any]) -> Doc:
    """An invoice as its customer sees it: what they are billed, none of the reseller's figures."""
    view = _pick(doc, CUSTOMER_FIELDS)
    if "lines" in view:
        view["lines"] = [_pick(line, CUSTOMER_LINE_FIELDS) for line in view["lines"]]
    if "taxes" in view:
        view["taxes"] = [_pick(tax, CUSTOMER_TAX_FIELDS) for tax in view["taxes"]]
    return view


def public(doc: Mapping[str, Any], principal: Principal) -> Doc:
    if principal.is_operator:
        return {k: v for k, v in doc.items() if k not in INTERNAL_FIELDS}
    return customer_view(doc)


def _visible(call: Call, invoice_id: str) -> InvoiceRecord:
    doc = invoices.get_invoice(invoice_id)
    call.principal.require_customer_access(doc["customer_id"], f"invoice {invoice_id!r}")
    if doc["status"] == "draft" and not call.principal.is_operator:
        # The reseller's work in progress: to a customer it does not exist (same message).
        raise NotFound(f"invoice {invoice_id!r} not found")
    return doc


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# --- reading ------------------------------------------------------------------------------------


@operation("listInvoices")
def list_invoices(call: Call) -> Doc:
    q = call.query
    customer_id = q.get("customer_id")
    if not call.principal.is_operator:
        if customer_id not in (None, call.principal.customer_id):
            raise NotFound(f"customer {customer_id!r} not found")
        customer_id = call.principal.customer_id
    invoice_filter = InvoiceFilter(
        customer_id=customer_id,
        period=q.get("period"),
        status=q.get("status"),
        has_discount=q.get("has_discount"),
        min_discount=_decimal(q.get("min_discount")),
        max_discount=_decimal(q.get("max_discount")),
        min_total=_decimal(q.get("min_total")),
        max_total=_decimal(q.get("max_total")),
        hide_drafts=None if call.principal.is_operator else True,
        overdue_on=_now().date().isoformat() if q.get("overdue") else None,
    )
    scope = "invoices:" + json.dumps(
        {k: str(v) for k, v in vars(invoice_filter).items() if v is not None}, sort_keys=True
    )
    after = decode_cursor(q.get("cursor"), scope)
    page = search_invoices(
        invoice_filter, q["limit"], None if after is None else position_of(after, dict)
    )
    return page_body([public(d, call.principal) for d in page.docs], page.next_key, scope)


@operation("getInvoice")
def get_invoice(call: Call, invoice_id: str) -> Doc:
    return public(payments.invoice_with_account(_visible(call, invoice_id)), call.principal)


@operation("getInvoiceCsv")
def get_invoice_csv(call: Call, invoice_id: str) -> Any:
    doc: Mapping[str, Any] = _visible(call, invoice_id)
    operator = call.principal.is_operator
    view = call.query.get("view") or ("detail" if operator else "customer")
    if view == "detail" and not operator:
        raise Forbidden("the detailed CSV is for operators: a customer gets its customer CSV")
    field = DETAIL_CSV_FIELD if view == "detail" else CUSTOMER_CSV_FIELD
    if not doc.get(field):
        raise NotFound(f"invoice {invoice_id!r} has no {view.replace('detail', 'detailed')} CSV")
    url = objects.presigned_get(doc[field], CSV_LINK_SECONDS)
    expires_at = (_now() + timedelta(seconds=CSV_LINK_SECONDS)).isoformat(timespec="seconds")
    if not call.query["redirect"]:
        return {"url": url, "expires_at": expires_at}
    return Response(
        body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"}
    )


# --- the lifecycle ------------------------------------------------------------------------------


@operation("issueInvoice")
def issue(call: Call, invoice_id: str) -> Doc:
    return public(invoice_lifecycle.issue_invoice(invoice_id), call.principal)


def _timestamp(value: str | None, field: str) -> str:
    if value is None:
        return _now().isoformat(timespec="seconds")
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="seconds")
    except (ValueError, OverflowError):  # not a date, or one UTC cannot hold (year 1, +01:00)
        raise InvalidInput(f"{field} must be an ISO 8601 date-time", field=field) from None


@operation("markInvoicePaid")
def mark_invoice_paid(call: Call, invoice_id: str) -> Doc:
    paid_at = _timestamp(call.fields.get("paid_at"), "paid_at")
    return public(invoice_lifecycle.mark_invoice_paid(invoice_id, paid_at), call.principal)


@operation("recordInvoicePayment")
def record_payment(call: Call, invoice_id: str) -> Doc:
    fields = call.fields
    doc = payments.record_invoice_payment(
        invoice_id,
        Decimal(fields["amount"]),
        _timestamp(fields.get("paid_at"), "paid_at"),
        fields.get("reference"),
    )
    return public(doc, call.principal)


@operation("sendInvoice")
def send_invoice(call: Call, invoice_id: str) -> Doc:
    return public(invoice_email.send_invoice(invoice_id), call.principal)


@operation("voidInvoice")
def void_invoice(call: Call, invoice_id: str) -> Doc:
    voided, credit_note = invoice_lifecycle.void_invoice(invoice_id, call.fields.get("reason"))
    return {
        "invoice": public(voided, call.principal),
        "credit_note": public(credit_note, call.principal),
    }


@operation("creditInvoice")
def credit_invoice(call: Call, invoice_id: str) -> Doc:
    """A credit note of an issued or paid invoice: in full (no body), an amount, or lines."""
    fields = call.fields
    chosen = (
        None
        if fields.get("lines") is None
        else [LineCredit(c["index"], _decimal(c.get("amount"))) for c in fields["lines"]]
    )
    note = invoice_lifecycle.credit_invoice(
        invoice_id, amount=_decimal(fields.get("amount")), lines=chosen, reason=fields.get("reason")
    )
    return public(note, call.principal)
