"""Every public sample bill in shared/data/external ingests, and its normalized totals equal the
file's own column sums to the last decimal: computed here from the raw text with csv + Decimal,
without rounding (every value in these files has at most the schema's 18 decimals)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.bill_files.normalize import normalize_bill
from chalicelib.bill_files.schema import NORMALIZED_COLUMNS
from tests.bill_files.conftest import EXTERNAL, csv_rows, exact_sum, lines, parquet_types, q, qsum

ALL_FILES = sorted(p.name for p in EXTERNAL.glob("*.csv"))


def test_the_external_corpus_is_there() -> None:
    assert ALL_FILES == [
        "aws-cur-2023-06-final.csv",
        "aws-cur-2023-06-not-final.csv",
        "azure-cost-details-ea.csv",
        "azure-cost-details-mca.csv",
        "focus-1.0-sample.csv",
        "gcp-billing-export-2024-03.csv",
    ]


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_file_ingests_into_the_normalized_schema(name: str, out_dir: Path) -> None:
    bill = normalize_bill(EXTERNAL / name, source_file_id=f"bill-{name}", out_dir=out_dir)
    assert bill.rows == len(csv_rows(EXTERNAL / name))
    assert bill.rows == sum(p.rows for p in bill.partitions)
    for partition in bill.partitions:
        assert partition.path.is_file()
        assert partition.path.is_relative_to(out_dir)
        assert parquet_types(partition.path) == list(NORMALIZED_COLUMNS)
    assert all(row["SourceFileId"] == f"bill-{name}" for row in lines(bill))
    # The work directory is gone; only the partition tree remains.
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        {f"provider={p.provider}" for p in bill.partitions}
    )


def test_aws_cur_final(out_dir: Path) -> None:
    path = EXTERNAL / "aws-cur-2023-06-final.csv"
    rows = csv_rows(path)
    bill = normalize_bill(path, source_file_id="b1", out_dir=out_dir)

    assert (bill.format, bill.provider, bill.currency) == ("aws-cur-legacy", "aws", "NOK")
    assert bill.periods == ["2023-06"]
    assert bill.totals.billed_cost == exact_sum(r["lineItem/UnblendedCost"] for r in rows) == 30
    assert bill.totals.list_cost == exact_sum(r["pricing/publicOnDemandCost"] for r in rows)
    # All three lines are SavingsPlanCoveredUsage: effective cost is the SP effective cost.
    assert {r["lineItem/LineItemType"] for r in rows} == {"SavingsPlanCoveredUsage"}
    expected_effective = exact_sum(r["savingsPlan/SavingsPlanEffectiveCost"] for r in rows)
    assert bill.totals.effective_cost == expected_effective == Decimal("0.3")
    assert bill.final is True
    assert bill.invoice_ids == ["987654321"]

    # Account ids keep their leading zeros, in the data and in the partition path.
    (partition,) = bill.partitions
    assert partition.account_id == "0099999999999"
    assert partition.billing_account_id == "0099999999999"
    assert partition.path.parent.name == "account=0099999999999"
    assert partition.path.relative_to(out_dir).parts[:2] == ("provider=aws", "period=2023-06")
    assert partition.savings_eligible_cost == 30  # list cost of commitment-covered usage

    first = lines(bill)[0]
    assert first["SubAccountId"] == first["BillingAccountId"] == "0099999999999"
    assert first["ChargeCategory"] == "Usage"
    assert first["ProviderLineType"] == "SavingsPlanCoveredUsage"
    assert first["CommitmentDiscountStatus"] == "Used"
    assert first["CommitmentDiscountId"] is None  # the fixture has no SavingsPlanArn
    assert first["ServiceCode"] == "AmazonEC2"
    assert first["ServiceName"] == "Amazon Elastic Compute Cloud"
    assert first["SkuMeter"] == "BoxUsage:m5.large"
    # 'YYYY-MM-DD HH:MM:SS' without T or Z is UTC.
    assert first["ChargePeriodStart"] == dt.datetime(2023, 6, 1, 0, 0)
    assert first["ChargePeriodEnd"] == dt.datetime(2023, 6, 1, 1, 0)
    assert first["BillingPeriodStart"] == dt.datetime(2023, 6, 1)
    assert first["Tags"] == "{}"  # koku's noTags/ columns are not resource tags


def test_aws_cur_not_final(out_dir: Path) -> None:
    path = EXTERNAL / "aws-cur-2023-06-not-final.csv"
    bill = normalize_bill(path, source_file_id="b2", out_dir=out_dir)
    assert bill.final is False
    assert bill.invoice_ids == []
    assert bill.totals.billed_cost == 30
    assert [p.account_id for p in bill.partitions] == ["9999999999999"]


def test_gcp_export_scientific_notation_and_two_invoice_months(out_dir: Path) -> None:
    path = EXTERNAL / "gcp-billing-export-2024-03.csv"
    rows = csv_rows(path)
    bill = normalize_bill(path, source_file_id="g", out_dir=out_dir)

    assert (bill.format, bill.provider, bill.currency) == ("gcp-billing-export", "gcp", "USD")
    assert bill.periods == ["2024-02", "2024-03"]  # from invoice.month, not export_time
    assert [p.rows for p in bill.partitions] == [3, 3]
    assert {p.account_id for p in bill.partitions} == {"cloud-billing-292519"}
    assert {p.billing_account_id for p in bill.partitions} == {"018984-D0AAA4-940B88"}
    assert bill.final is False  # Google's export has no invoice id
    assert bill.totals.billed_cost == exact_sum(r["cost"] for r in rows) == 0

    got = lines(bill)
    by_start = sorted(rows, key=lambda r: r["usage_start_time"])
    assert [g["PricingQuantity"] for g in got] == [
        Decimal(r["usage.amount_in_pricing_units"]) for r in by_start
    ]
    assert Decimal("0.00001385") in [g["PricingQuantity"] for g in got]  # '1.385e-05'
    assert got[0]["ChargePeriodStart"] == dt.datetime(2024, 2, 1, 3, 0)  # '+00:00' offset
    assert got[0]["ServiceCode"] == "6F81-5844-456A"
    assert got[0]["ServiceName"] == "Compute Engine"
    assert got[0]["ProviderLineType"] == "regular"
    assert got[0]["Tags"] == "{}"
    assert got[0]["CommitmentDiscountStatus"] is None


def test_azure_mca_crlf_and_mc_currency(out_dir: Path) -> None:
    path = EXTERNAL / "azure-cost-details-mca.csv"
    assert b"\r\n" in path.read_bytes()
    rows = csv_rows(path)
    bill = normalize_bill(path, source_file_id="m", out_dir=out_dir)

    assert (bill.format, bill.provider, bill.currency) == ("azure-mca", "azure", "MC")
    assert bill.periods == ["2020-09"]
    assert bill.totals.billed_cost == exact_sum(r["CostInBillingCurrency"] for r in rows)
    assert bill.totals.billed_cost == Decimal("19.998413754")
    assert [p.account_id for p in bill.partitions] == ["7269128e-efae-4646-a2d7-8b3fec4751fb"]
    assert bill.partitions[0].billing_account_id == "99999999"
    assert bill.final is False

    got = lines(bill)
    # The last column of a CRLF line must not keep the '\r'.
    assert {g["ServiceCategory"] for g in got} == {"Compute"}
    purchase = [g for g in got if g["ProviderLineType"] == "Purchase"]
    assert len(purchase) == 1 and purchase[0]["ChargeCategory"] == "Purchase"
    assert {g["ChargeCategory"] for g in got} == {"Usage", "Purchase"}
    assert min(g["ChargePeriodStart"] for g in got) == dt.datetime(2020, 9, 1)


def test_azure_ea_bom_us_dates_and_sixteen_decimals(out_dir: Path) -> None:
    path = EXTERNAL / "azure-cost-details-ea.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = csv_rows(path)
    bill = normalize_bill(path, source_file_id="e", out_dir=out_dir)

    assert (bill.format, bill.provider, bill.currency) == ("azure-ea", "azure", "USD")
    assert bill.periods == ["2023-09"]
    # One cost has 16 decimals: the total keeps every one of them.
    assert max(_decimals(r["Cost"]) for r in rows) == 16
    assert bill.totals.billed_cost == exact_sum(r["Cost"] for r in rows)
    assert bill.totals.billed_cost == Decimal("8.5450077867419368")
    assert bill.totals.effective_cost == bill.totals.billed_cost
    assert bill.totals.list_cost == qsum(_azure_list_cost(r) for r in rows)
    assert len(bill.partitions) == len({r["SubscriptionId"] for r in rows}) == 4
    # The BOM is not part of the first column's name: BillingAccountId was found.
    assert {p.billing_account_id for p in bill.partitions} == {"8611537"}

    got = lines(bill)
    first = min(got, key=lambda g: (g["ProviderLineType"] != "Purchase", g["ChargePeriodStart"]))
    assert first["ChargePeriodStart"] == dt.datetime(2023, 9, 21)  # '09/21/2023'
    assert first["ChargePeriodEnd"] == dt.datetime(2023, 9, 22)
    assert first["BillingPeriodStart"] == dt.datetime(2023, 9, 1)
    assert first["ChargeCategory"] == "Purchase"
    assert first["CommitmentDiscountId"] == "49ed0e4d-8e0c-4f1f-af2c-67c865056615"
    assert first["CommitmentDiscountType"] == "Reservation"
    assert first["CommitmentDiscountStatus"] is None  # a purchase is not covered usage
    (databricks,) = [g for g in got if (g["ResourceId"] or "").endswith("dbstoragewp6hglwvvrad2")]
    # EA writes the members without braces: '"CostCenter": "1234","env": "prod",…'
    assert databricks["Tags"] == (
        '{"CostCenter":"1234","env":"prod","org":"trey","application":"databricks",'
        '"databricks-environment":"true"}'
    )
    assert all(g["ResourceId"] is None or g["ResourceId"] == g["ResourceId"].lower() for g in got)


def _decimals(text: str) -> int:
    exponent = Decimal(text).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _azure_list_cost(row: dict[str, str]) -> Decimal:
    """The documented rule, restated: PayG price × quantity, else the billed cost."""
    cost, payg, quantity = row["Cost"], row["PayGPrice"], row["Quantity"]
    if row["ChargeType"].lower() in ("purchase", "refund") or not payg or not quantity:
        return Decimal(cost)
    if Decimal(payg) == 0 and Decimal(cost) != 0:
        return Decimal(cost)
    # A product may have more decimals than the schema keeps: it is rounded to 18.
    return q(Decimal(payg) * Decimal(quantity))


def test_focus_sample_null_cells_and_providers(out_dir: Path) -> None:
    path = EXTERNAL / "focus-1.0-sample.csv"
    rows = csv_rows(path)  # csv reads the unquoted NULL as the text 'NULL'
    bill = normalize_bill(path, source_file_id="f", out_dir=out_dir)

    assert (bill.format, bill.provider, bill.currency) == ("focus-1.0", "mixed", "USD")
    assert bill.periods == ["2024-09", "2024-10"]
    real = [r for r in rows if r["BilledCost"] != "NULL"]
    assert bill.totals.billed_cost == exact_sum(r["BilledCost"] for r in real)
    assert bill.totals.billed_cost == Decimal("20.52022672899")
    assert bill.totals.effective_cost == exact_sum(
        r["EffectiveCost"] for r in rows if r["EffectiveCost"] != "NULL"
    )
    assert bill.totals.list_cost == exact_sum(
        r["ListCost"] for r in rows if r["ListCost"] != "NULL"
    )
    assert bill.final is False  # FOCUS 1.0 has no InvoiceId

    by_provider: dict[str, int] = {}
    for p in bill.partitions:
        by_provider[p.provider] = by_provider.get(p.provider, 0) + p.rows
    assert by_provider == {"aws": 942, "azure": 51, "oci": 7}
    assert len(bill.partitions) == len(
        {(r["ProviderName"], r["BillingPeriodStart"][:7], r["SubAccountId"]) for r in rows}
    )

    got = lines(bill)
    assert all(g["ChargeClass"] is None for g in got)  # NULL on every row
    assert (
        sum(1 for g in got if g["ContractedCost"] is None)
        == sum(1 for r in rows if r["ContractedCost"] == "NULL")
        == 7
    )
    assert not any(v == "NULL" for g in got for v in g.values())
    assert all(g["Tags"].startswith("{") for g in got)
    # Azure resource-path ids are cut to the bare subscription / billing account id.
    azure = [g for g in got if g["ProviderName"] == "azure"]
    assert azure and not any(g["SubAccountId"].startswith("/") for g in azure)
    assert {g["BillingAccountId"] for g in azure} == {"8611537"}

    used = [r for r in rows if r["CommitmentDiscountStatus"] == "Used"]
    assert sum(p.savings_eligible_cost for p in bill.partitions) == exact_sum(
        r["ListCost"] for r in used
    )
    owners = {g["CommitmentOwnerAccountId"] for g in got if g["CommitmentDiscountStatus"] == "Used"}
    assert owners == {"961082193871", "365499461711"}  # the ARNs' account fields
