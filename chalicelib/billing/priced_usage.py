"""The priced usage: the Parquet columns :mod:`pricing` writes and the JSON-able summary it returns.

The summary carries, per customer, the Σ price / cost / savings of each provider + service in
each bill currency (at full precision) and where every unit of BilledCost of the customer's lines
went (billed or retained, by reason), which the reconciliation adds up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from chalicelib.billing.money import EXACT, ZERO, plain

GROUP_COLUMNS = (
    "customer_id",
    "account_id",
    "provider",
    "service",
    "service_code",
    "sku_id",
    "usage_type",
    "operation",
    "region",
    "resource_id",
    "charge_category",
    "pricing_unit",
    "currency",
    "savings_removed",
    "price_list_id",
)

# The columns of the priced-usage Parquet file, in order.
PRICED_COLUMNS = (
    *GROUP_COLUMNS,
    "price_rule",
    "lines",
    "quantity",
    "cost",
    "billed_cost",
    "list_cost",
    "basis",
    "savings_retained",
    "price",
)


# --- the summary handed back to the workflow ----------------------------------------------------


@dataclass(frozen=True)
class ServiceTotal:
    """Σ of one provider + service in one bill currency, at full precision."""

    provider: str
    service: str
    currency: str
    price: Decimal
    cost: Decimal
    savings_retained: Decimal
    rows: int


@dataclass(frozen=True)
class CurrencyBalance:
    """Where every unit of BilledCost of the customer's lines went, in one bill currency."""

    currency: str
    assigned: Decimal  # Σ BilledCost of all the customer's lines in the period
    billed: Decimal  # … of the lines billed to the customer
    retained: Mapping[str, Decimal] = field(default_factory=dict)  # … kept by reseller, by reason

    @property
    def difference(self) -> Decimal:
        # Exact whatever the caller's decimal context: the default one keeps only 28 digits.
        retained = ZERO
        for amount in self.retained.values():
            retained = EXACT.add(retained, amount)
        return EXACT.subtract(EXACT.subtract(self.assigned, self.billed), retained)


@dataclass(frozen=True)
class PricedUsage:
    customer_id: str
    period: str
    rows: int  # usage groups written
    lines: int  # normalized lines of the customer in the period (billed or retained)
    services: tuple[ServiceTotal, ...] = ()
    balances: tuple[CurrencyBalance, ...] = ()

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(
            sorted({s.currency for s in self.services} | {b.currency for b in self.balances})
        )

    def _by_currency(self, attr: str) -> dict[str, Decimal]:
        # Exact whatever the caller's decimal context: the default one keeps only 28 digits.
        out: dict[str, Decimal] = defaultdict(Decimal)
        for s in self.services:
            out[s.currency] = EXACT.add(out[s.currency], getattr(s, attr))
        return dict(out)

    @property
    def price(self) -> dict[str, Decimal]:
        return self._by_currency("price")

    @property
    def cost(self) -> dict[str, Decimal]:
        return self._by_currency("cost")

    @property
    def savings_retained(self) -> dict[str, Decimal]:
        return self._by_currency("savings_retained")

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "period": self.period,
            "rows": self.rows,
            "lines": self.lines,
            "currencies": list(self.currencies),
            "price": {c: plain(v) for c, v in self.price.items()},
            "cost": {c: plain(v) for c, v in self.cost.items()},
            "savings_retained": {c: plain(v) for c, v in self.savings_retained.items()},
            "services": [
                {
                    "provider": s.provider,
                    "service": s.service,
                    "currency": s.currency,
                    "price": plain(s.price),
                    "cost": plain(s.cost),
                    "savings_retained": plain(s.savings_retained),
                    "rows": s.rows,
                }
                for s in self.services
            ],
            "balances": [
                {
                    "currency": b.currency,
                    "assigned": plain(b.assigned),
                    "billed": plain(b.billed),
                    "retained": {k: plain(v) for k, v in b.retained.items()},
                }
                for b in self.balances
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PricedUsage:
        return cls(
            customer_id=d["customer_id"],
            period=d["period"],
            rows=int(d["rows"]),
            lines=int(d["lines"]),
            services=tuple(
                ServiceTotal(
                    provider=s["provider"],
                    service=s["service"],
                    currency=s["currency"],
                    price=Decimal(s["price"]),
                    cost=Decimal(s["cost"]),
                    savings_retained=Decimal(s["savings_retained"]),
                    rows=int(s["rows"]),
                )
                for s in d.get("services", [])
            ),
            balances=tuple(
                CurrencyBalance(
                    currency=b["currency"],
                    assigned=Decimal(b["assigned"]),
                    billed=Decimal(b["billed"]),
                    retained={k: Decimal(v) for k, v in b["retained"].items()},
                )
                for b in d.get("balances", [])
            ),
        )
