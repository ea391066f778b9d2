"""The stored documents' shapes: what the store's readers return, named once.

A document is kept as JSON in its item's ``doc`` attribute, in the shape of the API
(docs/design.md §5.1 and §9): money as decimal strings, timestamps as ISO 8601 text. These
TypedDicts say which fields a caller may rely on; a field added to a document later is
allowed (``total=False`` where a document grows over its life). ``Doc`` is any other stored
JSON document.
"""

from __future__ import annotations

from typing import Any, TypedDict

Doc = dict[str, Any]


class LivePointer(TypedDict):
    """``LIVE#<customer>#<period>``: which invoice is the customer's live one for the period."""

    invoice_id: str
    sequence: int
    status: str


class InvoiceRecord(TypedDict, total=False):
    """An invoice or credit note (``kind``), as the billing core's ``Invoice.to_dict`` gives it
    plus what storage adds: id, number, sequence, run, CSV keys, timestamps."""

    id: str
    number: str | None
    kind: str
    customer_id: str
    period: str
    currency: str
    status: str
    sequence: int
    run_id: str | None
    issued_at: str | None
    issue_date: str  # YYYY-MM-DD; with due_date, service_period and payment_terms_days set when
    due_date: str  # the document is issued (chalicelib/billing/terms.py)
    service_period: Doc
    payment_terms_days: int
    paid_at: str | None
    voided_at: str | None
    created_at: str
    credit_note_for: str | None
    credited_invoice_id: str | None
    credited_invoice_number: str | None
    void_reason: str
    credit_reason: str
    lines: list[Doc]
    subscriptions_total: str
    cloud_usage_total: str
    prepurchased_applied: str
    overage: str
    discount_total: str
    subtotal: str
    taxes: list[Doc]
    tax_total: str
    total: str
    # the reseller's figures (operators only, docs/design.md §5.1)
    cost: str
    price: str
    margin: str
    margin_percent: str | None
    savings_retained: str
    credit: str
    applied: str
    overage_waived: str
    unused_credit: str
    rollover_in: str
    rollover_out: str
    report: Doc
    fx_rates: list[Doc]
    # the last email of the issued document: {status: sent|failed, at, to, message_id | reason}
    delivery: Doc
    # the two CSVs of the computation that made it (store/invoice_keys.py)
    csv_key: str
    customer_csv_key: str
    pdf_key: str  # the issued document's PDF, written once (service/invoice_documents.py)


class RunCounts(TypedDict):
    customers: int
    saved: int
    unchanged: int
    failed: int
    not_run: int


class RunRecord(TypedDict, total=False):
    """``RUN#<run id>``: an invoice run, from the request to its counts and reconciliation."""

    run_id: str
    period: str
    mode: str
    customer_ids: list[str] | None
    status: str
    requested_at: str
    started_by: Doc  # {subject, name}: who asked for the run
    started_at: str
    finished_at: str
    customer_count: int
    counts: RunCounts
    errors: list[Doc]
    error: Doc
    reconciliation: Doc | None


class RunResult(TypedDict, total=False):
    """What a run did for one customer: saved, unchanged or failed."""

    customer_id: str
    status: str
    invoice_id: str | None
    invoice_status: str
    total: str | None
    currency: str | None
    reason: str
    deleted_draft_id: str  # the stale draft a run with nothing to bill deleted
    error: Doc


class AccountRecord(TypedDict, total=False):
    """A cloud account of a customer (``CUSTOMER#<id>`` / ``ACCOUNT#<provider>#<account>``)."""

    customer_id: str
    provider: str
    account_id: str
    price_list_id: str | None
    valid_from: str | None
    valid_to: str | None


class BillRef(TypedDict):
    """The earlier bill file a duplicate repeats byte for byte."""

    bill_id: str
    key: str | None


class Collision(TypedDict):
    """The current version of a report that a bill file collided with, or was superseded by."""

    bill_id: str | None
    key: str
    report: str
    bill_ids: list[str]


class BillRecord(TypedDict, total=False):
    """``BILL#<bill id>``: a bill file, from its landing (``processing``) to what became of it:
    processed, failed (quarantined, or ``retryable`` on a failure of ours), duplicate, refused
    or superseded (docs/bills.md)."""

    id: str
    key: str
    status: str
    format: str | None
    provider: str | None
    periods: list[str]
    rows: int
    currency: str | None
    totals: dict[str, str] | None
    final: bool
    error: Doc | None
    received_at: str
    processed_at: str | None
    size: int
    seconds: float
    retryable: bool
    late_after_final: bool
    content_sha256: str
    # a part of a multi-part delivery: the delivery taking it in, and that its own event came
    delivery_id: str
    landed: bool
    # what became of a file that is not current
    duplicate_of: BillRef
    collided_with: Collision
    superseded_by: Collision | None
    quarantine_key: str


class AccountAggregate(TypedDict):
    """``PERIOD#<period>`` / ``ACCOUNT#<provider>#<account>#<bill id>``: one account's lines of
    one bill file in the period, and the Parquet file that holds them."""

    bill_id: str
    provider: str
    account_id: str
    billing_account_id: str | None
    period: str
    rows: int
    billed_cost: str
    effective_cost: str
    list_cost: str
    savings_eligible_cost: str
    currency: str
    parquet_key: str


class FailedPart(TypedDict):
    """A part that kept a delivery from being published, and why."""

    part_key: str
    error: Doc


class DeliveryRecord(TypedDict, total=False):
    """``DELIVERY#<id>``: a multi-part report delivery, from its manifest (``receiving``) to
    ``current``, ``superseded``, ``refused`` or ``failed``."""

    delivery_id: str
    manifest_key: str
    report: str
    assembly_id: str
    period: str | None
    delivered_at: str
    expected_parts: int
    status: str
    attempt: int
    execution_arn: str
    failed_parts: list[FailedPart]
    finished_at: str
    periods: list[str]
    bill_ids: list[str]
    totals: dict[str, str]
    error: Doc


class PartOutcome(TypedDict):
    """``DELIVERY#<id>`` / ``PART#<part key>``: what became of one part of a delivery."""

    part_key: str
    bill_id: str
    status: str
    error: Doc | None
