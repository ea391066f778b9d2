"""Credit notes of issued and paid invoices (docs/design.md §4.5): in full, an amount, or chosen
lines, never more than remains uncredited."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from chalicelib.billing.document import Invoice, InvoiceLine, TaxLine
from chalicelib.billing.lifecycle import (
    Credited,
    CreditExceedsRemaining,
    InvalidTransition,
    LineCredit,
    credit,
    credited_after,
    mark_paid,
    void,
)
from chalicelib.errors import InvalidInput

D = Decimal
AT = "2026-12-01T09:00:00+00:00"
PAID = Invoice(
    customer_id="acme",
    period="2026-10",
    currency="USD",
    lines=(
        InvoiceLine("subscription", "Growth", D("500.00"), quantity=1),
        InvoiceLine("cloud_usage", "AWS Amazon EC2", D("120.00"), provider="aws", service="EC2"),
        InvoiceLine("discount", "Discount", D("-25.00")),
    ),
    taxes=(TaxLine("VAT", D(19), D("595.00"), D("113.05")),),
    id="inv-acme-2026-10-1",
    number="INV-2026-000007",
    status="paid",
    issued_at="2026-11-01T00:00:00+00:00",
    paid_at="2026-11-20T00:00:00+00:00",
)


def test_a_full_credit_negates_every_line_and_tax() -> None:
    note = credit(PAID, Credited(), AT)
    assert (note.kind, note.status, note.issued_at, note.number) == (
        "credit_note",
        "issued",
        AT,
        None,
    )
    assert note.lines == tuple(line.negated() for line in PAID.lines)
    assert note.taxes == tuple(tax.negated() for tax in PAID.taxes)
    assert note.total == -PAID.total == D("-708.05")
    body = note.to_dict()
    assert body["credited_invoice_id"] == body["credit_note_for"] == PAID.id
    assert body["credited_invoice_number"] == PAID.number
    assert Invoice.from_dict(body).credited_invoice_number == PAID.number
    assert "credited_invoice_number" not in PAID.to_dict()  # invoices do not carry it
    # Nothing remains: a second credit is refused.
    with pytest.raises(InvalidTransition, match="in full"):
        credit(PAID, credited_after(Credited(), note), AT)


def test_an_amount_is_credited_tax_included_to_the_cent() -> None:
    note = credit(PAID, Credited(), AT, amount=D("100.00"))
    # VAT in the invoice's proportion: 113.05 × 100 / 708.05 = 15.966… → 15.97.
    assert note.taxes == (TaxLine("VAT", D(19), D("-84.03"), D("-15.97")),)
    assert [(line.kind, line.amount) for line in note.lines] == [("custom", D("-84.03"))]
    assert note.lines[0].description == "Credit on invoice INV-2026-000007"
    assert note.total == D("-100.00")
    credited = credited_after(Credited(), note)
    assert credited.total == D("100.00")
    # The rest, in full: exactly what remains.
    rest = credit(PAID, credited, AT)
    assert rest.total == D("-608.05")
    assert credit(replace(PAID, status="issued"), credited, AT, amount=D("608.05")).total == (
        D("-608.05")
    )


def test_no_more_than_remains_can_be_credited() -> None:
    with pytest.raises(CreditExceedsRemaining) as error:
        credit(PAID, Credited(), AT, amount=D("708.06"))
    assert error.value.field == "amount" and "708.05" in error.value.message
    credited = Credited(total=D("700.00"))
    with pytest.raises(CreditExceedsRemaining, match=r"8\.05"):
        credit(PAID, credited, AT, amount=D("8.06"))
    assert credit(PAID, credited, AT, amount=D("8.05")).total == D("-8.05")


@pytest.mark.parametrize(
    ("amount", "field"),
    [(D("0"), "amount"), (D("0.001"), "amount"), (D("-1"), "amount")],
)
def test_an_amount_must_be_positive_money(amount: Decimal, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        credit(PAID, Credited(), AT, amount=amount)
    assert error.value.field == field


def test_chosen_lines_are_credited_at_the_invoices_tax_rates() -> None:
    part = [LineCredit(1, D("50.00"))]
    note = credit(PAID, Credited(), AT, lines=part)
    assert note.lines == (InvoiceLine("cloud_usage", "AWS Amazon EC2", D("-50.00"), "aws", "EC2"),)
    assert note.taxes == (TaxLine("VAT", D(19), D("-50.00"), D("-9.50")),)
    assert note.total == D("-59.50")
    credited = credited_after(Credited(), note, part)
    assert credited == Credited(D("59.50"), {1: D("50.00")})
    assert Credited.from_dict(credited.to_dict()) == credited
    # The rest of the line, then nothing more of it.
    rest = [LineCredit(1)]
    second = credit(PAID, credited, AT, lines=rest)
    assert second.lines[0].amount == D("-70.00")
    credited = credited_after(credited, second, rest)
    with pytest.raises(CreditExceedsRemaining, match="in full"):
        credit(PAID, credited, AT, lines=[LineCredit(1, D("0.01"))])
    # A whole line keeps its quantity.
    whole = credit(PAID, Credited(), AT, lines=[LineCredit(0)])
    assert whole.lines[0].quantity == 1 and whole.total == D("-595.00")


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([LineCredit(3)], "lines[0].index"),
        ([LineCredit(0), LineCredit(2)], "lines[1].index"),  # the discount is no charge
        ([LineCredit(0), LineCredit(0)], "lines[1].index"),
        ([LineCredit(1, D("120.01"))], "lines[0].amount"),
        ([LineCredit(1, D("1.005"))], "lines[0].amount"),
        ([], "lines"),
    ],
)
def test_bad_line_choices_name_the_field(lines: list[LineCredit], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        credit(PAID, Credited(), AT, lines=lines)
    assert error.value.field == field


def test_lines_with_tax_beyond_what_remains_are_refused() -> None:
    with pytest.raises(CreditExceedsRemaining) as error:
        credit(PAID, Credited(total=D("600.00")), AT, lines=[LineCredit(1)])
    assert error.value.field == "lines"


def test_an_amount_and_lines_together_are_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        credit(PAID, Credited(), AT, amount=D("1.00"), lines=[LineCredit(0)])
    assert error.value.field == "lines"


def test_only_issued_and_paid_invoices_can_be_credited_and_a_credit_note_is_final() -> None:
    for status in ("draft", "void"):
        with pytest.raises(InvalidTransition):
            credit(replace(PAID, status=status), Credited(), AT)
    note = replace(credit(PAID, Credited(), AT), id="inv-acme-2026-10-1-cn-1", number="N-1")
    with pytest.raises(InvalidTransition, match="credit note"):
        credit(note, Credited(), AT)
    with pytest.raises(InvalidTransition, match="credit note"):
        mark_paid(note, AT)
    with pytest.raises(InvalidTransition, match="credit note"):
        void(note, "N-2", AT)
    # A void's credit note names the voided invoice's number too.
    _, voided_note = void(replace(PAID, status="issued"), "N-3", AT)
    assert voided_note.to_dict()["credited_invoice_number"] == PAID.number
