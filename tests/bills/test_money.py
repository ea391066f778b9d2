"""Money is exact: any decimal text a bill may hold (plain, scientific notation, many decimals)
sums to what Python's Decimal says, once each value is rounded to the schema's scale."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.bills.normalize import normalize_bill
from chalicelib.bills.schema import MONEY_COLUMNS, NORMALIZED_COLUMNS
from tests.bills import curgen
from tests.bills.conftest import lines, parquet_types, q, qsum


def _texts() -> st.SearchStrategy[str]:
    mantissa = st.integers(min_value=-(10**17), max_value=10**17)
    exponent = st.integers(min_value=-24, max_value=6)
    plain = st.decimals(min_value=-(10**9), max_value=10**9, places=16, allow_nan=False)
    return st.one_of(
        st.builds(lambda m, e: f"{m}e{e}", mantissa, exponent),
        st.builds(lambda m, e: f"{Decimal(m).scaleb(e):E}", mantissa, exponent),
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
    assert {types[c] for c in MONEY_COLUMNS} == {"DECIMAL(38,10)"}
    assert isinstance(bill.totals.billed_cost, Decimal)
    assert bill.totals.billed_cost == Decimal("0.001")


# DuckDB 1.4.4 casts these to ±1E-10 (it rounds on a digit far below the scale); they are 0.
TINY = ["5e-15", "5.0E-15", "9.9e-12", "-5.0411194E-12", "5e-40", "0.05e-10"]
# The edges around half a unit of the scale, in both notations.
EDGES = ["5e-11", "4.9e-11", "4.9999999999e-11", "0.00000000005", "0.0000000000499", "1.5e-11"]


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
    assert bill.totals.billed_cost == qsum(costs) == Decimal("2E-10")
