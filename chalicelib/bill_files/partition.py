"""Write the staged lines as Parquet files per provider / period / account, with DuckDB.

Layout: ``<root>/provider=<code>/period=<YYYY-MM>/account=<SubAccountId>/<name>.parquet``, one
file per account; a bill over many accounts (more than :data:`MAX_PARTITIONS_PER_COPY`) keeps
that for its accounts of :data:`SHARED_FILE_ROWS` lines or more and writes the smaller ones into
files they share, ``…/period=<YYYY-MM>/accounts=<first SubAccountId>+<others>/<name>.parquet``.
The account id is percent-encoded (only ``[A-Za-z0-9._~-]`` stay as they are), so Azure paths
and odd ids cannot escape the tree; plain AWS, GCP and Azure ids read unchanged.

Why files are shared: a Parquet file of the 31 normalized columns has a fixed cost in DuckDB's
writer (about 4.5 ms of CPU alone, some 11 ms per partition in a partitioned COPY), the cost of
writing some 1,700 lines. A 1 M-line bill over 2,000 accounts (500 lines each) spent three
quarters of its ingest on 2,001 files, 3 to 5 times the time per line of a bill over 6
accounts; in 30 files of at least SHARED_FILE_ROWS lines, 1.3 to 1.6 times (docs/scaling.md
"Ingest"). Who reads a shared
file gets the other accounts' lines with it: invoicing matches every line to its customer's
accounts anyway (chalicelib/billing/sources.py), and the reconciliation reads each file once. So
that a customer's accounts land in one file (a batch of an invoice run then downloads little
more than its own lines), the caller may say who owns each account: small accounts are packed
in the order (provider, period, owner, account). Who owns an account is a hint for the layout
only: an account that changes hands later is still read right, from a file it shares with
other owners' accounts.

How: DuckDB's ``COPY … (FORMAT parquet, RETURN_STATS)`` writes the files, straight from the
staged table, and reports each file with its row count (and partition key). DuckDB's
directory names are not ours (it percent-encodes differently), so the files land in a work
directory and :func:`write_partitions` returns where each key's file is; the caller moves
them to :func:`file_dir`. Three ways, by the number of partitions (P):

- P <= :data:`MAX_SINGLE_COPIES` (a payer and a few linked accounts): one plain COPY per
  partition, filtered on the table. DuckDB's partitioned writer copies every value twice more
  on the way (into per-partition buffers, then into each file's row group), which costs more
  than a few filtered scans of an in-memory table; and when the staged table is compressed or
  spilled (a bill too big for memory as it is), DuckDB 2's partitioned writer runs out of the
  memory limit (a 10 M-line CUR at 1 GB) where the filtered COPYs stay within it;
- P <= :data:`MAX_PARTITIONS_PER_COPY`: one ``COPY … PARTITION_BY``. Its writer keeps pinned
  buffers per open partition and thread, hence the limit; ``partitioned_write_max_open_files``
  is set above it, so it never closes and reopens a file (which would split a partition);
- more (a payer with thousands of linked accounts): the partitions are grouped into files
  (:func:`file_groups`), and each file group gets a number in a small table joined to the
  lines; ``COPY … PARTITION_BY`` that number writes the files, at most MAX_PARTITIONS_PER_COPY
  of them per COPY, :data:`WRITERS` COPYs at a time.

Each file's key and row count are checked against the partition sums; should DuckDB still have
split a partition (or a group) into several files, they are merged into one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb

from chalicelib.bill_files import sql
from chalicelib.bill_files.model import BillProcessingError
from chalicelib.bill_files.schema import COLUMN_NAMES

# The billing period as yyyymm (an integer: cheaper to compute, compare and hash than text).
PERIOD_COLUMN = "_period"
PERIOD = 'year("BillingPeriodStart") * 100 + month("BillingPeriodStart")'
KEYS = ("ProviderName", PERIOD_COLUMN, "SubAccountId")
# DuckDB pins 256 KiB blocks per open partition and thread (measured: 2000 partitions of 7
# columns exhaust a 1 GB memory limit on 2 threads); WRITERS COPYs of 128 partitions of the 31
# normalized columns stay within it.
MAX_PARTITIONS_PER_COPY = 128
MAX_OPEN_FILES = 2 * MAX_PARTITIONS_PER_COPY
# A bill of more partitions than that: accounts of fewer lines than this share files of at
# least this many lines, so a file's fixed cost is under 5% of the cost of its lines.
SHARED_FILE_ROWS = 32_768
# A small integer per partition key, kept in a column of the staged table: the cheapest filter
# for the COPY of one partition.
BUCKETS = 4096
BUCKET = f'CAST(hash("ProviderName", {PERIOD_COLUMN}, "SubAccountId") % {BUCKETS} AS USMALLINT)'
BUCKET_COLUMN = "_bucket"
# Up to this many partitions, while the staged table is in memory, each partition is written by
# a COPY of its own: filtering the table a few times costs less than DuckDB's partitioned writer.
MAX_SINGLE_COPIES = 16
WRITERS = 2  # COPYs run side by side (the Lambda has 2 vCPUs)
FLUSH_THRESHOLD_ROWS = 512 * 1024  # rows a thread buffers before handing them to the files
# zstd at level 1 writes as fast as snappy and makes the files some 40% smaller (17 against
# 29 MiB per million lines of the benchmark CUR); reading them back costs the same.
PARQUET = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"
_PARTITION_NAMES = ("__rebill_provider", "__rebill_period", "__rebill_account")
_GROUPS = "rebill_file_groups"
_GROUP_NAME = "__rebill_group"
_GROUP_ROWS_PER_INSERT = 1000

Key = tuple[str, str, str]
Partition = tuple[Key, int, int]  # key, rows, bucket
# Who owns each account now, (provider, account id) -> owner: a hint for which accounts share
# a file. Asked for only when a bill has enough partitions to share files.
Owners = Callable[[], Mapping[tuple[str, str], str]]


def period_text(period: int) -> str:
    """yyyymm -> 'YYYY-MM'."""
    return f"{period // 100:04d}-{period % 100:02d}"


def period_number(period: str) -> int:
    """'YYYY-MM' -> yyyymm."""
    year, month = period.rsplit("-", 1)
    return int(year) * 100 + int(month)


def encode_account(account: str) -> str:
    encoded = quote(account, safe="")
    # '.' and '..' are path components with a meaning of their own.
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def partition_dir(root: Path, key: Key) -> Path:
    provider, period, account = key
    return root / f"provider={provider}" / f"period={period}" / f"account={encode_account(account)}"


def file_dir(root: Path, keys: Sequence[Key]) -> Path:
    """Where the file holding the partitions ``keys`` (of one provider and period) goes: its
    account's directory, or ``accounts=<first account>+<how many more>`` for a shared file."""
    if len(keys) == 1:
        return partition_dir(root, keys[0])
    provider, period, first = min(keys)
    return (
        root
        / f"provider={provider}"
        / f"period={period}"
        / f"accounts={encode_account(first)}+{len(keys) - 1}"
    )


def file_groups(
    partitions: Sequence[Partition], owners: Mapping[tuple[str, str], str] | None = None
) -> list[list[Key]]:
    """The partitions each file holds. A partition of :data:`SHARED_FILE_ROWS` lines or more has
    a file of its own; the smaller ones, in the order (provider, period, owner, account), with
    the accounts nobody owns last, fill files of at least SHARED_FILE_ROWS lines. A file closes
    only where the owner changes, so one owner's small accounts share one file; it never holds
    two providers or periods (the last file of each may hold fewer lines)."""
    owners = owners or {}
    groups = [[key] for key, rows, _ in sorted(partitions) if rows >= SHARED_FILE_ROWS]

    def owner(key: Key) -> tuple[bool, str]:
        found = owners.get((key[0], key[2]))
        return (False, found) if found is not None else (True, key[2])

    small = sorted(
        ((key, rows) for key, rows, _ in partitions if rows < SHARED_FILE_ROWS),
        key=lambda item: (item[0][0], item[0][1], owner(item[0]), item[0][2]),
    )
    current: list[Key] = []
    lines = 0
    for key, rows in small:
        if current and (
            current[-1][:2] != key[:2]
            or (lines >= SHARED_FILE_ROWS and owner(current[-1]) != owner(key))
        ):
            groups.append(current)
            current, lines = [], 0
        current.append(key)
        lines += rows
    if current:
        groups.append(current)
    return groups


def write_partitions(
    con: duckdb.DuckDBPyConnection,
    table: str,
    partitions: Sequence[Partition],
    root: Path,
    *,
    owners: Owners | None = None,
) -> dict[Key, Path]:
    """Write the partitions of ``table`` to Parquet files under ``root``: where each
    partition's file is (a file several partitions share appears under each of their keys).

    ``partitions`` is every (key, row count, bucket) of ``table``, which has the partition
    keys, :data:`BUCKET_COLUMN` and the normalized columns.
    """
    root.mkdir(parents=True, exist_ok=True)
    if len(partitions) <= MAX_SINGLE_COPIES:
        groups = [[key] for key, _, _ in partitions]
        files = [
            _copy_one(con, table, p, root / f"single-{i}.parquet", i)
            for i, p in enumerate(partitions)
        ]
    elif len(partitions) <= MAX_PARTITIONS_PER_COPY:
        groups = [[key] for key, _, _ in partitions]
        number = {key: i for i, (key, _, _) in enumerate(partitions)}
        files = [
            (path, number[_key_of(keys)], rows)
            for path, keys, rows in _copy(
                con, _partitioned_query(table), _PARTITION_NAMES, root / "batch-0"
            )
        ]
    else:
        groups = file_groups(partitions, owners() if owners is not None else None)
        _load_groups(con, groups)
        jobs = [
            (
                _grouped_query(table, low, min(low + MAX_PARTITIONS_PER_COPY, len(groups)) - 1),
                root / f"batch-{low}",
            )
            for low in range(0, len(groups), MAX_PARTITIONS_PER_COPY)
        ]
        files = _run_parallel(con, jobs)
        con.execute(f"DROP TABLE {_GROUPS}")
    return _by_key(con, groups, partitions, files, root)


def _by_key(
    con: duckdb.DuckDBPyConnection,
    groups: list[list[Key]],
    partitions: Sequence[Partition],
    files: list[tuple[Path, int, int]],
    root: Path,
) -> dict[Key, Path]:
    """Check that each group's files hold its partitions' lines (merging a group DuckDB split
    into several files); where each key's file is."""
    rows = {key: count for key, count, _ in partitions}
    parts: dict[int, list[tuple[Path, int]]] = {}
    for path, group, count in files:
        parts.setdefault(group, []).append((path, count))
    if set(parts) != set(range(len(groups))) or any(
        sum(count for _, count in parts[g]) != sum(rows[key] for key in keys)
        for g, keys in enumerate(groups)
    ):
        raise BillProcessingError("the partition files do not hold the partitions' lines")
    written: dict[Key, Path] = {}
    for g, keys in enumerate(groups):
        found = parts[g]
        path = (
            found[0][0]
            if len(found) == 1
            else _merge(con, [p for p, _ in found], root / "merged" / str(g))
        )
        for key in keys:
            written[key] = path
    return written


def _key_of(keys: Sequence[str]) -> Key:
    provider, period, account = keys
    return (provider, period_text(int(period)), account)


def _copy_one(
    con: duckdb.DuckDBPyConnection, table: str, partition: Partition, target: Path, group: int
) -> tuple[Path, int, int]:
    """COPY one partition of ``table`` to one file (selected by its bucket first: a small
    integer column is the cheapest filter)."""
    key, _, bucket = partition
    provider, period, account = key
    where = (
        f"{BUCKET_COLUMN} = {bucket} AND {PERIOD_COLUMN} = {period_number(period)} "
        f'AND "ProviderName" = {sql.lit(provider)} AND "SubAccountId" = {sql.lit(account)}'
    )
    columns = ", ".join(sql.ident(name) for name in COLUMN_NAMES)
    con.execute("SET preserve_insertion_order = false")
    (stats,) = _returned_stats(
        con.execute(
            f"COPY (SELECT {columns} FROM {table} WHERE {where}) TO {sql.lit(str(target))} "
            f"({PARQUET}, RETURN_STATS)"
        )
    )
    return target, group, int(stats["count"])


def _partitioned_query(table: str) -> str:
    columns = ", ".join(sql.ident(name) for name in COLUMN_NAMES)
    keys = ", ".join(f"{sql.ident(k)} AS {p}" for k, p in zip(KEYS, _PARTITION_NAMES, strict=True))
    return f"SELECT {columns}, {keys} FROM {table}"


def _load_groups(con: duckdb.DuckDBPyConnection, groups: list[list[Key]]) -> None:
    """A table of every partition key with the number of its file group."""
    con.execute(
        f"CREATE TABLE {_GROUPS} (g_provider VARCHAR, g_period INTEGER, g_account VARCHAR, "
        "g_group INTEGER)"
    )
    rows = [
        f"({sql.lit(provider)}, {period_number(period)}, {sql.lit(account)}, {number})"
        for number, keys in enumerate(groups)
        for provider, period, account in keys
    ]
    for start in range(0, len(rows), _GROUP_ROWS_PER_INSERT):
        chunk = rows[start : start + _GROUP_ROWS_PER_INSERT]
        con.execute(f"INSERT INTO {_GROUPS} VALUES {', '.join(chunk)}")


def _grouped_query(table: str, low: int, high: int) -> str:
    """The lines of file groups ``low``..``high`` with their group's number."""
    columns = ", ".join(f"l.{sql.ident(name)}" for name in COLUMN_NAMES)
    return (
        f"SELECT {columns}, g.g_group AS {_GROUP_NAME} FROM {table} l JOIN {_GROUPS} g "
        f'ON l."ProviderName" = g.g_provider AND l.{PERIOD_COLUMN} = g.g_period '
        f'AND l."SubAccountId" = g.g_account WHERE g.g_group BETWEEN {low} AND {high}'
    )


def _run_parallel(
    con: duckdb.DuckDBPyConnection, jobs: list[tuple[str, Path]]
) -> list[tuple[Path, int, int]]:
    """Run the grouped COPY jobs on WRITERS connections at once: a Parquet file has a fixed
    cost that one COPY pays on one thread, so many files write faster side by side."""
    lanes = [jobs[i::WRITERS] for i in range(WRITERS)]

    def run(lane: list[tuple[str, Path]]) -> list[tuple[Path, int, int]]:
        cursor = con.cursor()
        try:
            return [
                (path, int(keys[0]), rows)
                for query, target in lane
                for path, keys, rows in _copy(cursor, query, (_GROUP_NAME,), target)
            ]
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(run, [lane for lane in lanes if lane]))
    return [f for result in results for f in result]


def _copy(
    con: duckdb.DuckDBPyConnection, query: str, names: Sequence[str], target: Path
) -> list[tuple[Path, list[str], int]]:
    """COPY ``query`` partitioned by its columns ``names``; (file, the partition's values of
    ``names``, rows) of every file written."""
    con.execute("SET preserve_insertion_order = false")  # row order within a file is free
    con.execute(f"SET partitioned_write_max_open_files = {MAX_OPEN_FILES}")
    con.execute(f"SET partitioned_write_flush_threshold = {FLUSH_THRESHOLD_ROWS}")
    stats = _returned_stats(
        con.execute(
            f"COPY ({query}) TO {sql.lit(str(target))} ({PARQUET}, "
            f"PARTITION_BY ({', '.join(names)}), FILENAME_PATTERN 'part-{{i}}', RETURN_STATS)"
        )
    )
    return [
        (
            Path(file["filename"]),
            [str(file["partition_keys"][name]) for name in names],
            int(file["count"]),
        )
        for file in stats
    ]


def _returned_stats(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of a ``COPY … RETURN_STATS`` by column name: DuckDB 2 added a column
    (``extra_info``) after the ones read here, and may add more."""
    names = [column[0] for column in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _merge(con: duckdb.DuckDBPyConnection, paths: list[Path], target_dir: Path) -> Path:
    target_dir.mkdir(parents=True)
    target = target_dir / "part.parquet"
    files = ", ".join(sql.lit(str(p)) for p in paths)
    con.execute(
        f"COPY (SELECT * FROM read_parquet([{files}], hive_partitioning = false)) "
        f"TO {sql.lit(str(target))} ({PARQUET})"
    )
    return target
