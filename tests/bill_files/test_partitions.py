"""Partition layout: one file per provider / period / account (small accounts of a bill over
many share files), safe paths, per-part file names, re-delivery replaces, and sums per
partition."""

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
    [(100, 128), (0, 128)],
    ids=["a-copy-per-partition", "one-partitioned-copy"],
)
def test_one_file_per_partition(
    tmp_path: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    single_copies: int,
    per_copy: int,
) -> None:
    # The two ways of partition.write_partitions for a bill over a few accounts.
    monkeypatch.setattr(partition, "MAX_SINGLE_COPIES", single_copies)
    monkeypatch.setattr(partition, "MAX_PARTITIONS_PER_COPY", per_copy)
    bill = normalize_bill(_accounts_cur(tmp_path, 40, 3), source_file_id="x", out_dir=out_dir)
    assert len(bill.partitions) == 40
    files = sorted(out_dir.rglob("*.parquet"))
    assert files == sorted(p.path for p in bill.partitions)
    for p in bill.partitions:
        assert p.path.name == "part-0.parquet"
        assert p.location == f"provider=aws/period=2026-10/account={p.account_id}"
        assert p.rows == 3
        a = int(p.account_id)
        assert p.billed_cost == 3 * a + Decimal("0.03")
        assert {g["SubAccountId"] for g in _lines_of(p.path)} == {p.account_id}
    assert bill.totals.billed_cost == sum(3 * a + Decimal("0.03") for a in range(40))
    assert [p.account_id for p in bill.partitions] == sorted(p.account_id for p in bill.partitions)


def share_files(monkeypatch: pytest.MonkeyPatch, shared_rows: int, per_copy: int = 7) -> None:
    """Make every bill of more than ``per_copy`` accounts one "over many accounts": its accounts
    of fewer than ``shared_rows`` lines share files."""
    monkeypatch.setattr(partition, "MAX_SINGLE_COPIES", 0)
    monkeypatch.setattr(partition, "MAX_PARTITIONS_PER_COPY", per_copy)
    monkeypatch.setattr(partition, "SHARED_FILE_ROWS", shared_rows)


def _shares(bill: object) -> dict[Path, list[str]]:
    files: dict[Path, list[str]] = {}
    for p in bill.partitions:  # type: ignore[attr-defined]
        files.setdefault(p.path, []).append(p.account_id)
    return files


def test_a_bill_over_many_accounts_writes_the_small_ones_into_shared_files(
    tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # More partitions than one COPY takes: accounts of fewer than SHARED_FILE_ROWS lines fill
    # files of at least that many; here 2 accounts of 3 lines per file, 20 files over 3 COPYs.
    share_files(monkeypatch, 5)
    bill = normalize_bill(_accounts_cur(tmp_path, 40, 3), source_file_id="x", out_dir=out_dir)
    assert [p.rows for p in bill.partitions] == [3] * 40
    shares = _shares(bill)
    assert sorted(out_dir.rglob("*.parquet")) == sorted(shares)
    assert sorted(shares.values()) == [[f"{a:012d}", f"{a + 1:012d}"] for a in range(0, 40, 2)]
    for path, accounts in shares.items():
        assert path.parent.name == f"accounts={accounts[0]}+1"
        got = _lines_of(path)
        assert len(got) == 6 and {g["SubAccountId"] for g in got} == set(accounts)
    for p in bill.partitions:
        assert p.location == f"provider=aws/period=2026-10/accounts={shares[p.path][0]}+1"
        mine = [g for g in _lines_of(p.path) if g["SubAccountId"] == p.account_id]
        assert (
            sum(g["BilledCost"] for g in mine)
            == p.billed_cost
            == 3 * int(p.account_id) + (Decimal("0.03"))
        )


def test_an_account_of_many_lines_keeps_a_file_of_its_own(
    tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share_files(monkeypatch, 4)
    rows = [
        curgen.line(
            **{
                "lineItem/UsageAccountId": f"{a:012d}",
                "lineItem/UnblendedCost": "1",
                "identity/LineItemId": f"{a}-{i}",
            }
        )
        for a in range(10)
        for i in range(5 if a == 3 else 1)
    ]
    bill = normalize_bill(
        curgen.write(tmp_path / "c.csv", rows), source_file_id="x", out_dir=out_dir
    )
    shares = _shares(bill)
    big = next(p for p in bill.partitions if p.account_id == f"{3:012d}")
    assert shares[big.path] == [big.account_id]
    assert big.location == f"provider=aws/period=2026-10/account={big.account_id}"
    assert sorted(len(a) for a in shares.values()) == [1, 1, 4, 4]  # 9 small: 4 + 4 + 1
    assert sum(len(_lines_of(path)) for path in shares) == 14


def test_one_owners_small_accounts_share_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partition, "SHARED_FILE_ROWS", 10)
    parts = [(("aws", "2026-10", f"a{i}"), 4, 0) for i in range(8)]
    owners = {("aws", "a0"): "zeta", ("aws", "a5"): "zeta", ("aws", "a7"): "zeta"}
    owners |= {("aws", "a1"): "alpha", ("aws", "a6"): "alpha"}
    groups = partition.file_groups(parts, owners)
    # alpha's 2 (8 lines), then zeta's 3 join that file (it closes only where the owner
    # changes), then the accounts nobody owns, by id.
    assert groups == [
        [("aws", "2026-10", a) for a in ("a1", "a6", "a0", "a5", "a7")],
        [("aws", "2026-10", a) for a in ("a2", "a3", "a4")],
    ]
    # Without owners: by account, a file closing once it holds 10 lines.
    assert [len(g) for g in partition.file_groups(parts)] == [3, 3, 2]
    # A file never holds two periods or providers.
    mixed = [(("aws", "2026-09", "a0"), 1, 0), (("aws", "2026-10", "a0"), 1, 0)]
    mixed.append((("gcp", "2026-10", "a0"), 1, 0))
    assert len(partition.file_groups(mixed)) == 3


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


def test_a_shared_file_split_by_duckdb_is_merged_into_one_file(
    tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share_files(monkeypatch, 3000, per_copy=3)
    monkeypatch.setattr(partition, "MAX_OPEN_FILES", 1)
    monkeypatch.setattr(partition, "FLUSH_THRESHOLD_ROWS", 1)
    bill = normalize_bill(
        _accounts_cur(tmp_path, 8, 1000), source_file_id="x", out_dir=out_dir, threads=2
    )
    shares = _shares(bill)
    assert sorted(len(a) for a in shares.values()) == [2, 3, 3]
    assert sorted(out_dir.rglob("*.parquet")) == sorted(shares)
    for p in bill.partitions:
        mine = [g for g in _lines_of(p.path) if g["SubAccountId"] == p.account_id]
        assert len(mine) == 1000
        assert sum(g["BilledCost"] for g in mine) == p.billed_cost


def test_few_partitions_of_spilled_lines_are_written_by_a_copy_each(
    tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Staged lines compressed or on disk (as a 10 M-line bill's are): DuckDB 2's partitioned
    # writer exceeds the memory limit there, so a few partitions are written by one filtered
    # COPY each.
    from chalicelib.bill_files import normalize

    monkeypatch.setattr(normalize, "STAGED_ROW_BYTES", 10**12)  # staged compressed
    partitioned: list[Path] = []
    copy = partition._copy

    def spy(con: object, query: str, names: object, target: Path) -> object:
        partitioned.append(target)
        return copy(con, query, names, target)  # type: ignore[arg-type]

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
