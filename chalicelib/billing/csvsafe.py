"""CSV cells safe to open in a spreadsheet: text that a spreadsheet would run as a formula gets a
leading apostrophe (OWASP "CSV injection"); plain numbers such as ``-1.5`` stay numbers."""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def safe_cell(value: str | None) -> str:
    if value is None:
        return ""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value
