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
    # the two CSVs of the computation that made it (store/invoice_keys.py)
    csv_key: str
    customer_csv_key: str


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
    error: Doc


class AccountRecord(TypedDict, total=False):
    """A cloud account of a customer (``CUSTOMER#<id>`` / ``ACCOUNT#<provider>#<account>``)."""

    customer_id: str
    provider: str
    account_id: str
    price_list_id: str | None
    valid_from: str | None
    valid_to: str | None
