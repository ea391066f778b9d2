"""The lifecycle of stored invoices: issue, mark paid, void, credit (docs/design.md §4).

Each transition is decided once, by :mod:`chalicelib.billing.lifecycle`, and stored once,
by :mod:`chalicelib.store.invoices` (numbers from the gapless counter, in the same
transaction as the invoice). Every issued document — an invoice or a credit note — is
announced as ``invoice.issued``, and emailed to the customer when the settings say so
(:mod:`chalicelib.service.invoice_email`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.billing.document import Invoice
from chalicelib.billing.lifecycle import (
    Credited,
    InvalidTransition,
    LineCredit,
    credit,
    credited_after,
    format_invoice_number,
    issue,
    mark_paid,
    void,
)
from chalicelib.billing.terms import document_dates, payment_terms_days
from chalicelib.errors import NotFound
from chalicelib.service import invoice_email, payments
from chalicelib.service.invoice_documents import with_pdf
from chalicelib.store import events, invoices, reference
from chalicelib.store.records import Doc
from chalicelib.vocabulary import DEFAULT_INVOICE_NUMBER_PREFIX

UNNUMBERED = "(assigned when stored)"  # the counter numbers a document when it is stored
CREDIT_ATTEMPTS = 3  # a credit that lost a race to another credit reads again, this often


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class NumberSeries:
    """The counter a document issued at a moment takes its number from, and its format."""

    counter: str
    number: Callable[[int], str]


def number_series(moment: datetime) -> NumberSeries:
    """The reseller's numbering (settings prefix, default ``INV-``) for ``moment``'s year."""
    prefix = reference.get_settings().get("invoice_number_prefix") or DEFAULT_INVOICE_NUMBER_PREFIX
    year = moment.year
    return NumberSeries(f"{prefix}{year}", lambda n: format_invoice_number(prefix, year, n))


def _announce(doc: Doc, **extra: Any) -> None:
    """``invoice.issued`` for an invoice or a credit note that was just numbered."""
    events.publish(
        events.INVOICE_ISSUED,
        {
            "invoice_id": doc["id"],
            **extra,
            "number": doc["number"],
            "customer_id": doc["customer_id"],
            "period": doc["period"],
            "total": doc.get("total"),
            "currency": doc.get("currency"),
        },
    )


def _invoice_dates(doc: Mapping[str, Any], issued_at: str) -> Doc:
    """Issue date, due date (the customer's or seller's payment terms), service period."""
    seller = reference.get_settings().get("seller") or {}
    try:
        customer = reference.get_document("customer", doc["customer_id"])
    except NotFound:  # a customer deleted since its draft was computed keeps the seller's terms
        customer = {}
    terms = payment_terms_days(seller, customer)
    return document_dates(issued_at, doc["period"], terms).to_dict()


def _credit_note_dates(doc: Mapping[str, Any], issued_at: str) -> Doc:
    return document_dates(issued_at, doc["period"], 0, credit_note=True).to_dict()


def issue_draft(draft: Mapping[str, Any]) -> Doc:
    """Give a stored draft its number and issue it (gapless: one transaction with the counter).

    ``draft`` is the draft as read: if it was issued or recomputed meanwhile, Conflict."""
    issued_at = _now()
    issued = issue(Invoice.from_dict(draft), UNNUMBERED, _stamp(issued_at))
    series = number_series(issued_at)
    doc = invoices.issue_with_next_number(
        {
            **draft,
            "status": issued.status,
            "issued_at": issued.issued_at,
            **_invoice_dates(draft, _stamp(issued_at)),
        },
        draft,
        series.counter,
        series.number,
    )
    doc = with_pdf(doc)
    _announce(doc)
    return invoice_email.deliver_on_issue(doc)


def issue_invoice(invoice_id: str) -> Doc:
    """Issue the stored draft ``invoice_id`` (InvalidTransition when it is not a draft)."""
    return issue_draft(invoices.get_invoice(invoice_id))


def mark_invoice_paid(invoice_id: str, paid_at: str) -> Doc:
    """Record a payment of the whole balance due: the invoice turns paid."""
    mark_paid(Invoice.from_dict(invoices.get_invoice(invoice_id)), paid_at)  # issued invoices only
    return payments.record_invoice_payment(invoice_id, None, paid_at)


def void_invoice(invoice_id: str, reason: str | None = None) -> tuple[Doc, Doc]:
    """Void an issued invoice and issue the credit note that negates it: ``(invoice, note)``."""
    doc = invoices.get_invoice(invoice_id)
    if doc.get("kind") == "credit_note":
        raise InvalidTransition(f"{invoice_id} is a credit note: it cannot be voided")
    if invoices.credited(invoice_id) is not None:
        raise InvalidTransition(
            f"cannot void invoice {doc.get('number') or invoice_id}: it has credit notes; "
            "credit what remains instead (POST /invoices/{id}/credit-notes)"
        )
    if invoices.payments(invoice_id) is not None:
        raise InvalidTransition(
            f"cannot void invoice {doc.get('number') or invoice_id}: payments were recorded "
            "against it; credit it instead (POST /invoices/{id}/credit-notes)"
        )
    moment = _now()
    voided_at = _stamp(moment)
    voided, credit_note = void(Invoice.from_dict(doc), UNNUMBERED, voided_at)
    voided_doc = {**doc, "status": voided.status, "voided_at": voided.voided_at}
    if reason:
        voided_doc["void_reason"] = reason
    note_doc = {
        **credit_note.to_dict(),
        "id": f"{invoice_id}-cn",
        "run_id": doc.get("run_id"),
        "created_at": voided_at,
        **_credit_note_dates(doc, voided_at),
    }
    series = number_series(moment)
    note_doc = invoices.void_with_credit_note(voided_doc, note_doc, series.counter, series.number)
    note_doc = with_pdf(note_doc)
    _announce(note_doc, kind="credit_note", credit_note_for=invoice_id)
    return voided_doc, invoice_email.deliver_on_issue(note_doc)


def credit_invoice(
    invoice_id: str,
    *,
    amount: Decimal | None = None,
    lines: list[LineCredit] | None = None,
    reason: str | None = None,
) -> Doc:
    """A credit note of an issued or paid invoice: in full (neither ``amount`` nor ``lines``),
    an amount, or lines. Two credits racing each other cannot both take the same remainder."""
    for attempt in range(CREDIT_ATTEMPTS):
        doc = invoices.get_invoice(invoice_id)
        before = invoices.credited(invoice_id)
        paid_before = invoices.payments(invoice_id)
        moment = _now()
        issued_at = _stamp(moment)
        note = credit(
            Invoice.from_dict(doc),
            Credited.from_dict(before),
            issued_at,
            amount=amount,
            lines=lines,
        )
        count = int((before or {}).get("count", 0)) + 1
        after = {
            **credited_after(Credited.from_dict(before), note, lines).to_dict(),
            "count": count,
        }
        note_doc = {
            **note.to_dict(),
            "id": f"{invoice_id}-cn-{count}",
            "run_id": doc.get("run_id"),
            "created_at": issued_at,
            **_credit_note_dates(doc, issued_at),
        }
        if reason:
            note_doc["credit_reason"] = reason
        series = number_series(moment)
        try:
            note_doc = invoices.credit_with_next_number(
                doc,
                note_doc,
                before,
                after,
                series.counter,
                series.number,
                payments_before=paid_before,
                balance_after=payments.balance_after_credit(doc, after, paid_before),
            )
            break
        except invoices.CreditedMeanwhile:
            if attempt == CREDIT_ATTEMPTS - 1:
                raise
    note_doc = with_pdf(note_doc)
    _announce(
        note_doc,
        kind="credit_note",
        credit_note_for=invoice_id,
        credited_invoice_number=doc.get("number"),
    )
    return invoice_email.deliver_on_issue(note_doc)
