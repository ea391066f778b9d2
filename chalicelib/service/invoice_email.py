"""Emailing an issued invoice or credit note to the customer, and recording how it went.

With the setting ``email_on_issue`` on, issuing a document (:func:`deliver_on_issue`, called by
:mod:`chalicelib.service.invoices` once the document is stored) sends it at once, in the same
request or task: the message is small, SES answers in a few hundred milliseconds, and the
operator sees the outcome on the invoice they just issued. A send that fails never fails the
issue: the document's ``delivery`` says ``failed`` and why, and ``POST /invoices/{id}/send``
sends it again. ``delivery`` is the one field of an issued document that changes after issue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.billing.invoice_mail import Attachment, NoBillingAddress, build_invoice_email
from chalicelib.billing.lifecycle import InvalidTransition
from chalicelib.config import get_config
from chalicelib.errors import NotFound, RebillError
from chalicelib.observability import logger
from chalicelib.service import einvoices, invoice_documents
from chalicelib.store import invoices, mail, objects, reference
from chalicelib.store.invoice_keys import CUSTOMER_CSV_FIELD
from chalicelib.store.records import Doc

SENDABLE = ("issued", "paid")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def attachments_for(invoice: Mapping[str, Any], customer: Mapping[str, Any]) -> list[Attachment]:
    """What the email of ``invoice`` carries: the one place that decides it.

    The PDF (with its CII e-invoice inside as Factur-X), the e-invoice XML on its own for a
    customer whose ``einvoice_format`` asks for one (an e-invoice that cannot be made fails the
    send, with the reason: the customer's process expects it), and the customer CSV (what the
    customer is billed, line by line)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(invoice.get("number") or invoice["id"]))
    attachments = [
        Attachment(
            f"{name}.pdf",
            "application/pdf",
            objects.get_bytes(invoice_documents.pdf_key(invoice)),
        )
    ]
    syntax = customer.get("einvoice_format")
    if syntax:
        key = einvoices.stored_einvoice(invoice, syntax)
        attachments.append(
            Attachment(f"{name}-{syntax}.xml", "application/xml", objects.get_bytes(key))
        )
    if invoice.get(CUSTOMER_CSV_FIELD):
        attachments.append(
            Attachment(f"{name}.csv", "text/csv", objects.get_bytes(invoice[CUSTOMER_CSV_FIELD]))
        )
    return attachments


def _sender(settings: Mapping[str, Any]) -> str:
    return str(settings.get("email_from") or get_config().email_from)


def send_invoice(invoice_id: str) -> Doc:
    """Email issued document ``invoice_id`` to its customer now and record the outcome on it
    (``delivery``); returns the document. A failure to send is recorded, not raised."""
    doc = invoices.get_invoice(invoice_id)
    if doc.get("status") not in SENDABLE:
        raise InvalidTransition(
            f"cannot send {doc.get('number') or invoice_id}: it is {doc.get('status')}, "
            "not issued or paid"
        )
    settings = reference.get_settings()
    to: list[str] = []
    try:
        try:
            customer = reference.get_document("customer", doc["customer_id"])
        except NotFound:
            raise NoBillingAddress(f"customer {doc['customer_id']!r} no longer exists") from None
        message = build_invoice_email(
            doc,
            customer,
            settings.get("seller") or {},
            sender=_sender(settings),
            portal_url=get_config().portal_url,
            attachments=attachments_for(doc, customer),
        )
        to = list(message.to)
        message_id = mail.send_raw(message.sender, message.raw)
        delivery: Doc = {"status": "sent", "at": _now(), "to": to, "message_id": message_id}
    except NoBillingAddress:
        delivery = {"status": "failed", "at": _now(), "to": to, "reason": "no billing address"}
    except RebillError as error:
        delivery = {"status": "failed", "at": _now(), "to": to, "reason": str(error)}
    if delivery["status"] == "failed":
        logger.warning(
            "invoice email not sent", extra={"invoice_id": invoice_id, "reason": delivery["reason"]}
        )
    return dict(invoices.record_delivery(invoice_id, delivery))


def deliver_on_issue(doc: Mapping[str, Any]) -> Doc:
    """Email a document that was just issued when the settings say so; the document, with its
    ``delivery`` when it was sent or failed. Never raises: the issue stands whatever happens."""
    try:
        if not reference.get_settings().get("email_on_issue"):
            return dict(doc)
        return send_invoice(doc["id"])
    except Exception:
        logger.exception("invoice email failed", extra={"invoice_id": doc.get("id")})
        return dict(doc)
