"""Load everything the billing core needs to invoice one customer for one period."""

from __future__ import annotations

from decimal import Decimal

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
from chalicelib.store import invoices, reference


def load_customer_period(customer_id: str, period: str) -> CustomerPeriod:
    customer = Customer.from_dict(reference.get_document("customer", customer_id))
    accounts = tuple(
        Account.from_dict({**doc, "customer_id": customer_id})
        for doc in reference.list_accounts(customer_id)
    )
    subscriptions = tuple(
        Subscription.from_dict({**doc, "customer_id": customer_id})
        for doc in reference.list_subscriptions(customer_id)
    )
    settings = Settings.from_dict(reference.get_settings())
    return CustomerPeriod(
        period=period,
        customer=customer,
        accounts=accounts,
        subscriptions=subscriptions,
        plans={doc["id"]: Plan.from_dict(doc) for doc in reference.list_documents("plan")},
        price_lists={
            doc["id"]: PriceList.from_dict(doc) for doc in reference.list_documents("price_list")
        },
        settings=settings,
        rollover_balance=_rollover_from(customer_id, str(Period.parse(period).previous())),
        commitment_owners=settings.commitment_owners,
    )


def _rollover_from(customer_id: str, previous_period: str) -> Decimal:
    """Unused credit a ``rollover`` plan carried out of the previous period's live invoice."""
    previous = invoices.live_invoice(customer_id, previous_period)
    if previous is None or previous["status"] == "void":
        return Decimal(0)
    return Decimal(str(previous.get("rollover_out") or "0"))
