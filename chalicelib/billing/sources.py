"""Reading normalized lines and matching them to customers' accounts, shared by pricing and
reconciliation so that both draw the same line between "a customer's" and "unassigned"."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from chalicelib.bill_files.schema import NORMALIZED_COLUMNS
from chalicelib.billing.periods import Period
from chalicelib.billing.reference import Account

_TYPES = dict(NORMALIZED_COLUMNS)
# The moment a line belongs to: its charge period start (a line without one, its billing month).
CHARGE_TIME = "coalesce({l}.ChargePeriodStart, {l}.BillingPeriodStart)"


def sql_str(value: str) -> str:
    """A value inside single quotes in SQL."""
    return value.replace("'", "''")


def load_lines(
    con: duckdb.DuckDBPyConnection, files: Sequence[Path], columns: Sequence[str]
) -> None:
    """A view ``normalized`` over the files with ``columns`` cast to schema.py's types."""
    if not files:
        empty = ", ".join(f'CAST(NULL AS {_TYPES[c]}) AS "{c}"' for c in columns)
        con.execute(f"CREATE TEMP VIEW normalized AS SELECT {empty} WHERE false")
        return
    casts = ", ".join(f'CAST("{c}" AS {_TYPES[c]}) AS "{c}"' for c in columns)
    paths = ", ".join(f"'{sql_str(str(f))}'" for f in files)
    con.execute(
        f"CREATE TEMP VIEW normalized AS SELECT {casts} "
        f"FROM read_parquet([{paths}], union_by_name = true)"
    )


def _sql_value(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no SQL text for {value!r}")


def load_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
) -> None:
    """A temp table ``table`` with ``columns`` (name, SQL type) holding ``rows`` — reference
    data handed to a query.

    The rows travel as one JSON text, a list of texts per column, which DuckDB parses in one go
    and casts to the column types: fast for tens of thousands of accounts, and no Python value is
    bound one by one.
    """
    data = {f"c{i}": [_sql_value(row[i]) for row in rows] for i in range(len(columns))}
    shape = {f"c{i}": "VARCHAR[]" for i in range(len(columns))}
    picks = ", ".join(
        f"CAST(unnest(j.c{i}) AS {kind}) AS {name}" for i, (name, kind) in enumerate(columns)
    )
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT {picks} FROM (SELECT from_json("
        f"'{sql_str(json.dumps(data))}', '{json.dumps(shape)}') AS j)"
    )


def load_accounts(
    con: duckdb.DuckDBPyConnection, accounts: Iterable[tuple[Account, str | None]]
) -> None:
    """A table ``accounts`` (acct_ix, customer_id, provider, account_id, price_list_id,
    valid_from, valid_to); ``acct_ix`` is a small integer standing for the whole row."""
    rows = list(accounts)
    load_rows(
        con,
        "accounts_given",
        (
            ("customer_id", "VARCHAR"),
            ("provider", "VARCHAR"),
            ("account_id", "VARCHAR"),
            ("price_list_id", "VARCHAR"),
            ("valid_from", "DATE"),
            ("valid_to", "DATE"),
        ),
        [(a.customer_id, a.provider, a.account_id, p, a.valid_from, a.valid_to) for a, p in rows],
    )
    # Open ends become ±infinity so that the join condition stays a conjunction of comparisons
    # (an OR there turns DuckDB's hash join into a nested loop).
    con.execute(
        "CREATE TEMP TABLE accounts AS SELECT CAST(row_number() OVER () AS INTEGER) AS acct_ix, "
        "customer_id, provider, account_id, price_list_id, "
        "coalesce(CAST(valid_from AS TIMESTAMP), TIMESTAMP '-infinity') AS valid_from, "
        "coalesce(CAST(valid_to AS TIMESTAMP), TIMESTAMP 'infinity') AS valid_to "
        "FROM accounts_given"
    )
    con.execute("DROP TABLE accounts_given")


def account_match(line: str, account: str, account_column: str = "SubAccountId") -> str:
    """SQL: the line's account is ``account`` (same provider) on the line's charge time."""
    when = CHARGE_TIME.format(l=line)
    return (
        f"{line}.ProviderName = {account}.provider AND {line}.{account_column} = "
        f"{account}.account_id AND {when} >= {account}.valid_from AND {when} < {account}.valid_to"
    )


def in_period(line: str, period: Period) -> str:
    """SQL: the line is on the bill of ``period`` (its billing period starts in the month)."""
    start, end = period.start_at.replace(tzinfo=None), period.end_at.replace(tzinfo=None)
    month = f"coalesce({line}.BillingPeriodStart, {line}.ChargePeriodStart)"
    return f"{month} >= TIMESTAMP '{start}' AND {month} < TIMESTAMP '{end}'"
