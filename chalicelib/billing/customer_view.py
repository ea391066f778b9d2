"""What a customer sees of an invoice: named fields only, none of the reseller's figures.

One whitelist for every place an invoice reaches its customer: the API's customer view and the
PDF document. A field added later for operators (a reseller figure) stays with the operators
until someone adds it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CUSTOMER_FIELDS = (
    "id",
    "number",
    "kind",
    "customer_id",
    "customer_name",
    "period",
    "currency",
    "status",
    "issued_at",
    "issue_date",
    "due_date",
    "service_period",
    "payment_terms_days",
    "paid_at",
    "voided_at",
    "credit_note_for",
    "credited_invoice_id",
    "credited_invoice_number",
    "lines",
    "subscriptions_total",
    "cloud_usage_total",
    "prepurchased_applied",
    "overage",
    "discount_total",
    "subtotal",
    "taxes",
    "tax_total",
    "total",
    "payments",
    "amount_paid",
    "balance_due",
    "overdue",
)
CUSTOMER_LINE_FIELDS = ("kind", "description", "provider", "service", "quantity", "amount")
CUSTOMER_TAX_FIELDS = ("name", "rate", "base", "amount", "note")


def _pick(doc: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: doc[k] for k in fields if k in doc}


def customer_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An invoice as its customer sees it: what they are billed, none of the reseller's figures."""
    view = _pick(doc, CUSTOMER_FIELDS)
    if "lines" in view:
        view["lines"] = [_pick(line, CUSTOMER_LINE_FIELDS) for line in view["lines"]]
    if "taxes" in view:
        view["taxes"] = [_pick(tax, CUSTOMER_TAX_FIELDS) for tax in view["taxes"]]
    return view
