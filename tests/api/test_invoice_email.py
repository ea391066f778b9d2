"""Issued invoices and credit notes emailed through (moto's) SES, the outcome on the invoice,
and POST /invoices/{id}/send."""

from __future__ import annotations

import email
import os
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

import pytest

from tests.api.conftest import Api, customer_body

pytestmark = pytest.mark.stack


PORTAL = "https://portal.example.com/"


@pytest.fixture
def portal_url() -> Iterator[str]:
    """The deployment's portal, where an email's link points."""
    from chalicelib.config import get_config

    os.environ["REBILL_PORTAL_URL"] = PORTAL
    get_config.cache_clear()
    yield PORTAL
    del os.environ["REBILL_PORTAL_URL"]
    get_config.cache_clear()


def _sent() -> list[Any]:
    from localaws.outbox import sent_messages

    return sent_messages()


def _settings(api: Api, **changes: Any) -> None:
    current = api.get("/settings").json
    reply = api.put("/settings", body={**current, **changes})
    assert reply.status == 200, reply


def _customer(api: Api, customer_id: str, **changes: Any) -> None:
    reply = api.put(f"/customers/{customer_id}", body={**customer_body(customer_id), **changes})
    assert reply.status == 200, reply


def _parse(raw: Any) -> Message:
    return email.message_from_string(raw.raw_data)


def _attachments(message: Message) -> list[str]:
    return [part.get_filename() or "" for part in message.walk() if part.get_filename()]


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode("utf-8")
    raise AssertionError("no text part")


def test_issuing_emails_the_customer_when_the_setting_is_on(
    api: Api, reference_data: Any, make_invoice: Callable[..., dict[str, Any]], portal_url: str
) -> None:
    _settings(api, email_on_issue=True, seller={"name": "Example Cloud GmbH"})
    _customer(api, "acme", billing_emails=["ap@acme.example", "cfo@acme.example"], language="fr")
    before = len(_sent())
    invoice = make_invoice("acme")
    sent = _sent()[before:]
    assert len(sent) == 1
    message = _parse(sent[0])
    assert sent[0].destinations == ["ap@acme.example", "cfo@acme.example"]
    assert message["To"] == "ap@acme.example, cfo@acme.example"
    assert message["Subject"] == f"Facture {invoice['number']} de Example Cloud GmbH"
    assert message["X-Rebill-Invoice"] == invoice["id"]
    assert _attachments(message) == [f"{invoice['number']}.pdf", f"{invoice['number']}.csv"]
    text = _text(message)
    assert "580.00 USD" in text
    assert f"{portal_url}#/invoices/{invoice['id']}" in text

    shown = api.get(f"/invoices/{invoice['id']}").json
    delivery = shown["delivery"]
    assert (delivery["status"], delivery["to"]) == ("sent", ["ap@acme.example", "cfo@acme.example"])
    assert delivery["message_id"] == sent[0].id
    # Customers see their invoice, not how it was sent.
    from chalicelib.api.auth import create_api_token

    token = create_api_token("acme", "customer", "acme")["token"]
    assert "delivery" not in api.get(f"/invoices/{invoice['id']}", token).json


def test_credit_notes_are_emailed_too(
    api: Api, reference_data: Any, make_invoice: Callable[..., dict[str, Any]]
) -> None:
    invoice = make_invoice("acme")  # the setting is off: not emailed
    _settings(api, email_on_issue=True)
    before = len(_sent())
    note = api.post(f"/invoices/{invoice['id']}/credit-notes", body={"amount": "10.00"}).json
    sent = _sent()[before:]
    assert [_parse(m)["X-Rebill-Invoice"] for m in sent] == [note["id"]]
    assert _parse(sent[0])["Subject"].startswith(f"Credit note {note['number']}")
    assert note["delivery"]["status"] == "sent"


def test_nothing_is_sent_when_the_setting_is_off(
    api: Api, reference_data: Any, make_invoice: Callable[..., dict[str, Any]]
) -> None:
    before = len(_sent())
    invoice = make_invoice("acme")
    assert len(_sent()) == before
    assert "delivery" not in api.get(f"/invoices/{invoice['id']}").json


def test_a_failed_send_is_recorded_the_invoice_is_issued_and_it_can_be_sent_again(
    api: Api, reference_data: Any, make_invoice: Callable[..., dict[str, Any]]
) -> None:
    _settings(api, email_on_issue=True)
    _customer(api, "acme", email=None, billing_emails=[])
    before = len(_sent())
    invoice = make_invoice("acme")
    assert invoice["status"] == "issued"
    assert len(_sent()) == before
    delivery = api.get(f"/invoices/{invoice['id']}").json["delivery"]
    assert (delivery["status"], delivery["reason"]) == ("failed", "no billing address")

    # SES refuses a sender that is not a verified identity: recorded, not raised.
    _customer(api, "acme", billing_emails=["ap@acme.example"], language="de")
    _settings(api, email_from="someone@unverified.example")
    refused = api.post(f"/invoices/{invoice['id']}/send")
    assert refused.status == 200, refused
    assert refused.json["delivery"]["status"] == "failed"
    assert "someone@unverified.example" in refused.json["delivery"]["reason"]

    _settings(api, email_from=None)
    resent = api.post(f"/invoices/{invoice['id']}/send")
    assert resent.status == 200, resent
    assert resent.json["delivery"]["status"] == "sent"
    message = _parse(_sent()[-1])
    assert message["Subject"].startswith(f"Rechnung {invoice['number']}")
    assert resent.json["delivery"]["message_id"] == _sent()[-1].id
    # Only the delivery changed: the invoice as issued is untouched.
    shown = api.get(f"/invoices/{invoice['id']}").json
    internal = ("csv_key", "customer_csv_key", "pdf_key", "sequence", "delivery")
    assert {k: v for k, v in shown.items() if k in invoice and k != "delivery"} == {
        k: v for k, v in invoice.items() if k not in internal
    }


def test_only_operators_send_and_only_issued_documents(
    api: Api,
    reference_data: Any,
    make_invoice: Callable[..., dict[str, Any]],
    customer_token: Callable[[str], str],
) -> None:
    draft = make_invoice("acme", status="draft")
    reply = api.post(f"/invoices/{draft['id']}/send")
    assert (reply.status, reply.json["code"]) == (409, "invalid_transition")
    issued = make_invoice("globex")
    assert api.post(f"/invoices/{issued['id']}/send", customer_token("globex")).status == 403
    assert api.post("/invoices/inv-nobody-2026-10-1/send").status == 404


def test_a_customer_that_asks_for_its_e_invoice_gets_the_xml_beside_the_pdf(
    api: Api, reference_data: Any, make_invoice: Callable[..., dict[str, Any]]
) -> None:
    _settings(
        api,
        email_on_issue=True,
        seller={"name": "Example Cloud GmbH", "country": "DE", "tax_id": "DE136695976"},
    )
    _customer(api, "acme", einvoice_format="ubl")
    before = len(_sent())
    invoice = make_invoice("acme")
    [sent] = _sent()[before:]
    message = _parse(sent)
    number = invoice["number"]
    assert _attachments(message) == [f"{number}.pdf", f"{number}-ubl.xml", f"{number}.csv"]
    xml = next(p for p in message.walk() if p.get_filename() == f"{number}-ubl.xml")
    payload = xml.get_payload(decode=True)
    assert isinstance(payload, bytes) and b"urn:fdc:peppol.eu:2017:poacc:billing:3.0" in payload

    # An e-invoice that cannot be made (the seller's country and VAT id gone): not sent, and why.
    _settings(api, email_on_issue=True, seller={"name": "Example Cloud GmbH"})
    other = make_invoice("globex")
    _customer(api, "globex", einvoice_format="cii")
    reply = api.post(f"/invoices/{other['id']}/send")
    assert reply.status == 200, reply
    assert reply.json["delivery"]["status"] == "failed"
    assert "country" in reply.json["delivery"]["reason"]
