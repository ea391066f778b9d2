"""Normalize one bill file: detect its format, map it to the normalized schema with DuckDB, write
Parquet partitions, and summarize. Pure: local files in, local files out; no AWS.

Pipeline (memory and disk stay bounded whatever the file size: DuckDB streams the source and
spills its tables to ``temp_directory`` under ``memory_limit``; a compressed CSV is inflated a
piece at a time):

1. unpack (gzip / zip → plain files, CRC-checked, with the decompressed-size limit) —
   :mod:`container`. DuckDB parses a plain file on all threads, a compressed one on one. A
   compressed CSV comes as pieces of whole records (up to 1 GiB each, every one with the
   header), one on disk at a time;
2. read the header / schema / first JSON record and pick the format — :mod:`source`,
   :mod:`detect`; the format's mapper gives one SQL expression per normalized column over
   conversions that are each computed once per row (:mod:`columns`, :mod:`sql`);
3. per piece, one parallel DuckDB pass (the only full read of it): read only the needed
   columns, convert, map, validate every row (a row's first failed check, as text, in
   ``_error``; TRY_CASTs, so a bad value never stops the scan) and stage the lines in a table
   of the piece — unsorted, in memory as long as it fits;
4. per piece, fail with :class:`InvalidBillFile` (file, line, column) on the first problem
   found, while the piece is still there to say where: a row DuckDB cannot parse (the scan
   stops; only then is it repeated with a rejects table), failed row checks (only then is the
   piece scanned again in file order to find the first), a second currency. Line numbers are
   the bill file's, whichever piece they were found in;
5. one aggregate over the staged lines (the pieces' tables) gives, per partition, the rows,
   sums, currency, lines without an invoice id; no rows at all is an error;
6. DuckDB writes the partitions' Parquet files from the staged lines (:mod:`partition`: a file
   per account, but a bill over many accounts writes its small ones into shared files); they
   are checked against the sums and moved into place.

Speed: ``bench/bench_ingest.py`` measures this against the floor (inflating the file once) and
a pandas ingest; its docstring and the module docstrings say where the time goes.

Rules applied to every format after its mapper:
- SubAccountId falls back to BillingAccountId (a charge no sub-account carries belongs to the
  billing account); EffectiveCost and ListCost fall back to BilledCost when empty.
- A file must be in one currency (a partition's sums are in its currency; several currencies
  in one file are rejected, naming the first line that differs).
- A header without line items is an error, not an empty bill: a delivery replaces the earlier
  one, and an empty re-delivery would silently erase a month (docs/design.md §8: lose nothing).

Finality (``NormalizedBill.final``): true when the format carries an invoice id and every line
has one — AWS ``bill/InvoiceId`` / ``bill_invoice_id``, FOCUS 1.2 ``InvoiceId``, Azure MCA
``InvoiceId``. Formats without one (GCP's export; EA cost details; FOCUS 1.0/1.1) are never
final here: a past ``invoice.month`` does not mean Google will send nothing more for it, so the
operator (or a later rule with a clock) decides.
"""

from __future__ import annotations

import contextlib
import decimal
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any, NoReturn

import duckdb

from chalicelib.bill_files import sql
from chalicelib.bill_files.columns import Check
from chalicelib.bill_files.container import Piece, Unpacked, unpack
from chalicelib.bill_files.line_keys import LINE_ID, line_key_sql
from chalicelib.bill_files.locate import (
    error_expression,
    first_bad_json_line,
    first_failing_row,
    raise_for_rejects,
    raise_for_row,
)
from chalicelib.bill_files.manifest import report_identity
from chalicelib.bill_files.model import (
    BillProcessingError,
    NormalizedBill,
    PartitionSummary,
    Totals,
)
from chalicelib.bill_files.partition import (
    BUCKET,
    BUCKET_COLUMN,
    PERIOD,
    PERIOD_COLUMN,
    Key,
    Owners,
    file_dir,
    period_text,
    write_partitions,
)
from chalicelib.bill_files.schema import NORMALIZED_COLUMNS
from chalicelib.bill_files.source import REJECTS_TABLE, Source, open_source
from chalicelib.errors import InvalidBillFile

DEFAULT_MAX_DECOMPRESSED_BYTES = 20 * 2**30
DEFAULT_MEMORY_LIMIT = "1GB"
_INVOICE = "_invoice"
_EXACT = decimal.Context(prec=80)
_STAGED = "rebill_staged"
_STAGED_VIEW = "rebill_staged_lines"
_COMPRESSED = "rebill_compressed"  # an in-memory database whose tables DuckDB compresses
# The staged lines take about this much memory uncompressed (31 columns, text inline).
STAGED_ROW_BYTES = 700
# Compression methods whose gain on bill lines does not pay for their CPU time.
_SLOW_COMPRESSION = "fsst,chimp,patas,alp,alprd"
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
    owners: Owners | None = None,
) -> NormalizedBill:
    """Normalize ``source`` into ``out_dir/provider=…/period=…/account=…/part-<n>.parquet``
    (small accounts of a bill over many share files: :mod:`partition`).

    ``part_index`` (the ``n`` above) names the file, so that the parts of one multi-file report
    can be normalized independently into the same tree. ``owners`` says who owns each account,
    so that one owner's small accounts share a file (asked only of a bill over many accounts).
    Raises :class:`InvalidBillFile` for any file that cannot be taken in,
    :class:`BillProcessingError` when the machine (disk, memory) fails instead.
    """
    if not source_file_id:
        raise ValueError("source_file_id is required")
    label = source.name
    identity = report_identity(manifest, label)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".rebill-work-", dir=out_dir))
    try:
        with unpack(source, work, max_bytes=max_decompressed_bytes, label=label) as unpacked:
            container = unpacked.container
            con = _connect(work, memory_limit, threads)
            try:
                src, staged = _stage(con, unpacked, source_file_id, label)
                summary = _summarize(con, src, staged, label)
                bill_periods = sorted({key[1] for key in summary})
                if (
                    src.family.name == "aws"
                    and identity.billing_period is not None
                    and bill_periods != [identity.billing_period]
                ):
                    raise InvalidBillFile(
                        f"{label}: the manifest is for {identity.billing_period} but the file "
                        f"holds {', '.join(bill_periods)}"
                    )
                final, invoice_ids = _finality(con, src, staged, summary)
                written = write_partitions(
                    con,
                    staged,
                    [(key, int(v[0]), int(v[8])) for key, v in summary.items()],
                    work / "parts",
                    owners=owners,
                )
            finally:
                con.close()
        partitions = _publish(written, out_dir, summary, f"part-{part_index}.parquet")
    except duckdb.Error as exc:
        message = _without_paths(f"{label}: processing failed: {_first_line(exc)}", label, work)
        raise BillProcessingError(message) from exc
    except InvalidBillFile as exc:
        # A message names the file as it arrived, never the work files it was unpacked into.
        exc.message = _without_paths(exc.message, label, source, work, out_dir, source.parent)
        exc.args = (exc.message,)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)

    providers = sorted({p.provider for p in partitions})
    return NormalizedBill(
        source_file_id=source_file_id,
        format=src.mapping.format,
        container=container,
        provider=providers[0] if len(providers) == 1 else "mixed",
        currency=partitions[0].currency,
        periods=bill_periods,
        rows=sum(p.rows for p in partitions),
        totals=Totals(
            billed_cost=_sum(p.billed_cost for p in partitions),
            effective_cost=_sum(p.effective_cost for p in partitions),
            list_cost=_sum(p.list_cost for p in partitions),
        ),
        final=final,
        invoice_ids=invoice_ids,
        report=identity,
        partitions=partitions,
    )


def _sum(values: Iterable[Decimal]) -> Decimal:
    """Exact: Python's default context keeps 28 digits, a money value up to 38."""
    total = Decimal(0)
    for value in values:
        total = _EXACT.add(total, value)
    return total


def _connect(work: Path, memory_limit: str, threads: int | None) -> duckdb.DuckDBPyConnection:
    config: dict[str, Any] = {
        "memory_limit": memory_limit,
        "temp_directory": str(work / "duckdb-tmp"),
        # On for the error locator's file-order scans; each bulk statement turns it off.
        "preserve_insertion_order": True,
        "autoinstall_known_extensions": False,  # everything needed is built in; Lambda is offline
    }
    if threads is not None:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")
    for statement in sql.macro_statements():
        con.execute(statement)
    return con


def _stage(
    con: duckdb.DuckDBPyConnection, unpacked: Unpacked, source_file_id: str, label: str
) -> tuple[Source, str]:
    """One pass over the source, piece by piece: map, validate, stage in a table per piece.

    Returns the source (as opened on its first piece) and the staged lines (the one table, or
    a view of all pieces' tables). The tables are plain (not TEMP): the partition writer
    reads them from several connections of the same database at once. Each piece is checked
    once staged (failed row checks, a second currency), while it is still on disk to say where,
    and then removed (:mod:`container`). A table per piece rather than one table: appending to
    a table that already holds lines costs DuckDB half as much again as creating one.
    """
    pieces = unpacked.pieces()
    first = next(pieces)
    src = open_source(con, unpacked.kind, first.path, label)
    prefix = _staging_table(con, src, first)
    select = dict(src.mapping.select)
    sub_account = f"COALESCE({select['SubAccountId']}, {select['BillingAccountId']})"
    checks = [
        *src.columns.checks,
        Check(bad=f"({sub_account} IS NULL)", column="SubAccountId", message="'no account id'"),
    ]
    inner = ",\n  ".join(f"{expr} AS {sql.ident(name)}" for name, expr in select.items())
    invoice = src.mapping.invoice_id or sql.NULL_TEXT
    line_id = src.mapping.line_id or sql.NULL_TEXT
    outer: list[str] = []
    for name, kind in NORMALIZED_COLUMNS:
        column = sql.ident(name)
        if name == "SubAccountId":
            value = f'COALESCE({column}, "BillingAccountId")'
        elif name in ("EffectiveCost", "ListCost"):
            value = f'COALESCE({column}, "BilledCost")'
        elif name == "SourceFileId":
            value = sql.lit(source_file_id)
        elif name == "LineKey":
            value = line_key_sql()
        else:
            value = column
        outer.append(f"CAST({value} AS {kind}) AS {column}")
    outer.append(f"{PERIOD} AS {PERIOD_COLUMN}")
    outer += [_INVOICE, _ERROR]

    def staging(relation: str) -> str:
        return (
            f"SELECT *, {BUCKET} AS {BUCKET_COLUMN} "
            f"FROM (SELECT {', '.join(outer)} FROM (SELECT {inner},\n  {invoice} AS {_INVOICE},"
            f"\n  {line_id} AS {LINE_ID},"
            f"\n  {error_expression(checks)} AS {_ERROR}\n"
            f"FROM ({src.columns.relation(relation)})))"
        )

    currency: str | None = None
    tables: list[str] = []
    for piece in chain([first], pieces):
        at = src if piece.number == 0 else src.at(piece.path)
        table = f"{prefix}_{piece.number}"
        con.execute("SET preserve_insertion_order = false")
        try:
            con.execute(f"CREATE TABLE {table} AS {staging(at.relation)}")
        except _FILE_ERRORS as exc:
            if at.rejects_relation is not None:
                # The scan stopped at a row it cannot parse: scan again recording every bad row.
                with contextlib.suppress(*_FILE_ERRORS):
                    con.execute(
                        f"CREATE TEMP TABLE rebill_rejected AS {staging(at.rejects_relation)}"
                    )
                raise_for_rejects(
                    con, REJECTS_TABLE, at.path, _names(at), label, line_offset=piece.line_offset
                )
            _raise_read_error(label, at, exc, piece.line_offset)
        tables.append(table)
        currency = _check_piece(con, at, piece, table, checks, currency, label)
        if piece.owned:
            piece.path.unlink()
    if len(tables) == 1:
        return src, tables[0]
    staged = _STAGED_VIEW
    con.execute(
        f"CREATE VIEW {staged} AS " + " UNION ALL ".join(f"SELECT * FROM {t}" for t in tables)
    )
    return src, staged


def _check_piece(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    piece: Piece,
    table: str,
    checks: list[Check],
    currency: str | None,
    label: str,
) -> str | None:
    """Fail on the piece's first bad row, or on its first line in another currency than the
    bill's first line (``currency``, None before the first line). ``table`` holds the piece's
    staged lines. Returns the bill's currency."""
    failed, low, high = _one(
        con,
        f'SELECT count({_ERROR}), min("BillingCurrency"), max("BillingCurrency") FROM {table}',
    )
    if failed:
        con.execute("SET preserve_insertion_order = true")
        with _reading(label):
            # The piece is scanned again in file order only now, on the error path.
            located = first_failing_row(con, error_expression(checks), _layered(src))
        if located is None:  # cannot happen: the same expressions failed a moment ago
            raise BillProcessingError(f"{label}: a row failed validation but was not found again")
        index, cell = located
        raise_for_row(
            kind=src.kind,
            path=src.path,
            index=index,
            cell=cell,
            label=label,
            line_offset=piece.line_offset,
        )
    if len({c for c in (currency, low, high) if c is not None}) > 1:
        _raise_mixed_currency(con, src, label, currency, piece.line_offset)
    return currency if currency is not None else low


def _summarize(
    con: duckdb.DuckDBPyConnection, src: Source, staged: str, label: str
) -> dict[Key, tuple[Any, ...]]:
    """The sums per partition key; fails when the file has no rows.

    Per key: rows, Σ billed, Σ effective, Σ list, Σ savings-eligible list, min billing account,
    currency, lines without an invoice id, bucket (see :mod:`partition`).
    """
    rows = con.execute(
        f'SELECT "ProviderName", {PERIOD_COLUMN}, "SubAccountId", count(*), '
        'sum("BilledCost"), sum("EffectiveCost"), sum("ListCost"), '
        'COALESCE(sum("ListCost") FILTER (WHERE "CommitmentDiscountStatus" = \'Used\'), 0), '
        'min("BillingAccountId"), min("BillingCurrency"), '
        f"count(*) - count({_INVOICE}), {BUCKET_COLUMN} "
        f"FROM {staged} GROUP BY ALL ORDER BY 1, 2, 3"
    ).fetchall()
    if not rows:
        what = "a header but no line items" if src.kind == "csv" else "no line items"
        raise InvalidBillFile(
            f"{label}: the file has {what}", line=2 if src.kind == "csv" else None
        )
    return {(r[0], period_text(r[1]), r[2]): r[3:] for r in rows}


def _staging_table(con: duckdb.DuckDBPyConnection, src: Source, first: Piece) -> str:
    """Where to stage the lines: a plain in-memory table, or, when they would not fit in memory
    as they are, one in a compressed in-memory database (some 15x smaller, about 1.5 s of CPU
    per million lines more) rather than spilling them to disk and reading them back."""
    (limit,) = _one(con, "SELECT current_setting('memory_limit')")
    if _estimated_rows(con, src, first) * STAGED_ROW_BYTES <= _bytes(str(limit)) * 3 // 4:
        return _STAGED
    con.execute(f"ATTACH ':memory:' AS {_COMPRESSED} (COMPRESS)")
    con.execute(f"SET disabled_compression_methods = '{_SLOW_COMPRESSION}'")
    return f"{_COMPRESSED}.{_STAGED}"


def _estimated_rows(con: duckdb.DuckDBPyConnection, src: Source, first: Piece) -> int:
    """Lines in the bill: from Parquet metadata, or from the first piece's size and the line
    length of its first MiB, scaled by the share of the bill that piece is."""
    if src.kind == "parquet":
        row = con.execute(
            f"SELECT sum(num_rows) FROM parquet_file_metadata({sql.lit(str(src.path))})"
        ).fetchone()
        return int(row[0] or 0) if row else 0
    with src.path.open("rb") as f:
        head = f.read(1 << 20)
    in_piece = src.path.stat().st_size * max(1, head.count(b"\n")) // max(1, len(head))
    return int(in_piece / max(first.progress, 1e-6))


def _bytes(size: str) -> int:
    """DuckDB's '953.6 MiB', '1GB', … in bytes (KB = 1000, KiB = 1024)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?)(i?)(?:B|bytes)?\s*", size, re.IGNORECASE)
    if match is None:
        raise ValueError(f"not a memory size: {size!r}")
    number, unit, binary = match.groups()
    power = "KMGT".find(unit.upper()) + 1 if unit else 0
    return int(float(number) * (1024 if binary else 1000) ** power)


def _names(src: Source) -> list[str]:
    return [c.name for c in src.columns.columns]


def _layered(src: Source) -> str:
    return f"({src.columns.relation(src.relation)})"


def _raise_mixed_currency(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    label: str,
    first: str | None,
    line_offset: int,
) -> None:
    """Name the first line of ``src`` whose currency is not ``first``, the bill's first line's
    (None: the first line of ``src`` is the bill's)."""
    currency = src.mapping.select["BillingCurrency"]
    con.execute("SET preserve_insertion_order = true")
    if first is None:
        (first,) = _one(con, f"SELECT {currency} FROM {_layered(src)} LIMIT 1")
    expression = (
        f"CASE WHEN {currency} IS DISTINCT FROM {sql.lit(str(first))} THEN "
        f"concat('currency\x1fthis line is in ', {currency}, ' but the first line is in ', "
        f"{sql.lit(str(first))}, '; one bill file must be in one currency') END"
    )
    with _reading(label):
        located = first_failing_row(con, expression, _layered(src))
    if located is None:
        raise InvalidBillFile(f"{label}: the file mixes currencies")
    index, cell = located
    raise_for_row(
        kind=src.kind, path=src.path, index=index, cell=cell, label=label, line_offset=line_offset
    )


def _finality(
    con: duckdb.DuckDBPyConnection, src: Source, staged: str, summary: dict[Key, tuple[Any, ...]]
) -> tuple[bool, list[str]]:
    if src.mapping.invoice_id is None:
        return False, []
    missing = sum(int(v[7]) for v in summary.values())
    ids = [
        str(r[0])
        for r in con.execute(
            f"SELECT DISTINCT {_INVOICE} FROM {staged} WHERE {_INVOICE} IS NOT NULL "
            "ORDER BY 1 LIMIT 1000"
        ).fetchall()
    ]
    return missing == 0, ids


def _publish(
    written: dict[Key, Path],
    out_dir: Path,
    summary: dict[Key, tuple[Any, ...]],
    file_name: str,
) -> list[PartitionSummary]:
    """Move the finished files into ``out_dir`` (replacing an earlier normalization's)."""
    if set(written) != set(summary):
        raise BillProcessingError("partition files and partition sums disagree")
    keys_of: dict[Path, list[Key]] = {}
    for key in sorted(summary):
        keys_of.setdefault(written[key], []).append(key)
    moved: dict[Key, Path] = {}
    for path, keys in keys_of.items():
        target = file_dir(out_dir, keys) / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        for key in keys:
            moved[key] = target
    partitions = []
    for key in sorted(summary):
        rows, billed, effective, listed, eligible, billing_account, currency, *_ = summary[key]
        partitions.append(
            PartitionSummary(
                provider=key[0],
                period=key[1],
                account_id=key[2],
                billing_account_id=billing_account,
                path=moved[key],
                location=moved[key].parent.relative_to(out_dir).as_posix(),
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
        _raise_read_error(label, src, exc)


def _raise_read_error(
    label: str, src: Source | None, exc: Exception, line_offset: int = 0
) -> NoReturn:
    if src is not None and src.kind == "jsonl":
        found = first_bad_json_line(src.path)
        if found is not None:
            bad_line, problem = found
            raise InvalidBillFile(f"{label}: line {bad_line}: {problem}", line=bad_line) from exc
    message = _first_line(exc)
    match = re.search(r"\bline (\d+)", message)
    line = int(match.group(1)) + line_offset if match else None
    if match and line_offset:
        message = f"{message[: match.start(1)]}{line}{message[match.end(1) :]}"
    raise InvalidBillFile(f"{label}: cannot be read: {message}", line=line) from exc


def _without_paths(text: str, label: str, *paths: Path) -> str:
    """``text`` with each local path under ``paths`` (most specific first) replaced by
    ``label``."""
    for path in paths:
        text = re.sub(re.escape(str(path)) + r"""[^\s"'()]*""", label, text)
    return text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
