"""Open a plain bill file as the DuckDB relation ``src``, with its format's column mapping.

CSV is read with the header parsed by :mod:`csvhead`, positional column names, every column
as text, no sniffing and strict RFC 4180 quoting; only the columns the mapping uses are
materialized (DuckDB pushes the projection into the reader). A row DuckDB cannot parse (wrong
column count, bad quoting, invalid UTF-8) aborts the scan; only then is the file scanned again
with a rejects table (:attr:`Source.rejects_relation`), which records each bad row's position
for a message with line and column. Parquet and JSON lines are read with their own readers.
Bad values in any format surface as per-row checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from chalicelib.bill_files import detect, gcp, sql
from chalicelib.bill_files.columns import Columns, SourceColumn
from chalicelib.bill_files.csvhead import read_header
from chalicelib.bill_files.mapping import Mapping
from chalicelib.errors import InvalidBillFile

REJECTS_TABLE = "rebill_rejects"
REJECTS_SCAN = "rebill_reject_scans"
# A line longer than this is a broken file. DuckDB sizes its read buffers from it, so it also
# bounds memory: keep it well below the memory limit.
MAX_LINE_BYTES = 8 * 2**20
BUFFER_BYTES = 4 * MAX_LINE_BYTES


@dataclass(frozen=True)
class Source:
    kind: str  # 'csv' | 'parquet' | 'jsonl'
    path: Path
    columns: Columns
    family: detect.Family
    mapping: Mapping
    relation: str  # SQL table function call reading the file
    rejects_relation: str | None = None  # CSV: the same, recording bad rows in REJECTS_TABLE

    def at(self, path: Path) -> Source:
        """The same source read from ``path``: another piece of the same CSV bill (same
        header, see :mod:`container`)."""
        if self.kind != "csv":
            raise ValueError(f"only a CSV bill comes in pieces, not {self.kind}")
        relation, rejects = _csv_relations(path, len(self.columns.columns), self.family)
        return replace(self, path=path, relation=relation, rejects_relation=rejects)


def open_source(con: duckdb.DuckDBPyConnection, kind: str, path: Path, label: str) -> Source:
    """``path`` holds the file (or, for a CSV, its first piece) of kind 'csv', 'parquet' or
    'jsonl' (:mod:`container`)."""
    if kind == "csv":
        return _csv(path, label)
    if kind == "parquet":
        return _parquet(con, path, label)
    return _jsonl(path, label)


def _csv(path: Path, label: str) -> Source:
    header = read_header(path, label)
    refs = [f"c{i}" for i in range(len(header.names))]
    cols = Columns(
        [SourceColumn(n, sql.ident(r), "VARCHAR") for n, r in zip(header.names, refs, strict=True)],
        file_label=label,
        csv=True,
    )
    family = detect.detect(header.names, label=label, line=1)
    mapping = family.build(cols)
    relation, rejects = _csv_relations(path, len(refs), family)
    return Source("csv", path, cols, family, mapping, relation, rejects)


def _csv_relations(path: Path, count: int, family: detect.Family) -> tuple[str, str]:
    """read_csv of the file, and the same recording bad rows in REJECTS_TABLE."""
    # Everything as text: conversions happen in SQL, where a failure becomes a located check.
    types = ", ".join(f"{sql.lit(f'c{i}')}: 'VARCHAR'" for i in range(count))
    nulls = "['', 'NULL']" if family.null_literal else "['']"
    options = (
        f"{sql.lit(str(path))}, columns = {{{types}}}, header = true, "
        "auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
        f"nullstr = {nulls}, allow_quoted_nulls = false, max_line_size = {MAX_LINE_BYTES}, "
        f"buffer_size = {BUFFER_BYTES}"
    )
    rejects = (
        f"store_rejects = true, rejects_table = {sql.lit(REJECTS_TABLE)}, "
        f"rejects_scan = {sql.lit(REJECTS_SCAN)}, rejects_limit = 100"
    )
    return f"read_csv({options})", f"read_csv({options}, {rejects})"


def _parquet(con: duckdb.DuckDBPyConnection, path: Path, label: str) -> Source:
    relation = f"read_parquet({sql.lit(str(path))})"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    except duckdb.Error as exc:
        raise InvalidBillFile(f"{label}: unreadable Parquet file ({_first_line(exc)})") from exc
    names = [str(row[0]) for row in described]
    cols = Columns(
        [SourceColumn(str(n), sql.ident(str(n)), str(t)) for n, t, *_ in described],
        file_label=label,
        csv=False,
    )
    family = detect.detect(names, label=label, line=None)
    return Source("parquet", path, cols, family, family.build(cols), relation)


def _jsonl(path: Path, label: str) -> Source:
    with path.open("rb") as f:
        first = f.readline()
    try:
        record = json.loads(first.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidBillFile(f"{label}: line 1 is not valid JSON ({exc})", line=1) from exc
    keys = list(record) if isinstance(record, dict) else []
    # Only Google's export comes as JSON lines; its nested names count as dotted columns.
    flat = keys + [f"{k}.{sub}" for k, v in record.items() if isinstance(v, dict) for sub in v]
    if not gcp.looks_like(flat):
        raise InvalidBillFile(
            f"{label}: JSON lines that are not a Google Cloud billing export "
            f"(keys: {', '.join(keys[:5])})",
            line=1,
        )
    cols = Columns(gcp.json_source_columns(), file_label=label, csv=False)
    layout = ", ".join(f"{sql.lit(k)}: {sql.lit(v)}" for k, v in gcp.JSON_COLUMNS.items())
    relation = (
        f"read_json({sql.lit(str(path))}, format = 'newline_delimited', "
        f"columns = {{{layout}}}, maximum_object_size = {MAX_LINE_BYTES})"
    )
    return Source("jsonl", path, cols, detect.GCP, gcp.build(cols), relation)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
