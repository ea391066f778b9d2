"""The context of one customer's invoice and the FX converter refuse inconsistent input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.billing.fx import FxConverter
from chalicelib.errors import BillingError, InvalidInput, MissingFxRate
from tests.billing.fixtures import account, context, settings, subscription


def test_accounts_and_subscriptions_must_be_the_customers() -> None:
    with pytest.raises(BillingError, match="belongs to 'globex'"):
        context(accounts=[account(customer_id="globex")])
    with pytest.raises(BillingError, match="subscription 'acme-growth'"):
        context(subscriptions=[subscription(customer_id="globex")])
    with pytest.raises(InvalidInput):
        context(period="2026-10-01")


def test_fx_converter_remembers_the_rates_it_used() -> None:
    rates = settings(
        fx_rates=[
            {"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0.92"},
            {"period": "2026-10", "from": "GBP", "to": "EUR", "rate": "1.17"},
        ]
    )
    fx = FxConverter(rates, "2026-10", "EUR")
    assert fx.convert(Decimal("10"), "EUR") == Decimal(10)
    assert fx.convert(Decimal("10"), "USD") == Decimal("9.20")
    assert fx.used == {"USD": Decimal("0.92")}
    with pytest.raises(MissingFxRate) as error:
        fx.convert(Decimal(1), "JPY")
    assert error.value.code == "missing_fx_rate" and "JPY to EUR for 2026-10" in error.value.message
