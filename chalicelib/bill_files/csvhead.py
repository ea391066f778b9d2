"""Read and vet a CSV bill's header line, and map record numbers back to physical lines.

The header is parsed here (not by DuckDB's sniffer) so that the column names are exactly the
file's, whatever they contain: AWS headers hold slashes, spaces and, in koku's fixtures, two
names run together. DuckDB is then told the column count and reads the body with positional
names (``c0``, ``c1``, …).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chalicelib.errors import InvalidBillFile

BOM = b"\xef\xbb\xbf"
# A header of thousands of columns (AWS's one per cost-allocation tag) is some 100 KB; a first
# line longer than this is not a header, whatever it holds.
MAX_HEADER_BYTES = 2**20
# Python's csv module refuses a field over 128 KiB by default; a bill's value may be as long as
# the line DuckDB accepts (source.MAX_LINE_BYTES), so the error locator reads those too.
csv.field_size_limit(max(csv.field_size_limit(), 8 * 2**20))
_OTHER_DELIMITERS = (";", "\t", "|")


@dataclass(frozen=True)
class CsvHeader:
    names: list[str]


def read_header(path: Path, label: str) -> CsvHeader:
    raw = first_record_bytes(path, label)
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBillFile(
            f"{label}: the header is not UTF-8 text (byte {exc.start + 1} of line 1)", line=1
        ) from exc
    names = next(csv.reader(io.StringIO(text, newline="")), [])
    names = [n.strip() for n in names]
    if len(names) <= 1:
        only = names[0] if names else ""
        for delimiter in _OTHER_DELIMITERS:
            if delimiter in only:
                shown = "TAB" if delimiter == "\t" else repr(delimiter)
                raise InvalidBillFile(
                    f"{label}: wrong delimiter: the header is separated by {shown}, "
                    "bills must be comma-separated",
                    line=1,
                )
        raise InvalidBillFile(
            f"{label}: the first line is not a CSV header of a known bill format", line=1
        )
    return CsvHeader(names=names)


def first_record_bytes(path: Path, label: str) -> bytes:
    """The bytes of the first CSV record: lines up to one with balanced double quotes."""
    chunks: list[bytes] = []
    quotes = 0
    size = 0
    with path.open("rb") as f:
        # Read line by line, never more than the limit: the first "line" may be gigabytes.
        while line := f.readline(MAX_HEADER_BYTES + 1 - size):
            chunks.append(line)
            quotes += line.count(b'"')
            size += len(line)
            if size > MAX_HEADER_BYTES:
                raise InvalidBillFile(
                    f"{label}: the header line is longer than {MAX_HEADER_BYTES >> 20} MiB; "
                    "not a bill header (a damaged file, or no line breaks)",
                    line=1,
                )
            if quotes % 2 == 0:
                break
    return b"".join(chunks)


def record_start_lines(path: Path) -> Iterator[int]:
    """The physical line (1-based) on which each data record starts, in file order.

    Only used to place an error: it re-reads the file with Python's csv module.
    """
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        previous_end = reader.line_num
        for row in reader:
            if row:  # DuckDB skips blank lines too
                yield previous_end + 1
            previous_end = reader.line_num


def line_of_byte(path: Path, position: int) -> int:
    """Physical line (1-based) of a DuckDB reject's 1-based ``line_byte_position``.

    DuckDB points at the first byte after the previous record's '\\r' or '\\n'; counting the
    newlines up to and including that byte gives the line for both LF and CRLF files.
    """
    newlines = 0
    remaining = position
    with path.open("rb") as f:
        while remaining > 0:
            chunk = f.read(min(remaining, 1 << 20))
            if not chunk:
                break
            newlines += chunk.count(b"\n")
            remaining -= len(chunk)
    return newlines + 1
