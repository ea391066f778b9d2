"""Write the staged lines as one Parquet file per provider / period / account, with DuckDB.

Layout: ``<root>/provider=<code>/period=<YYYY-MM>/account=<SubAccountId>/<name>.parquet``.
The account id is percent-encoded (only ``[A-Za-z0-9._~-]`` stay as they are), so Azure
paths and odd ids cannot escape the tree; plain AWS, GCP and Azure ids read unchanged.

How: DuckDB's ``COPY … (FORMAT parquet, RETURN_STATS)`` writes the files, straight from the
staged table, and reports each file with its row count (and partition key). DuckDB's
directory names are not ours (it percent-encodes differently), so the files land in a work
directory and :func:`write_partitions` returns where each key's file is; the caller moves
them to :func:`partition_dir`. Three ways, by the number of partitions (P):

- P <= :data:`MAX_SINGLE_COPIES` (a payer and a few linked accounts): one plain COPY per
  partition, filtered on the table. DuckDB's partitioned writer copies every value twice more
  on the way (into per-partition buffers, then into each file's row group), which costs more
  than a few filtered scans of an in-memory table; and when the staged table is compressed or
  spilled (a bill too big for memory as it is), DuckDB 2's partitioned writer runs out of the
  memory limit (a 10 M-line CUR at 1 GB) where the filtered COPYs stay within it;
- P <= :data:`MAX_PARTITIONS_PER_COPY`: one ``COPY … PARTITION_BY``. Its writer keeps pinned
  buffers per open partition and thread, hence the limit; ``partitioned_write_max_open_files``
  is set above it, so it never closes and reopens a file (which would split a partition);
- more (a payer with thousands of linked accounts): written in consecutive ranges of a hash
  bucket of the partition key, of at most MAX_PARTITIONS_PER_COPY partitions each, by
  :data:`WRITERS` COPYs at a time; a staged table that is compressed or spilled to disk is
  sorted by the bucket first, so that each COPY reads only its own rows. A Parquet file has a
  fixed cost (some ms for 31 columns), so thousands of small partitions cost seconds anyway.

Each file's key and row count are checked against the partition sums; should DuckDB still have
split a partition into several files, they are merged into one.
"""

from __future__ import annotations

from collections.abc import Sequence
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
# With more partitions, the rows are split into COPYs by a hash bucket of the partition key,
# kept in a column of the staged table (BUCKET_COLUMN) so that DuckDB filters it in the scan.
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
_SORTED = "rebill_sorted"
_PARTITION_NAMES = ("__rebill_provider", "__rebill_period", "__rebill_account")

Key = tuple[str, str, str]
Partition = tuple[Key, int, int]  # key, rows, bucket


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


def write_partitions(
    con: duckdb.DuckDBPyConnection,
    table: str,
    partitions: Sequence[Partition],
    root: Path,
    *,
    tables: Sequence[str] = (),
) -> dict[Key, Path]:
    """Write every partition of ``table`` to its own Parquet file under ``root``.

    ``partitions`` is every (key, row count, bucket) of ``table``, which has the partition
    keys, :data:`BUCKET_COLUMN` and the normalized columns. ``table`` is a table or a view of
    ``tables``; they may be dropped (replaced by a sorted copy) on the way.
    """
    expected = {key: rows for key, rows, _ in partitions}
    root.mkdir(parents=True, exist_ok=True)
    if len(partitions) <= MAX_SINGLE_COPIES:
        files = [
            _copy_one(con, table, p, root / f"single-{i}.parquet") for i, p in enumerate(partitions)
        ]
    elif len(partitions) <= MAX_PARTITIONS_PER_COPY:
        files = _copy(con, table, None, root / "batch-0")
    else:
        held = list(tables) or [table]
        database = held[0].rpartition(".")[0]  # the staged table's (maybe compressed) database
        source = table
        if database or _spilled(con):
            # Compressed or on disk, every COPY would decompress or read back the whole table:
            # cluster the rows by bucket once, so that each COPY reads only its own rows
            # (min/max pruning of the sorted bucket column). In memory as they are, the lines
            # are not sorted: filtering the small bucket column in each COPY costs less than
            # the sort (1 M lines over 2,000 accounts: the COPYs take the same CPU time on the
            # unsorted lines; the sort took 3.5 CPU seconds, a fifth of the whole ingest).
            source = f"{database}.{_SORTED}" if database else _SORTED
            con.execute(f"CREATE TABLE {source} AS SELECT * FROM {table} ORDER BY {BUCKET_COLUMN}")
            for name in held:
                con.execute(f"DROP TABLE {name}")
        jobs = [
            (source, f"{BUCKET_COLUMN} BETWEEN {low} AND {high}", root / f"batch-{number}")
            for number, (low, high) in enumerate(_bucket_ranges(partitions))
        ]
        files = _run_parallel(con, jobs)
    by_key: dict[Key, list[tuple[Path, int]]] = {}
    for path, key, rows in files:
        by_key.setdefault(key, []).append((path, rows))
    if set(by_key) != set(expected) or any(
        sum(rows for _, rows in parts) != expected[key] for key, parts in by_key.items()
    ):
        raise BillProcessingError("the partition files do not hold the partitions' lines")
    written = {}
    for key, parts in by_key.items():
        if len(parts) == 1:
            written[key] = parts[0][0]
        else:
            written[key] = _merge(con, [p for p, _ in parts], root / "merged" / f"{len(written)}")
    return written


def _spilled(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether DuckDB has moved data to its temporary directory (the table is not in memory)."""
    row = con.execute("SELECT count(*) FROM duckdb_temporary_files()").fetchone()
    return row is not None and int(row[0]) > 0


def _copy_one(
    con: duckdb.DuckDBPyConnection, table: str, partition: Partition, target: Path
) -> tuple[Path, Key, int]:
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
    return target, key, int(stats["count"])


def _bucket_ranges(partitions: Sequence[Partition]) -> list[tuple[int, int]]:
    """Consecutive bucket ranges holding at most MAX_PARTITIONS_PER_COPY partitions each (a
    bucket is never split: one with more partitions than that, which takes over half a million
    partitions in a file, gets a range of its own)."""
    per_bucket: dict[int, int] = {}
    for _, _, bucket in partitions:
        per_bucket[bucket] = per_bucket.get(bucket, 0) + 1
    ranges: list[tuple[int, int]] = []
    low, count = None, 0
    previous = -1
    for bucket in sorted(per_bucket):
        n = per_bucket[bucket]
        if low is not None and count + n > MAX_PARTITIONS_PER_COPY:
            ranges.append((low, previous))
            low, count = None, 0
        if low is None:
            low = bucket
        count += n
        previous = bucket
    if low is not None:
        ranges.append((low, previous))
    return ranges


def _run_parallel(
    con: duckdb.DuckDBPyConnection, jobs: list[tuple[str, str, Path]]
) -> list[tuple[Path, Key, int]]:
    """Run the COPY jobs on WRITERS connections at once: a Parquet file has a fixed cost (some
    ms for 31 columns) that one COPY pays on one thread, so thousands of small partitions
    write faster side by side."""
    lanes = [jobs[i::WRITERS] for i in range(WRITERS)]

    def run(lane: list[tuple[str, str, Path]]) -> list[tuple[Path, Key, int]]:
        cursor = con.cursor()
        try:
            return [f for table, where, target in lane for f in _copy(cursor, table, where, target)]
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(run, [lane for lane in lanes if lane]))
    return [f for result in results for f in result]


def _copy(
    con: duckdb.DuckDBPyConnection, table: str, where: str | None, target: Path
) -> list[tuple[Path, Key, int]]:
    """COPY (a row range of) ``table`` partitioned; (file, key, rows) of every file written."""
    columns = ", ".join(sql.ident(name) for name in COLUMN_NAMES)
    keys = ", ".join(f"{sql.ident(k)} AS {p}" for k, p in zip(KEYS, _PARTITION_NAMES, strict=True))
    query = f"SELECT {columns}, {keys} FROM {table}" + (f" WHERE {where}" if where else "")
    con.execute("SET preserve_insertion_order = false")  # row order within a file is free
    con.execute(f"SET partitioned_write_max_open_files = {MAX_OPEN_FILES}")
    con.execute(f"SET partitioned_write_flush_threshold = {FLUSH_THRESHOLD_ROWS}")
    stats = _returned_stats(
        con.execute(
            f"COPY ({query}) TO {sql.lit(str(target))} ({PARQUET}, "
            f"PARTITION_BY ({', '.join(_PARTITION_NAMES)}), FILENAME_PATTERN 'part-{{i}}', "
            "RETURN_STATS)"
        )
    )
    result = []
    for file in stats:
        keys = file["partition_keys"]
        provider, period, account = (str(keys[name]) for name in _PARTITION_NAMES)
        key = (provider, period_text(int(period)), account)
        result.append((Path(file["filename"]), key, int(file["count"])))
    return result


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
