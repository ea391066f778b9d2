"""Stages 1, 2, 5, 6, 7 and 9 of docs/design.md §4.2, each with hand-computed golden figures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.billing.document import Invoice
from chalicelib.errors import BillingError, MissingFxRate
from tests.billing.conftest import Pipeline
from tests.billing.fixtures import (
    account,
    context,
    customer,
    line,
    plan,
    price_list,
    settings,
    subscription,
)

D = Decimal


def amounts(invoice: Invoice, kind: str | None = None) -> list[tuple[str, Decimal]]:
    return [(ln.description, ln.amount) for ln in invoice.lines if kind in (None, ln.kind)]


# --- stage 1: subscriptions ---------------------------------------------------------------------


def test_full_month_subscription(pipeline: Pipeline) -> None:
    cp = context(plans=[plan()], subscriptions=[subscription(quantity=2)])
    invoice = pipeline.run(cp, []).invoice
    # 500.00 × 2 × 31/31
    assert amounts(invoice) == [("Growth × 2", D("1000.00"))]
    assert invoice.subscriptions_total == invoice.subtotal == invoice.total == D("1000.00")


def test_daily_proration(pipeline: Pipeline) -> None:
    cp = context(
        plans=[plan()],
        subscriptions=[
            subscription(id="late", start_date="2026-10-11"),
            subscription(id="short", start_date="2026-09-01", end_date="2026-10-08"),
            subscription(id="gone", start_date="2026-09-01", end_date="2026-10-01"),
            subscription(id="future", start_date="2026-11-01"),
        ],
    )
    invoice = pipeline.run(cp, []).invoice
    assert amounts(invoice) == [
        ("Growth (7/31 days)", D("112.90")),  # 500 × 7 / 31 = 112.903…
        ("Growth (21/31 days)", D("338.71")),  # 500 × 21 / 31 = 338.709…
    ]


def test_unknown_plan_is_a_billing_error(pipeline: Pipeline) -> None:
    with pytest.raises(BillingError, match="plan 'growth'"):
        pipeline.run(context(subscriptions=[subscription()]), [])


# --- stages 2, 5 and 6: pre-purchased credit ----------------------------------------------------


def _credit_case(pipeline: Pipeline, usage: str, **plan_fields: Any) -> Invoice:
    cp = context(
        plans=[plan(included_credit="40.00", **plan_fields)], subscriptions=[subscription()]
    )
    return pipeline.run(cp, [line(BilledCost=usage)]).invoice


def test_usage_beyond_credit_is_billed(pipeline: Pipeline) -> None:
    invoice = _credit_case(pipeline, "55.555")
    assert amounts(invoice) == [
        ("Growth", D("500.00")),
        ("AWS Amazon Elastic Compute Cloud", D("55.56")),  # round(55.555), half up
        ("Pre-purchased infrastructure applied", D("-40.00")),  # min(55.555, 40)
    ]
    f = invoice.figures
    assert (f.credit, f.applied, f.overage, f.unused_credit) == (
        D("40.00"),
        D("40.00"),
        D("15.56"),
        D("0.00"),  # overage 55.555 − 40 = 15.555
    )
    assert invoice.subtotal == D("515.56")  # 500 + 55.56 − 40


def test_unused_credit_forfeited_by_default(pipeline: Pipeline) -> None:
    invoice = _credit_case(pipeline, "12.50")
    assert amounts(invoice, "prepurchased_credit") == [
        ("Pre-purchased infrastructure applied", D("-12.50"))
    ]
    assert (invoice.figures.unused_credit, invoice.figures.rollover_out) == (D("27.50"), D(0))
    assert invoice.subtotal == D("500.00")  # 500 + 12.50 − 12.50


def test_unused_credit_policy_credit(pipeline: Pipeline) -> None:
    invoice = _credit_case(pipeline, "12.50", unused_credit_policy="credit")
    assert amounts(invoice, "unused_credit") == [
        ("Unused pre-purchased infrastructure credited", D("-27.50"))  # 40 − 12.50
    ]
    assert invoice.subtotal == D("472.50")
    assert invoice.discount_total == D("-27.50")


def test_unused_credit_policy_rollover(pipeline: Pipeline) -> None:
    cp = context(
        plans=[plan(included_credit="40.00", unused_credit_policy="rollover")],
        subscriptions=[subscription()],
        rollover_balance=D("10.00"),
    )
    invoice = pipeline.run(cp, [line(BilledCost="12.50")]).invoice
    f = invoice.figures
    # credit 40 + 10 carried in; applied 12.50; 37.50 carried out
    assert (f.credit, f.rollover_in, f.applied, f.rollover_out) == (
        D("50.00"),
        D("10.00"),
        D("12.50"),
        D("37.50"),
    )
    assert not amounts(invoice, "unused_credit")


def test_rollover_balance_lapses_without_a_rollover_plan(pipeline: Pipeline) -> None:
    cp = context(
        plans=[plan(included_credit="40.00")],
        subscriptions=[subscription()],
        rollover_balance=D("10.00"),
    )
    invoice = pipeline.run(cp, [line(BilledCost="45")]).invoice
    assert (invoice.figures.credit, invoice.figures.rollover_in) == (D("40.00"), D(0))


def test_overage_waived(pipeline: Pipeline) -> None:
    invoice = _credit_case(pipeline, "55.555", overage_policy="waive")
    assert amounts(invoice, "prepurchased_credit") == [
        ("Pre-purchased infrastructure applied", D("-40.00")),
        ("Usage beyond pre-purchased infrastructure waived", D("-15.56")),  # 55.555 − 40
    ]
    assert invoice.subtotal == D("500.00")  # 500 + 55.56 − 40 − 15.56
    assert (invoice.figures.overage, invoice.figures.overage_waived) == (D("15.56"), D("15.56"))


def test_credit_scoped_to_providers(pipeline: Pipeline) -> None:
    cp = context(
        accounts=[account(), account("proj", provider="gcp")],
        plans=[plan(included_credit="40.00", credit_providers=["gcp"])],
        subscriptions=[subscription()],
    )
    rows = [
        line(BilledCost="100"),
        line(ProviderName="gcp", SubAccountId="proj", ServiceName="BigQuery", BilledCost="30"),
    ]
    invoice = pipeline.run(cp, rows).invoice
    # Only the GCP 30 is in scope: applied 30, unused 10, AWS 100 not touched.
    assert amounts(invoice, "prepurchased_credit") == [
        ("Pre-purchased infrastructure applied (Google Cloud)", D("-30.00"))
    ]
    assert (invoice.figures.applied, invoice.figures.overage) == (D("30.00"), D(0))


def test_overlapping_scopes_do_not_cover_usage_twice(pipeline: Pipeline) -> None:
    cp = context(
        plans=[
            plan(included_credit="40.00", credit_providers=["aws"]),
            plan(id="all", name="All", price="0", included_credit="100.00"),
        ],
        subscriptions=[subscription(), subscription(id="s2", plan_id="all")],
    )
    invoice = pipeline.run(cp, [line(BilledCost="70")]).invoice
    # AWS scope first: applied 40; the all-provider pool covers the remaining 30 of its 100.
    assert amounts(invoice, "prepurchased_credit") == [
        ("Pre-purchased infrastructure applied (AWS)", D("-40.00")),
        ("Pre-purchased infrastructure applied", D("-30.00")),
    ]
    f = invoice.figures
    assert (f.credit, f.applied, f.overage, f.unused_credit) == (
        D("140.00"),
        D("70.00"),
        D(0),
        D("70.00"),
    )


def test_prorated_credit(pipeline: Pipeline) -> None:
    cp = context(
        plans=[plan(included_credit="40.00")], subscriptions=[subscription(start_date="2026-10-11")]
    )
    invoice = pipeline.run(cp, [line(BilledCost="100")]).invoice
    # 40 × 21 / 31 = 27.096…
    assert invoice.figures.credit == D("27.10")
    assert amounts(invoice, "prepurchased_credit") == [
        ("Pre-purchased infrastructure applied", D("-27.10"))
    ]


def test_negative_usage_applies_no_credit(pipeline: Pipeline) -> None:
    cp = context(
        plans=[plan(included_credit="40.00")],
        subscriptions=[subscription()],
        settings_=settings(pass_through={"provider_credits": True}),
    )
    rows = [line(BilledCost="-5", ChargeCategory="Credit", ProviderLineType="Credit")]
    invoice = pipeline.run(cp, rows).invoice
    assert (invoice.figures.applied, invoice.figures.overage) == (D(0), D(0))


def test_a_credit_nothing_drew_from_prints_no_line(pipeline: Pipeline) -> None:
    cp = context(
        accounts=[account(), account("proj", provider="gcp")],
        plans=[plan(included_credit="40.00", credit_providers=["gcp"])],
        subscriptions=[subscription()],
    )
    invoice = pipeline.run(cp, [line(BilledCost="100")]).invoice  # AWS only: out of scope
    assert amounts(invoice, "prepurchased_credit") == []
    assert [line for line in invoice.lines if line.amount == 0] == []
    # The credit is still in the figures the report shows.
    assert (invoice.figures.credit, invoice.figures.applied) == (D("40.00"), D(0))


# --- stage 7: discounts and custom items --------------------------------------------------------

BASE: dict[str, Any] = {"plans": [plan()], "subscriptions": [subscription()]}


@pytest.mark.parametrize(
    ("applies_to", "discount"),
    [
        ("subscriptions", "-50.00"),  # 10 % of 500
        ("cloud", "-20.00"),  # 10 % of 200
        ("all", "-70.00"),  # 10 % of 700
    ],
)
def test_customer_discount(pipeline: Pipeline, applies_to: str, discount: str) -> None:
    cp = context(customer_=customer(discount={"percent": "10", "applies_to": applies_to}), **BASE)
    invoice = pipeline.run(cp, [line(BilledCost="200")]).invoice
    assert [a for _, a in amounts(invoice, "discount")] == [D(discount)]
    assert invoice.discount_total == D(discount)


def test_discount_on_cloud_applies_after_the_credit(pipeline: Pipeline) -> None:
    cp = context(
        customer_=customer(discount={"percent": "12.5", "applies_to": "cloud"}),
        plans=[plan(included_credit="40")],
        subscriptions=[subscription()],
    )
    invoice = pipeline.run(cp, [line(BilledCost="100.02")]).invoice
    # (100.02 − 40) × 12.5 % = 7.5025 → 7.50
    assert amounts(invoice, "discount") == [("Discount 12.5 % on cloud usage", D("-7.50"))]


def test_custom_items(pipeline: Pipeline) -> None:
    items = [
        {
            "id": "setup",
            "description": "Onboarding",
            "type": "fee",
            "amount": "250",
            "period": "2026-10",
        },
        {
            "id": "old",
            "description": "Last month",
            "type": "fee",
            "amount": "99",
            "period": "2026-09",
        },
        {
            "id": "support",
            "description": "Premium support 5 %",
            "type": "fee",
            "percent": "5",
            "applies_to": "cloud",
            "recurring": True,
            "start_period": "2026-01",
        },
        {
            "id": "goodwill",
            "description": "Goodwill credit",
            "type": "credit",
            "amount": "30.005",
            "recurring": True,
            "end_period": "2026-10",
        },
        {
            "id": "ended",
            "description": "Ended",
            "type": "credit",
            "amount": "1",
            "recurring": True,
            "end_period": "2026-09",
        },
    ]
    cp = context(customer_=customer(custom_items=items), **BASE)
    invoice = pipeline.run(cp, [line(BilledCost="200.10")]).invoice
    assert amounts(invoice, "custom") == [
        ("Onboarding", D("250.00")),
        ("Premium support 5 %", D("10.01")),  # 200.10 × 5 % = 10.005 → 10.01
        ("Goodwill credit", D("-30.01")),  # 30.005 → 30.01
    ]
    assert invoice.discount_total == D("-30.01")
    assert invoice.subtotal == D("930.10")  # 500 + 200.10 + 250 + 10.01 − 30.01


# --- stage 9: currency --------------------------------------------------------------------------


def test_invoice_in_the_customers_currency(pipeline: Pipeline) -> None:
    eur = settings(fx_rates=[{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0.92"}])
    cp = context(
        customer_=customer(currency="EUR"),
        settings_=eur,
        plans=[plan(included_credit="40")],
        subscriptions=[subscription()],
    )
    invoice = pipeline.run(cp, [line(BilledCost="100.005", EffectiveCost="80")]).invoice
    assert amounts(invoice) == [
        ("Growth", D("460.00")),  # 500 USD × 0.92
        ("AWS Amazon Elastic Compute Cloud", D("92.00")),  # 100.005 × 0.92 = 92.0046
        ("Pre-purchased infrastructure applied", D("-36.80")),  # 40 × 0.92
    ]
    assert invoice.figures.cost == D("73.60")  # 80 × 0.92
    assert invoice.fx_rates == {"USD": D("0.92")}


def test_missing_fx_rate_fails_clearly(pipeline: Pipeline) -> None:
    wrong_period = settings(
        fx_rates=[{"period": "2026-09", "from": "USD", "to": "EUR", "rate": "0.92"}]
    )
    cp = context(customer_=customer(currency="EUR"), settings_=wrong_period)
    with pytest.raises(MissingFxRate, match="no FX rate from USD to EUR for 2026-10"):
        pipeline.run(cp, [line(BilledCost="1")])


def test_inverse_rate_is_not_used(pipeline: Pipeline) -> None:
    inverse = settings(fx_rates=[{"period": "2026-10", "from": "EUR", "to": "USD", "rate": "1.08"}])
    cp = context(customer_=customer(currency="EUR"), settings_=inverse)
    with pytest.raises(MissingFxRate):
        pipeline.run(cp, [line(BilledCost="1")])


def test_jpy_invoice_has_no_minor_unit(pipeline: Pipeline) -> None:
    jpy = settings(fx_rates=[{"period": "2026-10", "from": "USD", "to": "JPY", "rate": "151.5"}])
    cp = context(customer_=customer(currency="JPY"), settings_=jpy)
    invoice = pipeline.run(cp, [line(BilledCost="10.01")]).invoice
    # 10.01 × 151.5 = 1516.515 → 1517
    assert invoice.lines[0].amount == D(1517)
    assert invoice.to_dict()["total"] == "1517"


def test_bhd_invoice_has_three_decimals(pipeline: Pipeline) -> None:
    bhd = settings(fx_rates=[{"period": "2026-10", "from": "USD", "to": "BHD", "rate": "0.376"}])
    cp = context(customer_=customer(currency="BHD"), settings_=bhd)
    invoice = pipeline.run(cp, [line(BilledCost="10.0125")]).invoice
    # 10.0125 × 0.376 = 3.7647 → 3.765
    assert invoice.to_dict()["lines"][0]["amount"] == "3.765"


# --- all stages together (the worked example of docs/billing.md) --------------------------------


def test_worked_example(pipeline: Pipeline) -> None:
    standard = price_list(
        [{"id": "s3", "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"}],
        default={"type": "markup", "percent": "10"},
    )
    cp = context(
        customer_=customer(
            price_list_id="standard",
            discount={"percent": "5", "applies_to": "subscriptions"},
            tax_profile={"country": "DE"},
        ),
        plans=[plan(included_credit="40.00", credit_providers=["aws"])],
        subscriptions=[subscription(start_date="2026-10-11")],
        price_lists=[standard],
        settings_=settings(
            tax={"enabled": True, "rates": [{"country": "DE", "rate": "19", "name": "VAT"}]}
        ),
    )
    rows = [
        line(BilledCost="120.00", EffectiveCost="100.00"),  # EC2
        line(
            ServiceName="Amazon Simple Storage Service",
            ServiceCode="AmazonS3",
            ResourceId="bucket",
            BilledCost="20.10",
            EffectiveCost="20.10",
        ),
        # An RI hour bought by the payer: billed on demand (ListCost).
        line(
            ResourceId="i-ri",
            BilledCost="0",
            EffectiveCost="6.00",
            ListCost="9.60",
            ProviderLineType="DiscountedUsage",
            CommitmentDiscountId="arn:aws:ec2:::ri/1",
            CommitmentOwnerAccountId="999999999999",
        ),
        line(ChargeCategory="Tax", ResourceId="tax", BilledCost="3.00"),  # stays with reseller
    ]
    invoice = pipeline.run(cp, rows).invoice
    assert invoice.to_dict()["lines"] == [
        # 500 × 21/31 = 338.709…
        {
            "kind": "subscription",
            "description": "Growth (21/31 days)",
            "quantity": 1,
            "amount": "338.71",
        },
        # (120.00 + 9.60) × 1.10 = 142.56
        {
            "kind": "cloud_usage",
            "description": "AWS Amazon Elastic Compute Cloud",
            "provider": "aws",
            "service": "Amazon Elastic Compute Cloud",
            "amount": "142.56",
        },
        # 20.10 × 1.05 = 21.105 → 21.11 (half up)
        {
            "kind": "cloud_usage",
            "description": "AWS Amazon Simple Storage Service",
            "provider": "aws",
            "service": "Amazon Simple Storage Service",
            "amount": "21.11",
        },
        # credit 40 × 21/31 = 27.096… ≤ usage 163.665
        {
            "kind": "prepurchased_credit",
            "description": "Pre-purchased infrastructure applied (AWS)",
            "amount": "-27.10",
        },
        # 5 % of 338.71 = 16.9355 → 16.94
        {"kind": "discount", "description": "Discount 5 % on subscriptions", "amount": "-16.94"},
    ]
    d = invoice.to_dict()
    # subtotal 338.71 + 142.56 + 21.11 − 27.10 − 16.94 = 458.34; VAT 19 % = 87.0846 → 87.08
    assert (d["subtotal"], d["tax_total"], d["total"]) == ("458.34", "87.08", "545.42")
    assert d["taxes"] == [{"name": "VAT", "rate": "19", "base": "458.34", "amount": "87.08"}]
    # cost 100 + 20.10 + 6 = 126.10; savings 9.60 − 6 = 3.60; overage 163.665 − 27.096… = 136.57
    assert (d["cost"], d["savings_retained"], d["overage"]) == ("126.10", "3.60", "136.57")
    assert (d["price"], d["margin"], d["margin_percent"]) == ("458.34", "332.24", "72.49")


def test_a_cloud_line_names_its_provider_once() -> None:
    from chalicelib.billing.invoice import cloud_line_description

    assert cloud_line_description("aws", "Amazon Simple Storage Service") == (
        "AWS Amazon Simple Storage Service"
    )
    assert cloud_line_description("aws", "AWS Lambda") == "AWS Lambda"
    assert cloud_line_description("gcp", "Compute Engine") == "Google Cloud Compute Engine"
    assert cloud_line_description("gcp", "Cloud Storage") == "Google Cloud Storage"
    assert cloud_line_description("azure", "Virtual Machines") == "Azure Virtual Machines"
    assert cloud_line_description("oci", "Compute") == "Oracle Cloud Compute"


def test_a_discount_that_rounds_to_nothing_prints_no_line(pipeline: Pipeline) -> None:
    cp = context(
        customer_=customer(discount={"percent": "10", "applies_to": "cloud"}),
        plans=[plan(included_credit="0")],
        subscriptions=[subscription()],
    )
    invoice = pipeline.run(cp, [line(BilledCost="0.04")]).invoice
    assert invoice.cloud_usage_total > 0
    assert amounts(invoice, "discount") == []
    assert [line for line in invoice.lines if line.amount == 0] == []
