"""Partition layout: one file per provider / period / account, safe paths, per-part file names,
re-delivery replaces, and sums per partition."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.bill_files import partition
from chalicelib.bill_files.normalize import normalize_bill
from tests.bill_files import curgen
from tests.bill_files.conftest import lines


def _accounts_cur(tmp_path: Path, accounts: int, per_account: int) -> Path:
    rows = [
        curgen.line(
            **{
                "lineItem/UsageAccountId": f"{a:012d}",
                "lineItem/UnblendedCost": f"{a}.{i:02d}",
                "identity/LineItemId": f"{a}-{i}",
            }
        )
        # Interleaved, as in a real report: the normalizer sorts.
        for i in range(per_account)
        for a in range(accounts)
    ]
    return curgen.write(tmp_path / "cur.csv", rows)


@pytest.mark.parametrize(
    ("single_copies", "per_copy"),
    [(100, 128), (0, 128), (0, 7)],
    ids=["a-copy-per-partition", "one-partitioned-copy", "sorted-bucket-ranges"],
)
def test_one_file_per_partition(
    tmp_path: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    single_copies: int,
    per_copy: int,
) -> None:
    # The three ways of partition.write_partitions; 7: more partitions than one COPY takes, so
    # the lines are sorted by a hash bucket of their keys and written in bucket ranges.
    monkeypatch.setattr(partition, "MAX_SINGLE_COPIES", single_copies)
    monkeypatch.setattr(partition, "MAX_PARTITIONS_PER_COPY", per_copy)
    bill = normalize_bill(_accounts_cur(tmp_path, 40, 3), source_file_id="x", out_dir=out_dir)
    assert len(bill.partitions) == 40
    files = sorted(out_dir.rglob("*.parquet"))
    assert files == sorted(p.path for p in bill.partitions)
    for p in bill.partitions:
        assert p.path.name == "part-0.parquet"
        assert p.rows == 3
        a = int(p.account_id)
        assert p.billed_cost == 3 * a + Decimal("0.03")
        assert {g["SubAccountId"] for g in _lines_of(p.path)} == {p.account_id}
    assert bill.totals.billed_cost == sum(3 * a + Decimal("0.03") for a in range(40))
    assert [p.account_id for p in bill.partitions] == sorted(p.account_id for p in bill.partitions)


def test_a_partition_split_by_duckdb_is_merged_into_one_file(
    tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One open file and a flush per row make DuckDB close and reopen partitions' files.
    monkeypatch.setattr(partition, "MAX_SINGLE_COPIES", 0)
    monkeypatch.setattr(partition, "MAX_OPEN_FILES", 1)
    monkeypatch.setattr(partition, "FLUSH_THRESHOLD_ROWS", 1)
    bill = normalize_bill(
        _accounts_cur(tmp_path, 5, 3000), source_file_id="x", out_dir=out_dir, threads=2
    )
    assert [p.rows for p in bill.partitions] == [3000] * 5
    assert sorted(out_dir.rglob("*.parquet")) == sorted(p.path for p in bill.partitions)
    for p in bill.partitions:
        got = _lines_of(p.path)
        assert len(got) == 3000
        assert {g["SubAccountId"] for g in got} == {p.account_id}
        assert sum(g["BilledCost"] for g in got) == p.billed_cost


@pytest.mark.parametrize(
    ("row_bytes", "read_from"),
    [(None, "rebill_staged_0"), (10**12, "rebill_compressed.rebill_sorted")],
    ids=["in-memory-as-staged", "compressed-sorted-first"],
)
def test_bucket_ranges_sort_the_lines_only_when_they_are_compressed(
    tmp_path: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    row_bytes: int | None,
    read_from: str,
) -> None:
    # Lines staged in memory as they are: each COPY filters its bucket range on the staged
    # table (a sorted copy would cost more than the filters). Staged compressed (a bill too big
    # for memory as it is, forced here): sorted by bucket first, so no COPY decompresses it all.
    from chalicelib.bill_files import normalize

    if row_bytes is not None:
        monkeypatch.setattr(normalize, "STAGED_ROW_BYTES", row_bytes)
    monkeypatch.setattr(partition, "MAX_SINGLE_COPIES", 0)
    monkeypatch.setattr(partition, "MAX_PARTITIONS_PER_COPY", 7)
    read: list[str] = []
    run_parallel = partition._run_parallel

    def spy(con: object, jobs: list[tuple[str, str, Path]]) -> object:
        read.extend(table for table, _, _ in jobs)
        return run_parallel(con, jobs)  # type: ignore[arg-type]

    monkeypatch.setattr(partition, "_run_parallel", spy)
    bill = normalize_bill(_accounts_cur(tmp_path, 40, 3), source_file_id="x", out_dir=out_dir)
    assert len(read) > 1 and set(read) == {read_from}
    assert [p.rows for p in bill.partitions] == [3] * 40
    for p in bill.partitions:
        got = _lines_of(p.path)
        assert {g["SubAccountId"] for g in got} == {p.account_id}
        assert sum(g["BilledCost"] for g in got) == p.billed_cost


def test_few_partitions_of_spilled_lines_are_written_by_a_copy_each(
    tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Staged lines on disk (as a 10 M-line bill's are): DuckDB 2's partitioned writer exceeds
    # the memory limit there, so a few partitions are written by one filtered COPY each.
    monkeypatch.setattr(partition, "_spilled", lambda con: True)
    partitioned: list[Path] = []
    copy = partition._copy

    def spy(con: object, table: str, where: str | None, target: Path) -> object:
        partitioned.append(target)
        return copy(con, table, where, target)  # type: ignore[arg-type]

    monkeypatch.setattr(partition, "_copy", spy)
    bill = normalize_bill(_accounts_cur(tmp_path, 5, 4), source_file_id="x", out_dir=out_dir)
    assert partitioned == []
    assert [p.rows for p in bill.partitions] == [4] * 5
    for p in bill.partitions:
        assert {g["SubAccountId"] for g in _lines_of(p.path)} == {p.account_id}


def _lines_of(path: Path) -> list[dict[str, object]]:
    import duckdb

    con = duckdb.connect()
    cursor = con.execute("SELECT * FROM read_parquet(?, hive_partitioning = false)", [str(path)])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def test_part_index_names_the_file_and_redelivery_replaces(tmp_path: Path, out_dir: Path) -> None:
    path = _accounts_cur(tmp_path, 2, 1)
    first = normalize_bill(path, source_file_id="a", out_dir=out_dir)
    second = normalize_bill(path, source_file_id="b", out_dir=out_dir, part_index=7)
    assert [p.path.name for p in second.partitions] == ["part-7.parquet"] * 2
    assert all(
        p.path.parent == q.path.parent
        for p, q in zip(first.partitions, second.partitions, strict=True)
    )
    again = normalize_bill(path, source_file_id="c", out_dir=out_dir)
    assert [p.path for p in again.partitions] == [p.path for p in first.partitions]
    assert {g["SourceFileId"] for g in lines(again)} == {"c"}
    assert len(list(out_dir.rglob("*.parquet"))) == 4
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".rebill-work")]


@pytest.mark.parametrize(
    ("account", "directory"),
    [
        ("012345678901", "account=012345678901"),
        ("cloud-billing-292519", "account=cloud-billing-292519"),
        ("ocid1.tenancy.oc1..aaaa", "account=ocid1.tenancy.oc1..aaaa"),
        ("/subscriptions/x/../../etc", "account=%2Fsubscriptions%2Fx%2F..%2F..%2Fetc"),
        ("a=b c", "account=a%3Db%20c"),
        ("..", "account=%2E%2E"),
    ],
)
def test_account_directory_names_are_safe(account: str, directory: str, tmp_path: Path) -> None:
    path = partition.partition_dir(tmp_path, ("other", "2026-10", account))
    assert path.name == directory
    assert path.resolve().is_relative_to(tmp_path.resolve())


def test_odd_account_ids_stay_inside_out_dir(tmp_path: Path, out_dir: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(
        "BilledCost,EffectiveCost,ListCost,BillingAccountId,SubAccountId,BillingCurrency,"
        "BillingPeriodStart,ChargeCategory,ChargePeriodStart,ProviderName\n"
        "1,1,1,B,../../escape,USD,2026-10-01,Usage,2026-10-01,Acme Cloud\n"
        "2,2,2,B,,USD,2026-10-01,Usage,2026-10-01,Acme Cloud\n"
    )
    bill = normalize_bill(path, source_file_id="f", out_dir=out_dir)
    assert [(p.provider, p.account_id) for p in bill.partitions] == [
        ("other", "../../escape"),
        ("other", "B"),  # no sub-account: the billing account's
    ]
    for p in bill.partitions:
        assert p.path.resolve().is_relative_to(out_dir.resolve())


def test_lines_without_sub_account_join_their_billing_accounts_partition(
    tmp_path: Path, out_dir: Path
) -> None:
    # Sorting on the raw SubAccountId would put B, C, then the empty ones (= B) last.
    path = tmp_path / "f.csv"
    path.write_text(
        "BilledCost,EffectiveCost,ListCost,BillingAccountId,SubAccountId,BillingCurrency,"
        "BillingPeriodStart,ChargeCategory,ChargePeriodStart,ProviderName\n"
        "1,1,1,B,,USD,2026-10-01,Tax,2026-10-01,AWS\n"
        "2,2,2,B,C,USD,2026-10-01,Usage,2026-10-01,AWS\n"
        "4,4,4,B,B,USD,2026-10-01,Usage,2026-10-01,AWS\n"
        "8,8,8,B,,USD,2026-10-01,Tax,2026-10-01,AWS\n"
    )
    bill = normalize_bill(path, source_file_id="f", out_dir=out_dir)
    assert [(p.account_id, p.rows, p.billed_cost) for p in bill.partitions] == [
        ("B", 3, Decimal(13)),
        ("C", 1, Decimal(2)),
    ]


def test_aws_line_without_usage_account_belongs_to_the_payer(tmp_path: Path, out_dir: Path) -> None:
    rows = [
        curgen.line(),
        curgen.line(**{"lineItem/UsageAccountId": "", "lineItem/LineItemType": "Tax"}),
    ]
    bill = normalize_bill(
        curgen.write(tmp_path / "c.csv", rows), source_file_id="x", out_dir=out_dir
    )
    assert sorted(p.account_id for p in bill.partitions) == [curgen.PAYER, "012345678901"]
