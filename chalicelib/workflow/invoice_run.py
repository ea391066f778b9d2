"""The tasks of the generate-invoices state machine, one function per state.

Each task takes the small JSON the state machine passes along (run id, period, mode, customer
id, S3 keys) and returns it with its own output added: line items and invoices travel through
S3, never through the state payload. Every task is safe to retry.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.billing.invoice import Invoice, compose_invoice, compute_tax
from chalicelib.billing.pricing import price_usage
from chalicelib.config import get_config
from chalicelib.errors import NotFound
from chalicelib.observability import logger, metrics
from chalicelib.service import run_invoices, runs
from chalicelib.service.reconciliation import (
    period_inputs_key,
    priced_summary_key,
)
from chalicelib.store import bills, invoices, objects, reference
from chalicelib.workflow.customer_period import load_customer_period

Payload = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _customer_prefix(run_id: str, customer_id: str) -> str:
    return f"{objects.RUNS_PREFIX}{run_id}/customers/{customer_id}/"


# --- PrepareRun -------------------------------------------------------------------------------


def prepare_run(payload: Payload) -> Payload:
    """Snapshot the period's current bill data, map accounts to customers, write the work list."""
    run_id, period, mode = payload["run_id"], payload["period"], payload.get("mode", "issue")
    logger.append_keys(run_id=run_id, period=period)
    wanted = payload.get("customer_ids") or None
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
    prefix = f"{objects.RUNS_PREFIX}{run_id}/"
    for customer_id, keys in inputs.items():
        objects.put_json(f"{prefix}customers/{customer_id}/inputs.json", sorted(set(keys)))
    objects.put_json(f"{prefix}customers.json", customers)
    objects.put_json(period_inputs_key(run_id), sorted(everything))
    invoices.save_run(invoices_run_doc(payload, len(customers)))
    return {
        "run_id": run_id,
        "period": period,
        "mode": mode,
        "bucket": objects.bucket(),
        "customers_key": f"{prefix}customers.json",
        "customer_count": len(customers),
    }


def invoices_run_doc(payload: Payload, customer_count: int) -> Payload:
    existing = _existing_run(payload["run_id"])
    return {
        **existing,
        "run_id": payload["run_id"],
        "period": payload["period"],
        "mode": payload.get("mode", "issue"),
        "customer_ids": payload.get("customer_ids"),
        "status": "running",
        "customer_count": customer_count,
        "started_at": existing.get("started_at") or _now(),
    }


def _existing_run(run_id: str) -> Payload:
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


# --- per customer: PriceUsage → ComposeInvoice → ComputeTax → SaveInvoice ---------------------


def price_customer_usage(payload: Payload) -> Payload:
    run_id, period, customer_id = payload["run_id"], payload["period"], payload["customer_id"]
    logger.append_keys(run_id=run_id, period=period, customer_id=customer_id)
    prefix = _customer_prefix(run_id, customer_id)
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
    logger.info("usage priced", extra={"rows": summary.rows})
    return {**payload, "priced_key": prefix + "priced-usage.parquet"}


def compose_customer_invoice(payload: Payload) -> Payload:
    customer_period = load_customer_period(payload["customer_id"], payload["period"])
    with tempfile.TemporaryDirectory(dir=get_config().tmp_dir) as tmp:
        priced = objects.download(payload["priced_key"], Path(tmp) / "priced-usage.parquet")
        invoice = compose_invoice(customer_period, priced)
    key = _customer_prefix(payload["run_id"], payload["customer_id"]) + "invoice-composed.json"
    objects.put_json(key, invoice.to_dict())
    return {**payload, "invoice_key": key}


def compute_customer_tax(payload: Payload) -> Payload:
    customer_period = load_customer_period(payload["customer_id"], payload["period"])
    invoice = compute_tax(
        customer_period, Invoice.from_dict(objects.get_json(payload["invoice_key"]))
    )
    key = _customer_prefix(payload["run_id"], payload["customer_id"]) + "invoice-taxed.json"
    objects.put_json(key, invoice.to_dict())
    return {**payload, "invoice_key": key}


def save_customer_invoice(payload: Payload) -> Payload:
    """Store the invoice as the customer's live invoice for the period (docs/design.md §4.4)."""
    run_id, period, customer_id = payload["run_id"], payload["period"], payload["customer_id"]
    logger.append_keys(run_id=run_id, period=period, customer_id=customer_id)
    invoice = Invoice.from_dict(objects.get_json(payload["invoice_key"]))
    result = run_invoices.save_customer_invoice(
        run_id, period, customer_id, payload.get("mode", "issue"), invoice, payload["priced_key"]
    )
    if result["status"] == "saved":
        metrics.add_metric(name="InvoicesSaved", unit=MetricUnit.Count, value=1)
    return {**payload, **result}


def record_failure(payload: Payload) -> Payload:
    """A customer's invoice could not be made: record why; the run goes on with the others."""
    error = payload.get("error") or {}
    message = str(error.get("Cause") or error.get("Error") or "unknown error")
    error_type = str(error.get("Error") or "Error")
    try:
        cause = json.loads(message)
        message = str(cause.get("errorMessage") or message)
        error_type = str(cause.get("errorType") or error_type)
    except (ValueError, AttributeError):
        pass
    result = {
        "customer_id": payload["customer_id"],
        "status": "failed",
        "error": {"type": error_type, "message": message},
    }
    invoices.record_result(payload["run_id"], payload["customer_id"], result)
    metrics.add_metric(name="CustomerInvoicesFailed", unit=MetricUnit.Count, value=1)
    logger.warning("customer invoice failed", extra=result)
    return {"run_id": payload["run_id"], "customer_id": payload["customer_id"], "status": "failed"}


# --- FinishRun -----------------------------------------------------------------------------


def finish_run(payload: Payload) -> Payload:
    run_id = payload["run_id"]
    failure = payload.get("error")
    run = runs.finish_run(
        _existing_run(run_id) or invoices_run_doc(payload, 0),
        None if failure is None else str(failure.get("Cause") or failure),
    )
    return {
        "type": "invoice-run.finished",
        "run_id": run_id,
        "period": run["period"],
        "mode": run["mode"],
        "status": run["status"],
        "counts": run["counts"],
        "balanced": (run.get("reconciliation") or {}).get("balanced"),
        "errors": run["errors"][:20],
    }
