"""The e-invoices of an issued invoice or credit note: EN 16931 in CII (Factur-X's XML) and in
UBL (Peppol BIS Billing 3.0), made from the stored invoice, ``settings.seller`` and the customer.

Each is made on the first request and stored once under its own key
(:func:`chalicelib.store.invoice_keys.einvoice_key`), never rewritten: every later download gets
the same bytes, whatever changes in the settings or the customer afterwards. Made on request,
not at issue, so that every invoice issued before e-invoices existed gets one too, and so that
an incomplete seller profile (no address country, no tax id) stops a download with a clear
error — fixed in the settings, the next request makes it — instead of stopping the issue.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.billing.lifecycle import InvalidTransition
from chalicelib.documents.cii import cii_xml
from chalicelib.documents.einvoice import EInvoiceIncomplete
from chalicelib.documents.ubl import ubl_xml
from chalicelib.errors import NotFound
from chalicelib.store import objects, reference
from chalicelib.store.invoice_keys import einvoice_key

XML = "application/xml"
Writer = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], bytes]
WRITERS: dict[str, Writer] = {"cii": cii_xml, "ubl": ubl_xml}


def einvoice_xml(invoice: Mapping[str, Any], syntax: str) -> bytes:
    """The e-invoice of a stored issued invoice, from today's seller and customer documents."""
    if invoice.get("status") == "draft":
        raise InvalidTransition(
            f"invoice {invoice['id']} is a draft: its e-invoice exists once it is issued"
        )
    seller = reference.get_settings().get("seller") or {}
    try:
        buyer = reference.get_document("customer", invoice["customer_id"])
    except NotFound:  # deleted since: the invoice exists, its buyer's profile does not
        raise EInvoiceIncomplete(
            f"customer {invoice['customer_id']!r} no longer exists: the e-invoice of invoice "
            f"{invoice.get('number')} cannot name its buyer",
            field="customer_id",
        ) from None
    return WRITERS[syntax](invoice, seller, buyer)


def stored_einvoice(invoice: Mapping[str, Any], syntax: str) -> str:
    """The object key of the invoice's e-invoice in ``syntax`` (cii | ubl), made if need be."""
    key = einvoice_key(invoice["id"], syntax)
    if objects.head(key) is None:
        xml = einvoice_xml(invoice, syntax)
        number = re.sub(r"[^A-Za-z0-9._-]", "_", str(invoice.get("number") or invoice["id"]))
        name = f"{number}-{syntax}.xml"
        objects.put_once(key, xml, XML, download_name=name)  # a concurrent first writer wins
    return key
