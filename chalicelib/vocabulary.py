"""Rebill's vocabularies, each declared once (docs/design.md §2).

The billing core, the bill parsers, the store, the API schema (``api/openapi.py``), ``infra/``
and ``localaws/`` import these names; none of them spells a list of its own. This module
imports nothing, so every layer may import it.
"""

from __future__ import annotations

# The clouds whose bills Rebill reads by name, and every provider code used in normalized data,
# price-list rules, accounts and the API ("other": a FOCUS file of a provider not named here).
CLOUD_PROVIDERS = ("aws", "gcp", "azure", "oci")
PROVIDERS = (*CLOUD_PROVIDERS, "other")

# An invoice document is an invoice or a credit note, in one of these statuses.
DOCUMENT_KINDS = ("invoice", "credit_note")
INVOICE_STATUSES = ("draft", "issued", "paid", "void")

# The kinds of an invoice's lines.
LINE_KINDS = (
    "subscription",
    "cloud_usage",
    "prepurchased_credit",
    "unused_credit",
    "discount",
    "custom",
    "tax_note",
)

# What a price-list rule may match a line item on.
MATCH_KEYS = (
    "provider",
    "service",
    "sku",
    "usage_type",
    "operation",
    "region",
    "account",
    "charge_category",
)

# An invoice run issues what it computes, or leaves it draft; and how it ended.
RUN_MODES = ("issue", "draft")
RUN_STATUSES = ("running", "succeeded", "partial", "failed")

# A bill file's record (docs/bills.md "Re-deliveries, duplicates and final bills").
BILL_STATUSES = ("processing", "processed", "superseded", "failed", "duplicate", "refused")

# Invoice numbers are PREFIX + year + counter; the settings may name another prefix.
DEFAULT_INVOICE_NUMBER_PREFIX = "INV-"
