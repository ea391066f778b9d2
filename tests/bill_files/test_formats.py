"""Google Cloud (CSV and JSON lines), FOCUS (versions, Parquet, providers) and Azure commitment
rules, on small files written here."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from chalicelib.bill_files.normalize import normalize_bill
from tests.bill_files.conftest import EXTERNAL, lines, q

GCP_RECORDS = [
    {
        "billing_account_id": "01ABCD-234567-89EFGH",
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "CP-1", "description": "N2 Instance Core running in Americas"},
        "usage_start_time": "2026-10-01 10:00:00 UTC",
        "usage_end_time": "2026-10-01 11:00:00 UTC",
        "project": {"id": "0042-shop", "name": "shop", "labels": [{"key": "team", "value": "x"}]},
        "labels": [{"key": "env", "value": "prod"}, {"key": "app", "value": "web"}],
        "cost": 1.2345678901234,
        "currency": "EUR",
        "usage": {"amount_in_pricing_units": 1.385e-05, "pricing_unit": "hour"},
        "credits": [
            {
                "name": "Committed use discount: CPU",
                "amount": -0.9,
                "type": "COMMITTED_USAGE_DISCOUNT",
                "id": "commitments/123",
                "full_name": "CUD 1y",
            },
            {"name": "Sustained", "amount": -1.5e-3, "type": "SUSTAINED_USAGE_DISCOUNT"},
        ],
        "invoice": {"month": "202610"},
        "cost_type": "regular",
        "some_new_field": {"ignored": True},
    },
    {
        "billing_account_id": "01ABCD-234567-89EFGH",
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "CM-1", "description": "Commitment v1: CPU in Americas for 1 Year"},
        "usage_start_time": "2026-10-01T00:00:00Z",
        "project": {"id": "0042-shop"},
        "cost": "0.5",
        "currency": "EUR",
        "credits": [],
        "invoice": {"month": "202610"},
        "cost_type": "regular",
    },
    {  # BigQuery omits null fields: no project, no credits (a tax line)
        "billing_account_id": "01ABCD-234567-89EFGH",
        "service": {"id": "TAX", "description": "Tax"},
        "usage_start_time": "2026-10-31 23:00:00+00:00",
        "cost": 0.25,
        "currency": "EUR",
        "invoice": {"month": "202610"},
        "cost_type": "tax",
    },
]


def test_gcp_json_lines_with_nested_credits(tmp_path: Path, out_dir: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text("\n".join(json.dumps(r) for r in GCP_RECORDS) + "\n")
    bill = normalize_bill(path, source_file_id="g", out_dir=out_dir)
    assert (bill.format, bill.container, bill.provider, bill.currency) == (
        "gcp-billing-export",
        "jsonl",
        "gcp",
        "EUR",
    )
    assert bill.periods == ["2026-10"]
    # BilledCost = cost + Σ credits, exactly (JSON numbers keep their text).
    expected = q("1.2345678901234") + q("-0.9") + q("-1.5e-3") + q("0.5") + q("0.25")
    assert bill.totals.billed_cost == expected == Decimal("1.0830678901234")
    assert bill.totals.list_cost == q("1.2345678901234") + q("0.5") + q("0.25")
    assert bill.final is False

    got = {g["SkuId"] or g["ServiceCode"]: g for g in lines(bill)}
    covered = got["CP-1"]
    assert covered["SubAccountId"] == "0042-shop"
    assert covered["CommitmentDiscountStatus"] == "Used"
    assert covered["CommitmentDiscountType"] == "Committed Use"
    assert covered["CommitmentDiscountId"] == "commitments/123"
    assert covered["CommitmentOwnerAccountId"] is None
    assert covered["PricingQuantity"] == Decimal("0.0000138500")
    assert covered["Tags"] == '{"env":"prod","app":"web"}'
    assert covered["ChargePeriodStart"] == dt.datetime(2026, 10, 1, 10)
    assert got["CM-1"]["ChargeCategory"] == "Purchase"  # a commitment fee
    tax = got["TAX"]
    assert (tax["ChargeCategory"], tax["SubAccountId"]) == ("Tax", "01ABCD-234567-89EFGH")
    assert sorted(p.account_id for p in bill.partitions) == ["0042-shop", "01ABCD-234567-89EFGH"]
    eligible = {p.account_id: p.savings_eligible_cost for p in bill.partitions}
    assert eligible["0042-shop"] == q("1.2345678901234")


def test_gcp_csv_with_json_list_cells(tmp_path: Path, out_dir: Path) -> None:
    credits = json.dumps([{"name": "Free tier", "amount": -2.5e-07, "type": "FREE_TIER"}])
    labels = json.dumps([{"key": "env", "value": "dev"}])
    path = tmp_path / "gcp.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "billing_account_id",
                "service.id",
                "service.description",
                "cost",
                "currency",
                "usage_start_time",
                "project.id",
                "credits",
                "labels",
                "invoice.month",
                "cost_type",
            ]
        )
        writer.writerow(
            [
                "B",
                "S",
                "Svc",
                "0.000001",
                "USD",
                "2026-09-30 22:00:00+02:00",
                "p",
                credits,
                labels,
                "202609",
                "regular",
            ]
        )
    bill = normalize_bill(path, source_file_id="g", out_dir=out_dir)
    (line,) = lines(bill)
    assert line["BilledCost"] == q("0.000001") + q("-2.5e-07") == Decimal("0.00000075")
    assert line["ChargePeriodStart"] == dt.datetime(2026, 9, 30, 20)  # +02:00 → UTC
    assert line["Tags"] == '{"env":"dev"}'
    assert line["CommitmentDiscountStatus"] is None


@pytest.fixture(scope="module")
def focus_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("focus") / "focus.parquet"
    duckdb.execute(
        f"""COPY (SELECT * REPLACE (
                    CAST(BilledCost AS DECIMAL(18, 11)) AS BilledCost,
                    CAST(EffectiveCost AS DOUBLE) AS EffectiveCost,
                    CAST(BillingPeriodStart AS TIMESTAMP) AS BillingPeriodStart)
              FROM read_csv('{EXTERNAL / "focus-1.0-sample.csv"}', nullstr = 'NULL',
                            all_varchar = true))
            TO '{path}' (FORMAT parquet)"""
    )
    return path


def test_focus_parquet_matches_focus_csv(focus_parquet: Path, tmp_path: Path) -> None:
    from_csv = normalize_bill(
        EXTERNAL / "focus-1.0-sample.csv", source_file_id="c", out_dir=tmp_path / "csv"
    )
    from_parquet = normalize_bill(focus_parquet, source_file_id="p", out_dir=tmp_path / "pq")
    assert from_parquet.container == "parquet"
    assert from_parquet.format == from_csv.format == "focus-1.0"
    assert from_parquet.totals == from_csv.totals
    assert [
        (p.provider, p.period, p.account_id, p.rows, p.billed_cost) for p in from_parquet.partitions
    ] == [(p.provider, p.period, p.account_id, p.rows, p.billed_cost) for p in from_csv.partitions]


FOCUS_HEADER = (
    "BilledCost,EffectiveCost,ListCost,BillingAccountId,SubAccountId,BillingCurrency,"
    "BillingPeriodStart,ChargeCategory,ChargePeriodStart,ProviderName"
)


@pytest.mark.parametrize(
    ("extra", "version"),
    [("", "focus-1.0"), (",SkuMeter", "focus-1.1"), (",InvoiceId", "focus-1.2")],
)
def test_focus_version(tmp_path: Path, out_dir: Path, extra: str, version: str) -> None:
    path = tmp_path / "f.csv"
    value = "," + "X" if extra else ""
    path.write_text(
        f"{FOCUS_HEADER}{extra}\n1,1,1,B,S,USD,2026-10-01T00:00:00Z,Usage,2026-10-01,AWS{value}\n"
    )
    bill = normalize_bill(path, source_file_id="f", out_dir=out_dir)
    assert bill.format == version
    assert bill.final is (version == "focus-1.2")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("AWS", "aws"),
        ("Amazon Web Services", "aws"),
        ("Microsoft", "azure"),
        ("Azure", "azure"),
        ("Google Cloud", "gcp"),
        ("Oracle", "oci"),
        ("Alibaba Cloud", "other"),
    ],
)
def test_focus_provider_codes(tmp_path: Path, out_dir: Path, name: str, code: str) -> None:
    path = tmp_path / "f.csv"
    path.write_text(f'{FOCUS_HEADER}\n1,1,1,B,S,USD,2026-10-01,usage,2026-10-01,"{name}"\n')
    bill = normalize_bill(path, source_file_id="f", out_dir=out_dir)
    assert bill.provider == code
    assert lines(bill)[0]["ChargeCategory"] == "Usage"  # FOCUS values in any case


def test_focus_quoted_null_is_text_and_unquoted_null_is_null(tmp_path: Path, out_dir: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(
        f"{FOCUS_HEADER},ServiceName,Tags\n"
        '1,NULL,NULL,B,S,USD,2026-10-01,Usage,2026-10-01,AWS,"NULL",NULL\n'
    )
    (line,) = lines(normalize_bill(path, source_file_id="f", out_dir=out_dir))
    assert line["ServiceName"] == "NULL"
    assert line["Tags"] == "{}"
    assert line["EffectiveCost"] == line["ListCost"] == 1  # empty costs fall back to BilledCost


AZURE_HEADER = (
    "SubscriptionId,BillingAccountId,Date,MeterCategory,ChargeType,PricingModel,ReservationId,"
    "Quantity,PayGPrice,UnitPrice,CostInBillingCurrency,BillingCurrencyCode,Tags"
)


def test_azure_reservation_usage_is_commitment_covered(tmp_path: Path, out_dir: Path) -> None:
    path = tmp_path / "mca.csv"
    path.write_text(
        f"{AZURE_HEADER}\n"
        'sub-1,ba,2026-10-03,Virtual Machines,Usage,Reservation,r-guid,24,0.1,0,0,EUR,"{}"\n'
        "sub-1,ba,2026-10-03,Virtual Machines,UnusedReservation,Reservation,r-guid,2,0.1,0.05,"
        "0.1,EUR,\n"
        "sub-1,ba,10/04/2026,Storage,Usage,OnDemand,,3,0.02,0.02,0.06,EUR,"
        '"""env"": ""dev"""\n'
    )
    bill = normalize_bill(path, source_file_id="a", out_dir=out_dir)
    assert (bill.format, bill.currency) == ("azure-mca", "EUR")
    got = {(g["ServiceCode"], g["ProviderLineType"]): g for g in lines(bill)}
    used = got[("Virtual Machines", "Usage")]
    unused = got[("Virtual Machines", "UnusedReservation")]
    storage = got[("Storage", "Usage")]
    assert (used["CommitmentDiscountStatus"], used["CommitmentDiscountType"]) == (
        "Used",
        "Reservation",
    )
    assert used["CommitmentDiscountId"] == "r-guid"
    assert used["ListCost"] == Decimal("2.4")  # PayG price × quantity
    assert used["BilledCost"] == 0
    assert unused["CommitmentDiscountStatus"] == "Unused"
    assert unused["ChargeCategory"] == "Usage"
    assert storage["ChargePeriodStart"] == dt.datetime(2026, 10, 4)  # US date
    assert storage["Tags"] == '{"env":"dev"}'
    assert bill.partitions[0].savings_eligible_cost == Decimal("2.4")
