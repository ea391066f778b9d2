"""AWS CUR semantics on small generated reports: charge categories, effective cost, commitments,
containers, CUR 2.0 layouts and manifests."""

from __future__ import annotations

import datetime as dt
import gzip
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from chalicelib.bill_files import aws_cur
from chalicelib.bill_files.normalize import normalize_bill
from chalicelib.errors import InvalidBillFile
from tests.bill_files import curgen
from tests.bill_files.conftest import lines

# Every line item type AWS documents, plus an unknown discount and an unknown type.
LINE_TYPES = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "Tax": "Tax",
    "Credit": "Credit",
    "Refund": "Credit",
    "EdpDiscount": "Credit",
    "PrivateRateDiscount": "Credit",
    "BundledDiscount": "Credit",
    "DistributorDiscount": "Credit",
    "SppDiscount": "Credit",
    "RiVolumeDiscount": "Credit",
    "SomeFutureDiscount": "Credit",
    "SomethingNew": "Adjustment",
}


def test_charge_category_for_every_line_item_type(tmp_path: Path, out_dir: Path) -> None:
    rows = [
        curgen.line(
            lineItem__LineItemType=t,
            lineItem__UnblendedCost=str(i + 1),
            identity__LineItemId=t,
            lineItem__UsageStartDate=f"2026-10-01T{i:02d}:00:00Z",
        )
        for i, t in enumerate(LINE_TYPES)
    ]
    bill = normalize_bill(
        curgen.write(tmp_path / "cur.csv", rows), source_file_id="x", out_dir=out_dir
    )
    got = {g["ProviderLineType"]: g["ChargeCategory"] for g in lines(bill)}
    assert got == LINE_TYPES
    # The module's table agrees with the design's (every documented type is in it).
    assert {t: c for t, c in LINE_TYPES.items() if t in aws_cur.CHARGE_CATEGORY} == (
        aws_cur.CHARGE_CATEGORY
    )


def _commitment_month() -> list[dict[str, str]]:
    """One month of an account with an RI and a savings plan (numbers in the test below)."""
    ri, sp = curgen.RI_ARN, curgen.SP_ARN
    L = curgen.line
    return [
        L(
            lineItem__LineItemType="Fee",
            lineItem__UnblendedCost="876.00",
            reservation__ReservationARN=ri,
            pricing__publicOnDemandCost="",
        ),
        L(
            lineItem__LineItemType="RIFee",
            lineItem__UnblendedCost="10.00",
            reservation__ReservationARN=ri,
            pricing__publicOnDemandCost="",
            reservation__UnusedAmortizedUpfrontFeeForBillingPeriod="2.00",
            reservation__UnusedRecurringFee="1.00",
        ),
        L(
            lineItem__LineItemType="DiscountedUsage",
            lineItem__UnblendedCost="0",
            reservation__ReservationARN=ri,
            reservation__EffectiveCost="22.33",
            pricing__publicOnDemandCost="30.00",
        ),
        L(
            lineItem__LineItemType="DiscountedUsage",
            lineItem__UnblendedCost="0",
            reservation__ReservationARN=ri,
            reservation__EffectiveCost="9.00",
            pricing__publicOnDemandCost="12.00",
            lineItem__UsageAccountId="999988887777",
        ),
        L(
            lineItem__LineItemType="SavingsPlanUpfrontFee",
            lineItem__UnblendedCost="100",
            savingsPlan__SavingsPlanARN=sp,
            pricing__publicOnDemandCost="",
        ),
        L(
            lineItem__LineItemType="SavingsPlanRecurringFee",
            lineItem__UnblendedCost="50",
            savingsPlan__SavingsPlanARN=sp,
            savingsPlan__TotalCommitmentToDate="50",
            savingsPlan__UsedCommitment="45",
            pricing__publicOnDemandCost="",
        ),
        L(
            lineItem__LineItemType="SavingsPlanCoveredUsage",
            lineItem__UnblendedCost="60",
            savingsPlan__SavingsPlanARN=sp,
            savingsPlan__SavingsPlanEffectiveCost="40",
            pricing__publicOnDemandCost="60",
        ),
        L(
            lineItem__LineItemType="SavingsPlanNegation",
            lineItem__UnblendedCost="-60",
            savingsPlan__SavingsPlanARN=sp,
            pricing__publicOnDemandCost="",
        ),
        L(
            lineItem__LineItemType="Usage",
            lineItem__UnblendedCost="5",
            pricing__publicOnDemandCost="5",
        ),
        L(
            lineItem__LineItemType="Tax",
            lineItem__UnblendedCost="2",
            pricing__publicOnDemandCost="",
        ),
        L(
            lineItem__LineItemType="Credit",
            lineItem__UnblendedCost="-2",
            pricing__publicOnDemandCost="",
        ),
    ]


def test_effective_cost_is_the_amortized_cost(tmp_path: Path, out_dir: Path) -> None:
    path = curgen.write(tmp_path / "cur.csv", _commitment_month())
    bill = normalize_bill(path, source_file_id="x", out_dir=out_dir)
    got = sorted((g["ProviderLineType"], g["BilledCost"], g["EffectiveCost"]) for g in lines(bill))
    assert got == sorted(
        [
            ("Fee", 876, 0),  # the RI's upfront payment: amortized into the usage lines
            ("RIFee", 10, 3),  # only the unused part: 2 upfront + 1 recurring
            ("DiscountedUsage", 0, Decimal("22.33")),
            ("DiscountedUsage", 0, 9),
            ("SavingsPlanUpfrontFee", 100, 0),
            ("SavingsPlanRecurringFee", 50, 5),  # the unused commitment, 50 - 45
            ("SavingsPlanCoveredUsage", 60, 40),
            ("SavingsPlanNegation", -60, 0),
            ("Usage", 5, 5),
            ("Tax", 2, 2),
            ("Credit", -2, -2),
        ]
    )
    # Σ effective = the month's amortized cost, each dollar once; Σ billed = the cash view.
    assert bill.totals.effective_cost == Decimal("84.33")
    assert bill.totals.billed_cost == Decimal("1041")
    # List cost: publicOnDemandCost, else the billed cost; a negation has none (0).
    assert bill.totals.list_cost == Decimal("876") + 10 + 30 + 12 + 100 + 50 + 60 + 0 + 5 + 2 - 2


def test_without_amortization_columns_effective_is_unblended(tmp_path: Path, out_dir: Path) -> None:
    dropped = {
        "reservation/EffectiveCost",
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "savingsPlan/SavingsPlanEffectiveCost",
    }
    columns = [c for c in curgen.COLUMNS if c not in dropped]
    path = curgen.write(tmp_path / "cur.csv", _commitment_month(), columns=columns)
    bill = normalize_bill(path, source_file_id="x", out_dir=out_dir)
    assert bill.totals.effective_cost == bill.totals.billed_cost == Decimal("1041")
    assert all(g["EffectiveCost"] == g["BilledCost"] for g in lines(bill))


def test_commitments_and_their_owner_from_the_arn(tmp_path: Path, out_dir: Path) -> None:
    path = curgen.write(tmp_path / "cur.csv", _commitment_month())
    bill = normalize_bill(path, source_file_id="x", out_dir=out_dir)
    got = lines(bill)
    covered = [g for g in got if g["CommitmentDiscountStatus"] == "Used"]
    assert sorted(g["ProviderLineType"] for g in covered) == [
        "DiscountedUsage",
        "DiscountedUsage",
        "SavingsPlanCoveredUsage",
    ]
    owners = {
        (g["CommitmentDiscountType"], g["CommitmentOwnerAccountId"])
        for g in got
        if g["CommitmentDiscountId"] is not None
    }
    # arn:aws:ec2:us-east-1:111122223333:reserved-instances/… and
    # arn:aws:savingsplans::011122223333:savingsplan/… (leading zero kept)
    assert owners == {("Reservation", "111122223333"), ("Savings Plan", "011122223333")}
    assert {g["CommitmentDiscountId"] for g in got if g["ProviderLineType"] == "RIFee"} == {
        curgen.RI_ARN
    }
    assert all(
        g["CommitmentOwnerAccountId"] is None for g in got if g["CommitmentDiscountId"] is None
    )
    # savings-eligible = list cost of covered usage, per account.
    eligible = {p.account_id: p.savings_eligible_cost for p in bill.partitions}
    assert eligible == {"012345678901": Decimal("90"), "999988887777": Decimal("12")}


def test_list_cost_rules(tmp_path: Path, out_dir: Path) -> None:
    path = curgen.write(tmp_path / "cur.csv", _commitment_month())
    got = {
        (g["ProviderLineType"], g["BilledCost"]): g["ListCost"]
        for g in lines(normalize_bill(path, source_file_id="x", out_dir=out_dir))
    }
    assert got[("SavingsPlanNegation", Decimal("-60"))] == 0  # the covered line carries it
    assert got[("Tax", Decimal("2"))] == Decimal("2")  # no list price: billed
    assert got[("SavingsPlanCoveredUsage", Decimal("60"))] == Decimal("60")


def test_tags_and_text_columns(tmp_path: Path, out_dir: Path) -> None:
    rows = [
        curgen.line(**{"resourceTags/user:team": "", "lineItem/UnblendedCost": "1"}),
        curgen.line(
            **{
                "resourceTags/user:team": 'data "eng"',
                "resourceTags/user:env": "prod",
                "lineItem/UnblendedCost": "2",
            }
        ),
    ]
    bill = normalize_bill(
        curgen.write(tmp_path / "c.csv", rows), source_file_id="x", out_dir=out_dir
    )
    tags = [g["Tags"] for g in lines(bill)]
    assert tags == ["{}", '{"user:team":"data \\"eng\\"","user:env":"prod"}']
    assert lines(bill)[0]["RegionId"] == "us-east-1"


@pytest.mark.parametrize("compress", [None, "gz", "zip"])
def test_containers_are_detected_by_content(
    tmp_path: Path, out_dir: Path, compress: str | None
) -> None:
    # The name says nothing: detection is by magic bytes and header.
    path = curgen.write(tmp_path / "bill.bin", [curgen.line()] * 3, compress=compress)
    bill = normalize_bill(path, source_file_id="x", out_dir=out_dir)
    assert bill.container == {None: "csv", "gz": "csv.gz", "zip": "csv.zip"}[compress]
    assert bill.rows == 3 and bill.totals.billed_cost == Decimal("0.288")


def test_multi_member_gzip(tmp_path: Path, out_dir: Path) -> None:
    data = curgen.render([curgen.line()] * 2)
    head, _, body = data.partition(b"\n")
    path = tmp_path / "cur.csv.gz"
    path.write_bytes(gzip.compress(head + b"\n") + gzip.compress(body))
    assert normalize_bill(path, source_file_id="x", out_dir=out_dir).rows == 2


def test_final_needs_an_invoice_id_on_every_line(tmp_path: Path, out_dir: Path) -> None:
    rows = [curgen.line(bill__InvoiceId="INV1"), curgen.line(bill__InvoiceId="")]
    bill = normalize_bill(
        curgen.write(tmp_path / "a.csv", rows), source_file_id="x", out_dir=out_dir
    )
    assert bill.final is False and bill.invoice_ids == ["INV1"]
    rows = [curgen.line(bill__InvoiceId="INV1"), curgen.line(bill__InvoiceId="INV2")]
    bill = normalize_bill(
        curgen.write(tmp_path / "b.csv", rows), source_file_id="y", out_dir=out_dir
    )
    assert bill.final is True and bill.invoice_ids == ["INV1", "INV2"]
    columns = [c for c in curgen.COLUMNS if c != "bill/InvoiceId"]
    bill = normalize_bill(
        curgen.write(tmp_path / "c.csv", rows, columns=columns), source_file_id="z", out_dir=out_dir
    )
    assert bill.final is False


def test_extra_malformed_and_differently_cased_columns_are_fine(
    tmp_path: Path, out_dir: Path
) -> None:
    columns = [
        c.replace("savingsPlan/SavingsPlanARN", "savingsPlan/SavingsPlanArn")
        for c in curgen.COLUMNS
    ] + ["pricing/OfferingClasspricing/PurchaseOption", "costCategory/Charge type", ""]
    rows = [
        curgen.line(
            **{
                "savingsPlan/SavingsPlanArn": curgen.SP_ARN,
                "lineItem/LineItemType": "SavingsPlanCoveredUsage",
            }
        )
    ]
    bill = normalize_bill(
        curgen.write(tmp_path / "c.csv", rows, columns=columns), source_file_id="x", out_dir=out_dir
    )
    assert lines(bill)[0]["CommitmentDiscountId"] == curgen.SP_ARN


def test_manifest_gives_the_report_identity(tmp_path: Path, out_dir: Path) -> None:
    path = curgen.write(tmp_path / "cur.csv.gz", [curgen.line()], compress="gz")
    manifest = {
        "assemblyId": "a1b2c3",
        "reportName": "rebill-cur",
        "billingPeriod": {"start": "20261001T000000.000Z", "end": "20261101T000000.000Z"},
    }
    bill = normalize_bill(path, source_file_id="x", out_dir=out_dir, manifest=manifest)
    assert (bill.report.report_name, bill.report.assembly_id, bill.report.billing_period) == (
        "rebill-cur",
        "a1b2c3",
        "2026-10",
    )
    exports = {
        "executionId": "exec-9",
        "exportArn": "arn:aws:bcm-data-exports:us-east-1:111122223333:export/my-cur2-abc",
        "billingPeriod": {"start": "2026-10-01T00:00:00.000Z"},
    }
    bill = normalize_bill(path, source_file_id="y", out_dir=out_dir, manifest=exports)
    assert (bill.report.report_name, bill.report.assembly_id) == ("my-cur2-abc", "exec-9")
    assert normalize_bill(path, source_file_id="z", out_dir=out_dir).report.assembly_id is None

    wrong = dict(manifest, billingPeriod={"start": "20260901T000000.000Z"})
    with pytest.raises(InvalidBillFile, match="manifest is for 2026-09"):
        normalize_bill(path, source_file_id="w", out_dir=out_dir, manifest=wrong)


CUR2_ROWS = """
SELECT * FROM (VALUES
  ('Usage', '0.1', '0.1', '012345678901', '000011112222', 'INV9', 'AmazonS3',
   '{"user_team":"data"}',
   '{"product_name":"Amazon Simple Storage Service","region_code":"eu-west-1"}',
   NULL, '2026-10-01T00:00:00Z', '2026-10-03T04:00:00Z', 'USD'),
  ('SavingsPlanCoveredUsage', '0.3', '0.3', '012345678901', '000011112222', 'INV9', 'AmazonEC2',
   '{}', '{"product_name":"Amazon Elastic Compute Cloud"}',
   'arn:aws:savingsplans::011122223333:savingsplan/x', '2026-10-01T00:00:00Z',
   '2026-10-03T05:00:00Z', 'USD')
) t(line_item_line_item_type, line_item_unblended_cost, pricing_public_on_demand_cost,
    line_item_usage_account_id, bill_payer_account_id, bill_invoice_id, line_item_product_code,
    resource_tags, product, savings_plan_savings_plan_a_r_n, bill_billing_period_start_date,
    line_item_usage_start_date, line_item_currency_code)
"""


def test_cur2_csv(tmp_path: Path, out_dir: Path) -> None:
    path = tmp_path / "cur2.csv"
    duckdb.execute(f"COPY ({CUR2_ROWS}) TO '{path}' (HEADER)")
    bill = normalize_bill(path, source_file_id="x", out_dir=out_dir)
    assert bill.format == "aws-cur2"
    assert bill.final is True and bill.invoice_ids == ["INV9"]
    assert bill.totals.billed_cost == Decimal("0.4")
    first, second = lines(bill)
    assert first["Tags"] == '{"user_team":"data"}'
    assert first["ServiceName"] == "Amazon Simple Storage Service"
    assert first["RegionId"] == "eu-west-1"
    assert second["CommitmentOwnerAccountId"] == "011122223333"
    assert second["EffectiveCost"] == second["BilledCost"]  # no SP amortization columns


def test_cur2_parquet_with_doubles_maps_and_timestamps(tmp_path: Path, out_dir: Path) -> None:
    path = tmp_path / "part-00001.snappy.parquet"
    duckdb.execute(
        f"""COPY (SELECT line_item_line_item_type,
                  CAST(line_item_unblended_cost AS DOUBLE) AS line_item_unblended_cost,
                  CAST(pricing_public_on_demand_cost AS DOUBLE) AS pricing_public_on_demand_cost,
                  line_item_usage_account_id, bill_payer_account_id, bill_invoice_id,
                  line_item_product_code,
                  CAST(json_transform(resource_tags, '"MAP(VARCHAR, VARCHAR)"')
                       AS MAP(VARCHAR, VARCHAR)) AS resource_tags,
                  CAST(json_transform(product, '"MAP(VARCHAR, VARCHAR)"')
                       AS MAP(VARCHAR, VARCHAR)) AS product,
                  savings_plan_savings_plan_a_r_n,
                  CAST(bill_billing_period_start_date AS TIMESTAMP)
                      AS bill_billing_period_start_date,
                  CAST(line_item_usage_start_date AS TIMESTAMP) AS line_item_usage_start_date,
                  line_item_currency_code
            FROM ({CUR2_ROWS})) TO '{path}' (FORMAT parquet)"""
    )
    bill = normalize_bill(path, source_file_id="x", out_dir=out_dir)
    assert (bill.format, bill.container) == ("aws-cur2", "parquet")
    # 0.1 and 0.3 are not exact doubles; their shortest text is, and that is what is kept.
    assert bill.totals.billed_cost == Decimal("0.4")
    first, _ = lines(bill)
    assert first["Tags"] == '{"user_team":"data"}'
    assert first["ServiceName"] == "Amazon Simple Storage Service"
    assert first["ChargePeriodStart"] == dt.datetime(2026, 10, 3, 4)
