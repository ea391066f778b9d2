"""The tasks of the generate-invoices state machine, one function per state.

Each task takes the small JSON the state machine passes along (run id, period, mode, a batch of
customer ids, S3 keys) and returns small JSON: line items and invoices travel through S3, never
through the state payload. Every task is safe to retry.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.observability import logger, metrics
from chalicelib.service import invoice_stages, runs
from chalicelib.store import objects, run_files

Payload = dict[str, Any]


# --- PrepareRun -------------------------------------------------------------------------------


def prepare_run(payload: Payload) -> Payload:
    """Snapshot the period's current bill data, map accounts to customers, write the work list."""
    run_id, period, mode = payload["run_id"], payload["period"], payload.get("mode", "issue")
    logger.append_keys(run_id=run_id, period=period)
    batches = invoice_stages.prepare_run(run_id, period, mode, payload.get("customer_ids") or None)
    return {
        "run_id": run_id,
        "period": period,
        "mode": mode,
        "bucket": objects.bucket(),
        "customers_key": run_files.customers_key(run_id),
        "customer_count": sum(len(b["customer_ids"]) for b in batches),
        "batch_count": len(batches),
    }


# --- per batch of customers: InvoiceBatch (price → compose → tax → save each), RecordFailure ---


def invoice_batch(payload: Payload) -> Payload:
    """Invoice every customer of one batch; the batch's counts (each customer's result is on the
    run). ``payload["batch"]`` is the Map item PrepareRun wrote: ``{batch, customer_ids}``."""
    run_id, period, batch = payload["run_id"], payload["period"], payload["batch"]
    logger.append_keys(run_id=run_id, period=period, batch=batch["batch"])
    results = invoice_stages.invoice_batch(
        run_id, period, payload.get("mode", "issue"), batch["batch"]
    )
    counts = runs.result_counts(results)
    metrics.add_metric(name="InvoicesSaved", unit=MetricUnit.Count, value=counts["saved"])
    if counts["failed"]:
        metrics.add_metric(
            name="CustomerInvoicesFailed", unit=MetricUnit.Count, value=counts["failed"]
        )
    logger.info("batch invoiced", extra={"counts": counts})
    return {"run_id": run_id, "batch": batch["batch"], "counts": counts}


def record_failure(payload: Payload) -> Payload:
    """A batch task failed as a whole: record why for each of its customers without a result;
    the run goes on with the other batches."""
    error = payload.get("error") or {}
    message = str(error.get("Cause") or error.get("Error") or "unknown error")
    error_type = str(error.get("Error") or "Error")
    try:
        cause = json.loads(message)
        message = str(cause.get("errorMessage") or message)
        error_type = str(cause.get("errorType") or error_type)
    except (ValueError, AttributeError):
        pass
    batch = payload["batch"]
    failed = invoice_stages.record_batch_failure(
        payload["run_id"], batch["customer_ids"], error_type, message
    )
    metrics.add_metric(name="CustomerInvoicesFailed", unit=MetricUnit.Count, value=len(failed))
    logger.warning(
        "batch failed", extra={"batch": batch["batch"], "failed": len(failed), "error": message}
    )
    return {"run_id": payload["run_id"], "batch": batch["batch"], "status": "failed"}


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
