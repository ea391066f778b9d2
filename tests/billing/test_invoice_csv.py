"""The detailed CSV explains every price and adds up to the invoice lines."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.billing.csvsafe import safe_cell
from chalicelib.billing.invoice_csv import CSV_COLUMNS, CUSTOMER_CSV_COLUMNS, write_invoice_csv
from chalicelib.billing.money import round_money
from tests.billing.conftest import Pipeline
from tests.billing.fixtures import (
    FORMULA_CELLS,
    HARMLESS_CELLS,
    context,
    customer,
    line,
    price_list,
    settings,
)

D = Decimal


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_one_row_per_usage_group_naming_its_rule(pipeline: Pipeline, tmp_path: Path) -> None:
    standard = price_list(
        [{"id": "s3", "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"}],
        default={"type": "markup", "percent": "10"},
    )
    cp = context(customer_=customer(price_list_id="standard"), price_lists=[standard])
    rows = [
        line(BilledCost="1", PricingQuantity="2"),
        line(BilledCost="2", PricingQuantity="3"),
        line(ServiceCode="AmazonS3", ServiceName="Amazon S3", ResourceId="b", BilledCost="4"),
        line(
            ResourceId="ri",
            BilledCost="0",
            ListCost="0.5",
            EffectiveCost="0.3",
            ProviderLineType="DiscountedUsage",
            CommitmentDiscountId="arn:ri",
        ),
    ]
    run = pipeline.run(cp, rows)
    out = tmp_path / "invoice.csv"
    write_invoice_csv(run.invoice, run.priced_path, out)
    table = read_csv(out)
    assert list(table[0]) == list(CSV_COLUMNS)
    by_resource = {r["resource_id"]: r for r in table}
    assert len(table) == 3
    ec2 = by_resource["i-1"]
    # 1 + 2 billed, 2 + 3 hours, × 1.10
    assert (ec2["quantity"], ec2["basis"], ec2["price"], ec2["price_rule"]) == (
        "5",
        "3",
        "3.3",
        "default",
    )
    assert (by_resource["b"]["price_rule"], by_resource["b"]["price"]) == ("s3", "4.2")
    ri = by_resource["ri"]
    assert (ri["savings_removed"], ri["basis"], ri["savings_retained"]) == ("true", "0.5", "0.2")
    assert ri["price_list"] == "standard"


def test_sums_equal_the_invoice_lines_even_across_currencies(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    fx = settings(fx_rates=[{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0.9137"}])
    cp = context(customer_=customer(currency="EUR"), settings_=fx)
    # Thirds of a cent: each row rounds differently from the sum.
    rows = [line(ResourceId=f"r{i}", BilledCost="0.0033333333") for i in range(7)]
    rows += [line(ResourceId="eur", BilledCost="0.005", BillingCurrency="EUR")]
    run = pipeline.run(cp, rows)
    out = tmp_path / "invoice.csv"
    write_invoice_csv(run.invoice, run.priced_path, out)
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in read_csv(out):
        sums[(row["provider"], row["service"])] += D(row["price"])
    for invoice_line in run.invoice.lines:
        if invoice_line.kind == "cloud_usage":
            key = (invoice_line.provider or "", invoice_line.service or "")
            assert round_money(sums[key], "EUR") == invoice_line.amount
    # 7 × 0.0033333333 × 0.9137 + 0.005 = 0.0263199…  → 0.03
    assert [ln.amount for ln in run.invoice.lines] == [D("0.03")]


def test_text_cells_cannot_become_formulas(pipeline: Pipeline, tmp_path: Path) -> None:
    rows = [
        line(ResourceId='=HYPERLINK("http://x")', BilledCost="-1.5", ChargeCategory="Adjustment"),
        line(ResourceId="@SUM(A1)", SkuId="+cmd", Operation="-2+3", BilledCost="1"),
        line(ResourceId="\tx", RegionId="\rx", BilledCost="1"),
    ]
    run = pipeline.run(context(), rows)
    out = tmp_path / "invoice.csv"
    write_invoice_csv(run.invoice, run.priced_path, out)
    table = {r["resource_id"]: r for r in read_csv(out)}
    assert set(table) == {'\'=HYPERLINK("http://x")', "'@SUM(A1)", "'\tx"}
    assert table["'@SUM(A1)"]["sku_id"] == "'+cmd"
    assert table["'@SUM(A1)"]["operation"] == "'-2+3"
    assert table["'\tx"]["region"] == "'\rx"
    # A negative amount is a number, not text.
    assert table['\'=HYPERLINK("http://x")']["price"] == "-1.5"


RESELLER_COLUMNS = (
    "billing_currency",
    "cost",
    "list_cost",
    "basis",
    "savings_removed",
    "savings_retained",
    "price_list",
    "price_rule",
    "price_in_billing_currency",
    "fx_rate",
)


def test_the_customer_csv_has_only_what_the_customer_is_billed(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    secret_list = price_list(
        [{"id": "rule-7731", "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"}],
        id="list-4242",
        default={"type": "markup", "percent": "10"},
    )
    cp = context(customer_=customer(price_list_id="list-4242"), price_lists=[secret_list])
    rows = [
        line(BilledCost="1234.5678", ListCost="2345.6789", PricingQuantity="2"),
        line(ServiceCode="AmazonS3", ServiceName="Amazon S3", ResourceId="b", BilledCost="4"),
        # One resource, part of its usage covered by a commitment the customer did not pay for.
        line(ResourceId="ri", BilledCost="1", PricingQuantity="3"),
        line(
            ResourceId="ri",
            BilledCost="0",
            ListCost="0.5",
            EffectiveCost="0.3",
            ProviderLineType="DiscountedUsage",
            CommitmentDiscountId="arn:ri",
            PricingQuantity="4",
        ),
    ]
    run = pipeline.run(cp, rows)
    detail_path, customer_path = tmp_path / "detail.csv", tmp_path / "customer.csv"
    write_invoice_csv(run.invoice, run.priced_path, detail_path, customer_path)
    detail, billed = read_csv(detail_path), read_csv(customer_path)
    header = next(csv.reader(io.StringIO(customer_path.read_text(encoding="utf-8"))))
    assert header == list(CUSTOMER_CSV_COLUMNS)
    assert set(RESELLER_COLUMNS) == set(CSV_COLUMNS) - set(CUSTOMER_CSV_COLUMNS)
    # The reseller's figures and names are nowhere in the customer's file.
    text = customer_path.read_text(encoding="utf-8")
    for secret in ("list-4242", "rule-7731", "default", "1234.5678", "2345.6789", "true"):
        assert secret not in text, secret
    assert "list-4242" in detail_path.read_text(encoding="utf-8")
    # The split of the "ri" resource is the reseller's: the customer sees one row, summed.
    assert [r["savings_removed"] for r in detail if r["resource_id"] == "ri"] == ["false", "true"]
    (ri,) = [r for r in billed if r["resource_id"] == "ri"]
    assert (ri["quantity"], ri["price"]) == ("7", "1.65")
    assert len(billed) == 3
    by_resource = {r["resource_id"]: r for r in billed}
    assert (by_resource["i-1"]["quantity"], by_resource["i-1"]["price"]) == ("2", "1358.02458")
    assert {r["currency"] for r in billed} == {"USD"}
    # It still adds up to the invoice lines.
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in billed:
        sums[(row["provider"], row["service"])] += D(row["price"])
    usage = [ln for ln in run.invoice.lines if ln.kind == "cloud_usage"]
    assert usage and all(
        round_money(sums[(ln.provider or "", ln.service or "")], "USD") == ln.amount for ln in usage
    )


def test_the_customer_csv_sums_across_bill_currencies(pipeline: Pipeline, tmp_path: Path) -> None:
    fx = settings(fx_rates=[{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0.9137"}])
    cp = context(customer_=customer(currency="EUR"), settings_=fx)
    rows = [line(BilledCost="0.0033333333"), line(BilledCost="0.005", BillingCurrency="EUR")]
    run = pipeline.run(cp, rows)
    detail_path, customer_path = tmp_path / "detail.csv", tmp_path / "customer.csv"
    write_invoice_csv(run.invoice, run.priced_path, detail_path, customer_path)
    assert len(read_csv(detail_path)) == 2
    (row,) = read_csv(customer_path)
    # 0.0033333333 × 0.9137 + 0.005 (no price list: at cost), the FX rate itself not shown
    assert (row["price"], row["currency"], row["quantity"]) == ("0.00804566663621", "EUR", "2")
    assert "0.9137" not in customer_path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        ("-", "'-"),
        ("=1+2", "'=1+2"),
        ("@x", "'@x"),
        ("a=b", "a=b"),
        (None, ""),
        ("-1e5", "-1e5"),
        ("-1.5 ", "'-1.5 "),
        (" =1+2", "' =1+2"),
        ("\n=1+2", "'\n=1+2"),
        ("\r\n@x", "'\r\n@x"),
        ("\tplain", "'\tplain"),
        ("\u3000+x", "'\u3000+x"),
        ("＝1+2", "'＝1+2"),
        ("＋x", "'＋x"),
        ("－x", "'－x"),
        ("＠x", "'＠x"),
        ("   ", "   "),
        ("a ＝ b", "a ＝ b"),
    ],
)
def test_safe_cell(value: str | None, cell: str) -> None:
    assert safe_cell(value) == cell


def test_the_api_guide_lists_the_columns_of_both_csvs() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    documented = {
        row.split("|")[1].split("`")[0].strip(): tuple(row.split("|")[3].strip(" `").split(", "))
        for row in guide.splitlines()
        if row.startswith(("| detailed CSV", "| customer CSV"))
    }
    assert documented == {"detailed CSV": CSV_COLUMNS, "customer CSV": CUSTOMER_CSV_COLUMNS}


# Every cell quoted, quotes inside doubled: nothing inside a cell can end it.
ALL_QUOTED = re.compile(r'(?:"(?:[^"]|"")*"(?:,|\r\n))*')


def test_a_corpus_of_formula_cells_through_the_invoice_csv(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    cells = (*FORMULA_CELLS, *HARMLESS_CELLS[:-1])
    rows = [
        line(ResourceId=f"r{i}", UsageType=cell, SkuMeter=cell, BilledCost="-12.50")
        for i, cell in enumerate(cells)
    ]
    # The same cells in the other text columns of one line each.
    rows += [
        line(ResourceId=cell, SkuId=cell, Operation=cell, RegionId=cell, BilledCost="1")
        for cell in cells
    ]
    run = pipeline.run(context(), rows)
    out, customer_out = tmp_path / "invoice.csv", tmp_path / "customer.csv"
    write_invoice_csv(run.invoice, run.priced_path, out, customer_out)
    raw = out.read_bytes().decode("utf-8")
    assert ALL_QUOTED.fullmatch(raw), raw[:300]
    # The customer's CSV is protected the same way.
    customer_raw = customer_out.read_bytes().decode("utf-8")
    assert ALL_QUOTED.fullmatch(customer_raw), customer_raw[:300]
    expected = {cell: ("'" + cell if cell in FORMULA_CELLS else cell) for cell in cells}
    assert not [v for r in read_csv(customer_out) for v in r.values() if v in FORMULA_CELLS]
    table = read_csv(out)
    by_resource = {r["resource_id"]: r for r in table}
    for i, cell in enumerate(cells):
        assert by_resource[f"r{i}"]["usage_type"] == expected[cell], cell
        assert by_resource[f"r{i}"]["price"] == "-12.5"  # a negative amount stays a number
        row = by_resource[expected[cell]]
        assert (row["sku_id"], row["operation"], row["region"]) == (expected[cell],) * 3
