"""Column lookup for one source file, and the SQL that reads a column as text, money or time.

A :class:`Columns` knows the file's columns (from the CSV header, the Parquet schema, or the
fixed JSON layout) and finds them case-insensitively (AWS itself writes both
``savingsPlan/SavingsPlanARN`` and ``savingsPlan/SavingsPlanArn``).

Text columns are converted in SQL (money through ``rebill_money``, see
:mod:`chalicelib.bill_files.sql`); typed Parquet columns (decimals, integers, timestamps) are cast
directly where that is exact. A conversion that can fail (money, timestamps) or a value that
must be there becomes a :class:`Check`, evaluated on every row in the same pass; the first
failing row is located afterwards for the error message.

Every conversion is *defined once* (:meth:`Columns.define`) and computed once per row, in a
projection layer of its own below the mapping (:meth:`Columns.relation`): a mapper may use the
same column in a dozen expressions and checks without paying for the conversion a dozen times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.bill_files import sql
from chalicelib.bill_files.schema import MONEY
from chalicelib.errors import InvalidBillFile

_ALIAS_PREFIX = "__rebill_"
_INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER"}
    | {"UBIGINT", "UHUGEINT"}
)


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
        self._layers: list[dict[str, str]] = []  # per layer: definition -> alias
        self._checked: set[tuple[str, str]] = set()

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

    # -- derived expressions -----------------------------------------------------------------
    def define(self, expr: str, layer: int = 1) -> str:
        """A column name for ``expr``, computed once per row in projection layer ``layer``.

        Layer 1 sees the source's columns, layer n also every name of the layers below it.
        Defining the same expression twice gives the same name.
        """
        while len(self._layers) < layer:
            self._layers.append({})
        definitions = self._layers[layer - 1]
        alias = definitions.get(expr)
        if alias is None:
            alias = f"{_ALIAS_PREFIX}{sum(len(d) for d in self._layers)}"
            definitions[expr] = alias
        return sql.ident(alias)

    def relation(self, source: str) -> str:
        """SQL: ``SELECT`` from ``source`` with every defined expression added as a column.

        Unused source columns are not read: DuckDB prunes them through ``*``.
        """
        query = f"SELECT * FROM {source}"
        for definitions in self._layers:
            if definitions:
                added = ", ".join(f"{e} AS {sql.ident(a)}" for e, a in definitions.items())
                query = f"SELECT *, {added} FROM ({query})"
        return query

    def add_check(self, check: Check) -> None:
        key = (check.bad, check.column)
        if key not in self._checked:
            self._checked.add(key)
            self.checks.append(check)

    # -- SQL ------------------------------------------------------------------------------
    def _raw_text(self, column: SourceColumn) -> str:
        """The column as VARCHAR, untrimmed (a name, or the column itself if it is text)."""
        if column.type.upper() == "VARCHAR" and column.ref.startswith('"'):
            return column.ref
        return self.define(f"CAST({column.ref} AS VARCHAR)")

    def text_ref(self, column: SourceColumn) -> str:
        """The column as trimmed text, empty as NULL (a defined name)."""
        return self.define(sql.text_of(column.ref))

    def text(self, *names: str, required: bool = False) -> str:
        column = self.require(*names) if required else self.get(*names)
        if column is None:
            return sql.NULL_TEXT
        expr = self.text_ref(column)
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
        kind = column.type.upper()
        if kind.startswith("DECIMAL") or kind in _INTEGER_TYPES:
            # Exact (a finer decimal rounds half away from zero, as the text conversion does);
            # it fails only on overflow.
            expr = self.define(f"TRY_CAST({column.ref} AS {MONEY})")
            shown = f"CAST({column.ref} AS VARCHAR)"
            self.add_check(
                Check(
                    bad=f"({column.ref} IS NOT NULL AND {expr} IS NULL)",
                    column=column.name,
                    message=f"'out of range: ' || {_quoted(shown)}",
                )
            )
            return expr
        # Any other type goes through text: a binary double becomes its shortest text form
        # (so 0.1 stays exactly 0.1), then the exact text -> decimal conversion of rebill_money,
        # which trims the text itself. Whether a cell is empty (trimmed text) is asked only of
        # the rows without a value: AND evaluates its right side only where the left is true.
        raw = self._raw_text(column)
        expr = self.define(f"rebill_money({raw})", 2)
        text = sql.text_of(raw)
        # A finite number that is still no MONEY has more than its 20 integer digits.
        number = f"TRY_CAST({text} AS DOUBLE)"
        self.add_check(
            Check(
                bad=f"({expr} IS NULL AND {text} IS NOT NULL)",
                column=column.name,
                message=(
                    f"CASE WHEN isfinite({number}) THEN 'out of range for {MONEY}: ' "
                    f"ELSE 'not a number: ' END || {_quoted(text)}"
                ),
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
            return self.define(f"timezone('UTC', {column.ref})")
        if kind.startswith("TIMESTAMP") or kind == "DATE":
            return self.define(f"CAST({column.ref} AS TIMESTAMP)")
        raw = self._raw_text(column)
        expr = self.define(f"rebill_ts({raw})", 2)
        text = sql.text_of(raw)
        self.add_check(
            Check(
                bad=f"({expr} IS NULL AND {text} IS NOT NULL)",
                column=column.name,
                message=f"'not a date/time: ' || {_quoted(text)}",
            )
        )
        return expr

    def check_present(self, expr: str, column: str) -> None:
        self.add_check(Check(bad=f"({expr} IS NULL)", column=column, message="'no value'"))

    def json_text(self, column: SourceColumn, *, wrap_braces: bool = False) -> str:
        """Tags given as JSON object text in a cell, normalized (see sql.json_object_text)."""
        raw = self.text_ref(column)
        candidate = raw
        if wrap_braces:
            candidate = self.define(
                f"CASE WHEN left({raw}, 1) = '{{' THEN {raw} ELSE '{{' || {raw} || '}}' END", 2
            )
        valid = self.define(sql.valid_json(candidate), 3)
        return sql.json_object_text(raw, valid)


def _key(name: str) -> str:
    return name.strip().lower()


def _quoted(raw: str) -> str:
    """SQL: the value in single quotes, cut to 80 characters, for an error message."""
    quote = sql.lit("'")  # the SQL literal of one single quote
    return f"{quote} || left({raw}, 80) || {quote}"
