"""Shared helpers for the bill-normalization tests: external sample files, independent sums."""

from __future__ import annotations

import csv
import decimal
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from chalicelib.bill_files.model import NormalizedBill
from chalicelib.bill_files.schema import MONEY

EXTERNAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "external"

# The normalized money type keeps SCALE decimals; a source value with more is rounded half away
# from zero (what DuckDB's decimal cast does, and Python's ROUND_HALF_UP). Expected sums are
# therefore sums of values quantized to SCALE places, computed here without DuckDB.
SCALE = int(MONEY.split(",")[1].rstrip(")"))
QUANTUM = Decimal(1).scaleb(-SCALE)
_CONTEXT = decimal.Context(prec=80)


def q(value: str | Decimal) -> Decimal:
    return _CONTEXT.create_decimal(value).quantize(
        QUANTUM, rounding=ROUND_HALF_UP, context=_CONTEXT
    )


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def qsum(values: Iterable[str | Decimal]) -> Decimal:
    return _add(q(v) for v in values)


def exact_sum(values: Iterable[str]) -> Decimal:
    return _add(_CONTEXT.create_decimal(v) for v in values)


def _add(values: Iterable[Decimal]) -> Decimal:
    """Σ without rounding (the default context keeps only 28 digits)."""
    total = Decimal(0)
    for value in values:
        total = _CONTEXT.add(total, value)
    return total


def lines(
    bill: NormalizedBill, order: str = '"ChargePeriodStart", "BilledCost"'
) -> list[dict[str, Any]]:
    """Every normalized line of a bill, read back from its Parquet partitions."""
    paths = [str(p.path) for p in bill.partitions]
    con = duckdb.connect()
    try:
        cursor = con.execute(
            f"SELECT * FROM read_parquet(?, hive_partitioning = false) ORDER BY {order}", [paths]
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def parquet_types(path: Path) -> list[tuple[str, str]]:
    con = duckdb.connect()
    try:
        rows = con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false)", [str(path)]
        ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]
    finally:
        con.close()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "normalized"
