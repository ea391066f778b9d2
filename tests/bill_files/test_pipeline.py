"""The deployed pipeline as a whole: no pyarrow or pandas (dev-only dependencies), either money
scale, and one bill read from legacy CSV and from CUR 2.0 Parquet normalizing to the same lines."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from chalicelib.bill_files import normalize, partition
from chalicelib.bill_files.normalize import normalize_bill
from localaws import synthetic_cur
from tests.bill_files import curgen
from tests.bill_files.conftest import lines

ROOT = Path(__file__).resolve().parents[2]
COST = "lineItem/UnblendedCost"


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _small_bills(tmp_path: Path) -> tuple[Path, Path, Path]:
    rows = [
        curgen.line(**{"lineItem/UsageAccountId": f"{a:012d}", "lineItem/UnblendedCost": f"{a}.5"})
        for a in range(1, 4)
        for _ in range(5)
    ]
    legacy = curgen.write(tmp_path / "cur.csv.gz", rows, compress="gz")
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(curgen.render([curgen.line(), curgen.line(**{COST: "1,5"})])))
    cur2 = tmp_path / "cur2.parquet"
    duckdb.execute(
        f"""COPY (SELECT '00000000000' || (i % 3)::VARCHAR AS line_item_usage_account_id,
                  'Usage' AS line_item_line_item_type, (i / 10)::DECIMAL(38,10)
                  AS line_item_unblended_cost, 'USD' AS line_item_currency_code,
                  TIMESTAMP '2026-10-01' AS bill_billing_period_start_date,
                  MAP {{'team': 'a'}} AS resource_tags
           FROM range(30) r(i)) TO '{cur2}' (FORMAT parquet)"""
    )
    return legacy, bad, cur2


def test_no_pyarrow_or_pandas_is_needed(tmp_path: Path) -> None:
    """Lambda ships without pyarrow and pandas: import every module and normalize without them.

    A regression (an import, or a DuckDB method such as ``.arrow()``, ``.df()`` or
    ``fetch_record_batch`` that needs them) fails here with an ImportError.
    """
    legacy, bad, cur2 = _small_bills(tmp_path)
    out = _run(
        """
        import importlib, pkgutil, sys
        from pathlib import Path
        for name in ("pyarrow", "pandas", "numpy"):
            sys.modules[name] = None  # any import of them now raises ImportError
        import chalicelib.bill_files
        for module in pkgutil.iter_modules(chalicelib.bill_files.__path__):
            importlib.import_module(f"chalicelib.bill_files.{module.name}")
        from chalicelib.bill_files import partition
        from chalicelib.bill_files.normalize import normalize_bill
        from chalicelib.errors import InvalidBillFile
        legacy, bad, cur2, out = map(Path, sys.argv[1:5])
        print(normalize_bill(legacy, source_file_id="a", out_dir=out / "a").rows)
        print(normalize_bill(cur2, source_file_id="b", out_dir=out / "b").rows)
        partition.MAX_SINGLE_COPIES, partition.MAX_PARTITIONS_PER_COPY = 0, 1
        print(normalize_bill(legacy, source_file_id="c", out_dir=out / "c").rows)
        try:
            normalize_bill(bad, source_file_id="d", out_dir=out / "d")
        except InvalidBillFile as error:  # the error path locates the line
            print(error.line, error.column)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("pyarrow", "pandas")))
        """,
        str(legacy),
        str(bad),
        str(cur2),
        str(tmp_path / "out"),
    )
    assert out.split("\n") == [
        "15",
        "30",
        "15",
        "3 lineItem/UnblendedCost",
        "['pandas', 'pyarrow']",  # the None placeholders set above, nothing imported
        "",
    ]


def test_money_scale_18(tmp_path: Path) -> None:
    """Money at DECIMAL(38,18), in a process of its own: types and exact sums follow it."""
    path = curgen.write(
        tmp_path / "cur.csv",
        [
            curgen.line(**{"lineItem/UnblendedCost": c, "identity/LineItemId": str(i)})
            for i, c in enumerate(
                ["0.1234567890123456", "-12576.0000000000000001", "5e-19", "1e-18", "3"]
            )
        ],
    )
    out = _run(
        """
        import sys, types
        from pathlib import Path
        import chalicelib.bill_files
        source = Path("chalicelib/bill_files/schema.py").read_text()
        schema = types.ModuleType("chalicelib.bill_files.schema")
        exec(compile(source.replace("DECIMAL(38,10)", "DECIMAL(38,18)"), "schema.py", "exec"),
             schema.__dict__)
        sys.modules["chalicelib.bill_files.schema"] = schema
        from chalicelib.bill_files.normalize import normalize_bill
        import duckdb
        bill = normalize_bill(Path(sys.argv[1]), source_file_id="m", out_dir=Path(sys.argv[2]))
        print(bill.totals.billed_cost)
        path = str(bill.partitions[0].path)
        print(duckdb.execute(
            f"SELECT any_value(typeof(BilledCost)), sum(BilledCost) FROM read_parquet('{path}')"
        ).fetchone())
        """,
        str(path),
        str(tmp_path / "out"),
    )
    total, parquet = out.strip().split("\n")
    expected = (
        Decimal("0.123456789012345600")
        - Decimal("12576.000000000000000100")
        + Decimal("0.000000000000000001") * 2
        + 3
    )  # 5e-19 rounds half away from zero to 1e-18
    assert Decimal(total) == expected
    assert parquet == f"('DECIMAL(38,18)', Decimal('{expected:.18f}'))"


@pytest.mark.parametrize("accounts", [("111111111111", "222222222222"), None])
def test_legacy_csv_and_cur2_parquet_of_one_bill_give_the_same_lines(
    tmp_path: Path, accounts: tuple[str, ...] | None
) -> None:
    """The generator writes the same bill both ways: text money through rebill_money, decimal
    money cast directly, tags from columns and from a map; the normalized lines are equal (but
    for the tag keys: CUR 2.0 spells ``user:CostCenter`` as ``user_cost_center``)."""
    options = {} if accounts is None else {"accounts": accounts}
    legacy = tmp_path / "cur.csv.gz"
    cur2 = tmp_path / "cur2.parquet"
    synthetic_cur.generate_legacy_cur(legacy, rows=3000, **options)  # type: ignore[arg-type]
    synthetic_cur.generate_cur2_parquet(cur2, rows=3000, **options)  # type: ignore[arg-type]
    a = normalize_bill(legacy, source_file_id="x", out_dir=tmp_path / "a")
    b = normalize_bill(cur2, source_file_id="x", out_dir=tmp_path / "b")
    assert (a.format, b.format) == ("aws-cur-legacy", "aws-cur2")
    assert a.rows == b.rows == 3000
    assert a.totals == b.totals
    assert [p.account_id for p in a.partitions] == [p.account_id for p in b.partitions]
    legacy_lines, cur2_lines = lines(a), lines(b)
    for line in (*legacy_lines, *cur2_lines):
        line["Tags"] = sorted(json.loads(line["Tags"]).values())
    assert sorted(legacy_lines, key=_everything) == sorted(cur2_lines, key=_everything)
    assert a.totals.billed_cost != 0 and a.final and b.final


def _everything(line: dict[str, object]) -> tuple[str, ...]:
    return tuple(str(line[k]) for k in sorted(line))


@pytest.mark.parametrize("per_copy", [partition.MAX_PARTITIONS_PER_COPY, 2])
def test_big_bills_are_staged_compressed_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_copy: int
) -> None:
    accounts = tuple(f"{100_000_000_000 + i:012d}" for i in range(12))
    path = tmp_path / "cur.csv.gz"
    synthetic_cur.generate_legacy_cur(path, rows=3000, accounts=accounts)
    plain = normalize_bill(path, source_file_id="x", out_dir=tmp_path / "a")
    monkeypatch.setattr(normalize, "STAGED_ROW_BYTES", 10**9)  # "too big for memory"
    monkeypatch.setattr(partition, "MAX_PARTITIONS_PER_COPY", per_copy)
    compressed = normalize_bill(path, source_file_id="x", out_dir=tmp_path / "b")
    assert compressed.totals == plain.totals
    assert [(p.account_id, p.rows, p.billed_cost) for p in compressed.partitions] == [
        (p.account_id, p.rows, p.billed_cost) for p in plain.partitions
    ]
    assert sorted(lines(compressed), key=_everything) == sorted(lines(plain), key=_everything)
