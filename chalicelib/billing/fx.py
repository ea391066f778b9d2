"""Stage 9 of docs/design.md §4.2: converting amounts into the invoice's currency.

The operator's FX rate for the period converts; a missing rate is an error for that customer's
invoice, never a silent 1:1. Only direct rates count (an EUR→USD rate does not serve USD→EUR:
inverting it would round).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from chalicelib.billing.reference import Settings
from chalicelib.errors import MissingFxRate


@dataclass
class FxConverter:
    """Converts into ``to_currency`` with the period's rates and remembers the rates it used."""

    settings: Settings
    period: str
    to_currency: str
    used: dict[str, Decimal] = field(default_factory=dict)

    def rate(self, from_currency: str) -> Decimal:
        if from_currency == self.to_currency:
            return Decimal(1)
        for fx in self.settings.fx_rates:
            if (fx.period, fx.from_currency, fx.to_currency) == (
                self.period,
                from_currency,
                self.to_currency,
            ):
                self.used[from_currency] = fx.rate
                return fx.rate
        raise MissingFxRate(
            f"no FX rate from {from_currency or '(no currency)'} to {self.to_currency} for "
            f"{self.period}: add one to the settings' fx_rates "
            f'({{"period": "{self.period}", "from": "{from_currency}", '
            f'"to": "{self.to_currency}", "rate": "…"}})',
            field="fx_rates",
        )

    def convert(self, amount: Decimal, from_currency: str) -> Decimal:
        """amount × rate at full precision (call inside :func:`money.exact`)."""
        rate = self.rate(from_currency)
        return amount if rate == 1 else amount * rate
