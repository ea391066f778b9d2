"""The PDF of an invoice or credit note: rendered when it is issued, stored once, never rewritten.

An issued document's PDF is written under ``invoices/<id>/issued/<number>.pdf`` only where no
object is (``If-None-Match: *``), and the invoice records its key (``pdf_key``) with a write
conditioned on the invoice as read, so nothing else of an issued invoice changes. Rendering can
fail (a bug, S3 down): the issue stands without ``pdf_key``, and the first request for the PDF
renders and stores it then (:func:`issued_pdf_key`). A draft's PDF carries the DRAFT mark and is
rendered again at each request, into the folder of the draft's own computation.

The document is rendered from the invoice record, the settings' seller and the customer's
profile as they are when it is issued; the seller's logo is read from the bucket, and a logo
that is missing, too large or not a PNG/JPEG is left out with a log line.

The payments and email side attaches :func:`issued_pdf` (the bytes) to what it sends.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.billing.lifecycle import InvalidTransition
from chalicelib.billing.reference import Settings
from chalicelib.documents.einvoice import EInvoiceIncomplete
from chalicelib.documents.pdf import LANGUAGES, MAX_LOGO_BYTES, render
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.service import einvoices
from chalicelib.store import invoices, objects, reference
from chalicelib.store.invoice_keys import PDF_FIELD, draft_pdf_key, issued_pdf_key
from chalicelib.store.records import Doc, InvoiceRecord

logger = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"
RECORD_ATTEMPTS = 3  # the invoice changed (paid, voided) while its PDF was recorded: read again
LOGO_UPLOAD_SECONDS = 900
LOGO_TYPES = {"image/png": ".png", "image/jpeg": ".jpg"}


# --- rendering ----------------------------------------------------------------------------------


def _logo(key: str | None) -> bytes | None:
    """The seller's logo, or None: a missing or unreadable logo never stops a document."""
    if not key:
        return None
    try:
        found = objects.head(key)
        if found is None:
            logger.warning("logo %s skipped: no such object (was it uploaded?)", key)
            return None
        if int(found.get("ContentLength", 0)) > MAX_LOGO_BYTES:
            logger.warning("logo %s skipped: larger than %d bytes", key, MAX_LOGO_BYTES)
            return None
        return objects.get_bytes(key)
    except Exception:  # a logo is decoration: the document goes on without it
        logger.exception("logo %s skipped: it could not be read", key)
        return None


def render_pdf(doc: Mapping[str, Any], einvoice_xml: bytes | None = None) -> bytes:
    """The PDF of ``doc`` as its customer gets it (a draft with the DRAFT mark)."""
    seller: Mapping[str, Any] = reference.get_settings().get("seller") or {}
    try:
        customer: Mapping[str, Any] = reference.get_document("customer", doc["customer_id"])
    except NotFound:  # a customer deleted since: the buyer block is its id
        customer = {}
    language = customer.get("language") or "en"
    if language not in LANGUAGES:
        language = "en"
    return render(
        doc,
        seller,
        customer,
        language,
        draft=doc.get("status") == "draft",
        logo=_logo(seller.get("logo_key")),
        einvoice_xml=einvoice_xml,
    )


# --- the issued document's PDF ------------------------------------------------------------------


def _factur_x(doc: Mapping[str, Any]) -> bytes | None:
    """The CII e-invoice an issued document's PDF carries as Factur-X: the stored one (made now
    if need be), so the PDF's XML and the XML download are the same bytes. None when the
    e-invoice cannot be made (an incomplete seller profile, a BHD amount in fils): the PDF is
    still rendered, without it, and the reason logged."""
    try:
        return objects.get_bytes(einvoices.stored_einvoice(doc, "cii"))
    except EInvoiceIncomplete as error:
        logger.warning("%s: its PDF carries no Factur-X XML: %s", doc["id"], error)
        return None


def store_issued_pdf(doc: Mapping[str, Any]) -> InvoiceRecord:
    """``doc`` with its ``pdf_key``: the PDF (with the CII e-invoice inside as Factur-X)
    rendered and stored once, then recorded.

    A document that has its PDF is returned as it is: nothing is rendered or written again."""
    if doc.get("status") == "draft" or not doc.get("number"):
        raise InvalidTransition(f"{doc['id']} is a draft: its PDF is rendered on demand")
    if doc.get(PDF_FIELD):
        return doc  # type: ignore[return-value]
    key = issued_pdf_key(doc["id"], doc["number"])
    # Written before (a recording that lost a race, a retried issue): that object stands.
    if objects.head(key) is None:
        objects.put_new(key, render_pdf(doc, _factur_x(doc)), PDF_CONTENT_TYPE)
    return _record(doc, key)


def _record(doc: Mapping[str, Any], key: str) -> InvoiceRecord:
    read = doc
    for _ in range(RECORD_ATTEMPTS):
        recorded = invoices.record_file(read, PDF_FIELD, key)
        if recorded is not None:
            return recorded
        read = invoices.get_invoice(doc["id"])
        if read.get(PDF_FIELD):
            return read
    raise Conflict(f"invoice {doc['id']} kept changing while its PDF was recorded")


def with_pdf(doc: Doc) -> Doc:
    """Right after a document is issued: store its e-invoices (CII and UBL) and its PDF (with
    the CII inside as Factur-X).

    The issue is never lost to a document that failed: the document is returned without
    ``pdf_key``, and its PDF (or an e-invoice) is made on the first request for it."""
    try:
        stored = dict(store_issued_pdf(doc))
    except Exception:
        logger.exception(
            "%s issued without its PDF: it is rendered when first asked for", doc["id"]
        )
        return doc
    try:
        einvoices.stored_einvoice(stored, "ubl")
    except EInvoiceIncomplete as error:  # said already for the CII, in the PDF's log line
        logger.info("%s: no UBL e-invoice yet: %s", doc["id"], error)
    except Exception:
        logger.exception("%s: its UBL e-invoice is made when first asked for", doc["id"])
    return stored


def issued_pdf(invoice_id: str) -> bytes:
    """The PDF bytes of an issued (or paid, or void) invoice or credit note, e.g. to attach
    to an email; stored first if it was not yet."""
    stored: Mapping[str, Any] = store_issued_pdf(invoices.get_invoice(invoice_id))
    return objects.get_bytes(stored[PDF_FIELD])


def pdf_key(doc: Mapping[str, Any]) -> str:
    """The key of ``doc``'s PDF in the bucket, for a link: an issued document's stored PDF
    (stored now if it was not), or a draft's, rendered now."""
    if doc.get("status") == "draft":
        key = draft_pdf_key(doc)
        objects.put_bytes(key, render_pdf(doc), PDF_CONTENT_TYPE)
        return key
    stored: Mapping[str, Any] = store_issued_pdf(doc)
    return str(stored[PDF_FIELD])


# --- the seller's logo --------------------------------------------------------------------------


def logo_upload(content_type: str) -> Doc:
    """A presigned PUT for a new logo, recorded in the settings as the seller's ``logo_key``.

    The logo is checked when it is read (at most 512 KB, a PNG or a JPEG); until it is
    uploaded, documents are rendered without it."""
    extension = LOGO_TYPES.get(content_type)
    if extension is None:
        raise InvalidInput("content_type must be image/png or image/jpeg", field="content_type")
    key = f"{objects.SETTINGS_LOGO_PREFIX}{uuid.uuid4().hex}{extension}"
    settings = reference.get_settings() or Settings().to_dict()
    seller = {**(settings.get("seller") or {}), "logo_key": key}
    reference.put_settings(Settings.from_dict({**settings, "seller": seller}).to_dict())
    expires_at = datetime.now(UTC) + timedelta(seconds=LOGO_UPLOAD_SECONDS)
    return {
        "upload_url": objects.presigned_put(key, LOGO_UPLOAD_SECONDS, content_type=content_type),
        "key": key,
        "content_type": content_type,
        "max_bytes": MAX_LOGO_BYTES,
        "expires_at": expires_at.isoformat(timespec="seconds"),
    }
