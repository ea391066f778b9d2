"""Small SQL-building helpers shared by the format mappers (quoting, money, timestamps, tags).

Everything here returns DuckDB SQL text. Values that come from files (header names, tag keys)
only ever reach SQL through :func:`lit` or :func:`ident`, never by string pasting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chalicelib.bills.schema import MONEY

MONEY_SCALE = int(MONEY.rstrip(")").rsplit(",", 1)[1])
NULL_TEXT = "CAST(NULL AS VARCHAR)"
NULL_MONEY = f"CAST(NULL AS {MONEY})"
ZERO_MONEY = f"CAST(0 AS {MONEY})"
NULL_TS = "CAST(NULL AS TIMESTAMP)"

# Macros created on every connection (see :func:`macro_statements`).
# rebill_ts: text -> UTC TIMESTAMP. ISO 8601 with or without 'T', 'Z' or an offset goes through
# TIMESTAMPTZ (so '+02:00' is honoured; DuckDB's plain TIMESTAMP cast drops offsets); text without
# an offset is taken as UTC (the session time zone is UTC). Azure writes US dates (MM/DD/YYYY),
# AWS manifests write compact ISO ('20231001T000000.000Z').
_TS_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%Y%m%dT%H%M%S.%gZ",
    "%Y%m%dT%H%M%SZ",
)


def macro_statements() -> list[str]:
    formats = ", ".join(lit(f) for f in _TS_FORMATS)
    return [
        "SET TimeZone = 'UTC'",
        "CREATE OR REPLACE TEMP MACRO rebill_ts(s) AS COALESCE("
        "timezone('UTC', TRY_CAST(s AS TIMESTAMPTZ)), "
        f"TRY_STRPTIME(s, [{formats}]))",
        # rebill_money: text -> DECIMAL(38,10), exact, rounding half away from zero. DuckDB's
        # own cast is exact for plain and scientific notation alike, except one case (DuckDB
        # 1.4.4): scientific notation whose first significant digit lies two or more places
        # below the scale rounds on that digit ('5e-15' -> 1E-10). Such a value is below
        # 1e-11 in magnitude, so its correct result is 0; the double only decides that, with
        # a margin (4.9e-11) no rounding of the double can cross.
        "CREATE OR REPLACE TEMP MACRO rebill_money(s) AS CASE "
        "WHEN (contains(s, 'e') OR contains(s, 'E')) "
        f"AND abs(TRY_CAST(s AS DOUBLE)) < 49e-{MONEY_SCALE + 2} "
        f"THEN CAST(0 AS {MONEY}) ELSE TRY_CAST(trim(s) AS {MONEY}) END",
        # The account field of an ARN: arn:partition:service:region:ACCOUNT:resource.
        "CREATE OR REPLACE TEMP MACRO rebill_arn_account(a) AS "
        "NULLIF(regexp_extract(a, '^arn:[^:]*:[^:]*:[^:]*:([0-9]+):', 1), '')",
    ]


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def text_of(expr: str) -> str:
    """Trimmed text, empty as NULL: bill files write 'no value' as an empty cell."""
    return f"NULLIF(trim(CAST({expr} AS VARCHAR)), '')"


def coalesce(*exprs: str) -> str:
    real = [e for e in exprs if e not in (NULL_TEXT, NULL_MONEY, NULL_TS)]
    if not real:
        return exprs[0] if exprs else NULL_TEXT
    return real[0] if len(real) == 1 else f"COALESCE({', '.join(real)})"


def case_map(expr: str, mapping: Sequence[tuple[Iterable[str], str]], default: str) -> str:
    """``CASE expr WHEN 'a' THEN x … ELSE default END`` for (values, result-SQL) pairs."""
    arms = []
    for values, result in mapping:
        for value in values:
            arms.append(f"WHEN {lit(value)} THEN {result}")
    return f"CASE {expr} {' '.join(arms)} ELSE {default} END"


def money_mul(a: str, b: str) -> str:
    """a × b rounded back to the money type (DuckDB keeps s1+s2 decimals until the cast)."""
    return f"CAST({a} * {b} AS {MONEY})"


def json_object_from_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    """A JSON object of the non-empty values among (key, value-SQL) pairs, as text.

    Built as text rather than through a MAP so that an empty value simply drops out and a
    repeated key cannot fail the whole file.
    """
    if not pairs:
        return "'{}'"
    items = ", ".join(f"{{'k': {lit(k)}, 'v': {text_of(v)}}}" for k, v in pairs)
    return json_object_from_list(f"[{items}]", key="k", value="v")


def json_object_from_list(list_expr: str, *, key: str, value: str) -> str:
    """A JSON object text from a LIST of structs with key/value fields; NULL list -> '{}'."""
    k, v = ident(key), ident(value)
    kept = f"list_filter({list_expr}, e -> e.{k} IS NOT NULL AND e.{v} IS NOT NULL)"
    body = (
        f"array_to_string(list_transform({kept}, "
        f"e -> CAST(to_json(CAST(e.{k} AS VARCHAR)) AS VARCHAR) || ':' || "
        f"CAST(to_json(CAST(e.{v} AS VARCHAR)) AS VARCHAR)), ',')"
    )
    return f"COALESCE('{{' || {body} || '}}', '{{}}')"


def valid_json(expr: str) -> str:
    """The text if it is valid JSON, else NULL.

    DuckDB's JSON functions raise on invalid input, boolean operators do not short-circuit, and a
    shared sub-expression may be hoisted out of a CASE: so every JSON function gets its input
    through this guard rather than behind a condition.
    """
    return f"CASE WHEN json_valid({expr}) THEN {expr} END"


def json_object_text(expr: str, *, wrap_braces: bool = False) -> str:
    """Tags given as JSON object text, normalized; anything else is kept under '_raw'.

    ``wrap_braces``: Azure EA writes the members without the outer braces
    (``"env": "prod","org": "x"``).
    """
    raw = text_of(expr)
    candidate = raw
    if wrap_braces:
        candidate = f"CASE WHEN left({raw}, 1) = '{{' THEN {raw} ELSE '{{' || {raw} || '}}' END"
    valid = valid_json(candidate)
    return (
        f"CASE WHEN {raw} IS NULL THEN '{{}}' "
        f"WHEN json_type({valid}) = 'OBJECT' THEN CAST(json({valid}) AS VARCHAR) "
        f"ELSE CAST(json_object('_raw', {raw}) AS VARCHAR) END"
    )
