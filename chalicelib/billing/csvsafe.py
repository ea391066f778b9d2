"""CSV files safe to open in a spreadsheet (OWASP "CSV injection").

A text cell that a spreadsheet would run as a formula gets a leading apostrophe: one that begins
with ``= + - @``, a tab or a carriage return; one whose first visible character is one of those
after leading whitespace or line breaks (spreadsheets skip them); and the full-width forms
``＝ ＋ － ＠`` that East Asian spreadsheets read as formula starts. Every cell is quoted and
embedded quotes are doubled, so neither a separator inside a cell (``,`` or the ``;`` of locales
that split on it) nor a quote can start a new cell. Plain numbers such as ``-1.5`` stay numbers.
"""

from __future__ import annotations

import csv
import re
from typing import IO, Any

_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_CONTROL_START = ("\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def needs_escape(value: str) -> bool:
    """Whether a spreadsheet could read ``value`` as a formula (plain numbers cannot be)."""
    if _PLAIN_NUMBER.fullmatch(value):
        return False
    if value.startswith(_CONTROL_START):
        return True
    visible = value.lstrip()
    return bool(visible) and visible[0] in _FORMULA_START


def safe_cell(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if needs_escape(value) else value


def csv_writer(handle: IO[str]) -> Any:
    """A ``csv.writer`` that quotes every cell (the separator and quotes inside stay inside)."""
    return csv.writer(handle, quoting=csv.QUOTE_ALL)
