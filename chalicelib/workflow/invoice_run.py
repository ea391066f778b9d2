"""The tasks of the generate-invoices state machine, one function per state.

Each task takes the small JSON the state machine passes along (run id, period, mode, customer
id, S3 keys) and returns it with its own output added: line items and invoices travel through
S3, never through the state payload. Every task is safe to retry.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.billing.invoice import Invoice, compose_invoice, compute_tax
from chalicelib.billing.invoice_csv import write_invoice_csv
from chalicelib.billing.lifecycle import Action, decide
from chalicelib.billing.pricing import price_usage
from chalicelib.config import get_config
from chalicelib.errors import Conflict, NotFound
from chalicelib.observability import logger, metrics
from chalicelib.service.invoices import issue_draft
from chalicelib.service.reconciliation import (
    period_inputs_key,
    priced_summary_key,
    reconcile_run_safely,
)
from chalicelib.store import bills, invoices, objects, reference
from chalicelib.store.invoice_keys import FILE_FIELDS, InvoiceCsvKeys, invoice_csv_keys
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
    pointer = invoices.live_pointer(customer_id, period)
    decision = decide(None if pointer is None else pointer["status"], payload.get("mode", "issue"))
    if pointer is not None and decision.action is Action.LEAVE_ISSUED:
        result: Payload = {
            "status": "unchanged",
            "invoice_id": pointer["invoice_id"],
            "reason": f"invoice already {pointer['status']}",
        }
        invoices.record_result(run_id, customer_id, {"customer_id": customer_id, **result})
        return {**payload, **result}
    # A void invoice keeps its id: the customer's next invoice of the period is the next one.
    sequence = (
        1 if pointer is None else pointer["sequence"] + (1 if pointer["status"] == "void" else 0)
    )
    invoice_id = invoices.invoice_id_for(customer_id, period, sequence)
    # The draft this one replaces, as read: the write below happens only over that very draft.
    replaces = invoices.get_invoice(invoice_id) if decision.action is Action.REPLACE_DRAFT else None
    invoice = Invoice.from_dict(objects.get_json(payload["invoice_key"]))
    csv_keys = draft_csv_keys(invoice_id, run_id)
    with tempfile.TemporaryDirectory(dir=get_config().tmp_dir) as tmp:
        priced = objects.download(payload["priced_key"], Path(tmp) / "priced-usage.parquet")
        detail_path, customer_path = Path(tmp) / "invoice.csv", Path(tmp) / "customer.csv"
        write_invoice_csv(invoice, priced, detail_path, customer_path)
        objects.upload(detail_path, csv_keys.detail, content_type="text/csv")
        objects.upload(customer_path, csv_keys.customer, content_type="text/csv")
    doc = {
        **invoice.to_dict(),
        "id": invoice_id,
        "number": None,
        "sequence": sequence,
        "customer_id": customer_id,
        "period": period,
        "status": "draft",
        "issued_at": None,
        "run_id": run_id,
        **csv_keys.fields(),
        "created_at": _now(),
    }
    try:
        invoices.save_live_invoice(doc, pointer, replaces)
    except Conflict:
        # Another run wrote this customer's invoice meanwhile, or it was issued: that one
        # stands, and this computation's CSV is nobody's.
        _delete_files(doc)
        return _unchanged(payload, "written concurrently by another run or issued")
    if replaces is not None:
        # The replaced draft can no longer be issued (issuing wants the draft as read).
        _delete_files(replaces, keep=doc)
    if decision.issue:
        try:
            doc = issue_draft(doc)
        except Conflict:
            # Issued by an operator (this very draft) or replaced by another run meanwhile.
            return _unchanged(payload, "issued or recomputed concurrently")
    result = {
        "status": "saved",
        "invoice_id": invoice_id,
        "invoice_status": doc["status"],
        "total": doc.get("total"),
        "currency": doc.get("currency"),
    }
    invoices.record_result(run_id, customer_id, {"customer_id": customer_id, **result})
    metrics.add_metric(name="InvoicesSaved", unit=MetricUnit.Count, value=1)
    return {**payload, **result}


def draft_csv_keys(invoice_id: str, run_id: str) -> InvoiceCsvKeys:
    """Keys of this computation alone: written before the draft's conditional write, they can
    never be keys an issued invoice points to (issued invoices are immutable)."""
    return invoice_csv_keys(invoice_id, f"{run_id}-{secrets.token_hex(8)}")


def _delete_files(doc: Mapping[str, Any], keep: Mapping[str, Any] | None = None) -> None:
    """Delete the generated files of a draft nobody can issue any more (but ``keep``'s)."""
    kept = {keep.get(name) for name in FILE_FIELDS} if keep else set()
    for name in FILE_FIELDS:
        if doc.get(name) and doc[name] not in kept:
            objects.delete(doc[name])


def _unchanged(payload: Payload, reason: str) -> Payload:
    run_id, period, customer_id = payload["run_id"], payload["period"], payload["customer_id"]
    pointer = invoices.live_pointer(customer_id, period)
    result = {
        "status": "unchanged",
        "invoice_id": None if pointer is None else pointer["invoice_id"],
        "reason": reason,
    }
    invoices.record_result(run_id, customer_id, {"customer_id": customer_id, **result})
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
    run = _existing_run(run_id) or invoices_run_doc(payload, 0)
    results = invoices.run_results(run_id)
    failed = [r for r in results if r["status"] == "failed"]
    counts = {
        "customers": run.get("customer_count", len(results)),
        "saved": sum(1 for r in results if r["status"] == "saved"),
        "unchanged": sum(1 for r in results if r["status"] == "unchanged"),
        "failed": len(failed),
    }
    counts["not_run"] = max(0, counts["customers"] - len(results))
    if "error" in payload:
        status = "failed"
        run["error"] = {"message": str(payload["error"].get("Cause") or payload["error"])}
    elif failed or counts["not_run"]:
        status = "failed" if len(failed) + counts["not_run"] == counts["customers"] else "partial"
    else:
        status = "succeeded"
    priced = [r["customer_id"] for r in results if r["status"] != "failed"]
    run.update(
        status=status,
        counts=counts,
        finished_at=_now(),
        errors=[{"customer_id": r["customer_id"], **r["error"]} for r in failed],
    )
    if "error" not in payload:
        run["reconciliation"] = reconcile_run_safely(
            run_id, run["period"], priced, whole_period=not run.get("customer_ids")
        )
    invoices.save_run(run)
    return {
        "type": "invoice-run.finished",
        "run_id": run_id,
        "period": run["period"],
        "mode": run["mode"],
        "status": status,
        "counts": counts,
        "balanced": (run.get("reconciliation") or {}).get("balanced"),
        "errors": run["errors"][:20],
    }
