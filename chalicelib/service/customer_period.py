"""Everything the billing core needs to invoice a customer for one period, from an invoice run's
snapshot of the reference data: the documents every customer shares are parsed once per batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.periods import Period
from chalicelib.billing.reference import (
    Account,
    Customer,
    Plan,
    PriceList,
    Settings,
    Subscription,
)
from chalicelib.store import invoices


@dataclass(frozen=True)
class SharedReference:
    """What every customer of a run shares: the settings, the plans and the price lists."""

    settings: Settings
    plans: Mapping[str, Plan]
    price_lists: Mapping[str, PriceList]

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> SharedReference:
        return cls(
            settings=Settings.from_dict(snapshot["settings"]),
            plans={doc["id"]: Plan.from_dict(doc) for doc in snapshot["plans"]},
            price_lists={doc["id"]: PriceList.from_dict(doc) for doc in snapshot["price_lists"]},
        )


def customer_period(
    period: str,
    customer: Mapping[str, Any],
    accounts: Sequence[Mapping[str, Any]],
    subscriptions: Sequence[Mapping[str, Any]],
    shared: SharedReference,
    rollover_balance: Decimal,
) -> CustomerPeriod:
    customer_id = customer["id"]
    return CustomerPeriod(
        period=period,
        customer=Customer.from_dict(customer),
        accounts=tuple(Account.from_dict({**doc, "customer_id": customer_id}) for doc in accounts),
        subscriptions=tuple(
            Subscription.from_dict({**doc, "customer_id": customer_id}) for doc in subscriptions
        ),
        plans=shared.plans,
        price_lists=shared.price_lists,
        settings=shared.settings,
        rollover_balance=rollover_balance,
        commitment_owners=shared.settings.commitment_owners,
    )


def rollover_balances(customer_ids: list[str], period: str) -> dict[str, Decimal]:
    """Unused credit a ``rollover`` plan carried out of each customer's live invoice of the
    period before ``period`` (0 without one, or when it is void): two batched reads."""
    previous = str(Period.parse(period).previous())
    pointers = invoices.live_pointers(customer_ids, previous)
    found = invoices.get_invoices([p["invoice_id"] for p in pointers.values()])
    balances = dict.fromkeys(customer_ids, Decimal(0))
    for customer_id, pointer in pointers.items():
        invoice = found.get(pointer["invoice_id"])
        if invoice is not None and invoice["status"] != "void":
            balances[customer_id] = Decimal(str(invoice.get("rollover_out") or "0"))
    return balances
