"""``GET /invoices/{id}/e-invoice?format=cii|ubl``: a short-lived link to the EN 16931 XML, with
the CSV link's tenancy; the XML is made once and stored, and holds none of the reseller's
figures."""

from __future__ import annotations

import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from chalicelib.documents.cii import RAM, RSM
from chalicelib.documents.ubl import CAC, CBC, CREDIT_NOTE_NS, INVOICE_NS
from tests.api.conftest import Api

pytestmark = pytest.mark.stack

SELLER = {"name": "Example Cloud GmbH", "country": "DE", "tax_id": "DE136695976"}


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        data: bytes = response.read()
        return data


@pytest.fixture
def seller(api: Api) -> dict[str, Any]:
    reply = api.put("/settings", body={"seller": SELLER})
    assert reply.status == 200, reply
    return SELLER


def test_an_operator_gets_both_syntaxes_behind_a_short_lived_link(
    api: Api, reference_data: Any, seller: Any, make_invoice: Any
) -> None:
    stored = make_invoice("acme")
    reply = api.get(f"/invoices/{stored['id']}/e-invoice", format="cii")
    assert reply.status == 302, reply
    assert reply.headers["cache-control"] == "no-store"
    url = reply.headers["location"]
    parsed = urllib.parse.urlparse(url)
    params = urllib.parse.parse_qs(parsed.query)
    assert parsed.path.endswith(f"/invoices/{stored['id']}/e-invoice/{stored['id']}-cii.xml")
    assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert int(params["X-Amz-Expires"][0]) <= 300
    cii = ET.fromstring(_download(url))
    assert cii.tag == f"{{{RSM}}}CrossIndustryInvoice"
    assert cii.findtext(f"{{{RSM}}}ExchangedDocument/{{{RAM}}}ID") == stored["number"]
    grand = cii.find(f".//{{{RAM}}}GrandTotalAmount")
    assert grand is not None and grand.text == stored["total"]

    link = api.get(f"/invoices/{stored['id']}/e-invoice", format="ubl", redirect=False)
    assert link.status == 200, link
    assert set(link.json) == {"url", "expires_at"}
    ubl = ET.fromstring(_download(link.json["url"]))
    assert ubl.tag == f"{{{INVOICE_NS}}}Invoice"
    assert ubl.findtext(f"{{{CBC}}}ID") == stored["number"]


def test_the_owning_customer_gets_it_and_another_customer_does_not(
    api: Api, reference_data: Any, seller: Any, make_invoice: Any, customer_token: Any
) -> None:
    own = make_invoice("acme")
    other = make_invoice("globex")
    token = customer_token("acme")
    assert api.get(f"/invoices/{own['id']}/e-invoice", token, format="ubl").status == 302
    reply = api.get(f"/invoices/{other['id']}/e-invoice", token, format="ubl")
    assert (reply.status, reply.json["code"]) == (404, "not_found")
    missing = api.get("/invoices/nope/e-invoice", token, format="ubl")
    assert missing.json["message"].replace("nope", other["id"]) == reply.json["message"]


def test_a_draft_has_none(
    api: Api, reference_data: Any, seller: Any, make_invoice: Any, customer_token: Any
) -> None:
    from chalicelib.store import objects

    draft = make_invoice("acme", status="draft")
    to_customer = api.get(
        f"/invoices/{draft['id']}/e-invoice", customer_token("acme"), format="cii"
    )
    assert (to_customer.status, to_customer.json["code"]) == (404, "not_found")
    to_operator = api.get(f"/invoices/{draft['id']}/e-invoice", format="cii")
    assert (to_operator.status, to_operator.json["code"]) == (409, "invalid_transition")
    assert objects.list_keys(f"invoices/{draft['id']}/e-invoice/") == []


def test_the_format_is_required_and_checked(
    api: Api, reference_data: Any, seller: Any, make_invoice: Any
) -> None:
    stored = make_invoice("acme")
    for query in ({"format": "pdf"}, {}, {"format": "CII"}):
        reply = api.get(f"/invoices/{stored['id']}/e-invoice", **query)
        assert (reply.status, reply.json["code"]) == (400, "invalid_input"), (query, reply)
        assert reply.json["field"] == "format"


def test_it_is_made_once_and_never_changes(
    api: Api, reference_data: Any, seller: Any, make_invoice: Any
) -> None:
    stored = make_invoice("acme")
    first = _download(
        api.get(f"/invoices/{stored['id']}/e-invoice", format="cii").headers["location"]
    )
    renamed = {**SELLER, "name": "Renamed Cloud GmbH"}
    assert api.put("/settings", body={"seller": renamed}).status == 200
    again = _download(
        api.get(f"/invoices/{stored['id']}/e-invoice", format="cii").headers["location"]
    )
    assert again == first
    assert b"Renamed Cloud" not in again
    # Both syntaxes were made when it was issued, from the settings of that moment.
    ubl = _download(
        api.get(f"/invoices/{stored['id']}/e-invoice", format="ubl").headers["location"]
    )
    assert b"Renamed Cloud" not in ubl and b"Example Cloud GmbH" in ubl


def test_an_incomplete_seller_is_a_clear_error_that_stores_nothing(
    api: Api, reference_data: Any, make_invoice: Any
) -> None:
    from chalicelib.store import objects

    stored = make_invoice("acme")
    assert api.put("/settings", body={"seller": {"name": "Example Cloud GmbH"}}).status == 200
    reply = api.get(f"/invoices/{stored['id']}/e-invoice", format="cii")
    assert (reply.status, reply.json["code"]) == (422, "einvoice_incomplete"), reply
    assert "country" in reply.json["message"]
    assert objects.list_keys(f"invoices/{stored['id']}/e-invoice/") == []
    assert api.put("/settings", body={"seller": SELLER}).status == 200
    assert api.get(f"/invoices/{stored['id']}/e-invoice", format="cii").status == 302


def test_a_deleted_customer_is_a_clear_error_but_a_made_e_invoice_stays(
    api: Api, reference_data: Any, seller: Any, make_invoice: Any
) -> None:
    from chalicelib.store import reference

    assert api.put("/settings", body={"seller": {"name": "Example Cloud GmbH"}}).status == 200
    stored = make_invoice("acme")  # the seller's profile incomplete: issued without e-invoices
    assert api.put("/settings", body={"seller": SELLER}).status == 200
    assert api.get(f"/invoices/{stored['id']}/e-invoice", format="cii").status == 302
    reference.delete_document("customer", "acme")
    reply = api.get(f"/invoices/{stored['id']}/e-invoice", format="ubl")
    assert (reply.status, reply.json["code"]) == (422, "einvoice_incomplete"), reply
    assert "no longer exists" in reply.json["message"]
    assert api.get(f"/invoices/{stored['id']}/e-invoice", format="cii").status == 302


def test_a_credit_note_is_a_ubl_credit_note_naming_the_invoice(
    api: Api, reference_data: Any, seller: Any, make_invoice: Any, customer_token: Any
) -> None:
    stored = make_invoice("acme")
    note = api.post(f"/invoices/{stored['id']}/void").json["credit_note"]
    link = api.get(
        f"/invoices/{note['id']}/e-invoice", customer_token("acme"), format="ubl", redirect=False
    )
    assert link.status == 200, link
    ubl = ET.fromstring(_download(link.json["url"]))
    assert ubl.tag == f"{{{CREDIT_NOTE_NS}}}CreditNote"
    assert ubl.findtext(f"{{{CBC}}}CreditNoteTypeCode") == "381"
    billing = ubl.findtext(
        f"{{{CAC}}}BillingReference/{{{CAC}}}InvoiceDocumentReference/{{{CBC}}}ID"
    )
    assert billing == stored["number"]
    payable = ubl.find(f".//{{{CBC}}}PayableAmount")
    assert payable is not None and payable.text == stored["total"]  # stated positive


def test_the_customers_xml_holds_no_reseller_figure(
    api: Api, reference_data: Any, seller: Any, make_invoice: Any, customer_token: Any
) -> None:
    stored = make_invoice("acme", usage="123.45")
    operator_view = api.get(f"/invoices/{stored['id']}").json
    secrets = {operator_view[name] for name in ("cost", "margin", "margin_percent")}
    assert {"98.76", "484.69"} <= secrets  # cost = 80 % of the usage; margin = price − cost
    token = customer_token("acme")
    for syntax in ("cii", "ubl"):
        url = api.get(f"/invoices/{stored['id']}/e-invoice", token, format=syntax).headers[
            "location"
        ]
        text = _download(url).decode()
        assert stored["total"] in text
        for secret in secrets:
            assert secret not in text, (syntax, secret)
        for word in ("cost", "margin", "savings", "price_list", "run-"):
            assert word not in text.lower(), (syntax, word)


def test_the_issued_pdf_carries_the_same_cii_as_factur_x(
    api: Api, reference_data: Any, seller: Any, make_invoice: Any
) -> None:
    import io

    from pypdf import PdfReader

    from chalicelib.store import objects

    stored = make_invoice("acme")
    made = objects.list_keys(f"invoices/{stored['id']}/e-invoice/")
    assert sorted(k.rsplit("-", 1)[1] for k in made) == ["cii.xml", "ubl.xml"]  # at issue
    pdf = _download(api.get(f"/invoices/{stored['id']}/pdf").headers["location"])
    attached = PdfReader(io.BytesIO(pdf)).attachments
    assert list(attached) == ["factur-x.xml"]
    cii = _download(
        api.get(f"/invoices/{stored['id']}/e-invoice", format="cii").headers["location"]
    )
    assert attached["factur-x.xml"] == [cii]
