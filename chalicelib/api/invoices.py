"""Invoices over the API: the filtered list, one invoice, its CSV link, and its lifecycle.

A customer sees only its own invoices: another customer's invoice, and a draft, are "not
found" on every route, with the same message as an id that does not exist. Customers see the
invoice as billed (:func:`customer_view`) and its customer CSV; the reseller's figures (cost,
margin, savings retained, price list and rule, FX rates, the detailed CSV) are for operators.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalice.app import Response

from chalicelib.api.auth import Principal
from chalicelib.api.endpoint import Call, operation
from chalicelib.api.pagination import decode_cursor, page_body, position_of
from chalicelib.billing.document import Invoice
from chalicelib.billing.lifecycle import (
    Credited,
    InvalidTransition,
    LineCredit,
    credit,
    credited_after,
    format_invoice_number,
    mark_paid,
    void,
)
from chalicelib.errors import Forbidden, InvalidInput, NotFound
from chalicelib.store import events, invoices, objects, reference
from chalicelib.store.invoice_keys import CUSTOMER_CSV_FIELD, DETAIL_CSV_FIELD, InvoiceFilter
from chalicelib.store.invoice_search import search_invoices
from chalicelib.workflow.invoice_run import issue_invoice

Doc = dict[str, Any]

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
)
CUSTOMER_LINE_FIELDS = ("kind", "description", "provider", "service", "quantity", "amount")
CUSTOMER_TAX_FIELDS = ("name", "rate", "base", "amount", "note")


def _now() -> datetime:
    return datetime.now(UTC)


def _pick(doc: Doc, fields: tuple[str, ...]) -> Doc:
    return {k: doc[k] for k in fields if k in doc}


def customer_view(doc: Doc) -> Doc:
    """An invoice as its customer sees it: what they are billed, none of the reseller's figures."""
    view = _pick(doc, CUSTOMER_FIELDS)
    if "lines" in view:
        view["lines"] = [_pick(line, CUSTOMER_LINE_FIELDS) for line in view["lines"]]
    if "taxes" in view:
        view["taxes"] = [_pick(tax, CUSTOMER_TAX_FIELDS) for tax in view["taxes"]]
    return view


def public(doc: Doc, principal: Principal) -> Doc:
    if principal.is_operator:
        return {k: v for k, v in doc.items() if k not in INTERNAL_FIELDS}
    return customer_view(doc)


def _visible(call: Call, invoice_id: str) -> Doc:
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
    return public(_visible(call, invoice_id), call.principal)


@operation("getInvoiceCsv")
def get_invoice_csv(call: Call, invoice_id: str) -> Any:
    doc = _visible(call, invoice_id)
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
    doc = invoices.get_invoice(invoice_id)
    if doc["status"] != "draft":
        raise InvalidTransition(f"cannot issue invoice {invoice_id}: it is {doc['status']}")
    return public(issue_invoice(doc), call.principal)


def _timestamp(value: str | None, field: str) -> str:
    if value is None:
        return _now().isoformat(timespec="seconds")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} must be an ISO 8601 date-time", field=field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@operation("markInvoicePaid")
def mark_invoice_paid(call: Call, invoice_id: str) -> Doc:
    doc = invoices.get_invoice(invoice_id)
    paid = mark_paid(Invoice.from_dict(doc), _timestamp(call.fields.get("paid_at"), "paid_at"))
    updated = {**doc, "status": paid.status, "paid_at": paid.paid_at}
    invoices.update_invoice(updated, expected_status="issued")
    return public(updated, call.principal)


@operation("voidInvoice")
def void_invoice(call: Call, invoice_id: str) -> Doc:
    doc = invoices.get_invoice(invoice_id)
    if doc.get("kind") == "credit_note":
        raise InvalidTransition(f"{invoice_id} is a credit note: it cannot be voided")
    if invoices.credited(invoice_id) is not None:
        raise InvalidTransition(
            f"cannot void invoice {doc.get('number') or invoice_id}: it has credit notes; "
            "credit what remains instead (POST /invoices/{id}/credit-notes)"
        )
    voided_at = _now().isoformat(timespec="seconds")
    # The number is taken from the counter when the credit note is stored.
    voided, credit_note = void(Invoice.from_dict(doc), "(assigned when stored)", voided_at)
    voided_doc = {**doc, "status": voided.status, "voided_at": voided.voided_at}
    if call.fields.get("reason"):
        voided_doc["void_reason"] = call.fields["reason"]
    note_doc = {
        **credit_note.to_dict(),
        "id": f"{invoice_id}-cn",
        "run_id": doc.get("run_id"),
        "created_at": voided_at,
    }
    prefix = reference.get_settings().get("invoice_number_prefix") or "INV-"
    year = _now().year
    note_doc = invoices.void_with_credit_note(
        voided_doc,
        note_doc,
        f"{prefix}{year}",
        lambda n: format_invoice_number(prefix, year, n),
    )
    events.publish(
        events.INVOICE_ISSUED,
        {
            "invoice_id": note_doc["id"],
            "kind": "credit_note",
            "credit_note_for": invoice_id,
            "number": note_doc["number"],
            "customer_id": note_doc["customer_id"],
            "period": note_doc["period"],
            "total": note_doc.get("total"),
            "currency": note_doc.get("currency"),
        },
    )
    return {
        "invoice": public(voided_doc, call.principal),
        "credit_note": public(note_doc, call.principal),
    }


@operation("creditInvoice")
def credit_invoice(call: Call, invoice_id: str) -> Doc:
    """A credit note of an issued or paid invoice: in full (no body), an amount, or lines."""
    fields = call.fields
    amount = _decimal(fields.get("amount"))
    chosen = (
        None
        if fields.get("lines") is None
        else [LineCredit(c["index"], _decimal(c.get("amount"))) for c in fields["lines"]]
    )
    prefix = reference.get_settings().get("invoice_number_prefix") or "INV-"
    for attempt in range(3):
        doc = invoices.get_invoice(invoice_id)
        before = invoices.credited(invoice_id)
        issued_at = _now().isoformat(timespec="seconds")
        note = credit(
            Invoice.from_dict(doc),
            Credited.from_dict(before),
            issued_at,
            amount=amount,
            lines=chosen,
        )
        count = int((before or {}).get("count", 0)) + 1
        after = {
            **credited_after(Credited.from_dict(before), note, chosen).to_dict(),
            "count": count,
        }
        note_doc = {
            **note.to_dict(),
            "id": f"{invoice_id}-cn-{count}",
            "run_id": doc.get("run_id"),
            "created_at": issued_at,
        }
        if fields.get("reason"):
            note_doc["credit_reason"] = fields["reason"]
        year = _now().year
        try:
            note_doc = invoices.credit_with_next_number(
                doc,
                note_doc,
                before,
                after,
                f"{prefix}{year}",
                lambda n, year=year: format_invoice_number(prefix, year, n),
            )
            break
        except invoices.CreditedMeanwhile:
            if attempt == 2:
                raise
    events.publish(
        events.INVOICE_ISSUED,
        {
            "invoice_id": note_doc["id"],
            "kind": "credit_note",
            "credit_note_for": invoice_id,
            "credited_invoice_number": doc.get("number"),
            "number": note_doc["number"],
            "customer_id": note_doc["customer_id"],
            "period": note_doc["period"],
            "total": note_doc.get("total"),
            "currency": note_doc.get("currency"),
        },
    )
    return public(note_doc, call.principal)
