"""Payments against an issued invoice, its balance due, and whether it is overdue: pure rules.

An invoice's balance due is its total, less what its credit notes took (:class:`Credited`), less
the payments recorded against it. A payment is more than zero, in the invoice's currency and
within its minor unit, and never more than the balance due (an overpayment is refused: what the
customer paid too much is the reseller's to refund, not to keep as a hidden credit). The payment
that brings the balance to zero turns the invoice ``paid``. Drafts, void invoices and credit
notes take no payment.

A credit note issued after payments can take the balance below zero: the customer then has a
credit balance (``balance_due`` negative), which the reseller refunds or offsets by hand.

Overdue is never stored: an invoice is overdue when it is issued, has a balance due, and its due
date is before today.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from chalicelib.billing.document import Invoice
from chalicelib.billing.lifecycle import Credited, InvalidTransition
from chalicelib.billing.money import ZERO, round_money, to_str
from chalicelib.errors import InvalidInput

MAX_REFERENCE = 200  # a bank reference, a cheque number, a transfer id


class PaymentExceedsBalance(InvalidInput):
    """A payment of more than the balance due."""

    code = "payment_exceeds_balance"


@dataclass(frozen=True)
class Payment:
    """One payment received against an invoice: ``paid_at`` is when the customer paid,
    ``recorded_at`` when the reseller recorded it."""

    id: str
    amount: Decimal
    paid_at: str
    recorded_at: str
    reference: str | None = None

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "amount": to_str(self.amount, currency),
            "paid_at": self.paid_at,
            "recorded_at": self.recorded_at,
            "reference": self.reference,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Payment:
        return cls(
            id=str(d["id"]),
            amount=Decimal(str(d["amount"])),
            paid_at=str(d["paid_at"]),
            recorded_at=str(d["recorded_at"]),
            reference=d.get("reference"),
        )


@dataclass(frozen=True)
class Payments:
    """Every payment recorded against one invoice, oldest first."""

    items: tuple[Payment, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.items), ZERO)

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {
            "payments": [p.to_dict(currency) for p in self.items],
            "total": to_str(self.total, currency),
            "count": len(self.items),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Payments:
        if not d:
            return cls()
        return cls(tuple(Payment.from_dict(p) for p in d.get("payments") or ()))


def balance_due(invoice: Invoice, credited: Credited, payments: Payments) -> Decimal:
    """What the customer still owes on ``invoice`` (negative: a credit balance).

    A paid invoice owes nothing more (one marked paid before payments were recorded has none)."""
    balance = invoice.total - credited.total - payments.total
    if invoice.status == "paid":
        return min(balance, ZERO)
    return balance


def _payable(invoice: Invoice) -> None:
    if invoice.kind == "credit_note":
        raise InvalidTransition(
            f"{invoice.number or invoice.id} is a credit note: it takes no payment"
        )
    if invoice.status != "issued":
        raise InvalidTransition(
            f"cannot record a payment on invoice {invoice.number or invoice.id}: "
            f"it is {invoice.status}, not issued"
        )


def _amount(amount: Decimal, currency: str) -> Decimal:
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput("amount must be more than zero", field="amount")
    if round_money(amount, currency) != amount:
        raise InvalidInput(
            f"amount has more decimals than {currency} has: {amount}", field="amount"
        )
    return amount


@dataclass(frozen=True)
class Recorded:
    """The invoice after a payment (``paid`` when it is covered), every payment, and what
    remains due."""

    invoice: Invoice
    payments: Payments
    balance_due: Decimal


def record_payment(
    invoice: Invoice,
    credited: Credited,
    payments: Payments,
    *,
    payment_id: str,
    amount: Decimal | None,
    paid_at: str,
    recorded_at: str,
    reference: str | None = None,
) -> Recorded:
    """Record a payment of ``amount`` (None: the whole balance due) against an issued invoice.

    Raises :class:`InvalidTransition` on anything but an issued invoice,
    :class:`InvalidInput` for an amount of zero, below zero or finer than the currency's minor
    unit, and :class:`PaymentExceedsBalance` for more than is due. An invoice with nothing left
    to pay (credited in full) turns paid without a payment when ``amount`` is None.
    """
    _payable(invoice)
    if paid_at[:10] > recorded_at[:10]:
        raise InvalidInput("paid_at is in the future", field="paid_at")
    if reference is not None and len(reference) > MAX_REFERENCE:
        raise InvalidInput(f"reference is longer than {MAX_REFERENCE}", field="reference")
    cur = invoice.currency
    due = balance_due(invoice, credited, payments)
    if amount is None and due <= 0:
        return Recorded(replace(invoice, status="paid", paid_at=paid_at), payments, due)
    amount = due if amount is None else _amount(amount, cur)
    if amount > due:
        raise PaymentExceedsBalance(
            f"amount {to_str(amount, cur)} is more than the {to_str(due, cur)} {cur} due on "
            f"invoice {invoice.number or invoice.id}",
            field="amount",
        )
    payment = Payment(payment_id, amount, paid_at, recorded_at, reference or None)
    after = Payments((*payments.items, payment))
    left = due - amount
    paid = replace(invoice, status="paid", paid_at=paid_at) if left <= 0 else invoice
    return Recorded(paid, after, left)


def is_overdue(status: str, kind: str, due_date: str | None, balance: Decimal, today: date) -> bool:
    """Issued, with a balance due, past its due date (computed, never stored)."""
    return (
        status == "issued"
        and kind != "credit_note"
        and balance > 0
        and due_date is not None
        and due_date < today.isoformat()
    )


def account_of(
    invoice: Invoice,
    due_date: str | None,
    credited: Credited,
    payments: Payments,
    today: date,
) -> dict[str, Any]:
    """The payment fields an issued or paid invoice shows: its payments, amount paid, balance
    due and whether it is overdue."""
    cur = invoice.currency
    due = balance_due(invoice, credited, payments)
    return {
        "payments": [p.to_dict(cur) for p in payments.items],
        "amount_paid": to_str(payments.total, cur),
        "balance_due": to_str(due, cur),
        "overdue": is_overdue(invoice.status, invoice.kind, due_date, due, today),
    }


@dataclass(frozen=True)
class OpenInvoice:
    """An issued invoice with a balance due (what the billing report sums)."""

    customer_id: str
    currency: str
    balance: Decimal
    due_date: str | None


def outstanding(
    open_invoices: Sequence[OpenInvoice], names: Mapping[str, str], today: date
) -> list[dict[str, Any]]:
    """What each customer owes, per currency (currencies never add up), and how much of it is
    overdue: one row per customer and currency, by customer."""
    sums: dict[tuple[str, str], dict[str, Any]] = {}
    for invoice in open_invoices:
        if invoice.balance <= 0:
            continue
        row = sums.setdefault(
            (invoice.customer_id, invoice.currency),
            {"outstanding": ZERO, "overdue": ZERO, "invoices": 0, "overdue_invoices": 0},
        )
        row["outstanding"] += invoice.balance
        row["invoices"] += 1
        if is_overdue("issued", "invoice", invoice.due_date, invoice.balance, today):
            row["overdue"] += invoice.balance
            row["overdue_invoices"] += 1
    return [
        {
            "customer_id": customer_id,
            "name": names.get(customer_id, customer_id),
            "currency": currency,
            "outstanding": to_str(row["outstanding"], currency),
            "overdue": to_str(row["overdue"], currency),
            "invoices": row["invoices"],
            "overdue_invoices": row["overdue_invoices"],
        }
        for (customer_id, currency), row in sorted(sums.items())
    ]
