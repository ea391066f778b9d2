"""Prices keep every digit of amount × factor, whatever the scale of the bill's amounts, and
reference data of any spelling reaches the pricing unchanged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from chalicelib.bill_files.schema import COLUMN_NAMES, MONEY_COLUMNS, NORMALIZED_COLUMNS
from chalicelib.billing import sources
from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.pricing import price_usage
from chalicelib.errors import BillingError
from tests.billing.fixtures import account, context, customer, line, price_list, write_lines

D = Decimal
MONEY_10 = "DECIMAL(38,10)"
MONEY_18 = "DECIMAL(38,18)"


def _read_money_as(monkeypatch: pytest.MonkeyPatch, money: str) -> None:
    for column in MONEY_COLUMNS:
        monkeypatch.setitem(sources._TYPES, column, money)


@pytest.fixture
def money_18(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bill amounts and quantities read as DECIMAL(38,18): exact money beyond 10 decimals."""
    _read_money_as(monkeypatch, MONEY_18)


@pytest.fixture
def money_10(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bill amounts and quantities read as DECIMAL(38,10)."""
    _read_money_as(monkeypatch, MONEY_10)


def write_lines_as(path: Path, rows: Iterable[Mapping[str, Any]], money: str = MONEY_18) -> Path:
    """A normalized Parquet file whose money columns are ``money``."""
    columns = ", ".join(
        f'"{name}" {money if name in MONEY_COLUMNS else kind}' for name, kind in NORMALIZED_COLUMNS
    )
    con = duckdb.connect()
    con.execute(f"CREATE TABLE normalized ({columns})")
    data = [[None if r[c] is None else str(r[c]) for c in COLUMN_NAMES] for r in rows]
    con.executemany(f"INSERT INTO normalized VALUES ({', '.join('?' for _ in COLUMN_NAMES)})", data)
    con.execute(f"COPY normalized TO '{path}' (FORMAT parquet)")
    con.close()
    return path


def priced_rows(
    tmp_path: Path, cp: CustomerPeriod, bill: Path
) -> tuple[dict[str, Decimal], list[dict[str, Any]]]:
    out = tmp_path / "priced.parquet"
    summary = price_usage(cp, [bill], out)
    con = duckdb.connect()  # held: a relation reads through its connection
    rows = con.sql(f"SELECT * FROM '{out}' ORDER BY resource_id").to_arrow_table().to_pylist()
    return summary.price, rows


RULES = price_list(
    [
        {"id": "odd", "match": {"sku": "odd"}, "type": "markup", "percent": "12.34567891"},
        {
            "id": "unit",
            "match": {"sku": "unit"},
            "type": "fixed_rate",
            "unit_price": "0.0000000003",
        },
        {
            "id": "list",
            "match": {"sku": "list"},
            "type": "discount",
            "percent": "2.5",
            "basis": "list",
        },
    ],
    id="precise",
    default={"type": "markup", "percent": "10"},
)


def test_amounts_with_18_decimals_are_priced_exactly(tmp_path: Path, money_18: None) -> None:
    bill = write_lines_as(
        tmp_path / "bill.parquet",
        [
            # 18 decimals × 1.1234567891: 28 decimals
            line(ResourceId="b-odd", SkuId="odd", BilledCost="0.000000000000000001"),
            # 18-decimal quantity × 10-decimal unit price
            line(ResourceId="c-unit", SkuId="unit", PricingQuantity="7.000000000000000003"),
            # 18-decimal list cost × 0.975
            line(
                ResourceId="d-list",
                SkuId="list",
                BilledCost="1",
                ListCost="2.000000000000000001",
            ),
            # two lines summed at 18 decimals, × 1.1
            line(ResourceId="e-sum", BilledCost="0.100000000000000001"),
            line(ResourceId="e-sum", BilledCost="0.200000000000000002"),
        ],
    )
    cp = context(customer_=customer(price_list_id="precise"), price_lists=[RULES])
    total, rows = priced_rows(tmp_path, cp, bill)
    prices = {r["resource_id"]: (r["price_rule"], r["price"]) for r in rows}
    expected = {
        "b-odd": ("odd", D("0.0000000000000000011234567891")),
        "c-unit": ("unit", D("0.0000000021000000000000000009")),
        "d-list": ("list", D("1.950000000000000000975")),
        "e-sum": ("default", D("0.3300000000000000033")),
    }
    assert prices == expected
    assert rows[-1]["basis"] == D("0.300000000000000003")
    assert total == {"USD": sum((price for _, price in expected.values()), D(0))}


def test_large_18_decimal_amounts_keep_their_integer_digits(tmp_path: Path, money_18: None) -> None:
    # Rules with few decimals leave room for 18 integer digits: 12 integer digits × 1.1.
    plain = price_list(id="plain", default={"type": "markup", "percent": "10"})
    bill = write_lines_as(
        tmp_path / "bill.parquet", [line(BilledCost="123456789012.123456789012345678")]
    )
    cp = context(customer_=customer(price_list_id="plain"), price_lists=[plain])
    total, (row,) = priced_rows(tmp_path, cp, bill)
    assert row["price"] == D("135802467913.3358024679135802458")
    assert total == {"USD": row["price"]}


def test_a_price_beyond_38_digits_fails_rather_than_rounds(tmp_path: Path, money_18: None) -> None:
    # 10^15 × 1.1234567891 at 28 decimals needs 44 digits.
    bill = write_lines_as(
        tmp_path / "bill.parquet", [line(SkuId="odd", BilledCost="1000000000000000.5")]
    )
    cp = context(customer_=customer(price_list_id="precise"), price_lists=[RULES])
    with pytest.raises(BillingError, match="pricing usage of 2026-10 failed"):
        price_usage(cp, [bill], tmp_path / "priced.parquet")


def test_amounts_with_10_decimals_keep_20_decimal_prices(tmp_path: Path, money_10: None) -> None:
    bill = write_lines_as(
        tmp_path / "bill.parquet",
        [line(ResourceId="b-odd", SkuId="odd", BilledCost="123456789.0000000001")],
        MONEY_10,
    )
    cp = context(customer_=customer(price_list_id="precise"), price_lists=[RULES])
    total, (row,) = priced_rows(tmp_path, cp, bill)
    # 29 significant digits, in the file and in the summary
    assert row["price"] == D("138698367.76253620001234567891")
    assert row["price"].as_tuple().exponent == -20
    assert total == {"USD": row["price"]}


def test_reference_text_of_any_spelling(tmp_path: Path) -> None:
    """Quotes, backslashes and non-ASCII letters in ids reach the pricing unchanged."""
    customer_id, account_id, list_id = 'o\'brien \\ "co"', "ünïcode-'1'", "list 'ß' \\n"
    rules = price_list(
        [{"id": "it's", "match": {"account": account_id}, "type": "markup", "percent": "1"}],
        id=list_id,
    )
    bill = write_lines(
        tmp_path / "bill.parquet",
        [
            line(SubAccountId=account_id, BilledCost="100", ResourceId="a"),
            line(SubAccountId=account_id, BilledCost="7", ResourceId="b", ChargeCategory="Tax"),
        ],
    )
    cp = context(
        customer_=customer(id=customer_id, price_list_id=list_id),
        accounts=[account(account_id, customer_id=customer_id, valid_from="2026-10-01")],
        price_lists=[rules],
        commitment_owners={"Reservation 'x'": customer_id},
    )
    out = tmp_path / "priced.parquet"
    summary = price_usage(cp, [bill], out)
    con = duckdb.connect()
    (row,) = con.sql(f"SELECT * FROM '{out}'").to_arrow_table().to_pylist()
    assert (row["customer_id"], row["account_id"], row["price_list_id"], row["price_rule"]) == (
        customer_id,
        account_id,
        list_id,
        "it's",
    )
    assert summary.price == {"USD": D(101)}
    assert summary.balances[0].retained == {"provider_tax": D(7)}
