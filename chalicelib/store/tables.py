"""The DynamoDB tables, as PynamoDB models: the one definition of keys and indexes.

``infra/`` builds its CloudFormation tables from these classes and ``localaws`` creates them
with ``Model.create_table``, so the deployed and the embedded tables cannot drift.

Three tables, each with a generic ``pk``/``sk`` key so several item kinds share a table:

* reference — operator settings, price lists, plans, customers, their accounts and
  subscriptions, API tokens. Index ``by_account`` finds the customer that owns a cloud account.
* bills — one record per bill file, the current delivery of each report and period, and the
  per-account period aggregates that point at the normalized Parquet.
* invoices — invoices, the live-invoice pointer per customer and period, invoice runs with their
  per-customer results, and the invoice number counter. Its indexes serve the invoice list
  filters of ``GET /invoices`` without scans: ``by_customer`` and ``by_period``, and
  ``by_status``, ``by_period_total``, ``by_period_discount``, ``by_recent``, ``by_total``,
  ``by_discount``, and the sparse ``by_open_due`` of invoices with a balance due (see
  ``chalicelib.store.invoice_search`` for which filter uses which); ``by_run_recent`` and
  ``by_run_period`` list invoice runs newest first.

Money is stored as decimal strings (PynamoDB's NumberAttribute goes through float).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import get_config

_config = get_config()


class _Meta:
    region = _config.region
    billing_mode = "PAY_PER_REQUEST"


# --- reference -------------------------------------------------------------------------------


class AccountIndex(GlobalSecondaryIndex["ReferenceItem"]):  # type: ignore[no-untyped-call]
    """Cloud account (``ACCOUNT#<provider>#<account id>``) → the customer item that owns it."""

    class Meta:
        index_name = "by_account"
        projection = AllProjection()

    account_key = UnicodeAttribute(hash_key=True)


class ReferenceItem(Model):
    """A reference-data document. ``kind`` says which; ``doc`` is the API-shaped JSON body."""

    class Meta(_Meta):
        table_name = _config.reference_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    doc = JSONAttribute()
    account_key = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    by_account = AccountIndex()


# --- bills ------------------------------------------------------------------------------------


class BillStatusIndex(GlobalSecondaryIndex["BillItem"]):  # type: ignore[no-untyped-call]
    """Bill files by status, newest first (``GET /bills?status=``): only bill records carry its
    keys."""

    class Meta:
        index_name = "by_bill_status"
        projection = AllProjection()

    bill_status = UnicodeAttribute(hash_key=True)
    received_sort = UnicodeAttribute(range_key=True)  # '<received at>#<bill id>'


class BillItem(Model):
    """Bill records, deliveries and account aggregates (see module docstring)."""

    class Meta(_Meta):
        table_name = _config.bills_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    doc = JSONAttribute()
    status = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)  # optimistic-locking counter, never money
    parts_done = UnicodeSetAttribute(null=True)
    bill_status = UnicodeAttribute(null=True)
    received_sort = UnicodeAttribute(null=True)
    by_bill_status = BillStatusIndex()


# --- invoices ---------------------------------------------------------------------------------


class CustomerInvoiceIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_id = UnicodeAttribute(hash_key=True)
    period_sort = UnicodeAttribute(range_key=True)


class PeriodInvoiceIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_period"
        projection = AllProjection()

    period = UnicodeAttribute(hash_key=True)
    customer_sort = UnicodeAttribute(range_key=True)


# The list filters' indexes (chalicelib.store.invoice_search). Only invoice items carry their
# keys, so runs, pointers and counters stay out of them. Amount keys are order-preserving strings
# ("<sortable amount>#<invoice id>"): every index key is a string, as infra/ declares them.


class StatusIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    period_sort = UnicodeAttribute(range_key=True)


class PeriodTotalIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_period_total"
        projection = AllProjection()

    period = UnicodeAttribute(hash_key=True)
    total_sort = UnicodeAttribute(range_key=True)


class PeriodDiscountIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_period_discount"
        projection = AllProjection()

    period = UnicodeAttribute(hash_key=True)
    discount_sort = UnicodeAttribute(range_key=True)


class RecentIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_recent"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    period_sort = UnicodeAttribute(range_key=True)


class TotalIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_total"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    total_sort = UnicodeAttribute(range_key=True)


class DiscountIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_discount"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    discount_sort = UnicodeAttribute(range_key=True)


# Invoice runs, newest first (``GET /invoice-runs``): only run items carry their keys.


class RecentRunIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    """Every period's runs: ``run_listing`` is ``RUN`` on every run item."""

    class Meta:
        index_name = "by_run_recent"
        projection = AllProjection()

    run_listing = UnicodeAttribute(hash_key=True)
    run_sort = UnicodeAttribute(range_key=True)  # '<requested at>#<run id>'


class PeriodRunIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    """One period's runs."""

    class Meta:
        index_name = "by_run_period"
        projection = AllProjection()

    run_period = UnicodeAttribute(hash_key=True)
    run_sort = UnicodeAttribute(range_key=True)


class OpenDueIndex(GlobalSecondaryIndex["InvoiceItem"]):  # type: ignore[no-untyped-call]
    """Sparse: only issued invoices with a balance due carry ``open_due`` ("<due date>#<invoice
    id>"), so ``open_due < today`` is every overdue invoice (``GET /invoices?overdue=true``) and
    the whole index is what customers owe (the billing report's outstanding)."""

    class Meta:
        index_name = "by_open_due"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    open_due = UnicodeAttribute(range_key=True)


class InvoiceItem(Model):
    """Invoices, live pointers, runs, run results and counters (see module docstring)."""

    class Meta(_Meta):
        table_name = _config.invoices_table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    doc = JSONAttribute(null=True)
    status = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute(null=True)
    period = UnicodeAttribute(null=True)
    period_sort = UnicodeAttribute(null=True)  # "<period>#<invoice id>"
    customer_sort = UnicodeAttribute(null=True)  # "<customer id>#<invoice id>"
    counter = NumberAttribute(null=True)  # invoice number counter, an integer
    listing = UnicodeAttribute(null=True)  # "INVOICE": the one key of the cross-period indexes
    total_sort = UnicodeAttribute(null=True)  # "<sortable total>#<invoice id>"
    discount_sort = UnicodeAttribute(null=True)  # "<sortable discount>#<invoice id>"
    run_listing = UnicodeAttribute(null=True)  # "RUN" on run items
    run_period = UnicodeAttribute(null=True)  # a run's period
    run_sort = UnicodeAttribute(null=True)  # "<requested at>#<run id>"
    open_due = UnicodeAttribute(null=True)  # "<due date>#<invoice id>" while a balance is due
    balance_due = UnicodeAttribute(null=True)  # decimal string, on issued and paid invoices
    by_customer = CustomerInvoiceIndex()
    by_period = PeriodInvoiceIndex()
    by_status = StatusIndex()
    by_period_total = PeriodTotalIndex()
    by_period_discount = PeriodDiscountIndex()
    by_recent = RecentIndex()
    by_total = TotalIndex()
    by_discount = DiscountIndex()
    by_run_recent = RecentRunIndex()
    by_run_period = PeriodRunIndex()
    by_open_due = OpenDueIndex()


ALL_TABLES: tuple[type[Model], ...] = (ReferenceItem, BillItem, InvoiceItem)


def table_names() -> dict[str, str]:
    return {model.__name__: model.Meta.table_name for model in ALL_TABLES}


def key_schema(model: type[Model]) -> dict[str, Any]:
    """Hash/range keys and global indexes of a model, for infrastructure code."""
    attrs = model.get_attributes()
    hash_key = next(name for name, a in attrs.items() if a.is_hash_key)
    range_key = next((name for name, a in attrs.items() if a.is_range_key), None)
    indexes = []
    for index in model._indexes.values():
        index_attrs = index.Meta.attributes
        indexes.append(
            {
                "name": index.Meta.index_name,
                "hash_key": next(n for n, a in index_attrs.items() if a.is_hash_key),
                "range_key": next((n for n, a in index_attrs.items() if a.is_range_key), None),
            }
        )
    return {"hash_key": hash_key, "range_key": range_key, "indexes": indexes}
