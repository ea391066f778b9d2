"""The synthetic CUR generator writes realistic, exact and reproducible AWS bills."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from localaws import synthetic_cur as cur

ROWS = 3_000
PAYER = "999999999999"
OWNER = "012345678901"
ACCOUNTS = ("111111111111", OWNER, "222222222222", "333333333333")
ARGS = dict(
    rows=ROWS, period="2026-10", payer=PAYER, accounts=ACCOUNTS, seed=7, commitment_owner=OWNER
)
DECIMAL_TEXT = re.compile(r"-?\d+(\.\d{1,10})?")


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("cur")
    paths = {"gzip": out / "cur.csv.gz", "none": out / "cur.csv", "zip": out / "cur.csv.zip"}
    for compression, path in paths.items():
        cur.generate_legacy_cur(path, compression=compression, **ARGS)  # type: ignore[arg-type]
    paths["parquet"] = out / "cur.parquet"
    cur.generate_cur2_parquet(paths["parquet"], **ARGS)  # type: ignore[arg-type]
    return paths


@pytest.fixture(scope="module")
def rows(files: dict[str, Path]) -> list[dict[str, str]]:
    return _rows(gzip.decompress(files["gzip"].read_bytes()))


def _arn_account(arn: str) -> str:
    # arn:aws:ec2:us-east-1:ACCOUNT:reserved-instances/… and arn:aws:savingsplans::ACCOUNT:…
    return arn.split(":")[4]


def test_same_arguments_give_the_same_bytes(tmp_path: Path, files: dict[str, Path]) -> None:
    for compression in ("gzip", "zip"):
        again = tmp_path / files[compression].name  # a zip names its member after the file
        cur.generate_legacy_cur(again, compression=compression, **ARGS)  # type: ignore[arg-type]
        assert again.read_bytes() == files[compression].read_bytes()
    parquet = tmp_path / files["parquet"].name
    cur.generate_cur2_parquet(parquet, **ARGS)  # type: ignore[arg-type]
    assert parquet.read_bytes() == files["parquet"].read_bytes()


def test_another_seed_gives_another_bill(tmp_path: Path, files: dict[str, Path]) -> None:
    other = tmp_path / "b.csv"
    cur.generate_legacy_cur(other, compression="none", **{**ARGS, "seed": 8})  # type: ignore[arg-type]
    assert other.read_bytes() != files["none"].read_bytes()


def test_all_compressions_hold_the_same_csv(files: dict[str, Path]) -> None:
    plain = files["none"].read_bytes()
    assert gzip.decompress(files["gzip"].read_bytes()) == plain
    with zipfile.ZipFile(files["zip"]) as archive:
        assert archive.namelist() == ["cur.csv"]
        assert archive.read("cur.csv") == plain
    assert files["gzip"].read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime


def test_header_is_a_realistic_legacy_cur_header(files: dict[str, Path]) -> None:
    header = files["none"].read_bytes().split(b"\n", 1)[0].decode()
    assert header.split(",") == list(cur.LEGACY_CUR_COLUMNS)
    assert len(cur.LEGACY_CUR_COLUMNS) >= 120
    assert len(set(cur.LEGACY_CUR_COLUMNS)) == len(cur.LEGACY_CUR_COLUMNS)
    for needed in (
        "identity/LineItemId",
        "bill/InvoiceId",
        "bill/PayerAccountId",
        "lineItem/UsageAccountId",
        "lineItem/LineItemType",
        "lineItem/UnblendedCost",
        "pricing/publicOnDemandCost",
        "reservation/EffectiveCost",
        "reservation/ReservationARN",
        "savingsPlan/SavingsPlanARN",
        "savingsPlan/SavingsPlanEffectiveCost",
        "product/region",
        "product/sku",
        "resourceTags/user:Name",
    ):
        assert needed in cur.LEGACY_CUR_COLUMNS


def test_every_row_has_every_column_and_the_exact_row_count(files: dict[str, Path]) -> None:
    records = list(csv.reader(io.StringIO(files["none"].read_text("utf-8"), newline="")))
    assert len(records) == ROWS + 1
    assert {len(r) for r in records} == {len(cur.LEGACY_CUR_COLUMNS)}
    assert len({r[0] for r in records[1:]}) == ROWS  # line item ids are unique


def test_quoted_cells_survive_the_round_trip(rows: list[dict[str, str]]) -> None:
    descriptions = {r["lineItem/LineItemDescription"] for r in rows}
    assert "$0.005 per 1,000 PUT, COPY, POST, or LIST requests" in descriptions
    assert 'logs, "archive"' in {r["resourceTags/user:Name"] for r in rows}


def test_the_line_type_mix_is_present(rows: list[dict[str, str]]) -> None:
    kinds = Counter(r["lineItem/LineItemType"] for r in rows)
    assert set(kinds) == set(cur.LINE_ITEM_TYPES)
    assert kinds["Usage"] > ROWS / 2
    assert kinds["SavingsPlanCoveredUsage"] == kinds["SavingsPlanNegation"] > 0
    services = {r["lineItem/ProductCode"] for r in rows if r["lineItem/LineItemType"] == "Usage"}
    assert set(cur.USAGE_PRODUCT_CODES) <= services


def test_money_cells_are_plain_decimals_with_at_most_ten_places(
    rows: list[dict[str, str]],
) -> None:
    checked = 0
    for row in rows:
        for column in cur.NUMERIC_COLUMNS:
            cell = row[column]
            if cell:
                assert DECIMAL_TEXT.fullmatch(cell), (column, cell)
                exponent = Decimal(cell).as_tuple().exponent
                assert isinstance(exponent, int) and exponent >= -10
                checked += 1
    assert checked > ROWS * 5


def test_account_ids_are_twelve_digit_strings(rows: list[dict[str, str]]) -> None:
    accounts = {r["lineItem/UsageAccountId"] for r in rows}
    assert accounts == {PAYER, *ACCOUNTS}
    assert all(len(a) == 12 and a.isdigit() for a in accounts)
    assert {r["bill/PayerAccountId"] for r in rows} == {PAYER}


def test_usage_costs_are_amount_times_rate(rows: list[dict[str, str]]) -> None:
    for row in rows:
        if row["lineItem/LineItemType"] in ("Usage", "SavingsPlanCoveredUsage"):
            cost = Decimal(row["lineItem/UsageAmount"]) * Decimal(row["lineItem/UnblendedRate"])
            assert Decimal(row["lineItem/UnblendedCost"]) == cost
            assert Decimal(row["pricing/publicOnDemandCost"]) == cost


def test_reserved_instance_hours_cost_nothing_but_carry_their_effective_cost(
    rows: list[dict[str, str]],
) -> None:
    covered = [r for r in rows if r["lineItem/LineItemType"] == "DiscountedUsage"]
    assert covered
    for row in covered:
        on_demand = Decimal(row["pricing/publicOnDemandCost"])
        effective = Decimal(row["reservation/EffectiveCost"])
        assert Decimal(row["lineItem/UnblendedCost"]) == 0
        assert 0 < effective < on_demand
        assert effective == Decimal(row["reservation/AmortizedUpfrontCostForUsage"]) + Decimal(
            row["reservation/RecurringFeeForUsage"]
        )


def test_savings_plan_negations_cancel_their_covered_lines(rows: list[dict[str, str]]) -> None:
    def key(row: dict[str, str]) -> tuple[str, ...]:
        return tuple(
            row[c]
            for c in (
                "lineItem/UsageAccountId",
                "lineItem/UsageStartDate",
                "lineItem/ResourceId",
                "lineItem/UsageType",
                "savingsPlan/SavingsPlanARN",
                "lineItem/UsageAmount",
            )
        )

    balance: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    lines: Counter[tuple[str, ...]] = Counter()
    for row in rows:
        kind = row["lineItem/LineItemType"]
        if kind in ("SavingsPlanCoveredUsage", "SavingsPlanNegation"):
            balance[key(row)] += Decimal(row["lineItem/UnblendedCost"])
            lines[key(row)] += 1 if kind == "SavingsPlanCoveredUsage" else -1
            if kind == "SavingsPlanCoveredUsage":
                assert (
                    0
                    < Decimal(row["savingsPlan/SavingsPlanEffectiveCost"])
                    < Decimal(row["lineItem/UnblendedCost"])
                )
    assert balance
    assert all(v == 0 for v in balance.values())
    assert all(v == 0 for v in lines.values())


def test_arns_name_their_buyer_and_fees_go_to_the_buyer(rows: list[dict[str, str]]) -> None:
    owners: dict[str, set[str]] = defaultdict(set)  # arn -> accounts whose usage it covers
    for row in rows:
        arn = row["reservation/ReservationARN"] or row["savingsPlan/SavingsPlanARN"]
        kind = row["lineItem/LineItemType"]
        if kind in ("RIFee", "SavingsPlanRecurringFee"):
            assert row["lineItem/UsageAccountId"] == _arn_account(arn)
        elif arn:
            owners[arn].add(row["lineItem/UsageAccountId"])
    assert {_arn_account(arn) for arn in owners} == {PAYER, OWNER}
    assert any(a.startswith("arn:aws:ec2:") and _arn_account(a) == OWNER for a in owners)
    assert any(a.startswith("arn:aws:savingsplans::") and _arn_account(a) == OWNER for a in owners)
    for arn, covered in owners.items():
        if _arn_account(arn) == OWNER:
            assert covered == {OWNER}  # a customer's own commitment covers only its account
    payer_covered = set().union(*(c for a, c in owners.items() if _arn_account(a) == PAYER))
    assert len(payer_covered) > 1


def test_commitment_fees_cover_the_hours_used(rows: list[dict[str, str]]) -> None:
    used: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["lineItem/LineItemType"] == "DiscountedUsage":
            used[row["reservation/ReservationARN"]] += Decimal(row["lineItem/UsageAmount"])
        if row["lineItem/LineItemType"] == "SavingsPlanCoveredUsage":
            arn = row["savingsPlan/SavingsPlanARN"]
            used[arn] += Decimal(row["savingsPlan/SavingsPlanEffectiveCost"])
    for row in rows:
        if row["lineItem/LineItemType"] == "RIFee":
            arn = row["reservation/ReservationARN"]
            reserved = Decimal(row["reservation/TotalReservedUnits"])
            assert reserved - used[arn] == Decimal(row["reservation/UnusedQuantity"]) >= 0
        if row["lineItem/LineItemType"] == "SavingsPlanRecurringFee":
            arn = row["savingsPlan/SavingsPlanARN"]
            assert Decimal(row["savingsPlan/UsedCommitment"]) == used[arn]
            assert Decimal(row["savingsPlan/TotalCommitmentToDate"]) >= used[arn]


def test_dates_and_final_invoice_id(rows: list[dict[str, str]], tmp_path: Path) -> None:
    assert {r["bill/BillingPeriodStartDate"] for r in rows} == {"2026-10-01T00:00:00Z"}
    assert {r["bill/BillingPeriodEndDate"] for r in rows} == {"2026-11-01T00:00:00Z"}
    starts = {r["lineItem/UsageStartDate"] for r in rows}
    assert min(starts) == "2026-10-01T00:00:00Z" and max(starts) < "2026-11-01T00:00:00Z"
    assert all(
        r["identity/TimeInterval"] == f"{r['lineItem/UsageStartDate']}/{r['lineItem/UsageEndDate']}"
        for r in rows
    )
    assert len({r["bill/InvoiceId"] for r in rows}) == 1 and rows[0]["bill/InvoiceId"]
    draft = tmp_path / "draft.csv"
    cur.generate_legacy_cur(draft, compression="none", **{**ARGS, "final": False})  # type: ignore[arg-type]
    assert {r["bill/InvoiceId"] for r in _rows(draft.read_bytes())} == {""}


def _exact_sum(rows: list[dict[str, str]], column: str) -> Decimal:
    return sum((Decimal(r[column]) for r in rows if r[column]), Decimal(0))


def test_duckdb_reads_both_formats_with_the_same_exact_totals(
    files: dict[str, Path], rows: list[dict[str, str]]
) -> None:
    expected = _exact_sum(rows, "lineItem/UnblendedCost")
    expected_list = _exact_sum(rows, "pricing/publicOnDemandCost")
    con = duckdb.connect()
    from_csv = con.execute(
        """SELECT count(*), sum(CAST("lineItem/UnblendedCost" AS DECIMAL(38,10))),
                  sum(CAST(NULLIF("pricing/publicOnDemandCost", '') AS DECIMAL(38,10)))
           FROM read_csv(?, header = true, all_varchar = true)""",
        [str(files["gzip"])],
    ).fetchone()
    from_parquet = con.execute(
        """SELECT count(*), sum(line_item_unblended_cost), sum(pricing_public_on_demand_cost)
           FROM read_parquet(?)""",
        [str(files["parquet"])],
    ).fetchone()
    assert from_csv == from_parquet == (ROWS, expected, expected_list)


def test_cur2_parquet_has_cur2_columns_and_types(files: dict[str, Path]) -> None:
    schema = pq.read_schema(files["parquet"])
    money = pa.decimal128(38, 10)
    for name in (
        "line_item_unblended_cost",
        "pricing_public_on_demand_cost",
        "savings_plan_savings_plan_effective_cost",
        "reservation_effective_cost",
        "line_item_usage_amount",
    ):
        assert schema.field(name).type == money
    for name in (
        "line_item_line_item_type",
        "line_item_usage_account_id",
        "bill_invoice_id",
        "bill_payer_account_id",
        "reservation_reservation_a_r_n",
        "savings_plan_savings_plan_a_r_n",
        "line_item_product_code",
        "line_item_usage_type",
        "line_item_operation",
        "product_region_code",
        "line_item_resource_id",
        "line_item_currency_code",
    ):
        assert schema.field(name).type == pa.string()
    for name in ("line_item_usage_start_date", "bill_billing_period_start_date"):
        assert pa.types.is_timestamp(schema.field(name).type)
    assert pa.types.is_map(schema.field("product").type)
    assert pa.types.is_map(schema.field("resource_tags").type)
    assert pq.ParquetFile(files["parquet"]).metadata.num_rows == ROWS


def test_cur2_rows_match_the_legacy_rows(
    files: dict[str, Path], rows: list[dict[str, str]]
) -> None:
    table = pq.read_table(files["parquet"]).to_pylist()
    assert [r["identity_line_item_id"] for r in table] == [r["identity/LineItemId"] for r in rows]
    for legacy, parquet in zip(rows[:200] + rows[-80:], table[:200] + table[-80:], strict=True):
        assert parquet["line_item_line_item_type"] == legacy["lineItem/LineItemType"]
        assert parquet["line_item_usage_account_id"] == legacy["lineItem/UsageAccountId"]
        assert parquet["line_item_unblended_cost"] == Decimal(legacy["lineItem/UnblendedCost"])
        tags = dict(parquet["resource_tags"] or [])
        assert tags.get("user_name", "") == legacy["resourceTags/user:Name"]
        product = dict(parquet["product"] or [])
        assert product.get("product_name", "") == legacy["product/ProductName"]


def test_write_manifest(tmp_path: Path) -> None:
    path = tmp_path / "r-Manifest.json"
    key = "cur/r/20261001-20261101/abc/r-00001.csv.gz"
    cur.write_manifest(
        path,
        report_name="r",
        period="2026-10",
        assembly_id="abc",
        report_keys=[key],
        columns=cur.LEGACY_CUR_COLUMNS,
    )
    manifest = json.loads(path.read_text())
    assert manifest["assemblyId"] == "abc"
    assert manifest["reportKeys"] == [key]
    assert manifest["billingPeriod"] == {
        "start": "20261001T000000.000Z",
        "end": "20261101T000000.000Z",
    }
    names = [f"{c['category']}/{c['name']}" for c in manifest["columns"]]
    assert names == list(cur.LEGACY_CUR_COLUMNS)


def test_cli_writes_both_formats(tmp_path: Path) -> None:
    legacy, parquet = tmp_path / "x.csv.gz", tmp_path / "x.parquet"
    assert cur.main(["--format", "legacy", "--rows", "500", "--out", str(legacy)]) == 0
    assert cur.main(["--format", "cur2", "--rows", "500", "--out", str(parquet)]) == 0
    assert len(_rows(gzip.decompress(legacy.read_bytes()))) == 500
    assert pq.ParquetFile(parquet).metadata.num_rows == 500


def test_bad_arguments_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="12-digit"):
        cur.generate_legacy_cur(tmp_path / "a.csv", rows=500, accounts=("12345",))
    with pytest.raises(ValueError, match="rows must be at least"):
        cur.generate_legacy_cur(tmp_path / "a.csv", rows=20)
    with pytest.raises(ValueError, match="not a linked account"):
        cur.generate_legacy_cur(tmp_path / "a.csv", rows=500, commitment_owner="000000000001")
