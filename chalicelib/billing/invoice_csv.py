"""The invoice's two CSVs, written together from the same priced usage.

* The **detailed CSV** (:data:`CSV_COLUMNS`, the operator's): one row per usage group, so every
  price can be explained. Each row names the price list and rule that priced it and carries the
  reseller's figures (cost, list cost, basis, savings retained) beside the price.
* The **customer CSV** (:data:`CUSTOMER_CSV_COLUMNS`): what the customer is billed and nothing
  of the reseller's — no cost, list cost, basis, savings, price list, price rule, bill currency
  or FX rate. Usage groups the reseller's pricing split (savings removed from part of a
  resource's usage, two bill currencies) are one row: the split itself is the reseller's.

Both carry the price at full precision in the invoice's currency (converted with the invoice's
own FX rates), so that for every provider + service round(Σ price) equals the invoice line.
Text cells are protected against formula injection; numbers are written as plain decimals.
"""

from __future__ import annotations

from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

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
# The customer's CSV: what the line is and what the customer pays, none of the reseller's figures.
CUSTOMER_CSV_COLUMNS = (*CSV_COLUMNS[: CSV_COLUMNS.index("quantity") + 1], "price", "currency")
# What identifies a customer CSV row: its text columns (each also a column of the detailed CSV).
_CUSTOMER_KEY = CUSTOMER_CSV_COLUMNS[:11]
# A usage group's key columns (the customer is the file's filter, savings_removed a flag) and
# the rule that priced it.
_TEXT = (
    *(c for c in GROUP_COLUMNS if c not in ("customer_id", "savings_removed")),
    "price_rule",
)
_NUMBERS = ("quantity", "cost", "list_cost", "basis", "savings_retained", "price")
_BATCH = 10_000


@exact
def write_invoice_csv(
    invoice: Invoice,
    priced_usage: Path,
    out: Path,
    customer_out: Path | None = None,
    shared: duckdb.DuckDBPyConnection | None = None,
) -> None:
    """Write the usage groups of the invoice's customer from ``priced_usage``: the detailed CSV
    to ``out`` and, when given, the customer CSV to ``customer_out`` (read with a cursor of
    ``shared`` when given, else a connection of its own)."""
    columns = ", ".join((*_TEXT, "savings_removed", *_NUMBERS))
    con = duckdb.connect() if shared is None else shared.cursor()
    try:
        # The customer's columns first, so that rows only the reseller's columns tell apart are
        # neighbours and become one row of the customer CSV.
        cursor = con.execute(
            f"SELECT {columns} FROM read_parquet(?) WHERE customer_id = ? "
            "ORDER BY provider, service, account_id, usage_type, sku_id, operation, region, "
            "resource_id, charge_category, service_code, pricing_unit, price_rule, currency, "
            "savings_removed",
            [str(priced_usage), invoice.customer_id],
        )
        names = [column[0] for column in cursor.description or ()]
        out.parent.mkdir(parents=True, exist_ok=True)
        with ExitStack() as files:
            writer = csv_writer(files.enter_context(out.open("w", newline="", encoding="utf-8")))
            writer.writerow(CSV_COLUMNS)
            customer = None
            if customer_out is not None:
                customer_out.parent.mkdir(parents=True, exist_ok=True)
                handle = files.enter_context(customer_out.open("w", newline="", encoding="utf-8"))
                customer = _CustomerRows(csv_writer(handle), invoice.currency)
            while batch := cursor.fetchmany(_BATCH):
                for values in batch:
                    row = _row(invoice, dict(zip(names, values, strict=True)))
                    writer.writerow(row)
                    if customer is not None:
                        customer.add(dict(zip(CSV_COLUMNS, row, strict=True)))
            if customer is not None:
                customer.flush()
    except duckdb.Error as error:
        raise BillingError(f"cannot read priced usage {priced_usage}: {error}") from error
    finally:
        con.close()


class _CustomerRows:
    """The customer CSV: detailed rows with the same customer columns summed into one."""

    def __init__(self, writer: Any, currency: str) -> None:
        self._writer = writer
        self._currency = currency
        self._key: tuple[str, ...] | None = None
        self._quantity: Decimal | None = None
        self._price = Decimal(0)
        writer.writerow(CUSTOMER_CSV_COLUMNS)

    def add(self, detail: dict[str, str]) -> None:
        key = tuple(detail[name] for name in _CUSTOMER_KEY)
        if key != self._key:
            self.flush()
            self._key, self._quantity, self._price = key, None, Decimal(0)
        if detail["quantity"]:
            self._quantity = (self._quantity or Decimal(0)) + Decimal(detail["quantity"])
        self._price += Decimal(detail["price"])

    def flush(self) -> None:
        if self._key is None:
            return
        quantity = "" if self._quantity is None else plain(self._quantity)
        self._writer.writerow([*self._key, quantity, plain(self._price), self._currency])
        self._key = None


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
