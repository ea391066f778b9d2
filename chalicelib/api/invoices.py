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
from chalicelib.billing.customer_view import customer_view
from chalicelib.billing.lifecycle import LineCredit
from chalicelib.errors import Forbidden, InvalidInput, NotFound
from chalicelib.service import einvoices, invoice_documents, invoice_email, invoice_list, payments
from chalicelib.service import invoices as invoice_lifecycle
from chalicelib.store import invoices, objects
from chalicelib.store.invoice_keys import (
    CUSTOMER_CSV_FIELD,
    DETAIL_CSV_FIELD,
    PDF_FIELD,
    InvoiceFilter,
)
from chalicelib.store.invoice_search import search_invoices
from chalicelib.store.records import Doc, InvoiceRecord

CSV_LINK_SECONDS = 300  # a CSV link is for downloading now, not for sharing
INTERNAL_FIELDS = (DETAIL_CSV_FIELD, CUSTOMER_CSV_FIELD, PDF_FIELD, "sequence")


def _now() -> datetime:
    return datetime.now(UTC)


def public(doc: Mapping[str, Any], principal: Principal) -> Doc:
    if principal.is_operator:
        view = {k: v for k, v in doc.items() if k not in INTERNAL_FIELDS}
        if doc.get("status") == "draft" and doc.get("sequence"):
            # "Draft #n" until it is numbered: n counts the customer's invoices of the period.
            view["draft_number"] = doc["sequence"]
        return view
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
    ordering = invoice_list.ordering_of(q.get("sort"), q.get("order"), q.get("q"))
    scope = "invoices:" + json.dumps(
        {
            **{k: str(v) for k, v in vars(invoice_filter).items() if v is not None},
            **({} if ordering is None else {"ordering": vars(ordering)}),
        },
        sort_keys=True,
    )
    after = decode_cursor(q.get("cursor"), scope)
    operator = call.principal.is_operator
    if ordering is not None:
        docs, position = invoice_list.sorted_invoices(
            invoice_filter, ordering, q["limit"], _sort_position(after), operator
        )
        return page_body([public(d, call.principal) for d in docs], position, scope)
    page = search_invoices(
        invoice_filter, q["limit"], None if after is None else position_of(after, dict)
    )
    names = invoice_list.customer_names({d["customer_id"] for d in page.docs}, operator)
    docs = invoice_list.with_customer_names(page.docs, names)
    return page_body([public(d, call.principal) for d in docs], page.next_key, scope)


def _sort_position(after: Any) -> list[str] | None:
    if after is None:
        return None
    position = position_of(after, list)
    if not position or not all(isinstance(part, str) for part in position):
        raise InvalidInput("the cursor is not valid", field="cursor")
    return list(position)


@operation("getInvoice")
def get_invoice(call: Call, invoice_id: str) -> Doc:
    return _shown(payments.invoice_with_account(_visible(call, invoice_id)), call)


def _shown(doc: Mapping[str, Any], call: Call) -> Doc:
    """One invoice as the caller sees it, with its customer's name (as the list shows it)."""
    names = invoice_list.customer_names([doc["customer_id"]], call.principal.is_operator)
    return public(invoice_list.with_customer_names([doc], names)[0], call.principal)


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
    return _link(doc[field], call.query["redirect"])


def _link(key: str, redirect: bool) -> Any:
    """A 5-minute SigV4 link to ``key``: a redirect, or ``{url, expires_at}``."""
    url = objects.presigned_get(key, CSV_LINK_SECONDS)
    expires_at = (_now() + timedelta(seconds=CSV_LINK_SECONDS)).isoformat(timespec="seconds")
    if not redirect:
        return {"url": url, "expires_at": expires_at}
    return Response(
        body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"}
    )


@operation("getInvoicePdf")
def get_invoice_pdf(call: Call, invoice_id: str) -> Any:
    """The PDF of a document the caller may see (a draft's, for operators, rendered now)."""
    doc: Mapping[str, Any] = _visible(call, invoice_id)
    return _link(invoice_documents.pdf_key(doc), call.query["redirect"])


@operation("getInvoiceEInvoice")
def get_invoice_einvoice(call: Call, invoice_id: str) -> Any:
    """The EN 16931 e-invoice (``format=cii|ubl``): a link like the CSV's, same tenancy."""
    doc: Mapping[str, Any] = _visible(call, invoice_id)
    return _link(einvoices.stored_einvoice(doc, call.query["format"]), call.query["redirect"])


# --- the lifecycle ------------------------------------------------------------------------------


@operation("issueInvoice")
def issue(call: Call, invoice_id: str) -> Doc:
    return _shown(invoice_lifecycle.issue_invoice(invoice_id), call)


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
    return _shown(invoice_lifecycle.mark_invoice_paid(invoice_id, paid_at), call)


@operation("recordInvoicePayment")
def record_payment(call: Call, invoice_id: str) -> Doc:
    fields = call.fields
    doc = payments.record_invoice_payment(
        invoice_id,
        Decimal(fields["amount"]),
        _timestamp(fields.get("paid_at"), "paid_at"),
        fields.get("reference"),
    )
    return _shown(doc, call)


@operation("sendInvoice")
def send_invoice(call: Call, invoice_id: str) -> Doc:
    return _shown(invoice_email.send_invoice(invoice_id), call)


@operation("voidInvoice")
def void_invoice(call: Call, invoice_id: str) -> Doc:
    voided, credit_note = invoice_lifecycle.void_invoice(invoice_id, call.fields.get("reason"))
    return {"invoice": _shown(voided, call), "credit_note": _shown(credit_note, call)}


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
    return _shown(note, call)
