"""The normalized, FOCUS-aligned line item: the one shape every bill parser produces.

This is the contract between bill ingestion (which writes it as Parquet under
``normalized/``) and invoicing (which reads it). Column names follow FOCUS 1.2 where one
exists (docs/design.md §4.1); ``ServiceCode`` and ``ProviderLineType`` are Rebill's additions.
Money and quantities are exact ``DECIMAL(38,18)``, never floating point.

Why 18 decimals: a normalized total must equal the bill file's own column sum to the last
decimal. Providers write more than the 10 decimals of a cent-fraction: Azure EA cost details
carry 16 (``0.0000000019419368``), FOCUS exports 11 and more, CUR up to 15. 18 is also the
most an int64 decimal holds, which is what the fast text parser uses for the fraction
(:mod:`chalicelib.bill_files.sql`). 20 integer digits remain: a sum of 10 million lines of up to
10^12 each stays 10^1 below overflow. A source value with more than 18 decimals (none seen in
real exports) is rounded to 18, half away from zero, in the text and the decimal conversions
alike; the normalized line then holds the rounded value and the totals sum those.
"""

from __future__ import annotations

from chalicelib import vocabulary

MONEY = "DECIMAL(38,18)"

# Provider codes used in normalized data (declared with Rebill's other vocabularies).
PROVIDERS = vocabulary.PROVIDERS

# Normalized ChargeCategory values.
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")

# (column, DuckDB type). Order is the column order of the normalized Parquet files.
NORMALIZED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ProviderName", "VARCHAR"),  # provider code: aws | gcp | azure | oci | other
    ("BillingAccountId", "VARCHAR"),  # payer / billing account (string: leading zeros matter)
    ("SubAccountId", "VARCHAR"),  # linked account / project / subscription that used it
    ("BillingPeriodStart", "TIMESTAMP"),  # UTC, first instant of the billing month
    ("ChargePeriodStart", "TIMESTAMP"),  # UTC
    ("ChargePeriodEnd", "TIMESTAMP"),  # UTC
    ("ChargeCategory", "VARCHAR"),  # Usage | Purchase | Tax | Credit | Adjustment
    ("ChargeClass", "VARCHAR"),  # 'Correction' or NULL
    ("ServiceName", "VARCHAR"),  # e.g. 'Amazon Elastic Compute Cloud'
    ("ServiceCode", "VARCHAR"),  # AWS lineItem/ProductCode, GCP service.id, Azure MeterCategory
    ("ServiceCategory", "VARCHAR"),
    ("SkuId", "VARCHAR"),
    ("SkuMeter", "VARCHAR"),  # usage type (AWS lineItem/UsageType)
    ("Operation", "VARCHAR"),
    ("RegionId", "VARCHAR"),
    ("ResourceId", "VARCHAR"),
    ("ChargeDescription", "VARCHAR"),
    ("PricingQuantity", MONEY),
    ("PricingUnit", "VARCHAR"),
    ("BilledCost", MONEY),
    ("EffectiveCost", MONEY),
    ("ListCost", MONEY),
    ("ContractedCost", MONEY),
    ("BillingCurrency", "VARCHAR"),
    ("CommitmentDiscountId", "VARCHAR"),  # RI / savings plan / reservation id or ARN
    ("CommitmentDiscountType", "VARCHAR"),  # 'Reservation' | 'Savings Plan' | 'Committed Use'
    ("CommitmentDiscountStatus", "VARCHAR"),  # 'Used' | 'Unused' | NULL
    ("CommitmentOwnerAccountId", "VARCHAR"),  # account that bought the commitment, if known
    ("ProviderLineType", "VARCHAR"),  # e.g. AWS lineItem/LineItemType 'SavingsPlanNegation'
    ("Tags", "VARCHAR"),  # JSON object text
    (
        "LineKey",
        "UBIGINT",
    ),  # the line's identity across files (see chalicelib.bill_files.line_keys)
    ("SourceFileId", "VARCHAR"),  # the bill record id the line came from
)

COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in NORMALIZED_COLUMNS)
MONEY_COLUMNS: tuple[str, ...] = tuple(n for n, t in NORMALIZED_COLUMNS if t == MONEY)


def duckdb_column_list() -> str:
    """``"ProviderName" VARCHAR, …`` — for CREATE TABLE and read_parquet casts."""
    return ", ".join(f'"{name}" {kind}' for name, kind in NORMALIZED_COLUMNS)
