"""Column lookup for one source file, and the SQL that reads a column as text, money or time.

A :class:`Columns` knows the file's columns (from the CSV header, the Parquet schema, or the
fixed JSON layout) and finds them case-insensitively (AWS itself writes both
``savingsPlan/SavingsPlanARN`` and ``savingsPlan/SavingsPlanArn``).

Every column is read as text and converted in SQL (money through ``rebill_money``, see
:mod:`chalicelib.bills.sql`). A conversion that can fail (money, timestamps) or a value that
must be there becomes a :class:`Check`, evaluated on every row in the same pass; the first
failing row is located afterwards for the error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.bills import sql
from chalicelib.errors import InvalidBillFile


@dataclass(frozen=True)
class SourceColumn:
    name: str  # as the file names it
    ref: str  # SQL reference in the relation `src`
    type: str  # DuckDB type the reader delivers ('VARCHAR' for CSV text)


@dataclass(frozen=True)
class Check:
    """A per-row condition that makes the file invalid."""

    bad: str  # SQL boolean, true on a bad row
    column: str  # the file's column name, for the error
    message: str  # SQL text expression describing the problem (may quote the value)


@dataclass
class Columns:
    columns: list[SourceColumn]
    file_label: str  # the file's name, for messages
    csv: bool  # a CSV file: the header is line 1
    checks: list[Check] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_key: dict[str, SourceColumn] = {}
        for column in self.columns:
            # The first of duplicate names wins; later ones are ignored like any extra column.
            self._by_key.setdefault(_key(column.name), column)

    # -- lookup ---------------------------------------------------------------------------
    def get(self, *names: str) -> SourceColumn | None:
        for name in names:
            column = self._by_key.get(_key(name))
            if column is not None:
                return column
        return None

    def has(self, *names: str) -> bool:
        return self.get(*names) is not None

    def require(self, *names: str) -> SourceColumn:
        column = self.get(*names)
        if column is None:
            alternatives = f" (or {', '.join(names[1:])})" if len(names) > 1 else ""
            raise InvalidBillFile(
                f"{self.file_label}: missing required column {names[0]}{alternatives}",
                line=1 if self.csv else None,
                column=names[0],
            )
        return column

    def with_prefix(self, prefix: str) -> list[SourceColumn]:
        p = prefix.lower()
        return [c for c in self.columns if c.name.lower().startswith(p)]

    # -- SQL ------------------------------------------------------------------------------
    def text(self, *names: str, required: bool = False) -> str:
        column = self.require(*names) if required else self.get(*names)
        if column is None:
            return sql.NULL_TEXT
        expr = sql.text_of(column.ref)
        if required:
            self.check_present(expr, column.name)
        return expr

    def money(self, *names: str, required: bool = False) -> str:
        column = self.require(*names) if required else self.get(*names)
        if column is None:
            return sql.NULL_MONEY
        expr = self.money_of(column)
        if required:
            self.check_present(expr, column.name)
        return expr

    def money_of(self, column: SourceColumn) -> str:
        # Every source type goes through text: a binary double becomes its shortest text form
        # (so 0.1 stays exactly 0.1), then the exact text -> decimal conversion of rebill_money.
        raw = sql.text_of(column.ref)
        expr = f"rebill_money({raw})"
        self.checks.append(
            Check(
                bad=f"({raw} IS NOT NULL AND {expr} IS NULL)",
                column=column.name,
                message=f"'not a number: ' || {_quoted(raw)}",
            )
        )
        return expr

    def timestamp(self, *names: str, required: bool = False) -> str:
        column = self.require(*names) if required else self.get(*names)
        if column is None:
            return sql.NULL_TS
        expr = self.timestamp_of(column)
        if required:
            self.check_present(expr, column.name)
        return expr

    def timestamp_of(self, column: SourceColumn) -> str:
        kind = column.type.upper()
        if kind.startswith("TIMESTAMP WITH TIME ZONE") or kind == "TIMESTAMPTZ":
            return f"timezone('UTC', {column.ref})"
        if kind.startswith("TIMESTAMP") or kind == "DATE":
            return f"CAST({column.ref} AS TIMESTAMP)"
        raw = sql.text_of(column.ref)
        expr = f"rebill_ts({raw})"
        self.checks.append(
            Check(
                bad=f"({raw} IS NOT NULL AND {expr} IS NULL)",
                column=column.name,
                message=f"'not a date/time: ' || {_quoted(raw)}",
            )
        )
        return expr

    def check_present(self, expr: str, column: str) -> None:
        self.checks.append(Check(bad=f"({expr} IS NULL)", column=column, message="'no value'"))


def _key(name: str) -> str:
    return name.strip().lower()


def _quoted(raw: str) -> str:
    """SQL: the value in single quotes, cut to 80 characters, for an error message."""
    quote = sql.lit("'")  # the SQL literal of one single quote
    return f"{quote} || left({raw}, 80) || {quote}"
