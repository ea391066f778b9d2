"""Turn what went wrong in a scan into an :class:`InvalidBillFile` that says where.

Two sources of row errors:

- DuckDB's CSV rejects table (column count, quoting, encoding): it records the byte position
  of the bad record, which is turned into a physical line by counting newlines.
- Per-row checks (money, timestamps, required values, JSON cells): evaluated in bulk, so on
  failure the source is scanned again, numbering the records in file order (a streaming
  ``row_number() OVER ()``, which follows the scan order while insertion order is preserved),
  to find the first failing record's index; for CSV that index becomes a physical line by
  re-reading the file with Python's csv module (records may span lines). This runs only on the
  error path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

import duckdb

from chalicelib.bill_files import sql
from chalicelib.bill_files.columns import Check
from chalicelib.bill_files.csvhead import line_of_byte, record_start_lines
from chalicelib.errors import InvalidBillFile

SEPARATOR = "\x1f"  # between column name and message in an error cell


def error_expression(checks: Sequence[Check]) -> str:
    """SQL: NULL for a good row, else '<column>\\x1f<message>' for its first failed check."""
    if not checks:
        return sql.NULL_TEXT
    arms = " ".join(
        f"WHEN {c.bad} THEN concat({sql.lit(c.column + SEPARATOR)}, {c.message})" for c in checks
    )
    return f"CASE {arms} END"


def raise_for_rejects(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    names: Sequence[str],
    label: str,
    *,
    line_offset: int = 0,
) -> None:
    """``path`` is the file DuckDB read: the bill, or a piece of it whose line numbers are the
    bill's minus ``line_offset`` (see :mod:`container`)."""
    rows = con.execute(
        f"SELECT line, line_byte_position, column_name, error_type, csv_line, error_message, "
        f"(SELECT count(DISTINCT line) FROM {table}) "  # a short line has an error per column
        f"FROM {table} ORDER BY line_byte_position NULLS LAST, line LIMIT 1"
    ).fetchall()
    if not rows:
        return
    line, position, column_ref, error_type, csv_line, message, count = rows[0]
    if position is not None:
        line = line_of_byte(path, int(position))
    if line is not None:
        line = int(line) + line_offset
    column = None
    if isinstance(column_ref, str) and column_ref.startswith("c") and column_ref[1:].isdigit():
        index = int(column_ref[1:])
        column = names[index] if index < len(names) else None
    more = f" (and {count - 1} more bad lines)" if count > 1 else ""
    where = f"line {line}" + (f", column {column}" if column else "")
    kind = str(error_type).upper()
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        problem = (
            f"{str(message).strip()} (a broken line, or not comma-separated: {_excerpt(csv_line)})"
        )
        column = None
        where = f"line {line}"
    elif kind == "INVALID ENCODING" or "unicode" in str(message).lower():
        problem = "not UTF-8 text"
    elif kind == "UNQUOTED VALUE":
        problem = f"bad quoting: {str(message).strip()}"
    else:
        problem = f"{kind.lower()}: {str(message).strip()}"
    raise InvalidBillFile(f"{label}: {where}: {problem}{more}", line=line, column=column)


def first_failing_row(
    con: duckdb.DuckDBPyConnection, expression: str, relation: str
) -> tuple[int, str] | None:
    """(0-based record index, error cell) of the first row where ``expression`` is not NULL.

    ``relation`` is a FROM item (a table function call or a parenthesized query); the
    connection must preserve insertion order.
    """
    row = con.execute(
        f"SELECT i, e FROM (SELECT row_number() OVER () - 1 AS i, {expression} AS e "
        f"FROM {relation}) WHERE e IS NOT NULL ORDER BY i LIMIT 1"
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def raise_for_row(
    *, kind: str, path: Path, index: int, cell: str, label: str, line_offset: int = 0
) -> None:
    """``index`` counts the records of ``path``, the bill or a piece of it (see
    :func:`raise_for_rejects`)."""
    column, _, problem = cell.partition(SEPARATOR)
    if kind == "csv":
        line = next(islice(record_start_lines(path), index, None), None)
        if line is not None:
            line += line_offset
        where = f"line {line}" if line is not None else f"record {index + 1}"
    elif kind == "jsonl":
        line = _jsonl_line(path, index)
        where = f"line {line}"
    else:
        line = None
        where = f"row {index + 1}"
    raise InvalidBillFile(f"{label}: {where}, column {column}: {problem}", line=line, column=column)


def first_bad_json_line(path: Path) -> tuple[int, str] | None:
    """(line, problem) of the first non-blank line that is not a JSON object.

    DuckDB's own JSON error names a record number that skips blank lines and is off by one.
    """
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError:
                return number, "not UTF-8 text"
            except ValueError as exc:
                return number, f"not valid JSON ({exc})"
            if not isinstance(record, dict):
                return number, "not a JSON object"
    return None


def _jsonl_line(path: Path, index: int) -> int:
    seen = -1
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if raw.strip():
                seen += 1
                if seen == index:
                    return number
    return index + 1


def _excerpt(text: object, limit: int = 60) -> str:
    value = str(text).strip()
    return repr(value if len(value) <= limit else value[:limit] + "…")
