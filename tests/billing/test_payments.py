"""Payments against an issued invoice: balance due, paid when covered, overdue (pure rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from chalicelib.billing.document import Invoice, InvoiceLine
from chalicelib.billing.lifecycle import Credited, InvalidTransition
from chalicelib.billing.payments import (
    OpenInvoice,
    PaymentExceedsBalance,
    Payments,
    Recorded,
    account_of,
    balance_due,
    is_overdue,
    outstanding,
    record_payment,
)
from chalicelib.errors import InvalidInput

NOW = "2026-11-25T10:00:00+00:00"


def _issued(total: str = "580.00", currency: str = "USD") -> Invoice:
    return Invoice(
        customer_id="acme",
        period="2026-10",
        currency=currency,
        lines=(InvoiceLine("subscription", "Growth plan", Decimal(total)),),
        id="inv-acme-2026-10-1",
        number="INV-2026-000001",
        status="issued",
        issued_at="2026-11-01T00:00:00+00:00",
    )


NONE_YET = Payments()


def _pay(
    invoice: Invoice, amount: str | None, payments: Payments = NONE_YET, **kw: object
) -> Recorded:
    return record_payment(
        invoice,
        kw.pop("credited", Credited()),  # type: ignore[arg-type]
        payments,
        payment_id=f"p{len(payments.items) + 1}",
        amount=None if amount is None else Decimal(amount),
        paid_at=str(kw.pop("paid_at", "2026-11-20T00:00:00+00:00")),
        recorded_at=NOW,
        reference=kw.pop("reference", None),  # type: ignore[arg-type]
    )


def test_partial_payments_reduce_the_balance_and_the_last_one_pays_the_invoice() -> None:
    invoice = _issued()
    first = _pay(invoice, "200.00", reference="SEPA 1")
    assert (first.invoice.status, first.balance_due) == ("issued", Decimal("380.00"))
    second = _pay(first.invoice, "380.00", first.payments)
    assert (second.invoice.status, second.balance_due) == ("paid", Decimal("0.00"))
    assert second.invoice.paid_at == "2026-11-20T00:00:00+00:00"
    assert [p.id for p in second.payments.items] == ["p1", "p2"]
    assert second.payments.total == Decimal("580.00")
    assert second.payments.items[0].reference == "SEPA 1"
    # Stored and read back unchanged.
    assert Payments.from_dict(second.payments.to_dict("USD")) == second.payments


def test_credit_notes_lower_the_balance_a_payment_may_cover() -> None:
    credited = Credited(total=Decimal("80.00"))
    invoice = _issued()
    assert balance_due(invoice, credited, Payments()) == Decimal("500.00")
    with pytest.raises(PaymentExceedsBalance, match=r"500\.00 USD due"):
        _pay(invoice, "500.01", credited=credited)
    assert _pay(invoice, "500.00", credited=credited).invoice.status == "paid"


def test_no_amount_pays_the_whole_balance() -> None:
    done = _pay(_issued(), "100.00")
    rest = _pay(done.invoice, None, done.payments)
    assert rest.payments.items[-1].amount == Decimal("480.00")
    assert rest.invoice.status == "paid"
    # Credited in full: nothing to pay, the invoice is settled without a payment.
    settled = _pay(_issued(), None, credited=Credited(total=Decimal("580.00")))
    assert (settled.invoice.status, settled.payments.items) == ("paid", ())


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("0", "USD", "more than zero"),
        ("-5", "USD", "more than zero"),
        ("10.001", "USD", "more decimals than USD"),
        ("10.5", "JPY", "more decimals than JPY"),
    ],
)
def test_a_payment_is_more_than_zero_in_the_currency_minor_unit(
    amount: str, currency: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as raised:
        _pay(_issued("1000", currency), amount)
    assert raised.value.field == "amount"


def test_only_issued_invoices_take_payments() -> None:
    for status in ("draft", "void", "paid"):
        with pytest.raises(InvalidTransition, match=f"it is {status}"):
            _pay(replace(_issued(), status=status), "1.00")
    with pytest.raises(InvalidTransition, match="credit note"):
        _pay(replace(_issued(), kind="credit_note"), "1.00")


def test_a_payment_is_not_in_the_future() -> None:
    with pytest.raises(InvalidInput, match="future") as raised:
        _pay(_issued(), "1.00", paid_at="2026-11-26")
    assert raised.value.field == "paid_at"


def test_overdue_is_issued_with_a_balance_past_its_due_date() -> None:
    today = date(2026, 12, 1)
    assert is_overdue("issued", "invoice", "2026-11-30", Decimal("1"), today)
    assert not is_overdue("issued", "invoice", "2026-12-01", Decimal("1"), today)  # due today
    assert not is_overdue("issued", "invoice", "2026-11-30", Decimal("0"), today)
    assert not is_overdue("paid", "invoice", "2026-11-30", Decimal("1"), today)
    assert not is_overdue("issued", "credit_note", "2026-11-30", Decimal("1"), today)


def test_a_credit_note_after_payment_leaves_a_credit_balance() -> None:
    paid = _pay(_issued(), "580.00")
    account = account_of(
        paid.invoice, "2026-11-30", Credited(total=Decimal("100.00")), paid.payments, date.today()
    )
    assert account["balance_due"] == "-100.00"
    assert (account["amount_paid"], account["overdue"]) == ("580.00", False)


def test_outstanding_per_customer_and_currency_with_its_overdue_part() -> None:
    today = date(2026, 12, 10)
    rows = outstanding(
        [
            OpenInvoice("acme", "USD", Decimal("100.00"), "2026-12-01"),  # overdue
            OpenInvoice("acme", "USD", Decimal("50.50"), "2026-12-31"),
            OpenInvoice("acme", "EUR", Decimal("7.00"), "2026-12-31"),
            OpenInvoice("globex", "USD", Decimal("0"), "2026-11-01"),  # settled: not owed
        ],
        {"acme": "Acme Inc."},
        today,
    )
    assert rows == [
        {
            "customer_id": "acme",
            "name": "Acme Inc.",
            "currency": "EUR",
            "outstanding": "7.00",
            "overdue": "0.00",
            "invoices": 1,
            "overdue_invoices": 0,
        },
        {
            "customer_id": "acme",
            "name": "Acme Inc.",
            "currency": "USD",
            "outstanding": "150.50",
            "overdue": "100.00",
            "invoices": 2,
            "overdue_invoices": 1,
        },
    ]
