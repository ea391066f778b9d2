"""What an invoice run does with one customer's computed invoice (docs/design.md §4.4).

The invoice becomes the customer's live draft for the period — created, or over the draft the
run read — with its two CSVs, and in ``issue`` mode it is issued. ``decide`` of the billing
core says which; an issued or paid invoice is never touched. Whatever another run or an
operator did meanwhile wins, and this computation's files are then nobody's and deleted.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from chalicelib.billing.document import Invoice
from chalicelib.billing.invoice_csv import write_invoice_csv
from chalicelib.billing.lifecycle import Action, decide
from chalicelib.config import get_config
from chalicelib.errors import Conflict
from chalicelib.service.invoices import issue_draft
from chalicelib.store import invoices, objects
from chalicelib.store.invoice_keys import FILE_FIELDS, InvoiceCsvKeys, invoice_csv_keys
from chalicelib.store.records import Doc, InvoiceRecord, LivePointer

NOTHING_TO_BILL = "nothing to bill"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def save_customer_invoice(
    run_id: str, period: str, customer_id: str, mode: str, invoice: Invoice, priced: Path
) -> Doc:
    """Store ``invoice`` as the customer's live invoice; the run's result for the customer
    (``saved`` or ``unchanged``; the caller records it on the run). ``priced`` is the priced
    usage (Parquet) the invoice was composed from: its CSVs are written from it."""
    return save_invoice_over(
        invoices.live_pointer(customer_id, period),
        {},
        run_id,
        period,
        customer_id,
        mode,
        invoice,
        priced,
    )


def save_invoice_over(
    pointer: LivePointer | None,
    drafts: Mapping[str, InvoiceRecord],
    run_id: str,
    period: str,
    customer_id: str,
    mode: str,
    invoice: Invoice,
    priced: Path,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Doc:
    """As :func:`save_customer_invoice`, over the live ``pointer`` the caller read (consistently)
    and, when it replaces a draft, over that draft as the caller read it in ``drafts`` (by id;
    read here when absent). The writes are conditional on both, as read. ``con``: the DuckDB
    connection to read the priced usage with (a batch's customers share one)."""
    decision = decide(None if pointer is None else pointer["status"], mode)
    if invoice.nothing_to_bill and decision.action is not Action.LEAVE_ISSUED:
        return _nothing_to_bill(period, customer_id, pointer)
    if pointer is not None and decision.action is Action.LEAVE_ISSUED:
        return {
            "customer_id": customer_id,
            "status": "unchanged",
            "invoice_id": pointer["invoice_id"],
            "reason": f"invoice already {pointer['status']}",
        }
    # After a void the period's next invoice takes the next sequence (the void one keeps its id).
    sequence = (
        1 if pointer is None else pointer["sequence"] + (1 if pointer["status"] == "void" else 0)
    )
    invoice_id = invoices.invoice_id_for(customer_id, period, sequence)
    # The draft this one replaces, as read: the write below happens only over that very draft.
    replaces = (
        (drafts.get(invoice_id) or invoices.get_invoice(invoice_id))
        if decision.action is Action.REPLACE_DRAFT
        else None
    )
    csv_keys = draft_csv_keys(invoice_id, run_id)
    with tempfile.TemporaryDirectory(dir=get_config().tmp_dir) as tmp:
        detail_path, customer_path = Path(tmp) / "invoice.csv", Path(tmp) / "customer.csv"
        write_invoice_csv(invoice, priced, detail_path, customer_path, con)
        objects.put_file(detail_path, csv_keys.detail, content_type="text/csv")
        objects.put_file(customer_path, csv_keys.customer, content_type="text/csv")
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
        return _unchanged(period, customer_id, "written concurrently by another run or issued")
    if replaces is not None:
        # The replaced draft can no longer be issued (issuing wants the draft as read).
        _delete_files(replaces, keep=doc)
    if decision.issue:
        try:
            doc = issue_draft(doc)
        except Conflict:
            # Issued by an operator (this very draft) or replaced by another run meanwhile.
            return _unchanged(period, customer_id, "issued or recomputed concurrently")
    return {
        "customer_id": customer_id,
        "status": "saved",
        "invoice_id": invoice_id,
        "invoice_status": doc["status"],
        "total": doc.get("total"),
        "currency": doc.get("currency"),
    }


def _nothing_to_bill(period: str, customer_id: str, pointer: LivePointer | None) -> Doc:
    """No line bills anything: no $0.00 draft. A draft of an earlier run, which billed
    something then, is stale and deleted with its files (it was never issued, nobody saw it)."""
    result: Doc = {
        "customer_id": customer_id,
        "status": "unchanged",
        "invoice_id": None,
        "reason": NOTHING_TO_BILL,
    }
    if pointer is not None and pointer["status"] == "draft":
        stale = invoices.get_invoice(pointer["invoice_id"])
        try:
            invoices.delete_live_draft(stale, pointer)
        except Conflict:
            return _unchanged(period, customer_id, "recomputed or issued concurrently")
        _delete_files(stale)
        result["deleted_draft_id"] = stale["id"]
    elif pointer is not None:  # the void invoice the next one would follow
        result["invoice_id"] = pointer["invoice_id"]
    return result


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


def _unchanged(period: str, customer_id: str, reason: str) -> Doc:
    pointer = invoices.live_pointer(customer_id, period)
    return {
        "customer_id": customer_id,
        "status": "unchanged",
        "invoice_id": None if pointer is None else pointer["invoice_id"],
        "reason": reason,
    }
