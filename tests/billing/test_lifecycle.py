"""The lifecycle of docs/design.md §4.4 as pure transitions: draft → issued → paid, and
issued → void + credit note."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.billing.document import Figures, Invoice, InvoiceLine, TaxLine
from chalicelib.billing.lifecycle import (
    Action,
    InvalidTransition,
    decide,
    format_invoice_number,
    issue,
    mark_paid,
    void,
)
from chalicelib.errors import Conflict, InvalidInput

D = Decimal
DRAFT = Invoice(
    customer_id="acme",
    period="2026-10",
    currency="USD",
    lines=(
        InvoiceLine("subscription", "Growth", D("500.00")),
        InvoiceLine("discount", "Discount", D("-25.00")),
    ),
    taxes=(TaxLine("VAT", D(19), D("475.00"), D("90.25")),),
    figures=Figures(cost=D("100.00"), credit=D("40.00")),
    id="inv-acme-2026-10-1",
)


@pytest.mark.parametrize(
    ("status", "mode", "action", "issues"),
    [
        (None, "draft", Action.CREATE, False),
        (None, "issue", Action.CREATE, True),
        ("draft", "draft", Action.REPLACE_DRAFT, False),
        ("draft", "issue", Action.REPLACE_DRAFT, True),
        ("issued", "issue", Action.LEAVE_ISSUED, False),
        ("issued", "draft", Action.LEAVE_ISSUED, False),
        ("paid", "issue", Action.LEAVE_ISSUED, False),
        ("void", "issue", Action.CREATE, True),
        ("void", "draft", Action.CREATE, False),
    ],
)
def test_run_decisions(status: str | None, mode: str, action: Action, issues: bool) -> None:
    decision = decide(status, mode)
    assert (decision.action, decision.issue) == (action, issues)


def test_decide_rejects_unknown_modes() -> None:
    with pytest.raises(InvalidInput):
        decide(None, "final")


def test_invoice_numbers() -> None:
    assert format_invoice_number("INV-", 2026, 123) == "INV-2026-000123"
    assert format_invoice_number("ACME/", 2027, 1) == "ACME/2027-000001"
    with pytest.raises(InvalidInput):
        format_invoice_number("INV-", 2026, 0)


def test_issue_then_pay() -> None:
    issued = issue(DRAFT, "INV-2026-000001", "2026-11-02T09:00:00+00:00")
    assert (issued.status, issued.number) == ("issued", "INV-2026-000001")
    assert issued.lines == DRAFT.lines  # issuing changes no amount
    paid = mark_paid(issued, "2026-11-20T00:00:00+00:00")
    assert (paid.status, paid.paid_at) == ("paid", "2026-11-20T00:00:00+00:00")


def test_void_creates_a_credit_note_that_negates_the_invoice() -> None:
    issued = issue(DRAFT, "INV-2026-000001", "2026-11-02")
    voided, note = void(issued, "INV-2026-000002", "2026-11-03")
    assert (voided.status, voided.voided_at) == ("void", "2026-11-03")
    assert (note.kind, note.status, note.number) == ("credit_note", "issued", "INV-2026-000002")
    assert note.credit_note_for == "inv-acme-2026-10-1" and note.id is None
    assert [ln.amount for ln in note.lines] == [D("-500.00"), D("25.00")]
    assert note.total == -issued.total == D("-565.25")  # −(475 + 90.25)
    assert note.figures.cost == D("-100.00")
    assert Invoice.from_dict(note.to_dict()) == note


@pytest.mark.parametrize(
    ("status", "transition"),
    [
        ("draft", lambda inv: void(inv, "N", "t")),
        ("draft", lambda inv: mark_paid(inv, "t")),
        ("issued", lambda inv: issue(inv, "N", "t")),
        ("paid", lambda inv: void(inv, "N", "t")),
        ("paid", lambda inv: issue(inv, "N", "t")),
        ("void", lambda inv: mark_paid(inv, "t")),
        ("void", lambda inv: void(inv, "N", "t")),
    ],
)
def test_illegal_transitions(status: str, transition: object) -> None:
    from dataclasses import replace

    with pytest.raises(InvalidTransition) as error:
        transition(replace(DRAFT, status=status))  # type: ignore[operator]
    assert isinstance(error.value, Conflict) and status in error.value.message
