"""Everything needed to invoice one customer for one period, gathered by the caller.

The workflow loads the reference data from storage and hands the billing core one
:class:`CustomerPeriod`; the core never reads storage itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from chalicelib.billing.periods import Period
from chalicelib.billing.reference import Account, Customer, Plan, PriceList, Settings, Subscription
from chalicelib.errors import BillingError


@dataclass(frozen=True)
class CustomerPeriod:
    period: str  # 'YYYY-MM'
    customer: Customer
    accounts: tuple[Account, ...]
    subscriptions: tuple[Subscription, ...]
    plans: Mapping[str, Plan]
    price_lists: Mapping[str, PriceList]
    settings: Settings
    # Unused credit carried in from the previous period (plans with the `rollover` policy), in
    # the customer's currency.
    rollover_balance: Decimal = Decimal(0)
    # Commitment id -> customer id: the operator's assignment of commitments whose id does not
    # name their buyer (Azure reservation GUIDs, GCP commitments). Unassigned: the reseller's.
    commitment_owners: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Period.parse(self.period)
        for account in self.accounts:
            if account.customer_id != self.customer.id:
                raise BillingError(
                    f"account {account.provider}/{account.account_id} belongs to "
                    f"{account.customer_id!r}, not {self.customer.id!r}"
                )
        for subscription in self.subscriptions:
            if subscription.customer_id != self.customer.id:
                raise BillingError(
                    f"subscription {subscription.id!r} belongs to {subscription.customer_id!r}, "
                    f"not {self.customer.id!r}"
                )

    @property
    def period_obj(self) -> Period:
        return Period.parse(self.period)

    def plan(self, plan_id: str) -> Plan:
        try:
            return self.plans[plan_id]
        except KeyError:
            raise BillingError(
                f"plan {plan_id!r} of customer {self.customer.id!r} is not defined"
            ) from None

    def price_list_id(self, account: Account) -> str | None:
        """The price list of an account's lines: its own, else its customer's, else the default."""
        chosen = (
            account.price_list_id
            or self.customer.price_list_id
            or self.settings.default_price_list_id
        )
        if chosen is not None and chosen not in self.price_lists:
            raise BillingError(
                f"price list {chosen!r} (account {account.provider}/{account.account_id} of "
                f"customer {self.customer.id!r}) is not defined"
            )
        return chosen
