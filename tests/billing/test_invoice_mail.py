"""The email that carries an issued document: recipients, language, link, attachments."""

from __future__ import annotations

import email
from email.message import Message
from typing import Any

import pytest

from chalicelib.billing.invoice_mail import (
    Attachment,
    NoBillingAddress,
    build_invoice_email,
    portal_link,
    recipients,
)
from chalicelib.errors import InvalidInput

INVOICE = {
    "id": "inv-acme-2026-10-1",
    "number": "INV-2026-000042",
    "kind": "invoice",
    "period": "2026-10",
    "total": "1234.50",
    "currency": "EUR",
    "due_date": "2026-12-01",
}
CREDIT_NOTE = {
    **INVOICE,
    "id": "inv-acme-2026-10-1-cn-1",
    "number": "INV-2026-000043",
    "kind": "credit_note",
    "total": "-100.00",
    "credited_invoice_number": "INV-2026-000042",
}
SELLER = {"name": "Example Cloud", "legal_name": "Example Cloud GmbH", "email": "ar@example.com"}


def _build(doc: dict[str, Any] = INVOICE, **customer: Any) -> tuple[Any, Message]:
    built = build_invoice_email(
        doc,
        {"id": "acme", "name": "Acme", "billing_emails": ["ap@acme.example"], **customer},
        SELLER,
        sender="billing@example.com",
        portal_url="https://portal.example.com/",
        attachments=[
            Attachment("INV-2026-000042.pdf", "application/pdf", b"%PDF-1.7"),
            Attachment("INV-2026-000042.csv", "text/csv", "a,b\n1,ü\n".encode()),
        ],
    )
    return built, email.message_from_bytes(built.raw)


def test_the_message_goes_to_the_billing_addresses_with_link_and_attachments() -> None:
    built, message = _build()
    assert built.to == ("ap@acme.example",)
    assert message["From"] == "Example Cloud GmbH <billing@example.com>"
    assert message["Reply-To"] == "ar@example.com"
    assert message["Subject"] == "Invoice INV-2026-000042 from Example Cloud GmbH"
    assert message["X-Rebill-Invoice"] == INVOICE["id"]
    assert "https://portal.example.com/#/invoices/inv-acme-2026-10-1" in built.text
    assert "1234.50 EUR, due on 2026-12-01" in built.text
    parts = {p.get_filename(): p for p in message.walk() if p.get_filename()}
    assert list(parts) == ["INV-2026-000042.pdf", "INV-2026-000042.csv"]
    assert parts["INV-2026-000042.pdf"].get_payload(decode=True) == b"%PDF-1.7"
    assert parts["INV-2026-000042.csv"].get_payload(decode=True) == "a,b\n1,ü\n".encode()


@pytest.mark.parametrize(
    ("language", "subject", "phrase"),
    [
        ("en", "Credit note INV-2026-000043 from", "crediting invoice INV-2026-000042"),
        ("de", "Gutschrift INV-2026-000043 von", "zur Rechnung INV-2026-000042"),
        ("fr", "Avoir INV-2026-000043 de", "sur la facture INV-2026-000042"),
    ],
)
def test_subject_and_text_are_in_the_customer_language(
    language: str, subject: str, phrase: str
) -> None:
    built, message = _build(CREDIT_NOTE, language=language)
    assert message["Subject"].startswith(subject)
    assert phrase in built.text


def test_recipients_fall_back_to_the_contact_email_else_none() -> None:
    assert recipients({"billing_emails": ["a@x.example", "a@x.example", "b@x.example"]}) == [
        "a@x.example",
        "b@x.example",
    ]
    assert recipients({"billing_emails": [], "email": "c@x.example"}) == ["c@x.example"]
    with pytest.raises(NoBillingAddress):
        recipients({"id": "acme", "billing_emails": [], "email": None})


def test_no_portal_no_link_and_no_sender_no_message() -> None:
    assert portal_link("", "inv-1") is None
    assert portal_link("https://p.example", "inv-1") == "https://p.example/#/invoices/inv-1"
    with pytest.raises(InvalidInput, match="email_from"):
        build_invoice_email(
            INVOICE, {"email": "a@x.example"}, {}, sender="", portal_url="", attachments=[]
        )


def test_the_email_settings_and_the_customer_e_invoice_format_are_kept() -> None:
    from chalicelib.billing.reference import Customer, Settings

    settings = Settings.from_dict({"email_on_issue": True, "email_from": "billing@example.com"})
    assert (settings.email_on_issue, settings.email_from) == (True, "billing@example.com")
    assert Settings.from_dict(settings.to_dict()) == settings
    assert Settings.from_dict({}).to_dict()["email_on_issue"] is False
    customer = Customer.from_dict({"id": "acme", "currency": "EUR", "einvoice_format": "ubl"})
    assert customer.to_dict()["einvoice_format"] == "ubl"
    assert Customer.from_dict({"id": "acme", "currency": "EUR"}).einvoice_format is None
    with pytest.raises(InvalidInput, match="einvoice_format must be one of cii, ubl"):
        Customer.from_dict({"id": "acme", "currency": "EUR", "einvoice_format": "pdf"})
