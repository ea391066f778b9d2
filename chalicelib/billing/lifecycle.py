"""The invoice lifecycle of DESIGN §4.4 as pure state transitions.

``draft → issued → paid`` and ``issued → void``. Storage keeps one live invoice per customer and
period and assigns numbers from its gapless counter; these functions say what may happen and
return the new documents, raising :class:`InvalidTransition` for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from chalicelib.billing.document import Invoice
from chalicelib.errors import Conflict, InvalidInput

RUN_MODES = ("issue", "draft")


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


def mark_paid(invoice: Invoice, paid_at: str) -> Invoice:
    """issued → paid."""
    _require(invoice, "issued", "mark paid")
    return replace(invoice, status="paid", paid_at=paid_at)


def void(invoice: Invoice, credit_note_number: str, voided_at: str) -> tuple[Invoice, Invoice]:
    """issued → void, and the issued credit note that negates it line by line.

    Returns ``(voided invoice, credit note)``; the credit note's ``id`` is the caller's to set.
    """
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
    )
    return replace(invoice, status="void", voided_at=voided_at), credit_note
