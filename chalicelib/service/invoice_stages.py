"""The stages of an invoice run before its invoices are saved (docs/design.md §4.4).

PrepareRun snapshots the period's current bill data and writes each customer's work list; per
customer, PriceUsage prices the customer's lines, ComposeInvoice composes the invoice and
ComputeTax taxes it. Line items and invoices pass between the stages as S3 objects under
``runs/<run id>/``, named here; the state machine carries only their keys. Every stage is safe
to run again.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.billing.invoice import Invoice, compose_invoice, compute_tax
from chalicelib.billing.pricing import price_usage
from chalicelib.config import get_config
from chalicelib.errors import NotFound
from chalicelib.service.customer_period import load_customer_period
from chalicelib.store import bills, invoices, objects, reference
from chalicelib.store.records import Doc
from chalicelib.store.run_files import (
    customer_prefix,
    customers_key,
    period_inputs_key,
    priced_summary_key,
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- PrepareRun -------------------------------------------------------------------------------


def prepare_run(run_id: str, period: str, mode: str, wanted: list[str] | None) -> list[str]:
    """Snapshot the period's current bill data, map accounts to customers, write the work list
    (``customers_key``); the customers the run invoices."""
    customers = [doc["id"] for doc in reference.list_documents("customer")]
    if wanted:
        customers = [c for c in customers if c in set(wanted)]
    owners = _account_owners(customers)
    inputs: dict[str, list[str]] = {c: [] for c in customers}
    everything: set[str] = set()
    for aggregate in bills.current_aggregates(period):
        everything.add(aggregate["parquet_key"])
        for owner in owners.get((aggregate["provider"], aggregate["account_id"]), []):
            inputs[owner].append(aggregate["parquet_key"])
    for customer_id, keys in inputs.items():
        objects.put_json(customer_prefix(run_id, customer_id) + "inputs.json", sorted(set(keys)))
    objects.put_json(customers_key(run_id), customers)
    objects.put_json(period_inputs_key(run_id), sorted(everything))
    invoices.save_run(run_doc(run_id, period, mode, wanted, len(customers)))
    return customers


def run_doc(
    run_id: str, period: str, mode: str, customer_ids: list[str] | None, customer_count: int
) -> Doc:
    """The run's record as it starts (what an earlier attempt recorded is kept)."""
    existing = existing_run(run_id)
    return {
        **existing,
        "run_id": run_id,
        "period": period,
        "mode": mode,
        "customer_ids": customer_ids,
        "status": "running",
        "customer_count": customer_count,
        "started_at": existing.get("started_at") or _now(),
    }


def existing_run(run_id: str) -> Doc:
    try:
        return dict(invoices.get_run(run_id))
    except NotFound:
        return {}


def _account_owners(customer_ids: list[str]) -> dict[tuple[str, str], list[str]]:
    owners: dict[tuple[str, str], list[str]] = {}
    for customer_id in customer_ids:
        for account in reference.list_accounts(customer_id):
            owners.setdefault((account["provider"], account["account_id"]), []).append(customer_id)
    return owners


# --- per customer: PriceUsage → ComposeInvoice → ComputeTax -----------------------------------


def price_customer_usage(run_id: str, period: str, customer_id: str) -> tuple[str, int]:
    """Price the customer's lines of the run's snapshot: the priced usage's key, its rows."""
    prefix = customer_prefix(run_id, customer_id)
    customer_period = load_customer_period(customer_id, period)
    with tempfile.TemporaryDirectory(dir=get_config().tmp_dir) as tmp:
        local = [
            objects.download(key, Path(tmp) / "in" / f"{index}.parquet")
            for index, key in enumerate(objects.get_json(prefix + "inputs.json"))
        ]
        out = Path(tmp) / "priced-usage.parquet"
        summary = price_usage(customer_period, local, out)
        objects.upload(out, prefix + "priced-usage.parquet")
    objects.put_json(priced_summary_key(run_id, customer_id), summary.to_dict())
    return prefix + "priced-usage.parquet", summary.rows


def compose_customer_invoice(run_id: str, period: str, customer_id: str, priced_key: str) -> str:
    """Compose the invoice from the priced usage: the composed invoice's key."""
    customer_period = load_customer_period(customer_id, period)
    with tempfile.TemporaryDirectory(dir=get_config().tmp_dir) as tmp:
        priced = objects.download(priced_key, Path(tmp) / "priced-usage.parquet")
        invoice = compose_invoice(customer_period, priced)
    key = customer_prefix(run_id, customer_id) + "invoice-composed.json"
    objects.put_json(key, invoice.to_dict())
    return key


def compute_customer_tax(run_id: str, period: str, customer_id: str, invoice_key: str) -> str:
    """Tax the composed invoice: the taxed invoice's key."""
    customer_period = load_customer_period(customer_id, period)
    invoice = compute_tax(customer_period, Invoice.from_dict(objects.get_json(invoice_key)))
    key = customer_prefix(run_id, customer_id) + "invoice-taxed.json"
    objects.put_json(key, invoice.to_dict())
    return key


def taxed_invoice(invoice_key: str) -> Invoice:
    return Invoice.from_dict(objects.get_json(invoice_key))


def record_failure(run_id: str, customer_id: str, error_type: str, message: str) -> Doc:
    """A customer's invoice could not be made: the run's result for the customer."""
    result: Doc = {
        "customer_id": customer_id,
        "status": "failed",
        "error": {"type": error_type, "message": message},
    }
    invoices.record_result(run_id, customer_id, result)
    return result
