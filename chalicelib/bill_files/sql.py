"""Small SQL-building helpers shared by the format mappers (quoting, money, timestamps, tags).

Everything here returns DuckDB SQL text. Values that come from files (header names, tag keys)
only ever reach SQL through :func:`lit` or :func:`ident`, never by string pasting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chalicelib.bill_files.schema import MONEY

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


# The int64-backed decimal DuckDB parses fast; DECIMAL(38,…) text casts take microseconds a value.
_FAST_SCALE = min(MONEY_SCALE, 18)


def macro_statements() -> list[str]:
    formats = ", ".join(lit(f) for f in _TS_FORMATS)
    fast = f"DECIMAL(18,{_FAST_SCALE})"
    return [
        "SET TimeZone = 'UTC'",
        # rebill_text: trimmed text, '' as NULL. trim() copies every value; it removes only ' '
        # and non-ASCII spaces (Unicode Zs), so it runs only where an end is a space or the
        # text is not pure ASCII (byte length <> character length): one cell in millions.
        "CREATE OR REPLACE TEMP MACRO rebill_text(s) AS CASE WHEN starts_with(s, ' ') "
        "OR ends_with(s, ' ') OR strlen(s) <> length(s) THEN NULLIF(trim(s), '') "
        "ELSE NULLIF(s, '') END",
        # rebill_ts: text (trimmed here) -> UTC TIMESTAMP. 'Z'-terminated ISO text (AWS, FOCUS)
        # casts directly: for it the TIMESTAMP and TIMESTAMPTZ parsers agree (both skip ASCII
        # spaces). Anything else goes the exact way.
        "CREATE OR REPLACE TEMP MACRO rebill_ts_trimmed(s) AS COALESCE("
        "timezone('UTC', TRY_CAST(s AS TIMESTAMPTZ)), "
        f"TRY_STRPTIME(s, [{formats}]))",
        "CREATE OR REPLACE TEMP MACRO rebill_ts_exact(s) AS rebill_ts_trimmed(trim(s))",
        "CREATE OR REPLACE TEMP MACRO rebill_ts(s) AS CASE WHEN ends_with(s, 'Z') "
        "THEN COALESCE(TRY_CAST(s AS TIMESTAMP), rebill_ts_exact(s)) ELSE rebill_ts_exact(s) END",
        # rebill_money_exact: text (trimmed here) -> MONEY, exact, rounding half away from zero.
        # DuckDB's own cast is exact for plain and scientific notation alike, except one case
        # (DuckDB 1.4.4): scientific notation whose first significant digit lies two or more
        # places below the scale rounds on that digit ('5e-15' -> 1E-10). Such a value is
        # below 1e-11 in magnitude, so its correct result is 0; the double only decides that,
        # with a margin (4.9e-11) no rounding of the double can cross.
        "CREATE OR REPLACE TEMP MACRO rebill_money_trimmed(s) AS CASE "
        "WHEN (contains(s, 'e') OR contains(s, 'E')) "
        f"AND abs(TRY_CAST(s AS DOUBLE)) < 49e-{MONEY_SCALE + 2} "
        f"THEN CAST(0 AS {MONEY}) ELSE TRY_CAST(s AS {MONEY}) END",
        "CREATE OR REPLACE TEMP MACRO rebill_money_exact(s) AS rebill_money_trimmed(trim(s))",
        # rebill_money: the same result, fast. DuckDB parses text into DECIMAL(38,…) (int128)
        # digit by digit with overflow checks, some 10-15 us a value; into DECIMAL(18,…) (int64)
        # it takes tens of ns. So plain decimals [-]d…d[.d…d] are parsed as int64 pieces: the
        # integer part at scale 0 and the fraction at the money scale (rounded there by the same
        # parser family), then added as MONEY. A failed TRY_CAST is slow too, so the branch is
        # picked by looking at the text, and whatever the pieces cannot take (scientific
        # notation, a leading '+' or '.', more than 18 integer digits, a fraction rounding up to
        # 1 at scale 18, odd text) goes the exact way. Equal to rebill_money_exact on every
        # input: tests/bill_files/test_money.py checks it differentially.
        "CREATE OR REPLACE TEMP MACRO rebill_digit(c) AS ord(c) BETWEEN 48 AND 57",
        "CREATE OR REPLACE TEMP MACRO rebill_money_split(s, p) AS CASE "
        "WHEN rebill_digit(s[p - 1]) AND rebill_digit(s[p + 1]) THEN CASE WHEN ord(s) = 45 "
        f"THEN CAST(TRY_CAST(left(s, p - 1) AS DECIMAL(18,0)) AS {MONEY}) "
        f"- CAST(TRY_CAST(substr(s, p) AS {fast}) AS {MONEY}) "
        f"ELSE CAST(TRY_CAST(left(s, p - 1) AS DECIMAL(18,0)) AS {MONEY}) "
        f"+ CAST(TRY_CAST(substr(s, p) AS {fast}) AS {MONEY}) END END",
        "CREATE OR REPLACE TEMP MACRO rebill_money(s) AS rebill_money_exact(s)"
        if MONEY_SCALE > 18
        else "CREATE OR REPLACE TEMP MACRO rebill_money(s) AS CASE "
        "WHEN NOT (rebill_digit(s) OR (ord(s) = 45 AND rebill_digit(s[2]))) "
        "OR contains(s, 'e') OR contains(s, 'E') THEN rebill_money_exact(s) "
        "WHEN starts_with(s, '0.') OR starts_with(s, '-0.') "
        f"THEN COALESCE(CAST(TRY_CAST(s AS {fast}) AS {MONEY}), rebill_money_exact(s)) "
        "WHEN strpos(s, '.') = 0 "
        f"THEN COALESCE(CAST(TRY_CAST(s AS DECIMAL(18,0)) AS {MONEY}), rebill_money_exact(s)) "
        "ELSE COALESCE(rebill_money_split(s, strpos(s, '.')), rebill_money_exact(s)) END",
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
    """Trimmed text, empty as NULL: bill files write 'no value' as an empty cell.

    ``expr`` appears several times in the result: pass a column, or define the expression once
    (see :meth:`chalicelib.bill_files.columns.Columns.define`).
    """
    return f"rebill_text(CAST({expr} AS VARCHAR))"


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
    """A JSON object of the non-NULL values among (key, text-SQL) pairs, as text.

    Built by concatenating text rather than through a MAP or a LIST, so that an empty value
    simply drops out, a repeated key cannot fail the whole file, and no per-row list is built.
    The values must already be text (empty as NULL, see :func:`text_of`).
    """
    if not pairs:
        return "'{}'"
    members = ", ".join(
        f"CASE WHEN {v} IS NOT NULL THEN "
        f"CAST(to_json({lit(k)}) AS VARCHAR) || ':' || CAST(to_json({v}) AS VARCHAR) END"
        for k, v in pairs
    )
    return f"'{{' || concat_ws(',', {members}) || '}}'"


def json_object_from_list(list_expr: str, *, key: str, value: str) -> str:
    """A JSON object text from a LIST of structs with key/value fields; NULL list -> '{}'."""
    k, v = ident(key), ident(value)
    kept = f"list_filter({list_expr}, lambda e: e.{k} IS NOT NULL AND e.{v} IS NOT NULL)"
    body = (
        f"array_to_string(list_transform({kept}, "
        f"lambda e: CAST(to_json(CAST(e.{k} AS VARCHAR)) AS VARCHAR) || ':' || "
        f"CAST(to_json(CAST(e.{v} AS VARCHAR)) AS VARCHAR)), ',')"
    )
    return f"COALESCE('{{' || {body} || '}}', '{{}}')"


def json_object_from_map(column: str, kind: str) -> str:
    """A JSON object text from a MAP column (its NULL values left out); NULL -> '{}'.

    A ``MAP(VARCHAR, VARCHAR)`` without NULL values is exactly DuckDB's own ``to_json`` of it,
    which is three times faster than building the text entry by entry.
    """
    entries = json_object_from_list(f"map_entries({column})", key="key", value="value")
    if kind.upper().replace(" ", "") != "MAP(VARCHAR,VARCHAR)":
        return entries
    return (
        f"CASE WHEN {column} IS NULL THEN '{{}}' "
        f"WHEN list_count(map_values({column})) = cardinality({column}) "
        f"THEN CAST(to_json({column}) AS VARCHAR) ELSE {entries} END"
    )


def valid_json(expr: str) -> str:
    """The text if it is valid JSON, else NULL.

    DuckDB's JSON functions raise on invalid input, boolean operators do not short-circuit, and a
    shared sub-expression may be hoisted out of a CASE: so every JSON function gets its input
    through this guard rather than behind a condition.
    """
    return f"CASE WHEN json_valid({expr}) THEN {expr} END"


def json_object_text(raw: str, valid: str) -> str:
    """Tags given as JSON object text, normalized; anything else is kept under '_raw'.

    ``raw`` is the cell as text (empty as NULL); ``valid`` is :func:`valid_json` of it (or of
    the cell wrapped in braces: Azure EA writes the members without them,
    ``"env": "prod","org": "x"``). Both should be column names: each is used several times.
    """
    return (
        f"CASE WHEN {raw} IS NULL THEN '{{}}' "
        f"WHEN json_type({valid}) = 'OBJECT' THEN CAST(json({valid}) AS VARCHAR) "
        f"ELSE CAST(json_object('_raw', {raw}) AS VARCHAR) END"
    )
