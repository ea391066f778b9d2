"""The invoice document: lines, taxes, totals and the report figures, and its JSON shape.

Amounts on the document are already rounded to the currency's minor unit; totals are derived from
the lines so they can never disagree with them. ``to_dict``/``from_dict`` give the shape of
``GET /invoices/{id}`` (docs/design.md §5.1; money as strings next to ``currency``) plus the
report figures.
Storage sets ``id``, ``number``, ``status`` and the timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from chalicelib.billing.money import ZERO, plain, round_money, round_places, to_str
from chalicelib.vocabulary import LINE_KINDS


def margin_percent(price: Decimal, margin: Decimal) -> str | None:
    """margin ÷ price as a percentage with two decimals (``"72.49"``); none without a price."""
    return None if price == 0 else f"{round_places(margin * 100 / price, 2):f}"


@dataclass(frozen=True)
class InvoiceLine:
    kind: str
    description: str
    amount: Decimal  # rounded
    provider: str | None = None
    service: str | None = None
    quantity: int | None = None

    def negated(self) -> InvoiceLine:
        return InvoiceLine(
            self.kind, self.description, -self.amount, self.provider, self.service, self.quantity
        )


@dataclass(frozen=True)
class TaxLine:
    name: str
    rate: Decimal  # percent
    base: Decimal  # rounded
    amount: Decimal  # round(base × rate / 100)
    note: str | None = None

    def negated(self) -> TaxLine:
        return TaxLine(self.name, self.rate, -self.base, -self.amount, self.note)


@dataclass(frozen=True)
class Figures:
    """What the report shows beside the invoice, rounded, in the invoice's currency."""

    cost: Decimal = ZERO  # the reseller's cost of the billed cloud lines (EffectiveCost)
    savings_retained: Decimal = ZERO  # ListCost − EffectiveCost of re-based lines
    credit: Decimal = ZERO  # pre-purchased credit of the period, rollover included
    applied: Decimal = ZERO  # min(usage, credit) per scope
    overage: Decimal = ZERO  # usage beyond the credit (billed or waived)
    overage_waived: Decimal = ZERO
    unused_credit: Decimal = ZERO
    rollover_in: Decimal = ZERO
    rollover_out: Decimal = ZERO  # unused credit carried to the next period

    def negated(self) -> Figures:
        return Figures(**{name: -getattr(self, name) for name in _FIGURES})


_FIGURES = tuple(Figures.__dataclass_fields__)


@dataclass(frozen=True)
class Invoice:
    customer_id: str
    period: str
    currency: str
    lines: tuple[InvoiceLine, ...]
    taxes: tuple[TaxLine, ...] = ()
    figures: Figures = Figures()
    fx_rates: Mapping[str, Decimal] = field(default_factory=dict)  # from-currency -> rate used
    kind: str = "invoice"  # invoice | credit_note
    id: str | None = None
    number: str | None = None
    status: str = "draft"
    issued_at: str | None = None
    paid_at: str | None = None
    voided_at: str | None = None
    credit_note_for: str | None = None  # the invoice a credit note negates
    credited_invoice_number: str | None = None  # that invoice's number (credit notes)

    def _sum(self, *kinds: str) -> Decimal:
        return sum((line.amount for line in self.lines if line.kind in kinds), ZERO)

    @property
    def subscriptions_total(self) -> Decimal:
        return self._sum("subscription")

    @property
    def cloud_usage_total(self) -> Decimal:
        return self._sum("cloud_usage")

    @property
    def prepurchased_applied(self) -> Decimal:
        return self.figures.applied

    @property
    def overage(self) -> Decimal:
        return self.figures.overage

    @property
    def discount_total(self) -> Decimal:
        """Σ of discount and credit lines other than the pre-purchased ones (zero or negative)."""
        credits = (line.amount for line in self.lines if line.kind == "custom" and line.amount < 0)
        return self._sum("discount", "unused_credit") + sum(credits, ZERO)

    @property
    def subtotal(self) -> Decimal:
        return self._sum(*LINE_KINDS)

    @property
    def tax_total(self) -> Decimal:
        return sum((tax.amount for tax in self.taxes), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax_total

    @property
    def nothing_to_bill(self) -> bool:
        """No line bills anything: an invoice run makes no $0.00 draft of it."""
        return all(line.amount == 0 for line in self.lines) and self.total == 0

    @property
    def price(self) -> Decimal:
        """What the customer pays before tax: the report's price."""
        return self.subtotal

    @property
    def margin(self) -> Decimal:
        return self.price - self.figures.cost

    @property
    def margin_percent(self) -> str | None:
        return margin_percent(self.price, self.margin)

    def to_dict(self) -> dict[str, Any]:
        money = self._money
        figures = self.figures
        out: dict[str, Any] = {
            "id": self.id,
            "number": self.number,
            "kind": self.kind,
            "customer_id": self.customer_id,
            "period": self.period,
            "currency": self.currency,
            "status": self.status,
            "issued_at": self.issued_at,
            "paid_at": self.paid_at,
            "voided_at": self.voided_at,
            "credit_note_for": self.credit_note_for,
            "lines": [self._line_dict(line) for line in self.lines],
            "subscriptions_total": money(self.subscriptions_total),
            "cloud_usage_total": money(self.cloud_usage_total),
            "prepurchased_applied": money(self.prepurchased_applied),
            "overage": money(self.overage),
            "discount_total": money(self.discount_total),
            "subtotal": money(self.subtotal),
            "taxes": [
                {
                    "name": tax.name,
                    "rate": plain(tax.rate),
                    "base": money(tax.base),
                    "amount": money(tax.amount),
                    **({"note": tax.note} if tax.note else {}),
                }
                for tax in self.taxes
            ],
            "tax_total": money(self.tax_total),
            "total": money(self.total),
            "cost": money(figures.cost),
            "price": money(self.price),
            "margin": money(self.margin),
            "margin_percent": self.margin_percent,
            "savings_retained": money(figures.savings_retained),
            "credit": money(figures.credit),
            "applied": money(figures.applied),
            "overage_waived": money(figures.overage_waived),
            "unused_credit": money(figures.unused_credit),
            "rollover_in": money(figures.rollover_in),
            "rollover_out": money(figures.rollover_out),
            # The report row's figures together, as the billing report reads them.
            "report": {
                "cost": money(figures.cost),
                "price": money(self.price),
                "margin": money(self.margin),
                "margin_percent": self.margin_percent,
                "savings_retained": money(figures.savings_retained),
                "subscriptions": money(self.subscriptions_total),
                "credit": money(figures.credit),
                "applied": money(figures.applied),
                "overage": money(figures.overage),
            },
            "fx_rates": [
                {"from": source, "to": self.currency, "rate": plain(rate)}
                for source, rate in sorted(self.fx_rates.items())
            ],
        }
        if self.kind == "credit_note":
            out["credited_invoice_id"] = self.credit_note_for
            out["credited_invoice_number"] = self.credited_invoice_number
        return out

    def _money(self, amount: Decimal) -> str:
        return to_str(amount, self.currency)

    def _line_dict(self, line: InvoiceLine) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": line.kind, "description": line.description}
        if line.provider is not None:
            out["provider"] = line.provider
        if line.service is not None:
            out["service"] = line.service
        if line.quantity is not None:
            out["quantity"] = line.quantity
        out["amount"] = self._money(line.amount)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Invoice:
        currency = d["currency"]

        def amount(value: Any) -> Decimal:
            return round_money(Decimal(value), currency)

        return cls(
            customer_id=d["customer_id"],
            period=d["period"],
            currency=currency,
            lines=tuple(
                InvoiceLine(
                    kind=line["kind"],
                    description=line["description"],
                    amount=amount(line["amount"]),
                    provider=line.get("provider"),
                    service=line.get("service"),
                    quantity=line.get("quantity"),
                )
                for line in d.get("lines", [])
            ),
            taxes=tuple(
                TaxLine(
                    name=tax["name"],
                    rate=Decimal(tax["rate"]),
                    base=amount(tax["base"]),
                    amount=amount(tax["amount"]),
                    note=tax.get("note"),
                )
                for tax in d.get("taxes", [])
            ),
            figures=Figures(**{name: amount(d.get(name) or "0") for name in _FIGURES}),
            fx_rates={fx["from"]: Decimal(fx["rate"]) for fx in d.get("fx_rates", [])},
            kind=d.get("kind") or "invoice",
            id=d.get("id"),
            number=d.get("number"),
            status=d.get("status") or "draft",
            issued_at=d.get("issued_at"),
            paid_at=d.get("paid_at"),
            voided_at=d.get("voided_at"),
            credit_note_for=d.get("credit_note_for") or d.get("credited_invoice_id"),
            credited_invoice_number=d.get("credited_invoice_number"),
        )
