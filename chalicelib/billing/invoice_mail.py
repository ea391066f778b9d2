"""The email that carries an issued invoice or credit note to the customer: pure.

Who it goes to (the customer's billing addresses, else its contact email), its subject and text
in the customer's language (en, de, fr), the link to the document in the portal, and the
attachments it is given; out comes the MIME message as bytes, ready for SES ``SendRawEmail``.
Nothing here sends anything (:mod:`chalicelib.store.mail` does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from chalicelib.errors import InvalidInput

INVOICE_HEADER = "X-Rebill-Invoice"  # names the document a message carries (the local outbox)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf", "text/csv", …
    data: bytes


_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "subject": "{document} {number} from {seller}",
        "greeting": "Hello {customer},",
        "invoice_body": "please find attached invoice {number} for {period}, "
        "{total} {currency}, due on {due_date}.",
        "credit_note_body": "please find attached credit note {number} for {period}, "
        "{total} {currency}, crediting invoice {credited}.",
        "link": "You can also see it in the portal: {link}",
        "closing": "Kind regards,\n{seller}",
    },
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Gutschrift",
        "subject": "{document} {number} von {seller}",
        "greeting": "Guten Tag {customer},",
        "invoice_body": "anbei erhalten Sie die Rechnung {number} für {period} über "
        "{total} {currency}, fällig am {due_date}.",
        "credit_note_body": "anbei erhalten Sie die Gutschrift {number} für {period} über "
        "{total} {currency} zur Rechnung {credited}.",
        "link": "Sie finden sie auch im Portal: {link}",
        "closing": "Mit freundlichen Grüßen\n{seller}",
    },
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "subject": "{document} {number} de {seller}",
        "greeting": "Bonjour {customer},",
        "invoice_body": "veuillez trouver ci-joint la facture {number} pour {period}, "
        "d'un montant de {total} {currency}, à régler le {due_date}.",
        "credit_note_body": "veuillez trouver ci-joint l'avoir {number} pour {period}, "
        "d'un montant de {total} {currency}, sur la facture {credited}.",
        "link": "Vous pouvez aussi la consulter sur le portail : {link}",
        "closing": "Cordialement,\n{seller}",
    },
}


class NoBillingAddress(InvalidInput):
    """The customer has neither billing addresses nor a contact email."""

    code = "no_billing_address"


def recipients(customer: Mapping[str, Any]) -> list[str]:
    """The customer's billing addresses, else its contact email (:class:`NoBillingAddress`)."""
    addresses = [a for a in customer.get("billing_emails") or () if a]
    if not addresses and customer.get("email"):
        addresses = [str(customer["email"])]
    if not addresses:
        raise NoBillingAddress(
            f"customer {customer.get('id')!r} has no billing address", field="billing_emails"
        )
    return list(dict.fromkeys(addresses))


def portal_link(portal_url: str, invoice_id: str) -> str | None:
    """``<portal>/#/invoices/<id>``; None when the deployment names no portal."""
    if not portal_url:
        return None
    return f"{portal_url.rstrip('/')}/#/invoices/{invoice_id}"


@dataclass(frozen=True)
class InvoiceEmail:
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    raw: bytes  # the whole MIME message


def build_invoice_email(
    doc: Mapping[str, Any],
    customer: Mapping[str, Any],
    seller: Mapping[str, Any],
    *,
    sender: str,
    portal_url: str,
    attachments: Sequence[Attachment],
) -> InvoiceEmail:
    """The message that sends issued document ``doc`` to ``customer`` from ``sender``."""
    if not sender:
        raise InvalidInput("no sender: set email_from in the settings", field="email_from")
    to = recipients(customer)
    words = _TEXTS.get(str(customer.get("language") or "en"), _TEXTS["en"])
    kind = "credit_note" if doc.get("kind") == "credit_note" else "invoice"
    seller_name = seller.get("legal_name") or seller.get("name") or sender
    values = {
        "document": words[kind],
        "number": doc.get("number") or doc["id"],
        "seller": seller_name,
        "customer": customer.get("legal_name") or customer.get("name") or customer.get("id"),
        "period": doc.get("period"),
        "total": doc.get("total"),
        "currency": doc.get("currency"),
        "due_date": doc.get("due_date") or "",
        "credited": doc.get("credited_invoice_number") or doc.get("credit_note_for") or "",
    }
    link = portal_link(portal_url, doc["id"])
    paragraphs = [
        words["greeting"].format(**values),
        words[f"{kind}_body"].format(**values),
        *([words["link"].format(link=link)] if link else []),
        words["closing"].format(**values),
    ]
    text = "\n\n".join(paragraphs) + "\n"
    subject = words["subject"].format(**values)

    message = EmailMessage()
    message["From"] = formataddr((str(seller_name), sender))
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message[INVOICE_HEADER] = doc["id"]
    if seller.get("email"):
        message["Reply-To"] = str(seller["email"])
    message.set_content(text)
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return InvoiceEmail(sender, tuple(to), subject, text, message.as_bytes())
