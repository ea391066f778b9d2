"""Line keys: the identity of a bill line across files (chalicelib.bill_files.line_keys)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from chalicelib.bill_files.line_keys import overlapping_lines
from chalicelib.bill_files.normalize import normalize_bill
from tests.bill_files import curgen
from tests.bill_files.conftest import EXTERNAL


def _keys(path: Path, tmp: Path, name: str) -> tuple[list[int], list[Path]]:
    bill = normalize_bill(path, source_file_id=name, out_dir=tmp / name)
    files = [p.path for p in bill.partitions]
    paths = ", ".join(f"'{f}'" for f in files)
    keys = duckdb.sql(f'SELECT "LineKey" FROM read_parquet([{paths}]) ORDER BY 1').fetchall()
    return [k for (k,) in keys], files


def _aws(path: Path, cost: str, line_id: str = "abc") -> Path:
    return curgen.write(
        path,
        [
            curgen.line(
                identity__LineItemId=line_id,
                identity__TimeInterval="2026-10-05T10:00:00Z/2026-10-05T11:00:00Z",
                lineItem__UnblendedCost=cost,
            )
        ],
    )


def test_an_aws_line_is_keyed_by_its_line_item_id_not_its_cost(tmp_path: Path) -> None:
    first, first_files = _keys(_aws(tmp_path / "a.csv", "1.00"), tmp_path, "a")
    restated, restated_files = _keys(_aws(tmp_path / "b.csv", "1.25"), tmp_path, "b")
    other, other_files = _keys(_aws(tmp_path / "c.csv", "1.00", "xyz"), tmp_path, "c")
    assert first == restated and first != other and None not in first
    assert overlapping_lines(restated_files, first_files) == 1
    assert overlapping_lines(other_files, first_files) == 0


def test_a_line_without_an_id_is_keyed_by_what_it_is(tmp_path: Path) -> None:
    """Azure has no line id: a restated cost keeps the key, another resource does not."""
    source = (EXTERNAL / "azure-cost-details-ea.csv").read_bytes()
    (tmp_path / "a.csv").write_bytes(source)
    (tmp_path / "b.csv").write_bytes(source.replace(b"0.4838709677419368", b"9.99"))
    original, original_files = _keys(tmp_path / "a.csv", tmp_path, "a")
    restated, restated_files = _keys(tmp_path / "b.csv", tmp_path, "b")
    assert original == restated and None not in original
    assert overlapping_lines(restated_files, original_files) == len(original)


def test_keys_of_the_external_cur_files_are_their_line_ids(tmp_path: Path) -> None:
    """The koku CUR pair: same line ids, other accounts — the keys agree, the accounts differ,
    so the two files never share a partition to compare."""
    final, _ = _keys(EXTERNAL / "aws-cur-2023-06-final.csv", tmp_path, "final")
    draft, _ = _keys(EXTERNAL / "aws-cur-2023-06-not-final.csv", tmp_path, "draft")
    assert final == draft and len(set(final)) == 3
