"""Rebill's vocabularies, each declared once (docs/design.md §2).

The billing core, the bill parsers, the store, the API schema (``api/openapi.py``), ``infra/``
and ``localaws/`` import these names; none of them spells a list of its own. The portal reads
the ones it shows from its ``config.json`` (``portal_vocabulary()``, written by ``infra/`` and
``localaws/``). This module imports nothing, so every layer may import it.
"""

from __future__ import annotations

# The clouds whose bills Rebill reads by name, and every provider code used in normalized data,
# price-list rules, accounts and the API ("other": a FOCUS file of a provider not named here).
CLOUD_PROVIDERS = ("aws", "gcp", "azure", "oci")
PROVIDERS = (*CLOUD_PROVIDERS, "other")
# Each provider's name as the provider itself writes it.
PROVIDER_NAMES = {
    "aws": "AWS",
    "gcp": "Google Cloud",
    "azure": "Azure",
    "oci": "Oracle Cloud",
    "other": "Other",
}

# An invoice document is an invoice or a credit note, in one of these statuses.
DOCUMENT_KINDS = ("invoice", "credit_note")
INVOICE_STATUSES = ("draft", "issued", "paid", "void")
INVOICE_STATUS_NAMES = {"draft": "Draft", "issued": "Issued", "paid": "Paid", "void": "Void"}

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
LINE_KIND_NAMES = {
    "subscription": "Subscription",
    "cloud_usage": "Cloud usage",
    "prepurchased_credit": "Pre-purchased credit",
    "unused_credit": "Unused credit",
    "discount": "Discount",
    "custom": "Custom item",
    "tax_note": "Tax note",
}

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
MATCH_KEY_NAMES = {
    "provider": "Provider",
    "service": "Service",
    "sku": "SKU",
    "usage_type": "Usage type",
    "operation": "Operation",
    "region": "Region",
    "account": "Account",
    "charge_category": "Charge category",
}

# An invoice run issues what it computes, or leaves it draft; and how it ended.
RUN_MODES = ("issue", "draft")
RUN_STATUSES = ("running", "succeeded", "partial", "failed")

# A bill file's record (docs/bills.md "Re-deliveries, duplicates and final bills").
BILL_STATUSES = ("processing", "processed", "superseded", "failed", "duplicate", "refused")
# The files the bills screen puts first, of every month: not taken in, or still waiting to be.
BILL_ATTENTION_STATUSES = ("failed", "refused", "processing")
BILL_ATTENTION_NAMES = {"failed": "Failed", "refused": "Refused", "processing": "Waiting"}

# Invoice numbers are PREFIX + year + counter; the settings may name another prefix.
DEFAULT_INVOICE_NUMBER_PREFIX = "INV-"

# An invoice is due this many days after it is issued unless the customer or seller says otherwise.
DEFAULT_PAYMENT_TERMS_DAYS = 30

# The languages an invoice document can be written in (labels, dates and numbers).
INVOICE_LANGUAGES = ("en", "de", "fr")

# The EN 16931 e-invoice syntaxes: UN/CEFACT CII (Factur-X's XML) and UBL (Peppol BIS 3.0).
EINVOICE_FORMATS = ("cii", "ubl")


def portal_vocabulary() -> dict[str, dict[str, str]]:
    """The vocabularies the portal shows, for its ``config.json``: each one code → name, in the
    order declared here (JSON objects and JavaScript keep the order of such keys)."""

    def named(codes: tuple[str, ...], names: dict[str, str]) -> dict[str, str]:
        return {code: names[code] for code in codes}

    return {
        "providers": named(PROVIDERS, PROVIDER_NAMES),
        "invoice_statuses": named(INVOICE_STATUSES, INVOICE_STATUS_NAMES),
        "line_kinds": named(LINE_KINDS, LINE_KIND_NAMES),
        "match_keys": named(MATCH_KEYS, MATCH_KEY_NAMES),
        "bill_attention_statuses": named(BILL_ATTENTION_STATUSES, BILL_ATTENTION_NAMES),
    }
