"""Stages 3–4 (which lines, re-based how) and §4.3 (price lists), one rule per test."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.priced_usage import PRICED_COLUMNS
from chalicelib.billing.pricing import (
    RETAINED_REASONS,
    PricedUsage,
    price_usage,
    price_usage_batch,
)
from chalicelib.errors import BillingError
from tests.billing.fixtures import (
    account,
    context,
    customer,
    line,
    price_list,
    settings,
    write_lines,
)

D = Decimal


def priced(
    tmp_path: Path, cp: CustomerPeriod, rows: list[dict[str, Any]]
) -> tuple[PricedUsage, list[dict[str, Any]]]:
    bill = write_lines(tmp_path / "bill.parquet", rows)
    out = tmp_path / "priced.parquet"
    summary = price_usage(cp, [bill], out)
    con = duckdb.connect()
    table = con.sql(f"SELECT * FROM '{out}' ORDER BY resource_id, charge_category").to_arrow_table()
    return summary, table.to_pylist()


# --- which lines are the customer's --------------------------------------------------------------


def test_only_the_customers_accounts_in_the_period(tmp_path: Path) -> None:
    rows = [
        line(BilledCost="10", ResourceId="mine"),
        line(BilledCost="20", ResourceId="other-account", SubAccountId="222222222222"),
        line(BilledCost="40", ResourceId="other-provider", ProviderName="gcp"),
        line(
            BilledCost="80",
            ResourceId="september",
            BillingPeriodStart="2026-09-01",
            ChargePeriodStart="2026-09-30 23:00:00",
        ),
    ]
    summary, groups = priced(tmp_path, context(), rows)
    assert [g["resource_id"] for g in groups] == ["mine"]
    assert summary.price == {"USD": D(10)}  # no price list: price = basis
    assert groups[0]["price_rule"] == "default" and groups[0]["price_list_id"] is None


def test_account_validity_on_the_line_date(tmp_path: Path) -> None:
    # Linked from the 10th (inclusive) to the 20th (exclusive).
    cp = context(accounts=[account(valid_from="2026-10-10", valid_to="2026-10-20")])
    rows = [
        line(BilledCost="1", ResourceId="a-before", ChargePeriodStart="2026-10-09 23:00:00"),
        line(BilledCost="2", ResourceId="b-first", ChargePeriodStart="2026-10-10 00:00:00"),
        line(BilledCost="4", ResourceId="c-last", ChargePeriodStart="2026-10-19 23:00:00"),
        line(BilledCost="8", ResourceId="d-after", ChargePeriodStart="2026-10-20 00:00:00"),
    ]
    _, groups = priced(tmp_path, cp, rows)
    assert [g["resource_id"] for g in groups] == ["b-first", "c-last"]


def test_lines_aggregate_into_usage_groups(tmp_path: Path) -> None:
    rows = [line(BilledCost="1.25", PricingQuantity="2") for _ in range(3)]
    rows.append(line(BilledCost="7", ResourceId="i-2"))
    summary, groups = priced(tmp_path, context(), rows)
    assert summary.rows == 2 and summary.lines == 4
    first = groups[0]
    # 3 × 1.25 and 3 × 2 hours
    assert (first["lines"], first["basis"], first["quantity"]) == (3, D("3.75"), D(6))


# --- stage 3: billable categories and pass-through ----------------------------------------------

PROVIDER_LINES = [
    line(BilledCost="100", ResourceId="usage"),
    line(BilledCost="5", ResourceId="purchase", ChargeCategory="Purchase", ProviderLineType="Fee"),
    line(BilledCost="1", ResourceId="adjustment", ChargeCategory="Adjustment"),
    line(BilledCost="19", ResourceId="tax", ChargeCategory="Tax", ProviderLineType="Tax"),
    line(BilledCost="-3", ResourceId="credit", ChargeCategory="Credit", ProviderLineType="Credit"),
    line(BilledCost="-2", ResourceId="refund", ChargeCategory="Credit", ProviderLineType="Refund"),
    line(
        BilledCost="-7", ResourceId="edp", ChargeCategory="Credit", ProviderLineType="EdpDiscount"
    ),
]


def _billed(tmp_path: Path, **overrides: Any) -> tuple[PricedUsage, set[str]]:
    summary, groups = priced(tmp_path, context(settings_=settings(**overrides)), PROVIDER_LINES)
    return summary, {g["resource_id"] for g in groups}


def test_default_billable_categories(tmp_path: Path) -> None:
    summary, billed = _billed(tmp_path)
    assert billed == {"usage", "purchase", "adjustment"}
    (balance,) = summary.balances
    # 100 + 5 + 1 billed; tax 19, credits −3 − 2, discount −7 retained; Σ = 113
    assert balance.billed == D(106) and balance.assigned == D(113)
    assert balance.retained == {
        "provider_tax": D(19),
        "provider_credits": D(-5),
        "provider_discounts": D(-7),
    }
    assert balance.difference == 0


@pytest.mark.parametrize(
    ("switch", "added"),
    [
        ("provider_tax", {"tax"}),
        ("provider_credits", {"credit", "refund"}),
        ("provider_discounts", {"edp"}),
    ],
)
def test_pass_through_switches(tmp_path: Path, switch: str, added: set[str]) -> None:
    _, billed = _billed(tmp_path, pass_through={switch: True})
    assert billed == {"usage", "purchase", "adjustment"} | added


def test_billable_categories_setting(tmp_path: Path) -> None:
    summary, billed = _billed(tmp_path, billable_categories=["Usage"])
    assert billed == {"usage"}
    assert summary.balances[0].retained["not_billable"] == D(6)  # purchase 5 + adjustment 1


# --- stage 4: commitment savings the customer did not buy ---------------------------------------

PAYER = "999999999999"
RI_ARN = f"arn:aws:ec2:us-east-1:{PAYER}:reserved-instances/abc"
SP_ARN = f"arn:aws:savingsplans::{PAYER}:savingsplan/def"
OWN_SP = "arn:aws:savingsplans::111111111111:savingsplan/own"


def test_reserved_instance_of_the_payer_is_billed_on_demand(tmp_path: Path) -> None:
    rows = [
        # An RI-covered hour: unblended 0, amortized 0.06, on-demand 0.096.
        line(
            BilledCost="0",
            EffectiveCost="0.06",
            ListCost="0.096",
            ProviderLineType="DiscountedUsage",
            CommitmentDiscountId=RI_ARN,
            CommitmentDiscountStatus="Used",
            CommitmentOwnerAccountId=PAYER,
        ),
        # The RI's fee line in the customer's account is not billed to it.
        line(
            BilledCost="43.80",
            ResourceId="fee",
            ChargeCategory="Purchase",
            ProviderLineType="RIFee",
            CommitmentDiscountId=RI_ARN,
            CommitmentOwnerAccountId=PAYER,
        ),
    ]
    summary, groups = priced(tmp_path, context(), rows)
    (group,) = groups
    assert group["savings_removed"] is True
    assert (group["basis"], group["price"], group["cost"]) == (D("0.096"), D("0.096"), D("0.06"))
    assert group["savings_retained"] == D("0.036")  # 0.096 − 0.06
    assert summary.balances[0].retained == {"commitment": D("43.80")}


def test_own_reserved_instance_keeps_its_savings_and_pays_its_fee(tmp_path: Path) -> None:
    own_ri = "arn:aws:ec2:us-east-1:111111111111:reserved-instances/own"
    rows = [
        line(
            BilledCost="0",
            EffectiveCost="0.06",
            ListCost="0.096",
            ProviderLineType="DiscountedUsage",
            CommitmentDiscountId=own_ri,
            CommitmentOwnerAccountId="111111111111",
        ),
        line(
            BilledCost="43.80",
            ResourceId="fee",
            ChargeCategory="Purchase",
            ProviderLineType="RIFee",
            CommitmentDiscountId=own_ri,
            CommitmentOwnerAccountId="111111111111",
        ),
    ]
    summary, groups = priced(tmp_path, context(), rows)
    assert [(g["basis"], g["savings_removed"]) for g in groups] == [
        (D("43.80"), False),
        (D(0), False),
    ]
    assert summary.savings_retained == {"USD": D(0)}


def test_savings_plan_negation_only_billed_to_the_plan_owner(tmp_path: Path) -> None:
    def rows(arn: str, owner: str) -> list[dict[str, Any]]:
        return [
            line(
                BilledCost="0.096",
                EffectiveCost="0.07",
                ListCost="0.096",
                ProviderLineType="SavingsPlanCoveredUsage",
                CommitmentDiscountId=arn,
                CommitmentOwnerAccountId=owner,
            ),
            line(
                BilledCost="-0.096",
                EffectiveCost="0",
                ListCost="0",
                ResourceId="i-neg",
                ProviderLineType="SavingsPlanNegation",
                CommitmentDiscountId=arn,
                CommitmentOwnerAccountId=owner,
            ),
        ]

    payer, groups = priced(tmp_path, context(), rows(SP_ARN, PAYER))
    assert payer.price == {"USD": D("0.096")}  # on demand, the negation stays with the reseller
    assert payer.savings_retained == {"USD": D("0.026")}  # 0.096 − 0.07
    assert [g["resource_id"] for g in groups] == ["i-1"]
    own, groups = priced(tmp_path, context(), rows(OWN_SP, "111111111111"))
    assert own.price == {"USD": D(0)}  # 0.096 − 0.096: the plan's fee pays for the hour
    assert len(groups) == 2


def test_commitment_owned_by_another_account_of_the_customer(tmp_path: Path) -> None:
    cp = context(accounts=[account(), account("333333333333")])
    arn = "arn:aws:ec2:us-east-1:333333333333:reserved-instances/x"
    rows = [
        line(
            BilledCost="0",
            ListCost="0.096",
            ProviderLineType="DiscountedUsage",
            CommitmentDiscountId=arn,
            CommitmentOwnerAccountId="333333333333",
        )
    ]
    summary, _ = priced(tmp_path, cp, rows)
    assert summary.price == {"USD": D(0)}


def test_focus_used_commitment_is_rebased(tmp_path: Path) -> None:
    rows = [
        line(
            BilledCost="0",
            EffectiveCost="0.5",
            ListCost="0.8",
            ProviderLineType="Usage",
            CommitmentDiscountId="cd-1",
            CommitmentDiscountStatus="Used",
        )
    ]
    summary, _ = priced(tmp_path, context(), rows)
    assert summary.price == {"USD": D("0.8")}


def test_unused_commitment_lines_are_the_owners(tmp_path: Path) -> None:
    # FOCUS/Azure: the unused part of a reservation is billed to whoever bought it.
    rows = [
        line(
            BilledCost="3",
            ProviderLineType="UnusedReservation",
            CommitmentDiscountId="r-guid",
            CommitmentDiscountStatus="Unused",
        )
    ]
    nobody, groups = priced(tmp_path, context(), rows)
    assert groups == [] and nobody.balances[0].retained == {"commitment": D(3)}
    assigned, groups = priced(tmp_path, context(commitment_owners={"R-GUID": "acme"}), rows)
    assert assigned.price == {"USD": D(3)}


def test_azure_reservation_assigned_by_the_operator(tmp_path: Path) -> None:
    azure = account("sub-1", provider="azure")
    rows = [
        line(
            ProviderName="azure",
            SubAccountId="sub-1",
            BilledCost="0.4",
            ListCost="1.0",
            ProviderLineType="Usage",
            CommitmentDiscountId="8f3c-guid",
            CommitmentDiscountType="Reservation",
            CommitmentDiscountStatus="Used",
        )
    ]
    unassigned, _ = priced(tmp_path, context(accounts=[azure]), rows)
    assert unassigned.price == {"USD": D("1.0")}  # nobody assigned: the reseller's savings
    mine, _ = priced(
        tmp_path, context(accounts=[azure], commitment_owners={"8f3c-guid": "acme"}), rows
    )
    assert mine.price == {"USD": D("0.4")}
    theirs, _ = priced(
        tmp_path, context(accounts=[azure], commitment_owners={"8f3c-guid": "globex"}), rows
    )
    assert theirs.price == {"USD": D("1.0")}


def test_gcp_committed_use_credit(tmp_path: Path) -> None:
    gcp = account("my-project", provider="gcp")
    rows = [
        line(
            ProviderName="gcp",
            SubAccountId="my-project",
            BilledCost="0.3",
            ListCost="0.5",
            ProviderLineType="regular",
            CommitmentDiscountId="cud-1",
            CommitmentDiscountType="Committed Use",
            CommitmentDiscountStatus="Used",
        )
    ]
    summary, _ = priced(tmp_path, context(accounts=[gcp]), rows)
    assert summary.price == {"USD": D("0.5")}


def test_empty_commitment_fields_are_no_commitment(tmp_path: Path) -> None:
    rows = [line(BilledCost="1", ListCost="2", CommitmentDiscountId="", CommitmentDiscountType="")]
    summary, _ = priced(tmp_path, context(), rows)
    assert summary.price == {"USD": D(1)}


def test_assignment_overrides_the_owner_account(tmp_path: Path) -> None:
    own_ri = "arn:aws:ec2:us-east-1:111111111111:reserved-instances/own"
    rows = [
        line(
            BilledCost="0",
            ListCost="0.096",
            ProviderLineType="DiscountedUsage",
            CommitmentDiscountId=own_ri,
            CommitmentOwnerAccountId="111111111111",
        )
    ]
    summary, _ = priced(tmp_path, context(commitment_owners={own_ri: "globex"}), rows)
    assert summary.price == {"USD": D("0.096")}


# --- §4.3 price lists ---------------------------------------------------------------------------

STANDARD = price_list(
    [
        {"id": "s3", "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"},
        {
            "id": "m5",
            "match": {"usage_type": "boxusage:M5.LARGE"},
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
        {
            "id": "s3-eu",
            "match": {"service": "Amazon Simple Storage Service", "region": "eu-central-1"},
            "type": "markup",
            "percent": "7",
        },
        {
            "id": "s3-eu-tie",
            "match": {"service": "AmazonS3", "region": "eu-central-1"},
            "type": "markup",
            "percent": "99",
        },
        {"id": "acct", "match": {"account": "444444444444"}, "type": "markup", "percent": "1"},
        {"id": "credits", "match": {"charge_category": "credit"}, "type": "markup", "percent": "0"},
        {"id": "op", "match": {"operation": "GetObject"}, "type": "markup", "percent": "3"},
    ],
    default={"type": "markup", "percent": "10"},
)
S3 = {
    "ServiceName": "Amazon Simple Storage Service",
    "ServiceCode": "AmazonS3",
    "SkuMeter": "TimedStorage-ByteHrs",
    "Operation": "PutObject",
}


@pytest.mark.parametrize(
    ("overrides", "rule", "price"),
    [
        ({"BilledCost": "100"}, "default", "110"),  # 100 × 1.10
        # `service` matches the service code; 100 × 1.05
        ({**S3, "BilledCost": "100"}, "s3", "105"),
        # `usage_type` matches SkuMeter ignoring case, from ListCost: 120 × 0.98
        ({"SkuMeter": "BoxUsage:m5.large", "BilledCost": "100", "ListCost": "120"}, "m5", "117.6"),
        # fixed rate: 1234.5 units × 0.02
        (
            {
                "ProviderName": "gcp",
                "SubAccountId": "gp",
                "SkuId": "abcd-1234",
                "PricingQuantity": "1234.5",
                "BilledCost": "9",
            },
            "gb",
            "24.69",
        ),
        # two keys beat one; of two two-key rules the earlier wins: 100 × 1.07
        ({**S3, "RegionId": "eu-central-1", "BilledCost": "100"}, "s3-eu", "107"),
        ({"SubAccountId": "444444444444", "BilledCost": "100"}, "acct", "101"),
        ({**S3, "Operation": "GetObject", "BilledCost": "100"}, "s3", "105"),  # tie: earlier
        ({"Operation": "GetObject", "BilledCost": "100"}, "op", "103"),
    ],
)
def test_price_rules(tmp_path: Path, overrides: dict[str, Any], rule: str, price: str) -> None:
    cp = context(
        accounts=[account(), account("444444444444"), account("gp", provider="gcp")],
        customer_=customer(price_list_id="standard"),
        price_lists=[STANDARD],
    )
    _, (group,) = priced(tmp_path, cp, [line(**overrides)])
    assert (group["price_rule"], group["price"]) == (rule, D(price))


def test_charge_category_rule_prices_passed_through_credits(tmp_path: Path) -> None:
    cp = context(
        customer_=customer(price_list_id="standard"),
        price_lists=[STANDARD],
        settings_=settings(pass_through={"provider_credits": True}),
    )
    rows = [line(BilledCost="-10", ChargeCategory="Credit", ProviderLineType="Credit")]
    _, (group,) = priced(tmp_path, cp, rows)
    assert (group["price_rule"], group["price"]) == ("credits", D(-10))


def test_price_keeps_full_precision(tmp_path: Path) -> None:
    odd = price_list(id="odd", default={"type": "markup", "percent": "12.34567891"})
    cp = context(customer_=customer(price_list_id="odd"), price_lists=[odd])
    _, (group,) = priced(tmp_path, cp, [line(BilledCost="0.0000000001")])
    # 1e-10 × 1.1234567891 exactly: 20 decimal places.
    assert group["price"] == D("0.00000000011234567891")


def test_price_list_resolution_account_customer_default(tmp_path: Path) -> None:
    lists = [
        price_list(id="account-list", default={"type": "markup", "percent": "1"}),
        price_list(id="customer-list", default={"type": "markup", "percent": "2"}),
        price_list(id="default-list", default={"type": "markup", "percent": "3"}),
    ]
    rows = [line(BilledCost="100", SubAccountId="1"), line(BilledCost="100", SubAccountId="2")]
    accounts = [account("1", price_list_id="account-list"), account("2")]

    def prices(cust: Any, default: str | None) -> list[tuple[str, Decimal]]:
        cp = context(
            accounts=accounts,
            customer_=cust,
            price_lists=lists,
            settings_=settings(default_price_list_id=default),
        )
        _, groups = priced(tmp_path, cp, rows)
        return sorted((g["price_list_id"] or "-", g["price"]) for g in groups)

    assert prices(customer(price_list_id="customer-list"), "default-list") == [
        ("account-list", D(101)),
        ("customer-list", D(102)),
    ]
    assert prices(customer(), "default-list") == [
        ("account-list", D(101)),
        ("default-list", D(103)),
    ]
    assert prices(customer(), None) == [("-", D(100)), ("account-list", D(101))]


def test_unknown_price_list_is_a_billing_error(tmp_path: Path) -> None:
    cp = context(customer_=customer(price_list_id="missing"))
    with pytest.raises(BillingError, match="missing"):
        priced(tmp_path, cp, [line(BilledCost="1")])


def test_batch_prices_every_customer_in_one_file(tmp_path: Path) -> None:
    acme = context()
    globex = context(
        customer_=customer(id="globex"), accounts=[account("222222222222", customer_id="globex")]
    )
    bill = write_lines(
        tmp_path / "bill.parquet",
        [
            line(BilledCost="1"),
            line(BilledCost="2", SubAccountId="222222222222"),
        ],
    )
    out = tmp_path / "all.parquet"
    summaries = price_usage_batch([acme, globex], [bill], out)
    assert {k: v.price for k, v in summaries.items()} == {
        "acme": {"USD": D(1)},
        "globex": {"USD": D(2)},
    }
    assert PricedUsage.from_dict(summaries["acme"].to_dict()) == summaries["acme"]


def test_priced_usage_columns_and_retained_reasons(tmp_path: Path) -> None:
    bill = write_lines(tmp_path / "bill.parquet", PROVIDER_LINES)
    out = tmp_path / "priced.parquet"
    summary = price_usage(context(), [bill], out)
    columns = duckdb.connect().execute(f"SELECT * FROM '{out}'").description
    assert tuple(c[0] for c in columns) == PRICED_COLUMNS
    assert set(summary.balances[0].retained) <= set(RETAINED_REASONS)


def test_no_bill_files_prices_nothing(tmp_path: Path) -> None:
    summary = price_usage(context(), [], tmp_path / "priced.parquet")
    assert (summary.rows, summary.price) == (0, {})
