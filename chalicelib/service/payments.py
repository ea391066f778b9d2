"""Payments against issued invoices: record one, settle the whole balance, and what an invoice
shows of them (payments, amount paid, balance due, overdue).

The rules are :mod:`chalicelib.billing.payments`'; storage keeps an invoice's payments in one
item beside it, written in one transaction with the invoice's balance (and its status once
paid), conditioned on what was read: two payments racing each other cannot both take the same
balance (the loser reads again, then is refused if nothing is left to pay).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.billing.document import Invoice
from chalicelib.billing.lifecycle import Credited
from chalicelib.billing.payments import Payments, account_of, balance_due, record_payment
from chalicelib.store import invoices
from chalicelib.store.records import Doc

PAYMENT_ATTEMPTS = 3  # a payment that lost a race to another payment or credit reads again


def _now() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return _now().date()


def record_invoice_payment(
    invoice_id: str,
    amount: Decimal | None,
    paid_at: str,
    reference: str | None = None,
) -> Doc:
    """Record a payment (``amount`` None: the whole balance due) against an issued invoice;
    returns the invoice with its payment fields."""
    for attempt in range(PAYMENT_ATTEMPTS):
        doc = invoices.get_invoice(invoice_id)
        credited = invoices.credited(invoice_id)
        before = invoices.payments(invoice_id)
        paid = Payments.from_dict(before)
        recorded_at = _now().isoformat(timespec="seconds")
        result = record_payment(
            Invoice.from_dict(doc),
            Credited.from_dict(credited),
            paid,
            payment_id=f"{invoice_id}-pay-{len(paid.items) + 1}",
            amount=amount,
            paid_at=paid_at,
            recorded_at=recorded_at,
            reference=reference,
        )
        after: Doc = {**doc, "status": result.invoice.status}
        if result.invoice.paid_at is not None:
            after["paid_at"] = result.invoice.paid_at
        payments_after = result.payments.to_dict(doc["currency"])
        try:
            invoices.record_payment(
                doc, after, result.balance_due, before, payments_after, credited
            )
            return with_account(after, credited, payments_after)
        except invoices.PaidMeanwhile:
            if attempt == PAYMENT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def balance_after_credit(
    doc: Mapping[str, Any], credited_after: Mapping[str, Any], payments: Mapping[str, Any] | None
) -> Decimal:
    """An invoice's balance due once a credit note took ``credited_after`` of it."""
    return balance_due(
        Invoice.from_dict(doc), Credited.from_dict(credited_after), Payments.from_dict(payments)
    )


def with_account(
    doc: Mapping[str, Any],
    credited: Mapping[str, Any] | None = None,
    payments: Mapping[str, Any] | None = None,
) -> Doc:
    """``doc`` with its payments, amount paid, balance due and overdue flag when it is an
    issued or paid invoice (drafts, void invoices and credit notes have none)."""
    out: Doc = dict(doc)
    if doc.get("kind") == "credit_note" or doc.get("status") not in ("issued", "paid"):
        return out
    out.update(
        account_of(
            Invoice.from_dict(doc),
            doc.get("due_date"),
            Credited.from_dict(credited),
            Payments.from_dict(payments),
            _today(),
        )
    )
    return out


def invoice_with_account(doc: Mapping[str, Any]) -> Doc:
    """``doc`` as stored, with its payment fields read from the store."""
    if doc.get("kind") == "credit_note" or doc.get("status") not in ("issued", "paid"):
        return dict(doc)
    return with_account(doc, invoices.credited(doc["id"]), invoices.payments(doc["id"]))
