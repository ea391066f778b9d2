"""The tasks of the generate-invoices state machine, one function per state.

Each task takes the small JSON the state machine passes along (run id, period, mode, customer
id, S3 keys) and returns it with its own output added: line items and invoices travel through
S3, never through the state payload. Every task is safe to retry.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.observability import logger, metrics
from chalicelib.service import invoice_stages, run_invoices, runs
from chalicelib.store import objects, run_files

Payload = dict[str, Any]


# --- PrepareRun -------------------------------------------------------------------------------


def prepare_run(payload: Payload) -> Payload:
    """Snapshot the period's current bill data, map accounts to customers, write the work list."""
    run_id, period, mode = payload["run_id"], payload["period"], payload.get("mode", "issue")
    logger.append_keys(run_id=run_id, period=period)
    customers = invoice_stages.prepare_run(
        run_id, period, mode, payload.get("customer_ids") or None
    )
    return {
        "run_id": run_id,
        "period": period,
        "mode": mode,
        "bucket": objects.bucket(),
        "customers_key": run_files.customers_key(run_id),
        "customer_count": len(customers),
    }


# --- per customer: PriceUsage → ComposeInvoice → ComputeTax → SaveInvoice ---------------------


def price_customer_usage(payload: Payload) -> Payload:
    run_id, period, customer_id = payload["run_id"], payload["period"], payload["customer_id"]
    logger.append_keys(run_id=run_id, period=period, customer_id=customer_id)
    priced_key, rows = invoice_stages.price_customer_usage(run_id, period, customer_id)
    logger.info("usage priced", extra={"rows": rows})
    return {**payload, "priced_key": priced_key}


def compose_customer_invoice(payload: Payload) -> Payload:
    key = invoice_stages.compose_customer_invoice(
        payload["run_id"], payload["period"], payload["customer_id"], payload["priced_key"]
    )
    return {**payload, "invoice_key": key}


def compute_customer_tax(payload: Payload) -> Payload:
    key = invoice_stages.compute_customer_tax(
        payload["run_id"], payload["period"], payload["customer_id"], payload["invoice_key"]
    )
    return {**payload, "invoice_key": key}


def save_customer_invoice(payload: Payload) -> Payload:
    """Store the invoice as the customer's live invoice for the period (docs/design.md §4.4)."""
    run_id, period, customer_id = payload["run_id"], payload["period"], payload["customer_id"]
    logger.append_keys(run_id=run_id, period=period, customer_id=customer_id)
    result = run_invoices.save_customer_invoice(
        run_id,
        period,
        customer_id,
        payload.get("mode", "issue"),
        invoice_stages.taxed_invoice(payload["invoice_key"]),
        payload["priced_key"],
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
    result = invoice_stages.record_failure(
        payload["run_id"], payload["customer_id"], error_type, message
    )
    metrics.add_metric(name="CustomerInvoicesFailed", unit=MetricUnit.Count, value=1)
    logger.warning("customer invoice failed", extra=result)
    return {"run_id": payload["run_id"], "customer_id": payload["customer_id"], "status": "failed"}


# --- FinishRun -----------------------------------------------------------------------------


def finish_run(payload: Payload) -> Payload:
    run_id = payload["run_id"]
    failure = payload.get("error")
    run = runs.finish_run(
        invoice_stages.existing_run(run_id)
        or invoice_stages.run_doc(
            run_id, payload["period"], payload.get("mode", "issue"), payload.get("customer_ids"), 0
        ),
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
