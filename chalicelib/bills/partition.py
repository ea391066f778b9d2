"""Split the sorted staging file into one Parquet file per provider / period / account.

Layout: ``<root>/provider=<code>/period=<YYYY-MM>/account=<SubAccountId>/<name>.parquet``.
The account id is percent-encoded (only ``[A-Za-z0-9._~-]`` stay as they are), so Azure
paths and odd ids cannot escape the tree; plain AWS, GCP and Azure ids read unchanged.

Why not DuckDB's ``COPY … PARTITION_BY``: with more partitions than its open-file limit it
closes and reopens files, leaving several ``part-N`` files per partition, and its file
naming is not ours to choose. The staging file is already sorted by the partition keys, so
streaming it once with one writer open at a time gives exactly one file per partition in
bounded memory.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chalicelib.bills.schema import COLUMN_NAMES

PERIOD_COLUMN = "_period"
KEYS = ("ProviderName", PERIOD_COLUMN, "SubAccountId")
BATCH_ROWS = 64 * 1024

Key = tuple[str, str, str]


def encode_account(account: str) -> str:
    encoded = quote(account, safe="")
    # '.' and '..' are path components with a meaning of their own.
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def partition_dir(root: Path, key: Key) -> Path:
    provider, period, account = key
    return root / f"provider={provider}" / f"period={period}" / f"account={encode_account(account)}"


def write_partitions(staging: Path, root: Path, file_name: str) -> dict[Key, Path]:
    """Write every run of equal keys in ``staging`` to its own file under ``root``."""
    source = pq.ParquetFile(staging)
    schema = pa.schema([source.schema_arrow.field(name) for name in COLUMN_NAMES])
    written: dict[Key, Path] = {}
    writer: pq.ParquetWriter | None = None
    current: Key | None = None
    try:
        for batch in source.iter_batches(
            batch_size=BATCH_ROWS, columns=[*COLUMN_NAMES, PERIOD_COLUMN]
        ):
            for start, length in _runs(batch):
                typed_key: Key = (
                    str(batch.column(KEYS[0])[start].as_py()),
                    str(batch.column(KEYS[1])[start].as_py()),
                    str(batch.column(KEYS[2])[start].as_py()),
                )
                if typed_key != current:
                    if typed_key in written:
                        raise RuntimeError(f"staging file is not sorted: {typed_key} seen twice")
                    if writer is not None:
                        writer.close()
                    path = partition_dir(root, typed_key) / file_name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    writer = pq.ParquetWriter(path, schema, compression="snappy")
                    written[typed_key] = path
                    current = typed_key
                assert writer is not None
                part = batch.slice(start, length).select(list(COLUMN_NAMES))
                writer.write_batch(pa.record_batch(part.columns, schema=schema))
    finally:
        if writer is not None:
            writer.close()
    return written


def _runs(batch: pa.RecordBatch) -> list[tuple[int, int]]:
    """(start, length) of each run of rows with equal partition keys in a batch."""
    n = batch.num_rows
    if n == 0:
        return []
    changed = None
    for name in KEYS:
        column = batch.column(name)
        # Keys are never null (rows without them fail validation); treat null as a change anyway.
        differs = pc.fill_null(pc.not_equal(column.slice(1), column.slice(0, n - 1)), True)
        changed = differs if changed is None else pc.or_(changed, differs)
    assert changed is not None
    starts = [0] + [int(i) + 1 for i in pc.indices_nonzero(changed).to_pylist()]
    ends = [*starts[1:], n]
    return [(s, e - s) for s, e in zip(starts, ends, strict=True)]
