"""The invoice lifecycle of docs/design.md §4.4 as pure state transitions.

``draft → issued → paid`` and ``issued → void``; an issued or paid invoice can be credited, in
full or in part, by credit notes (docs/design.md §4.5). Storage keeps one live invoice per
customer and period and assigns numbers from its gapless counter; these functions say what may
happen and return the new documents, raising :class:`InvalidTransition` for anything else. A
credit note itself is final: it cannot be issued, paid, voided or credited. Production reaches
them through :mod:`chalicelib.service.invoices` (the API) and ``decide`` through the invoice run's
``SaveInvoice`` task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import Enum

from chalicelib.billing.document import Figures, Invoice, InvoiceLine, TaxLine
from chalicelib.billing.money import ZERO, exact, round_money, to_str
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.vocabulary import RUN_MODES


class InvalidTransition(Conflict):
    """The invoice's status does not allow this change (e.g. voiding a draft)."""

    code = "invalid_transition"


class Action(Enum):
    CREATE = "create"  # no live invoice: create one
    REPLACE_DRAFT = "replace_draft"  # a draft exists: replace it with the new composition
    LEAVE_ISSUED = "leave_issued"  # issued or paid: a run never changes it


@dataclass(frozen=True)
class RunDecision:
    action: Action
    issue: bool  # issue the created / replaced invoice (run mode `issue`)


def decide(existing_status: str | None, mode: str) -> RunDecision:
    """What an invoice run does for a customer whose live invoice has ``existing_status``.

    ``None`` (no invoice yet) and ``void`` (the customer can be invoiced again) both create.
    """
    if mode not in RUN_MODES:
        raise InvalidInput(f"mode must be one of {', '.join(RUN_MODES)}", field="mode")
    issue = mode == "issue"
    if existing_status in (None, "void"):
        return RunDecision(Action.CREATE, issue)
    if existing_status == "draft":
        return RunDecision(Action.REPLACE_DRAFT, issue)
    if existing_status in ("issued", "paid"):
        return RunDecision(Action.LEAVE_ISSUED, False)
    raise InvalidInput(f"unknown invoice status {existing_status!r}", field="status")


def format_invoice_number(prefix: str, year: int, n: int) -> str:
    """``format_invoice_number("INV-", 2026, 123)`` → ``"INV-2026-000123"``."""
    if n < 1:
        raise InvalidInput("invoice numbers start at 1", field="number")
    return f"{prefix}{year:04d}-{n:06d}"


def _require(invoice: Invoice, status: str, action: str) -> None:
    if invoice.status != status:
        raise InvalidTransition(
            f"cannot {action} invoice {invoice.id or invoice.customer_id + '/' + invoice.period}: "
            f"it is {invoice.status}, not {status}"
        )


def issue(invoice: Invoice, number: str, issued_at: str) -> Invoice:
    """draft → issued, with the number the caller's counter assigned."""
    _require(invoice, "draft", "issue")
    if not number:
        raise InvalidInput("an issued invoice needs a number", field="number")
    return replace(invoice, status="issued", number=number, issued_at=issued_at)


def _not_a_credit_note(invoice: Invoice, action: str) -> None:
    if invoice.kind == "credit_note":
        raise InvalidTransition(
            f"{invoice.number or invoice.id} is a credit note: it cannot be {action}"
        )


def mark_paid(invoice: Invoice, paid_at: str) -> Invoice:
    """issued → paid (invoices only: a credit note is settled by the invoice it credits)."""
    _not_a_credit_note(invoice, "marked paid")
    _require(invoice, "issued", "mark paid")
    return replace(invoice, status="paid", paid_at=paid_at)


def void(invoice: Invoice, credit_note_number: str, voided_at: str) -> tuple[Invoice, Invoice]:
    """issued → void, and the issued credit note that negates it line by line.

    Returns ``(voided invoice, credit note)``; the credit note's ``id`` is the caller's to set.
    """
    _not_a_credit_note(invoice, "voided")
    _require(invoice, "issued", "void")
    if not credit_note_number:
        raise InvalidInput("a credit note needs a number", field="number")
    credit_note = replace(
        invoice,
        kind="credit_note",
        lines=tuple(line.negated() for line in invoice.lines),
        taxes=tuple(tax.negated() for tax in invoice.taxes),
        figures=invoice.figures.negated(),
        id=None,
        number=credit_note_number,
        status="issued",
        issued_at=voided_at,
        paid_at=None,
        voided_at=None,
        credit_note_for=invoice.id,
        credited_invoice_number=invoice.number,
    )
    return replace(invoice, status="void", voided_at=voided_at), credit_note


# --- credit notes of issued and paid invoices -------------------------------------------------


class CreditExceedsRemaining(InvalidInput):
    """A credit note for more than what remains uncredited of the invoice (or of a line)."""

    code = "credit_exceeds_remaining"


@dataclass(frozen=True)
class Credited:
    """What earlier credit notes of an invoice took: their totals (positive) and, per line
    index, the net amount credited of that line."""

    total: Decimal = ZERO
    lines: Mapping[int, Decimal] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "total": str(self.total),
            "lines": {str(index): str(amount) for index, amount in sorted(self.lines.items())},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object] | None) -> Credited:
        if not d:
            return cls()
        lines = d.get("lines") or {}
        assert isinstance(lines, Mapping)
        return cls(
            Decimal(str(d.get("total") or "0")),
            {int(index): Decimal(str(amount)) for index, amount in lines.items()},
        )


@dataclass(frozen=True)
class LineCredit:
    """One line of the invoice to credit, by its position in ``lines`` (0-based): all of what
    remains of it (``amount`` None) or ``amount`` of it, before tax."""

    index: int
    amount: Decimal | None = None


def remaining(invoice: Invoice, credited: Credited) -> Decimal:
    """What can still be credited of ``invoice``, tax included."""
    return invoice.total - credited.total


@exact
def credit(
    invoice: Invoice,
    credited: Credited,
    issued_at: str,
    *,
    amount: Decimal | None = None,
    lines: Sequence[LineCredit] | None = None,
) -> Invoice:
    """The issued credit note of an issued or paid invoice, unnumbered (storage numbers it).

    * neither ``amount`` nor ``lines``: what remains — every line and tax negated when nothing
      was credited yet, else one line for the rest;
    * ``amount``: that much of the total, tax included — one line, and each tax of the invoice
      in the same proportion (so the credit note's total is exactly ``-amount``);
    * ``lines``: those lines (or parts of them, before tax), taxed at the invoice's rates.

    Never more than remains uncredited (:class:`CreditExceedsRemaining`).
    """
    _not_a_credit_note(invoice, "credited")
    if invoice.status not in ("issued", "paid"):
        raise InvalidTransition(
            f"cannot credit invoice {invoice.number or invoice.id}: it is {invoice.status}, "
            "not issued or paid"
        )
    left = remaining(invoice, credited)
    if left <= 0:
        raise InvalidTransition(f"invoice {invoice.number} is credited in full already")
    if amount is not None and lines is not None:
        raise InvalidInput("credit either an amount or lines, not both", field="lines")
    note = replace(
        invoice,
        kind="credit_note",
        figures=Figures(),
        fx_rates={},
        id=None,
        number=None,
        status="issued",
        issued_at=issued_at,
        paid_at=None,
        voided_at=None,
        credit_note_for=invoice.id,
        credited_invoice_number=invoice.number,
    )
    if lines is not None:
        return _credit_lines(invoice, note, credited, lines, left)
    if amount is None and credited.total == 0:
        return replace(
            note,
            lines=tuple(line.negated() for line in invoice.lines),
            taxes=tuple(tax.negated() for tax in invoice.taxes),
            figures=invoice.figures.negated(),
        )
    return _credit_amount(invoice, note, left if amount is None else amount, left)


def _money(value: Decimal, currency: str, field_name: str) -> Decimal:
    if value <= 0:
        raise InvalidInput(f"{field_name} must be more than zero", field=field_name)
    if round_money(value, currency) != value:
        raise InvalidInput(
            f"{field_name} has more decimals than {currency} has: {value}", field=field_name
        )
    return value


def _credit_amount(invoice: Invoice, note: Invoice, amount: Decimal, left: Decimal) -> Invoice:
    cur = invoice.currency
    amount = _money(amount, cur, "amount")
    if amount > left:
        raise CreditExceedsRemaining(
            f"amount {to_str(amount, cur)} is more than the {to_str(left, cur)} {cur} that "
            f"remains uncredited of invoice {invoice.number}",
            field="amount",
        )
    share = amount / invoice.total
    taxes = tuple(
        TaxLine(
            tax.name,
            tax.rate,
            -round_money(tax.base * share, cur),
            -round_money(tax.amount * share, cur),
            tax.note,
        )
        for tax in invoice.taxes
    )
    net = amount + sum((tax.amount for tax in taxes), ZERO)
    line = InvoiceLine("custom", f"Credit on invoice {invoice.number}", -net)
    return replace(note, lines=(line,), taxes=taxes)


def _credit_lines(
    invoice: Invoice,
    note: Invoice,
    credited: Credited,
    chosen: Sequence[LineCredit],
    left: Decimal,
) -> Invoice:
    cur = invoice.currency
    if not chosen:
        raise InvalidInput("lines must name at least one line", field="lines")
    out: list[InvoiceLine] = []
    seen: set[int] = set()
    for position, choice in enumerate(chosen):
        where = f"lines[{position}]"
        if not 0 <= choice.index < len(invoice.lines):
            raise InvalidInput(
                f"{where}.index: invoice {invoice.number} has lines 0 to {len(invoice.lines) - 1}",
                field=f"{where}.index",
            )
        if choice.index in seen:
            raise InvalidInput(f"{where}.index: line {choice.index} twice", field=f"{where}.index")
        seen.add(choice.index)
        line = invoice.lines[choice.index]
        if line.amount <= 0:
            raise InvalidInput(
                f"{where}.index: line {choice.index} ({line.description}) is not a charge",
                field=f"{where}.index",
            )
        rest = line.amount - credited.lines.get(choice.index, ZERO)
        if rest <= 0:
            raise CreditExceedsRemaining(
                f"line {choice.index} ({line.description}) is credited in full already",
                field=f"{where}.index",
            )
        part = rest if choice.amount is None else _money(choice.amount, cur, f"{where}.amount")
        if part > rest:
            raise CreditExceedsRemaining(
                f"{where}.amount {to_str(part, cur)} is more than the {to_str(rest, cur)} {cur} "
                f"that remains uncredited of line {choice.index} ({line.description})",
                field=f"{where}.amount",
            )
        out.append(
            InvoiceLine(
                line.kind,
                line.description,
                -part,
                line.provider,
                line.service,
                line.quantity if part == line.amount else None,
            )
        )
    net = -sum((line.amount for line in out), ZERO)
    subtotal = invoice.subtotal
    taxes = []
    for tax in invoice.taxes:
        base = round_money(net * tax.base / subtotal, cur) if subtotal else ZERO
        taxes.append(
            TaxLine(tax.name, tax.rate, -base, -round_money(base * tax.rate / 100, cur), tax.note)
        )
    result = replace(note, lines=tuple(out), taxes=tuple(taxes))
    if -result.total > left:
        raise CreditExceedsRemaining(
            f"these lines come to {to_str(-result.total, cur)} {cur} with tax, more than the "
            f"{to_str(left, cur)} that remains uncredited of invoice {invoice.number}",
            field="lines",
        )
    return result


def credited_after(
    credited: Credited, note: Invoice, lines: Sequence[LineCredit] | None = None
) -> Credited:
    """What is credited once ``note`` (made by :func:`credit` with ``lines``) is issued too."""
    per_line = dict(credited.lines)
    if lines is not None:
        for choice, line in zip(lines, note.lines, strict=True):
            per_line[choice.index] = per_line.get(choice.index, ZERO) - line.amount
    return Credited(credited.total - note.total, per_line)
