"""Normalize one bill file: detect its format, map it to the normalized schema with DuckDB, write
Parquet partitions, and summarize. Pure: local files in, local files out; no AWS.

Pipeline (memory stays bounded whatever the file size: DuckDB streams the source, spills its
sort to ``temp_directory`` under ``memory_limit``, and the partition writer streams too):

1. unpack (gzip / zip → a plain file, with the decompressed-size limit) — :mod:`container`;
2. read the header / schema / first JSON record and pick the format — :mod:`source`,
   :mod:`detect`; the format's mapper gives one SQL expression per normalized column;
3. one DuckDB pass: read, map, validate every row, and write a staging Parquet file sorted by
   provider / period / account;
4. fail with :class:`InvalidBillFile` (file, line, column) on the first problem found: CSV
   rejects, then failed row checks, then no rows, then mixed currencies;
5. aggregate the staging file per partition and split it into one Parquet file per partition.

Rules applied to every format after its mapper:
- SubAccountId falls back to BillingAccountId (a charge no sub-account carries belongs to the
  billing account); EffectiveCost and ListCost fall back to BilledCost when empty.
- A file must be in one currency (a partition's sums are in its currency; several currencies
  in one file are rejected, naming the first line that differs).
- A header without line items is an error, not an empty bill: a delivery replaces the earlier
  one, and an empty re-delivery would silently erase a month (DESIGN §8: lose nothing).

Finality (``NormalizedBill.final``): true when the format carries an invoice id and every line
has one — AWS ``bill/InvoiceId`` / ``bill_invoice_id``, FOCUS 1.2 ``InvoiceId``, Azure MCA
``InvoiceId``. Formats without one (GCP's export; EA cost details; FOCUS 1.0/1.1) are never
final here: a past ``invoice.month`` does not mean Google will send nothing more for it, so the
operator (or a later rule with a clock) decides.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from chalicelib.bills import sql
from chalicelib.bills.columns import Check
from chalicelib.bills.container import unpack
from chalicelib.bills.locate import (
    error_expression,
    first_bad_json_line,
    first_failing_row,
    raise_for_rejects,
    raise_for_row,
)
from chalicelib.bills.manifest import report_identity
from chalicelib.bills.model import (
    BillProcessingError,
    NormalizedBill,
    PartitionSummary,
    Totals,
)
from chalicelib.bills.partition import PERIOD_COLUMN, Key, write_partitions
from chalicelib.bills.schema import NORMALIZED_COLUMNS
from chalicelib.bills.source import REJECTS_TABLE, Source, open_source
from chalicelib.errors import InvalidBillFile

DEFAULT_MAX_DECOMPRESSED_BYTES = 20 * 2**30
DEFAULT_MEMORY_LIMIT = "1GB"
_INVOICE = "_invoice"
_ERROR = "_error"


def normalize_bill(
    source: Path,
    *,
    source_file_id: str,
    out_dir: Path,
    manifest: dict[str, Any] | None = None,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    part_index: int = 0,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
) -> NormalizedBill:
    """Normalize ``source`` into ``out_dir/provider=…/period=…/account=…/part-<n>.parquet``.

    ``part_index`` (the ``n`` above) names the file, so that the parts of one multi-file report
    can be normalized independently into the same tree. Raises :class:`InvalidBillFile` for any
    file that cannot be taken in, :class:`BillProcessingError` when the machine (disk, memory)
    fails instead.
    """
    if not source_file_id:
        raise ValueError("source_file_id is required")
    label = source.name
    identity = report_identity(manifest, label)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".rebill-work-", dir=out_dir))
    try:
        plain = unpack(source, work, max_bytes=max_decompressed_bytes, label=label)
        con = _connect(work, memory_limit, threads)
        try:
            src = open_source(con, plain, label)
            staging = work / "staging.parquet"
            with _reading(label, src):
                checks = _stage(con, src, staging, source_file_id)
            if src.kind == "csv":
                raise_for_rejects(con, REJECTS_TABLE, src.path, _names(src), label)
            summary = _summarize(con, src, checks, staging, label)
            bill_periods = sorted({key[1] for key in summary})
            if (
                src.family.name == "aws"
                and identity.billing_period is not None
                and bill_periods != [identity.billing_period]
            ):
                raise InvalidBillFile(
                    f"{label}: the manifest is for {identity.billing_period} but the file holds "
                    f"{', '.join(bill_periods)}"
                )
            final, invoice_ids = _finality(con, src, staging)
        finally:
            con.close()
        written = write_partitions(staging, work / "parts", f"part-{part_index}.parquet")
        partitions = _publish(written, work / "parts", out_dir, summary)
    except duckdb.Error as exc:
        raise BillProcessingError(f"{label}: processing failed: {_first_line(exc)}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)

    providers = sorted({p.provider for p in partitions})
    return NormalizedBill(
        source_file_id=source_file_id,
        format=src.mapping.format,
        container=plain.container,
        provider=providers[0] if len(providers) == 1 else "mixed",
        currency=partitions[0].currency,
        periods=bill_periods,
        rows=sum(p.rows for p in partitions),
        totals=Totals(
            billed_cost=sum((p.billed_cost for p in partitions), Decimal(0)),
            effective_cost=sum((p.effective_cost for p in partitions), Decimal(0)),
            list_cost=sum((p.list_cost for p in partitions), Decimal(0)),
        ),
        final=final,
        invoice_ids=invoice_ids,
        report=identity,
        partitions=partitions,
    )


def _connect(work: Path, memory_limit: str, threads: int | None) -> duckdb.DuckDBPyConnection:
    config: dict[str, Any] = {
        "memory_limit": memory_limit,
        "temp_directory": str(work / "duckdb-tmp"),
        "preserve_insertion_order": True,  # the error locator and the sorted staging rely on it
        "autoinstall_known_extensions": False,  # everything needed is built in; Lambda is offline
    }
    if threads is not None:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")
    for statement in sql.macro_statements():
        con.execute(statement)
    return con


def _names(src: Source) -> list[str]:
    return [c.name for c in src.columns.columns]


def _stage(
    con: duckdb.DuckDBPyConnection, src: Source, staging: Path, source_file_id: str
) -> list[Check]:
    """One pass over the source: map, validate, sort, write ``staging``. Returns the checks."""
    select = dict(src.mapping.select)
    sub_account = f"COALESCE({select['SubAccountId']}, {select['BillingAccountId']})"
    checks = [
        *src.columns.checks,
        Check(bad=f"({sub_account} IS NULL)", column="SubAccountId", message="'no account id'"),
    ]
    inner = ",\n  ".join(f"{expr} AS {sql.ident(name)}" for name, expr in select.items())
    invoice = src.mapping.invoice_id or sql.NULL_TEXT
    outer: list[str] = []
    for name, kind in NORMALIZED_COLUMNS:
        column = sql.ident(name)
        if name == "SubAccountId":
            value = f'COALESCE({column}, "BillingAccountId")'
        elif name in ("EffectiveCost", "ListCost"):
            value = f'COALESCE({column}, "BilledCost")'
        elif name == "SourceFileId":
            value = sql.lit(source_file_id)
        else:
            value = column
        outer.append(f"CAST({value} AS {kind}) AS {column}")
    outer.append(f"strftime(\"BillingPeriodStart\", '%Y-%m') AS {PERIOD_COLUMN}")
    outer += [_INVOICE, _ERROR]
    mapped = (
        f"SELECT {', '.join(outer)} FROM (SELECT {inner},\n  {invoice} AS {_INVOICE},\n"
        f"  {error_expression(checks)} AS {_ERROR}\nFROM {src.relation})"
    )
    # Sorted on the final (fallen-back) keys: the partition writer needs equal keys adjacent.
    query = f'SELECT * FROM ({mapped}) ORDER BY "ProviderName", {PERIOD_COLUMN}, "SubAccountId"'

    con.execute(f"COPY ({query}) TO {sql.lit(str(staging))} (FORMAT parquet)")
    return checks


def _summarize(
    con: duckdb.DuckDBPyConnection, src: Source, checks: list[Check], staging: Path, label: str
) -> dict[Key, tuple[Any, ...]]:
    """Fail on bad rows, no rows or mixed currencies; else the sums per partition key."""
    table = f"read_parquet({sql.lit(str(staging))})"
    (bad,) = _one(con, f"SELECT count(*) FROM {table} WHERE {_ERROR} IS NOT NULL")
    if bad:
        with _reading(label):
            # The scan is repeated in file order only now, on the error path.
            located = first_failing_row(con, error_expression(checks), src.relation)
        if located is None:  # cannot happen: the same expressions failed a moment ago
            raise BillProcessingError(f"{label}: a row failed validation but was not found again")
        index, cell = located
        raise_for_row(kind=src.kind, path=src.path, index=index, cell=cell, label=label)
    rows = con.execute(
        f'SELECT "ProviderName", {PERIOD_COLUMN}, "SubAccountId", count(*), '
        'sum("BilledCost"), sum("EffectiveCost"), sum("ListCost"), '
        'COALESCE(sum("ListCost") FILTER (WHERE "CommitmentDiscountStatus" = \'Used\'), 0), '
        'min("BillingAccountId"), min("BillingCurrency"), count(DISTINCT "BillingCurrency") '
        f"FROM {table} GROUP BY ALL ORDER BY 1, 2, 3"
    ).fetchall()
    if not rows:
        what = "a header but no line items" if src.kind == "csv" else "no line items"
        raise InvalidBillFile(
            f"{label}: the file has {what}", line=2 if src.kind == "csv" else None
        )
    currencies = {r[9] for r in rows}
    if len(currencies) > 1 or any(r[10] > 1 for r in rows):
        _raise_mixed_currency(con, src, label)
    return {(r[0], r[1], r[2]): tuple(r[3:10]) for r in rows}


def _raise_mixed_currency(con: duckdb.DuckDBPyConnection, src: Source, label: str) -> None:
    currency = src.mapping.select["BillingCurrency"]
    (first,) = _one(con, f"SELECT {currency} FROM {src.relation} LIMIT 1")
    expression = (
        f"CASE WHEN {currency} IS DISTINCT FROM {sql.lit(str(first))} THEN "
        f"concat('currency\x1fthis line is in ', {currency}, ' but the first line is in ', "
        f"{sql.lit(str(first))}, '; one bill file must be in one currency') END"
    )
    with _reading(label):
        located = first_failing_row(con, expression, src.relation)
    if located is None:
        raise InvalidBillFile(f"{label}: the file mixes currencies")
    index, cell = located
    raise_for_row(kind=src.kind, path=src.path, index=index, cell=cell, label=label)


def _finality(con: duckdb.DuckDBPyConnection, src: Source, staging: Path) -> tuple[bool, list[str]]:
    if src.mapping.invoice_id is None:
        return False, []
    table = f"read_parquet({sql.lit(str(staging))})"
    (missing,) = _one(con, f"SELECT count(*) FROM {table} WHERE {_INVOICE} IS NULL")
    ids = [
        str(r[0])
        for r in con.execute(
            f"SELECT DISTINCT {_INVOICE} FROM {table} WHERE {_INVOICE} IS NOT NULL "
            "ORDER BY 1 LIMIT 1000"
        ).fetchall()
    ]
    return missing == 0, ids


def _publish(
    written: dict[Key, Path],
    parts_root: Path,
    out_dir: Path,
    summary: dict[Key, tuple[Any, ...]],
) -> list[PartitionSummary]:
    """Move the finished files into ``out_dir`` (replacing an earlier normalization's)."""
    if set(written) != set(summary):
        raise BillProcessingError("partition files and partition sums disagree")
    partitions = []
    for key in sorted(summary):
        rows, billed, effective, listed, eligible, billing_account, currency = summary[key]
        target = out_dir / written[key].relative_to(parts_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(written[key], target)
        partitions.append(
            PartitionSummary(
                provider=key[0],
                period=key[1],
                account_id=key[2],
                billing_account_id=billing_account,
                path=target,
                rows=int(rows),
                billed_cost=Decimal(billed),
                effective_cost=Decimal(effective),
                list_cost=Decimal(listed),
                savings_eligible_cost=Decimal(eligible),
                currency=str(currency),
            )
        )
    return partitions


def _one(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    row = con.execute(query).fetchone()
    assert row is not None
    return tuple(row)


_FILE_ERRORS = (duckdb.InvalidInputException, duckdb.ConversionException)


@contextmanager
def _reading(label: str, src: Source | None = None) -> Iterator[None]:
    """While DuckDB reads the file, its input and conversion errors are the file's fault."""
    try:
        yield
    except _FILE_ERRORS as exc:
        if src is not None and src.kind == "jsonl":
            found = first_bad_json_line(src.path)
            if found is not None:
                bad_line, problem = found
                raise InvalidBillFile(
                    f"{label}: line {bad_line}: {problem}", line=bad_line
                ) from exc
        message = _first_line(exc)
        match = re.search(r"\bline (\d+)", message)
        line = int(match.group(1)) if match else None
        raise InvalidBillFile(f"{label}: cannot be read: {message}", line=line) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
