"""Reference data parsed from the JSON shapes of docs/design.md §5.1; bad input names its field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.billing.reference import (
    Account,
    Customer,
    Plan,
    PriceList,
    Settings,
    Subscription,
)
from chalicelib.errors import InvalidInput

SETTINGS = {
    "seller": {"name": "Example Cloud GmbH", "country": "DE", "tax_id": "DE136695976"},
    "tax": {
        "enabled": True,
        "rates": [
            {"country": "DE", "rate": "19", "name": "VAT"},
            {"country": "US", "region": "US-WA", "rate": "6.5", "name": "Sales tax"},
        ],
    },
    "automated_bill_processing": True,
    "default_price_list_id": "standard",
    "pass_through": {"provider_credits": False, "provider_tax": False, "provider_discounts": False},
    "invoice_number_prefix": "INV-",
    "fx_rates": [{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0.92"}],
}
PRICE_LIST = {
    "id": "standard",
    "name": "Standard",
    "default": {"type": "markup", "percent": "10"},
    "rules": [
        {"id": "s3", "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"},
        {
            "id": "m5",
            "match": {"usage_type": "BoxUsage:m5.large"},
            "type": "discount",
            "percent": "2",
            "basis": "list",
        },
        {
            "id": "gb",
            "match": {"provider": "gcp", "sku": "ABCD-1234"},
            "type": "fixed_rate",
            "unit_price": "0.02",
        },
    ],
}
PLAN = {
    "id": "growth",
    "name": "Growth",
    "price": "500.00",
    "currency": "USD",
    "included_credit": "40.00",
    "credit_providers": ["aws"],
    "unused_credit_policy": "forfeit",
    "overage_policy": "bill",
}
CUSTOMER = {
    "id": "acme",
    "name": "Acme GmbH",
    "currency": "USD",
    "price_list_id": "standard",
    "email": "billing@acme.example",
    "tax_profile": {"country": "DE", "region": None, "tax_id": None, "exempt": False},
    "discount": {"percent": "0", "applies_to": "all"},
}


def test_design_examples_parse() -> None:
    settings = Settings.from_dict(SETTINGS)
    assert settings.tax_enabled and settings.tax_rates[1].region == "US-WA"
    assert settings.tax_rates[1].rate == Decimal("6.5")
    assert settings.fx_rates[0].rate == Decimal("0.92")
    assert settings.billable_categories == ("Usage", "Purchase", "Adjustment")

    price_list = PriceList.from_dict(PRICE_LIST)
    assert price_list.default is not None and price_list.default.factor == Decimal("1.10")
    assert [r.id for r in price_list.rules] == ["s3", "m5", "gb"]
    assert price_list.rules[0].match == (("service", "amazons3"),)  # matching ignores case
    assert price_list.rules[1].factor == Decimal("0.98") and price_list.rules[1].basis == "list"
    assert price_list.rules[2].unit_price == Decimal("0.02")
    # Two match keys outrank one; among equals the earlier rule stays first.
    assert [r.id for r in price_list.ranked_rules()] == ["gb", "s3", "m5"]

    plan = Plan.from_dict(PLAN)
    assert plan.credit_providers == ("aws",) and plan.included_credit == Decimal(40)

    customer = Customer.from_dict(CUSTOMER)
    assert customer.tax_profile.country == "DE" and customer.discount.percent == 0

    account = Account.from_dict(
        {
            "customer_id": "acme",
            "provider": "aws",
            "account_id": "011111111111",
            "price_list_id": None,
            "valid_from": None,
            "valid_to": None,
        }
    )
    assert account.account_id == "011111111111"  # leading zero kept

    subscription = Subscription.from_dict(
        {
            "customer_id": "acme",
            "id": "acme-growth",
            "plan_id": "growth",
            "quantity": 1,
            "start_date": "2026-10-01",
            "end_date": None,
        }
    )
    assert subscription.start_date == date(2026, 10, 1) and subscription.end_date is None


@pytest.mark.parametrize(
    "parse",
    [
        lambda: Settings.from_dict(SETTINGS),
        lambda: PriceList.from_dict(PRICE_LIST),
        lambda: Plan.from_dict(PLAN),
        lambda: Customer.from_dict(
            {
                **CUSTOMER,
                "custom_items": [
                    {
                        "id": "setup",
                        "description": "Onboarding",
                        "type": "fee",
                        "amount": "250",
                        "period": "2026-10",
                    },
                    {
                        "id": "support",
                        "description": "Support",
                        "type": "fee",
                        "percent": "5",
                        "applies_to": "cloud",
                        "recurring": True,
                        "start_period": "2026-01",
                    },
                ],
            }
        ),
    ],
)
def test_to_dict_round_trips(parse: Any) -> None:
    parsed = parse()
    assert type(parsed).from_dict(parsed.to_dict()) == parsed


@pytest.mark.parametrize(
    ("cls", "body", "field"),
    [
        (
            PriceList,
            {**PRICE_LIST, "default": {"type": "markup", "percent": 10.5}},
            "default.percent",
        ),
        (
            PriceList,
            {**PRICE_LIST, "rules": [{"match": {"service": "x"}, "type": "bonus"}]},
            "rules[0].type",
        ),
        (
            PriceList,
            {**PRICE_LIST, "rules": [{"match": {"colour": "x"}, "type": "markup", "percent": "1"}]},
            "rules[0].match.colour",
        ),
        (
            PriceList,
            {**PRICE_LIST, "rules": [{"match": {}, "type": "discount", "percent": "101"}]},
            "rules[0].percent",
        ),
        (
            PriceList,
            {**PRICE_LIST, "rules": [{"match": {}, "type": "fixed_rate"}]},
            "rules[0].unit_price",
        ),
        (Plan, {**PLAN, "currency": "usd"}, "currency"),
        (Plan, {**PLAN, "price": "-1"}, "price"),
        (Plan, {**PLAN, "credit_providers": ["aws", "ibm"]}, "credit_providers[1]"),
        (Plan, {**PLAN, "overage_policy": "forgive"}, "overage_policy"),
        (Customer, {**CUSTOMER, "currency": "XYZ"}, "currency"),
        (Customer, {**CUSTOMER, "discount": {"percent": "120"}}, "discount.percent"),
        (
            Customer,
            {
                **CUSTOMER,
                "custom_items": [{"id": "x", "description": "x", "type": "fee", "amount": "1"}],
            },
            "custom_items[0].period",
        ),
        (
            Settings,
            {
                **SETTINGS,
                "fx_rates": [{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0"}],
            },
            "fx_rates[0].rate",
        ),
        (Settings, {**SETTINGS, "billable_categories": ["Usage", "Tax"]}, "billable_categories[1]"),
        (
            Account,
            {"customer_id": "acme", "provider": "aws", "account_id": 11111111111},
            "account_id",
        ),
        (
            Account,
            {
                "customer_id": "acme",
                "provider": "aws",
                "account_id": "1",
                "valid_from": "2026-10-05",
                "valid_to": "2026-10-01",
            },
            "valid_to",
        ),
        (
            Subscription,
            {
                "customer_id": "acme",
                "id": "s",
                "plan_id": "p",
                "quantity": 0,
                "start_date": "2026-10-01",
            },
            "quantity",
        ),
        (
            Subscription,
            {"customer_id": "acme", "id": "s", "plan_id": "p", "start_date": "10/01/2026"},
            "start_date",
        ),
    ],
)
def test_invalid_input_names_the_field(cls: Any, body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        cls.from_dict(body)
    assert error.value.field == field


def test_settings_default_when_empty() -> None:
    settings = Settings.from_dict({})
    assert not settings.tax_enabled and settings.invoice_number_prefix == "INV-"
    assert settings.default_price_list_id is None and settings.fx_rates == ()


def test_the_seller_and_customer_profiles_round_trip_and_are_validated() -> None:
    seller = {
        "name": "Example Cloud",
        "legal_name": "Example Cloud GmbH",
        "country": "de",
        "address": {"lines": ["Hauptstraße 1"], "city": "Köln", "postal_code": "50667"},
        "bank": {"iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx"},
        "payment_terms_days": 14,
    }
    stored = Settings.from_dict({"seller": seller}).to_dict()["seller"]
    assert stored["legal_name"] == "Example Cloud GmbH" and stored["country"] == "DE"
    assert stored["address"]["lines"] == ["Hauptstraße 1"]
    assert stored["bank"]["iban"] == "DE89370400440532013000"
    assert stored["bank"]["bic"] == "COBADEFFXXX"
    assert Settings.from_dict({"seller": stored}).to_dict()["seller"] == stored

    customer = Customer.from_dict(
        {
            "id": "acme",
            "currency": "EUR",
            "billing_emails": ["ap@acme.example"],
            "buyer_reference": "PO-7",
            "language": "de",
        }
    )
    assert customer.to_dict()["billing_emails"] == ["ap@acme.example"]
    assert Customer.from_dict(customer.to_dict()) == customer
    with pytest.raises(InvalidInput) as bad_terms:
        Settings.from_dict({"seller": {"payment_terms_days": -1}})
    assert bad_terms.value.field == "seller.payment_terms_days"
    with pytest.raises(InvalidInput) as bad_language:
        Customer.from_dict({"id": "a", "currency": "EUR", "language": "xx"})
    assert bad_language.value.field == "language"
