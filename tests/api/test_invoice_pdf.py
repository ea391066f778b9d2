"""The invoice PDF over the API: written once when a document is issued, never again; a link
like the CSV's for the operator and the owning customer; drafts on demand for operators only;
a PDF that failed to render costs the issue nothing; the seller's logo."""

from __future__ import annotations

import io
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.api.conftest import PERIOD, Api
from tests.api.test_invoice_immutability import _save, _write_inputs

pytestmark = pytest.mark.stack


def _stored(invoice_id: str) -> dict[str, Any]:
    from chalicelib.store import invoices

    return dict(invoices.get_invoice(invoice_id))


def _object(key: str) -> tuple[bytes, str]:
    from chalicelib.store import objects

    found = objects.head(key)
    assert found is not None, key
    return objects.get_bytes(key), found["ETag"]


def _text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _fetch(reply: Any) -> tuple[str, bytes]:
    assert reply.status == 302, reply
    url = reply.headers["location"]
    with urllib.request.urlopen(url, timeout=10) as response:
        return url, response.read()


def _key_of(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlparse(url).path).split("/", 2)[2]


def test_issuing_stores_the_pdf_once_under_an_immutable_key(
    api: Api, make_invoice: Any, reference_data: Any
) -> None:
    draft = make_invoice("acme", status="draft")
    assert "pdf_key" not in _stored(draft["id"])
    issued = api.post(f"/invoices/{draft['id']}/issue").json
    stored = _stored(draft["id"])
    assert stored["pdf_key"] == f"invoices/{draft['id']}/issued/{issued['number']}.pdf"
    assert "pdf_key" not in issued  # a storage detail, like the CSV keys
    data, etag = _object(stored["pdf_key"])
    text = _text(data)
    assert issued["number"] in text and "Acme Inc." in text and "DRAFT" not in text
    # Asking again, and recording again, writes nothing.
    from chalicelib.service.invoice_documents import store_issued_pdf
    from chalicelib.store import objects

    _, again = _fetch(api.get(f"/invoices/{draft['id']}/pdf"))
    assert again == data
    assert store_issued_pdf(stored) == stored
    assert objects.put_new(stored["pdf_key"], b"%PDF- forged", "application/pdf") is False
    assert _object(stored["pdf_key"]) == (data, etag)
    assert _stored(draft["id"]) == stored


def test_recomputing_the_period_never_writes_the_issued_pdf(api: Api, tmp_path: Path) -> None:
    payloads = _write_inputs(tmp_path, ["acme"])
    saved = _save(payloads, "a", "acme")
    assert api.post(f"/invoices/{saved['invoice_id']}/issue").status == 200
    issued = _stored(saved["invoice_id"])
    before = _object(issued["pdf_key"])
    assert _save(payloads, "b", "acme")["status"] == "unchanged"
    assert _object(issued["pdf_key"]) == before
    assert _stored(saved["invoice_id"]) == issued


def test_the_owning_customer_gets_a_short_lived_sigv4_link_and_no_one_else_does(
    api: Api, make_invoice: Any, customer_token: Any
) -> None:
    stored = _stored(make_invoice("acme")["id"])
    reply = api.get(f"/invoices/{stored['id']}/pdf", customer_token("acme"))
    url, data = _fetch(reply)
    assert reply.headers["cache-control"] == "no-store"
    params = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert int(params["X-Amz-Expires"][0]) <= 300
    assert params["X-Amz-SignedHeaders"] == ["host"]
    assert _key_of(url) == stored["pdf_key"]
    assert stored["number"] in _text(data)

    link = api.get(f"/invoices/{stored['id']}/pdf", customer_token("acme"), redirect=False).json
    expires_at = datetime.fromisoformat(link["expires_at"])
    assert 0 < (expires_at - datetime.now(UTC)).total_seconds() <= 300
    assert _key_of(link["url"]) == stored["pdf_key"]

    other = api.get(f"/invoices/{stored['id']}/pdf", customer_token("globex"))
    assert (other.status, other.json["code"]) == (404, "not_found")
    assert api.get(f"/invoices/{stored['id']}/pdf", None).status == 401


def test_a_draft_is_the_operators_alone_rendered_at_each_request(
    api: Api, make_invoice: Any, customer_token: Any
) -> None:
    draft = make_invoice("acme", status="draft")
    reply = api.get(f"/invoices/{draft['id']}/pdf", customer_token("acme"))
    assert (reply.status, reply.json["code"]) == (404, "not_found")
    assert reply.json["message"] == f"invoice {draft['id']!r} not found"

    url, data = _fetch(api.get(f"/invoices/{draft['id']}/pdf"))
    text = _text(data)
    assert "DRAFT" in text and "Draft (not yet numbered)" in text
    # beside the draft's own CSVs, so it goes where they go; never recorded on the draft
    assert _key_of(url) == draft["csv_key"].rsplit("/", 1)[0] + f"/{draft['id']}-draft.pdf"
    assert "pdf_key" not in _stored(draft["id"])

    settings = api.get("/settings").json
    settings["seller"] = {**settings.get("seller", {}), "legal_name": "Renamed Cloud SE"}
    assert api.put("/settings", body=settings).status == 200
    _, again = _fetch(api.get(f"/invoices/{draft['id']}/pdf"))
    assert "Renamed Cloud SE" in _text(again)


def test_a_pdf_that_fails_to_render_does_not_lose_the_issue(
    api: Api, make_invoice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.service import invoice_documents

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("renderer down")

    draft = make_invoice("acme", status="draft")
    monkeypatch.setattr(invoice_documents, "render", broken)
    reply = api.post(f"/invoices/{draft['id']}/issue")
    assert reply.status == 200, reply
    issued = _stored(draft["id"])
    assert issued["status"] == "issued" and "pdf_key" not in issued
    assert api.get(f"/invoices/{draft['id']}/pdf").status == 500  # still down: nothing stored
    monkeypatch.undo()

    _, data = _fetch(api.get(f"/invoices/{draft['id']}/pdf"))
    assert issued["number"] in _text(data)
    recorded = _stored(draft["id"])
    assert {k: v for k, v in recorded.items() if k != "pdf_key"} == issued  # nothing else moved
    assert _object(recorded["pdf_key"])[0] == data


def test_credit_notes_get_their_own_pdf(api: Api, make_invoice: Any) -> None:
    invoice = make_invoice("acme")
    credited = api.post(
        f"/invoices/{invoice['id']}/credit-notes", body={"amount": "10.00", "reason": "SLA"}
    )
    assert credited.status in (200, 201), credited
    note = _stored(credited.json["id"])
    text = _text(_object(note["pdf_key"])[0])
    assert "Credit note" in text and f"for invoice {invoice['number']}" in text
    assert "-$10.00" in text

    other = make_invoice("globex")
    voided = api.post(f"/invoices/{other['id']}/void").json["credit_note"]
    assert _stored(voided["id"])["pdf_key"].endswith(f"/issued/{voided['number']}.pdf")
    # the voided invoice keeps the PDF it was issued with
    assert _stored(other["id"])["pdf_key"] == other["pdf_key"]


def test_the_pdf_is_in_the_customers_language(
    api: Api, make_invoice: Any, reference_data: Any
) -> None:
    customer = api.get("/customers/acme").json
    customer.update(language="de", legal_name="Acme Deutschland GmbH", buyer_reference="PO-1")
    assert api.put("/customers/acme", body=customer).status == 200
    text = _text(_object(_stored(make_invoice("acme")["id"])["pdf_key"])[0])
    assert "Rechnung" in text and "Acme Deutschland GmbH" in text and "PO-1" in text
    assert f"Leistungszeitraum 1. Oktober {PERIOD[:4]}" in text


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (90, 30), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def _upload(url: str, data: bytes, content_type: str) -> int:
    request = urllib.request.Request(
        url, data=data, method="PUT", headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        status: int = response.status
        return status


def _has_image(data: bytes) -> bool:
    page = PdfReader(io.BytesIO(data)).pages[0]
    objects = page["/Resources"].get("/XObject") or {}
    return any(o.get_object()["/Subtype"] == "/Image" for o in objects.values())


def test_the_sellers_logo_is_uploaded_through_a_presigned_url(
    api: Api, make_invoice: Any, customer_token: Any
) -> None:
    reply = api.post("/settings/logo-upload-url", body={"content_type": "image/png"})
    assert reply.status == 200, reply
    upload = reply.json
    assert upload["key"].startswith("settings/logo/") and upload["key"].endswith(".png")
    assert upload["max_bytes"] == 512 * 1024
    assert api.get("/settings").json["seller"]["logo_key"] == upload["key"]
    draft = make_invoice("acme", status="draft")
    # until the image is there, documents go without it
    assert not _has_image(_fetch(api.get(f"/invoices/{draft['id']}/pdf"))[1])
    assert _upload(upload["upload_url"], _png(), "image/png") == 200
    assert _has_image(_fetch(api.get(f"/invoices/{draft['id']}/pdf"))[1])

    # a logo that is not an image is left out; the invoice is issued and rendered all the same
    again = api.post("/settings/logo-upload-url", body={"content_type": "image/jpeg"}).json
    assert _upload(again["upload_url"], b"<html>not a logo</html>", "image/jpeg") == 200
    issued = _stored(api.post(f"/invoices/{draft['id']}/issue").json["id"])
    data = _object(issued["pdf_key"])[0]
    assert not _has_image(data) and issued["number"] in _text(data)

    refused = api.post("/settings/logo-upload-url", body={"content_type": "image/gif"})
    assert refused.status == 400
    forbidden = api.post(
        "/settings/logo-upload-url", customer_token("acme"), body={"content_type": "image/png"}
    )
    assert forbidden.status == 403
    settings = api.get("/settings").json
    settings["seller"]["logo_key"] = "invoices/acme-2026-10-1/seeded/acme-2026-10-1.csv"
    assert api.put("/settings", body=settings).status == 400
