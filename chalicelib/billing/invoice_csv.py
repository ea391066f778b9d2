"""The invoice's detailed CSV: one row per usage group, so every price can be explained.

Each row names the price list and rule that priced it and carries the price at full precision in
the invoice's currency (converted with the invoice's own FX rates), so that for every provider +
service round(Σ price) equals the invoice line. Text cells are protected against formula
injection; numbers are written as plain decimals.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from chalicelib.billing.csvsafe import csv_writer, safe_cell
from chalicelib.billing.document import Invoice
from chalicelib.billing.money import exact, plain
from chalicelib.billing.priced_usage import GROUP_COLUMNS
from chalicelib.errors import BillingError, MissingFxRate

CSV_COLUMNS = (
    "account_id",
    "provider",
    "service",
    "service_code",
    "sku_id",
    "usage_type",
    "operation",
    "region",
    "resource_id",
    "charge_category",
    "pricing_unit",
    "quantity",
    "billing_currency",
    "cost",
    "list_cost",
    "basis",
    "savings_removed",
    "savings_retained",
    "price_list",
    "price_rule",
    "price_in_billing_currency",
    "fx_rate",
    "price",
    "currency",
)
# A usage group's key columns (the customer is the file's filter, savings_removed a flag) and
# the rule that priced it.
_TEXT = (
    *(c for c in GROUP_COLUMNS if c not in ("customer_id", "savings_removed")),
    "price_rule",
)
_NUMBERS = ("quantity", "cost", "list_cost", "basis", "savings_retained", "price")
_BATCH = 10_000


@exact
def write_invoice_csv(invoice: Invoice, priced_usage: Path, out: Path) -> None:
    """Write the usage groups of the invoice's customer from ``priced_usage`` to ``out``."""
    columns = ", ".join((*_TEXT, "savings_removed", *_NUMBERS))
    con = duckdb.connect()
    try:
        cursor = con.execute(
            f"SELECT {columns} FROM read_parquet(?) WHERE customer_id = ? "
            "ORDER BY provider, service, account_id, usage_type, sku_id, operation, region, "
            "resource_id, charge_category, price_rule, savings_removed",
            [str(priced_usage), invoice.customer_id],
        )
        names = [column[0] for column in cursor.description or ()]
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv_writer(handle)
            writer.writerow(CSV_COLUMNS)
            while batch := cursor.fetchmany(_BATCH):
                for values in batch:
                    writer.writerow(_row(invoice, dict(zip(names, values, strict=True))))
    except duckdb.Error as error:
        raise BillingError(f"cannot read priced usage {priced_usage}: {error}") from error
    finally:
        con.close()


def _rate(invoice: Invoice, currency: str | None) -> Decimal:
    if currency == invoice.currency:
        return Decimal(1)
    if currency is None or currency not in invoice.fx_rates:
        raise MissingFxRate(
            f"invoice of {invoice.customer_id} for {invoice.period} has no FX rate from "
            f"{currency} to {invoice.currency}: compose it from the same priced usage"
        )
    return invoice.fx_rates[currency]


def _row(invoice: Invoice, row: dict[str, object]) -> list[str]:
    rate = _rate(invoice, row["currency"])  # type: ignore[arg-type]
    price = row["price"]
    assert isinstance(price, Decimal)

    def text(name: str) -> str:
        value = row[name]
        return safe_cell(None if value is None else str(value))

    def number(name: str) -> str:
        value = row[name]
        return "" if value is None else plain(value)  # type: ignore[arg-type]

    return [
        text("account_id"),
        text("provider"),
        text("service"),
        text("service_code"),
        text("sku_id"),
        text("usage_type"),
        text("operation"),
        text("region"),
        text("resource_id"),
        text("charge_category"),
        text("pricing_unit"),
        number("quantity"),
        text("currency"),
        number("cost"),
        number("list_cost"),
        number("basis"),
        "true" if row["savings_removed"] else "false",
        number("savings_retained"),
        text("price_list_id"),
        text("price_rule"),
        plain(price),
        plain(rate),
        plain(price * rate),
        invoice.currency,
    ]
