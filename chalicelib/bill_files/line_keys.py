"""The identity of a bill line across files: the ``LineKey`` column of normalized lines.

A line is the same line in two files when its key is equal. The key is the low 64 bits of the
MD5 of the line's identity text (MD5 rather than a hash function of the engine: it is the same
in every version of every tool, so keys written today match keys computed years later):

- a line with the provider's own identity (AWS CUR and CUR 2.0: ``identity/LineItemId`` within
  ``identity/TimeInterval``) is keyed by it;
- a line without one (Google Cloud, Azure, FOCUS) is keyed by what it is, not what it costs:
  provider, accounts, charge period, category and class, service, SKU, meter, operation, region,
  resource, description, unit, commitment and line type, and tags. A month-to-date export that
  restates yesterday's cost of a resource keeps the line's key; a file of another account or
  another resource never shares it.

Keys decide two things: whether a new file holds lines that are already current in another file
(:mod:`chalicelib.service.bill_versions`), and whether the current files of a period count any
line twice (:mod:`chalicelib.billing.reconcile`). 64 bits: two different lines of one account
share a key with a probability of about n²/2⁶⁵ (10⁻⁹ for 100,000 lines).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import duckdb

from chalicelib.bill_files import sql

# The normalized columns a line without the provider's own identity is keyed by.
CONTENT_COLUMNS = (
    "ProviderName",
    "BillingAccountId",
    "SubAccountId",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ServiceCode",
    "SkuId",
    "SkuMeter",
    "Operation",
    "RegionId",
    "ResourceId",
    "ChargeDescription",
    "PricingUnit",
    "CommitmentDiscountId",
    "ProviderLineType",
    "Tags",
)

LINE_ID = "_line_id"  # the staging column holding the provider's identity text, if any


def line_key_sql(line_id: str = LINE_ID) -> str:
    """SQL for ``LineKey`` over staged columns: the provider's identity where a line has one,
    else the line's content (columns joined with the unit separator, NULL as empty)."""
    content = ", ".join(f"COALESCE(CAST({sql.ident(c)} AS VARCHAR), '')" for c in CONTENT_COLUMNS)
    return (
        f"md5_number_lower(COALESCE(NULLIF({line_id}, ''), "
        f"'content' || chr(31) || concat_ws(chr(31), {content})))"
    )


def overlapping_lines(
    new: Sequence[Path], current: Sequence[Path], accounts: Collection[str] | None = None
) -> int:
    """How many lines of the ``new`` normalized files have a key that a line of ``current`` has;
    with ``accounts`` ('provider/account id'), of those accounts' lines only (a file may hold
    other accounts' lines too)."""
    if not new or not current:
        return 0
    where = ""
    if accounts is not None:
        listed = ", ".join(sql.lit(a) for a in sorted(accounts)) or sql.NULL_TEXT
        where = f""" AND ("ProviderName" || '/' || "SubAccountId") IN ({listed})"""
    con = duckdb.connect()
    try:
        (count,) = con.execute(
            f'SELECT count(*) FROM read_parquet({_paths(new)}) n WHERE n."LineKey" IN '
            f'(SELECT "LineKey" FROM read_parquet({_paths(current)}) WHERE true{where}){where}'
        ).fetchone() or (0,)
    finally:
        con.close()
    return int(count)


def _paths(files: Sequence[Path]) -> str:
    return "[" + ", ".join(sql.lit(str(f)) for f in files) + "]"
