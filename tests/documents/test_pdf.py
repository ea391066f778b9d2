"""The invoice PDF as its customer reads it: who is who, dates and amounts in the customer's
language, every page headed and numbered, no reseller figure, and a PDF/A-3 file that carries
its Factur-X XML."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from chalicelib.documents.facturx import FACTURX_FILENAME
from chalicelib.documents.pdf import render

CEN_EXAMPLE = Path("/work/shared/data/external/en16931/cii/examples/CII_example1.xml")
SELLER: dict[str, Any] = {
    "name": "Example Cloud",
    "legal_name": "Example Cloud GmbH",
    "country": "DE",
    "tax_id": "DE136695976",
    "registration": "HRB 12345, Amtsgericht Köln",
    "address": {"lines": ["Domstraße 1"], "postal_code": "50667", "city": "Köln", "country": "DE"},
    "email": "billing@example.cloud",
    "phone": "+49 221 000000",
    "bank": {
        "account_name": "Example Cloud GmbH",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
    },
    "footer": "Thank you for your business.",
}
CUSTOMER: dict[str, Any] = {
    "id": "acme",
    "name": "acme",
    "legal_name": "Ωμέγα ООО 株式会社",
    "address": {"lines": ["1 Main St"], "postal_code": "10115", "city": "Berlin", "country": "DE"},
    "buyer_reference": "PO-7788",
    "tax_profile": {"country": "DE", "tax_id": "DE123456789"},
    "language": "en",
}
# The reseller's figures a stored invoice carries beside what the customer is billed.
RESELLER_FIGURES = ("98765.43", "55555.55", "secret-price-list", "44444.44")


def invoice(
    lines: int = 3,
    *,
    currency: str = "EUR",
    amount: str = "12.34",
    total: str = "2064.13",
    kind: str = "invoice",
    number: str | None = "INV-2026-000042",
    taxes: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [
        {
            "kind": "subscription",
            "description": "Growth plan",
            "amount": "500.00",
            "quantity": 1,
            "cost": "44444.44",
        }
    ]
    rows += [
        {
            "kind": "cloud_usage",
            "description": f"Amazon EC2 usage, row {i}",
            "provider": "aws",
            "service": "AmazonEC2",
            "amount": amount,
            "price_list_id": "secret-price-list",
        }
        for i in range(lines - 1)
    ]
    return {
        "id": "acme-2026-10",
        "number": number,
        "kind": kind,
        "customer_id": "acme",
        "period": "2026-10",
        "currency": currency,
        "status": "issued" if number else "draft",
        "issued_at": "2026-11-02T09:00:00+00:00" if number else None,
        "issue_date": "2026-11-02" if number else None,
        "due_date": "2026-12-02" if number else None,
        "service_period": {"start": "2026-10-01", "end": "2026-10-31"},
        "lines": rows,
        "subtotal": total,
        "discount_total": "0",
        "taxes": taxes if taxes is not None else [],
        "tax_total": "0",
        "total": total,
        "cost": "98765.43",
        "margin": "55555.55",
        "savings_retained": "44444.44",
        **extra,
    }


def pages_text(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    # babel separates digits and currency with no-break spaces: read them as spaces
    return [re.sub(r"[\u00a0\u202f]", " ", page.extract_text() or "") for page in reader.pages]


def text_of(data: bytes) -> str:
    return "\n".join(pages_text(data))


def test_the_seller_and_buyer_blocks_carry_legal_names_in_any_script() -> None:
    text = text_of(render(invoice(), SELLER, CUSTOMER, "en"))
    assert "Example Cloud GmbH" in text
    assert "Ωμέγα ООО 株式会社" in text  # Greek, Cyrillic and CJK in one name
    assert "Domstraße 1" in text and "50667 Köln" in text
    assert "VAT ID DE136695976" in text and "VAT ID DE123456789" in text
    assert "HRB 12345, Amtsgericht Köln" in text
    assert "Your reference PO-7788" in text
    assert "Invoice" in text and "INV-2026-000042" in text


def test_without_legal_names_the_names_and_then_the_customer_id_are_printed() -> None:
    seller = {**SELLER, "legal_name": None}
    text = text_of(render(invoice(), seller, {"name": "Acme Trading"}, "en"))
    assert "Example Cloud" in text and "Acme Trading" in text
    text = text_of(render(invoice(), seller, {}, "en"))
    assert "\nacme\n" in text


def test_dates_and_labels_follow_the_invoice_language() -> None:
    german = text_of(render(invoice(), SELLER, CUSTOMER, "de"))
    assert "Rechnung" in german
    assert "Rechnungsdatum 2. November 2026" in german
    assert "Fällig am 2. Dezember 2026" in german
    assert "1. Oktober 2026 – 31. Oktober 2026" in german
    assert "2.064,13 €" in german
    french = text_of(render(invoice(), SELLER, CUSTOMER, "fr"))
    assert "Facture" in french
    assert "2 novembre 2026" in french and "2 décembre 2026" in french
    assert "2 064,13 €" in french
    english = text_of(render(invoice(), SELLER, CUSTOMER, "en"))
    assert "Issue date November 2, 2026" in english and "€2,064.13" in english


def test_amounts_are_in_the_currencys_minor_unit() -> None:
    yen = text_of(render(invoice(currency="JPY", amount="1234", total="12345"), SELLER, CUSTOMER))
    assert "¥12,345" in yen and "¥1,234" in yen
    assert "¥12,345.00" not in yen
    dinar = text_of(
        render(invoice(currency="BHD", amount="1.235", total="1234.567"), SELLER, CUSTOMER)
    )
    assert "BHD1,234.567" in dinar and "BHD1.235" in dinar


def test_an_invoice_of_500_lines_paginates_with_headings_and_page_numbers() -> None:
    pages = pages_text(render(invoice(500), SELLER, CUSTOMER, "en"))
    count = len(pages)
    assert count >= 8
    for number, text in enumerate(pages, start=1):
        if "Amazon EC2 usage, row" in text:  # every page of lines has the column headings
            assert "Description Provider / service Quantity Amount" in text, number
        assert f"Page {number} of {count}" in text
    assert "Amazon EC2 usage, row 498" in pages[-1] or "Amazon EC2 usage, row 498" in pages[-2]
    assert "Invoice INV-2026-000042 (continued)" in pages[1]
    rows = sum(len(re.findall(r"Amazon EC2 usage, row \d+ ", text)) for text in pages)
    assert rows == 499  # each line once: none lost or repeated at a page break


def test_a_draft_is_marked_on_every_page_and_an_issued_invoice_is_not() -> None:
    draft = invoice(120, number=None)
    pages = pages_text(render(draft, SELLER, CUSTOMER, "en", draft=True))
    assert len(pages) > 1
    assert all("DRAFT" in text for text in pages)
    assert "Draft (not yet numbered)" in pages[0]
    assert "ENTWURF" in text_of(render(draft, SELLER, CUSTOMER, "de", draft=True))
    assert "DRAFT" not in text_of(render(invoice(120), SELLER, CUSTOMER, "en"))


def test_no_reseller_figure_reaches_the_page() -> None:
    text = text_of(render(invoice(20), SELLER, CUSTOMER, "en"))
    for figure in RESELLER_FIGURES:
        assert figure not in text
    assert "98,765.43" not in text and "55,555.55" not in text and "44,444.44" not in text


def test_taxes_per_rate_and_the_reverse_charge_legend() -> None:
    taxed = invoice(
        taxes=[
            {"name": "VAT", "rate": "19", "base": "1734.56", "amount": "329.57"},
            {"name": "Solidarity", "rate": "5.5", "base": "1734.56", "amount": "95.40"},
        ]
    )
    text = text_of(render(taxed, SELLER, CUSTOMER, "en"))
    assert "VAT 19 % on €1,734.56 €329.57" in text
    assert "Solidarity 5.5 % on €1,734.56 €95.40" in text
    assert "Reverse charge" not in text
    note = "Reverse charge: VAT to be accounted for by the recipient (Article 196)."
    reverse = invoice(
        taxes=[{"name": "VAT", "rate": "0", "base": "100", "amount": "0", "note": note}]
    )
    reverse["lines"].append({"kind": "tax_note", "description": note, "amount": "0"})
    text = text_of(render(reverse, SELLER, CUSTOMER, "en"))
    assert text.count("Reverse charge: VAT to be accounted for") == 1  # a legend, not a line


def test_payment_instructions_name_the_bank_the_due_date_and_the_reference() -> None:
    text = text_of(render(invoice(), SELLER, CUSTOMER, "en"))
    assert "Please pay €2,064.13 by December 2, 2026, quoting INV-2026-000042." in text
    assert "IBAN: DE89370400440532013000" in text and "BIC: COBADEFFXXX" in text
    assert "Reference: INV-2026-000042" in text
    us = {**SELLER, "bank": {"account_number": "000123456789", "routing_number": "026009593"}}
    text = text_of(render(invoice(), us, CUSTOMER, "en"))
    assert "Account number: 000123456789" in text and "Routing number: 026009593" in text
    assert "Thank you for your business." in text


def test_a_credit_note_names_its_invoice_and_leaves_out_zero_lines() -> None:
    note = invoice(
        3,
        kind="credit_note",
        number="INV-2026-000043",
        total="-12.34",
        credit_note_for="acme-2026-10",
        credited_invoice_number="INV-2026-000042",
    )
    note["lines"][0]["amount"] = "0.00"
    note["lines"][1]["amount"] = "-12.34"
    note["lines"][2]["amount"] = "0.00"
    text = text_of(render(note, SELLER, CUSTOMER, "en"))
    assert "Credit note" in text and "for invoice INV-2026-000042" in text
    assert "Amazon EC2 usage, row 0" in text
    assert "Growth plan" not in text and "Amazon EC2 usage, row 1" not in text
    assert "Total credited -€12.34" in text
    assert "Please pay" not in text and "Due date" not in text


def _catalog(data: bytes) -> tuple[PdfReader, Mapping[str, Any]]:
    reader = PdfReader(io.BytesIO(data))
    return reader, reader.trailer["/Root"]


def test_the_pdf_is_pdfa_3b_with_every_font_embedded() -> None:
    reader, root = _catalog(render(invoice(), SELLER, CUSTOMER, "en"))
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert "Invoice INV-2026-000042" in xmp
    intent = root["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFA1" and "/DestOutputProfile" in intent
    assert "/Info" not in reader.trailer  # PDF/A-3: the XMP is the document's metadata
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor, font["/BaseFont"]
            fonts.add(str(font["/BaseFont"]).split("+")[1])
    assert {"DejaVuSansBook", "DroidSansFallback"} <= fonts  # the CJK glyphs came from Droid
    assert "/AF" not in root and "factur-x" not in xmp  # no e-invoice was given


def test_the_einvoice_is_embedded_as_factur_x() -> None:
    xml = CEN_EXAMPLE.read_bytes()
    reader, root = _catalog(render(invoice(), SELLER, CUSTOMER, "en", einvoice_xml=xml))
    assert reader.attachments[FACTURX_FILENAME] == [xml]
    spec = root["/AF"][0].get_object()
    assert spec["/F"] == FACTURX_FILENAME and spec["/AFRelationship"] == "/Alternative"
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/text/xml"
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>" in xmp
    assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
    assert "<pdfaSchema:prefix>fx</pdfaSchema:prefix>" in xmp
    assert "<pdfaid:part>3</pdfaid:part>" in xmp


def _image(kind: str, size: tuple[int, int] = (120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 90, 160)).save(out, format=kind)
    return out.getvalue()


def _has_image(data: bytes) -> bool:
    page = PdfReader(io.BytesIO(data)).pages[0]
    objects = page["/Resources"].get("/XObject") or {}
    return any(o.get_object()["/Subtype"] == "/Image" for o in objects.values())


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_png_or_jpeg_logo_is_drawn(kind: str) -> None:
    assert _has_image(render(invoice(), SELLER, CUSTOMER, "en", logo=_image(kind)))


@pytest.mark.parametrize(
    ("logo", "reason"),
    [
        (b"not an image at all", "not a readable image"),
        (_image("GIF"), "not PNG or JPEG"),
        (_image("PNG")[:40], "not a readable image"),
        (b"\x89PNG" + bytes(600 * 1024), "at most"),
    ],
)
def test_a_bad_logo_is_skipped_with_a_log_line_and_the_invoice_still_renders(
    logo: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="chalicelib.documents.pdf"):
        data = render(invoice(), SELLER, CUSTOMER, "en", logo=logo)
    assert not _has_image(data)
    assert "INV-2026-000042" in text_of(data)
    assert any(reason in record.getMessage() for record in caplog.records)


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown invoice language 'es'"):
        render(invoice(), SELLER, CUSTOMER, "es")


def test_text_no_pdf_can_hold_is_printed_as_a_replacement_not_an_error() -> None:
    # JSON carries lone surrogates and control characters; a PDF string holds neither.
    customer = {**CUSTOMER, "legal_name": "Acme \ud800 Trading\x00 Ltd"}
    broken = invoice()
    broken["lines"][0]["description"] = "Growth\x07 plan"
    text = text_of(render(broken, {**SELLER, "footer": "Thanks\ud83d"}, customer, "en"))
    assert "Acme ? Trading  Ltd" in text and "Growth  plan" in text and "Thanks?" in text


@pytest.mark.parametrize(
    ("language", "legend"),
    [
        ("en", "Reverse charge: VAT to be accounted for by the recipient"),
        ("de", "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge"),
        ("fr", "Autoliquidation : TVA due par le preneur"),
    ],
)
def test_the_tax_cores_legal_notes_are_in_the_invoice_language(language: str, legend: str) -> None:
    from chalicelib.billing.tax import EXEMPT_NOTE, REVERSE_CHARGE_NOTE

    note = f"{REVERSE_CHARGE_NOTE} Customer VAT number: FR40303265045."
    reverse = invoice(
        taxes=[{"name": "VAT", "rate": "0", "base": "100", "amount": "0", "note": note}]
    )
    reverse["lines"].append({"kind": "tax_note", "description": note, "amount": "0"})
    text = " ".join(text_of(render(reverse, SELLER, CUSTOMER, language)).split())
    assert text.count(legend) == 1
    assert "FR40303265045" in text
    exempt = invoice(
        taxes=[{"name": "Tax", "rate": "0", "base": "1", "amount": "0", "note": EXEMPT_NOTE}]
    )
    text = text_of(render(exempt, SELLER, CUSTOMER, language))
    assert (EXEMPT_NOTE in text) == (language == "en")
