"""Money is exact: any decimal text a bill may hold (plain, scientific notation, many decimals)
sums to what Python's Decimal says, once each value is rounded to the schema's scale; and the
fast conversions (int64 pieces, direct timestamp casts, trim only when needed) give exactly what
the plain conversions give, at both money scales the schema may use."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.bill_files import sql
from chalicelib.bill_files.normalize import normalize_bill
from chalicelib.bill_files.schema import MONEY_COLUMNS, NORMALIZED_COLUMNS
from tests.bill_files import curgen
from tests.bill_files.conftest import lines, parquet_types, q, qsum


def _texts() -> st.SearchStrategy[str]:
    # MONEY keeps 20 integer digits: values below 10^18 leave room for the sum of 12 of them
    # (a larger value is an "out of range" error, see tests/bill_files/test_bad_files.py).
    scientific = st.tuples(
        st.integers(min_value=-(10**17), max_value=10**17),
        st.integers(min_value=-24, max_value=6),
    ).filter(lambda me: abs(Decimal(me[0]).scaleb(me[1])) < 10**18)
    plain = st.decimals(min_value=-(10**9), max_value=10**9, places=16, allow_nan=False)
    return st.one_of(
        scientific.map(lambda me: f"{me[0]}e{me[1]}"),
        scientific.map(lambda me: f"{Decimal(me[0]).scaleb(me[1]):E}"),
        plain.map(str),
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(repr),
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_texts(), min_size=1, max_size=12))
def test_costs_sum_exactly(costs: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            curgen.line(
                **{
                    "lineItem/UnblendedCost": c,
                    "pricing/publicOnDemandCost": c,
                    "identity/LineItemId": str(i),
                }
            )
            for i, c in enumerate(costs)
        ]
        path = curgen.write(Path(tmp) / "cur.csv", rows)
        bill = normalize_bill(path, source_file_id="m", out_dir=Path(tmp) / "out")
        assert bill.totals.billed_cost == qsum(costs)
        assert bill.totals.list_cost == qsum(costs)
        assert sorted(g["BilledCost"] for g in lines(bill)) == sorted(q(c) for c in costs)


def test_money_columns_are_decimals_never_doubles(tmp_path: Path) -> None:
    path = curgen.write(tmp_path / "cur.csv", [curgen.line(**{"lineItem/UnblendedCost": "1e-3"})])
    bill = normalize_bill(path, source_file_id="m", out_dir=tmp_path / "out")
    types = dict(parquet_types(bill.partitions[0].path))
    assert types == dict(NORMALIZED_COLUMNS)
    assert {types[c] for c in MONEY_COLUMNS} == {"DECIMAL(38,18)"}
    assert isinstance(bill.totals.billed_cost, Decimal)
    assert bill.totals.billed_cost == Decimal("0.001")


# DuckDB 1.4.4 casts these to ±1E-18 (it rounds on a digit far below the scale); they are 0.
TINY = ["5e-23", "5.0E-23", "9.9e-20", "-5.0411194E-20", "5e-40", "0.05e-18"]
# The edges around half a unit of the scale, in both notations (more than 18 decimals: rounded
# half away from zero).
EDGES = [
    "5e-19",
    "4.9e-19",
    "4.9999999999e-19",
    "0.0000000000000000005",
    "0.000000000000000000499",
    "1.5e-19",
]


def test_tiny_scientific_notation_rounds_to_zero(tmp_path: Path) -> None:
    costs = TINY + EDGES
    rows = [curgen.line(**{"lineItem/UnblendedCost": c, "identity/LineItemId": c}) for c in costs]
    bill = normalize_bill(
        curgen.write(tmp_path / "cur.csv", rows), source_file_id="t", out_dir=tmp_path / "out"
    )
    got = {g["ChargeDescription"]: g for g in lines(bill)}  # same description: use the id order
    assert len(got) == 1
    values = sorted(g["BilledCost"] for g in lines(bill))
    assert values == sorted(q(c) for c in costs)
    assert [q(c) for c in TINY] == [0] * len(TINY)
    assert bill.totals.billed_cost == qsum(costs) == Decimal("2E-18")


# --- the fast text conversions equal the exact ones ----------------------------------------------

_FORMATS = ", ".join(
    f"'{f}'"
    for f in (
        "%m/%d/%Y",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %I:%M:%S %p",
        "%Y%m%dT%H%M%S.%gZ",
        "%Y%m%dT%H%M%SZ",
    )
)


def _connection(monkeypatch: pytest.MonkeyPatch, scale: int) -> duckdb.DuckDBPyConnection:
    """DuckDB with Rebill's macros for MONEY = DECIMAL(38, scale), and the reference conversions
    as they were before the fast paths: trim, then DuckDB's casts."""
    money = f"DECIMAL(38,{scale})"
    monkeypatch.setattr(sql, "MONEY", money)
    monkeypatch.setattr(sql, "MONEY_SCALE", scale)
    monkeypatch.setattr(sql, "_FAST_SCALE", min(scale, 18))
    con = duckdb.connect()
    for statement in sql.macro_statements():
        con.execute(statement)
    con.execute("CREATE MACRO ref_text(s) AS NULLIF(trim(s), '')")
    con.execute(
        "CREATE MACRO ref_money(s) AS CASE WHEN (contains(ref_text(s), 'e') "
        f"OR contains(ref_text(s), 'E')) AND abs(TRY_CAST(ref_text(s) AS DOUBLE)) < 49e-{scale + 2}"
        f" THEN CAST(0 AS {money}) ELSE TRY_CAST(ref_text(s) AS {money}) END"
    )
    con.execute(
        "CREATE MACRO ref_ts(s) AS COALESCE(timezone('UTC', TRY_CAST(ref_text(s) AS TIMESTAMPTZ)),"
        f" TRY_STRPTIME(ref_text(s), [{_FORMATS}]))"
    )
    return con


_EDGE_TEXTS = [
    *("5", "+5", "-5", " 5", "5 ", "1_000", "1e5", "1E5", "0x10", "0b101", "--5", "+-5", "-", "+"),
    *("", " ", "05", "9223372036854775807", "9223372036854775808", "1.5", "5\t", "\t5", "-0"),
    *("1,000", "inf", "nan", "-.5", ".5", "5.", "5 .5", "5. 5", "1_0.5", "1._5", "1_.5", "-1.5"),
    *("123456789.123456789123", "-123456789.00000000005", "0.00000000005", "-0.00000000005"),
    *("0.999999999999999999999", "99999999999999999999.5", "12345678901234567890123.5"),
    *("1.5.5", "1..5", "-1-2.5", "1.5e3", "1.-5", "0.0", "-0.0", "1." + "9" * 40, "- ", "+ "),
    *("-" + "9" * 18 + "." + "9" * 20, "\t-1.5", "-\t1.5", "1.5-", "0001.0001", "1\u00a0.5"),
    *("\u00a01.5", "1.5\u00a0", "\u20031.5\u3000", "٣", "½", "0.5e-3", "-0.49999999995"),
    *(" 0.30 ", "0.00000000004999999999", "-999999999999999999.99999999995"),
]
_TIMES = [
    *("2026-10-01T00:00:00Z", "2026-10-01T00:00:00.123Z", "2026-10-01 00:00:00Z", "2026-10-01Z"),
    *("2026-1-1T0:0:0Z", "2026-10-01T00:00:00+02:00", "2026-10-01T00:00:00+02:00Z", "yesterday"),
    *("2026-10-01T24:00:00Z", "2026-02-30T00:00:00Z", "20231001T000000.000Z", "20231001T000000Z"),
    *("10/01/2026", "10/01/2026 13:05:00", "10/01/2026 1:05:00 PM", "2026-10-01 00:00:00 UTC"),
    *(" 2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z ", "\u00a02026-10-01T00:00:00Z", "Z", ""),
    *("infinity", "infinityZ", "epochZ", "2026-10-01T00:00:00ZZ", "-2026-10-01T00:00:00Z"),
]


def _texts_strategy() -> st.SearchStrategy[str]:
    plain = st.builds(
        lambda sign, whole, frac, pad: f"{pad}{sign}{whole}.{frac}{pad}",
        st.sampled_from(["", "-"]),
        st.integers(min_value=0, max_value=10**20),
        st.text("0123456789", min_size=1, max_size=25),
        st.sampled_from(["", " ", "\u00a0"]),
    )
    return st.one_of(plain, st.text("0123456789.-+_eE \t,x", max_size=14), _texts())


@pytest.mark.parametrize("scale", [10, 18])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=st.lists(_texts_strategy(), max_size=40))
def test_fast_money_conversion_equals_the_exact_one(scale: int, extra: list[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        con = _connection(patch, scale)
        rows = con.execute(
            "SELECT s, rebill_money(s), ref_money(s), rebill_text(s), ref_text(s) "
            "FROM unnest(?) t(s)",
            [_EDGE_TEXTS + extra],
        ).fetchall()
    assert [r for r in rows if r[1] != r[2] or r[3] != r[4]] == []


def test_fast_timestamp_conversion_equals_the_exact_one(monkeypatch: pytest.MonkeyPatch) -> None:
    con = _connection(monkeypatch, 10)
    rows = con.execute("SELECT s, rebill_ts(s), ref_ts(s) FROM unnest(?) t(s)", [_TIMES]).fetchall()
    assert [r for r in rows if r[1] != r[2]] == []
    assert sum(1 for r in rows if r[1] is not None) > 15
