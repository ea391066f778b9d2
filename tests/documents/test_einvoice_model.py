"""The EN 16931 model of an issued invoice: VAT categories from Rebill's tax, lines and
allowances, totals equal to the stored invoice's, the fallbacks of a thin profile, and a clear
error for what the standard cannot state."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.billing.document import InvoiceLine
from chalicelib.documents.cii import RAM, cii_xml
from chalicelib.documents.einvoice import EInvoiceIncomplete, build_einvoice
from chalicelib.documents.ubl import CAC, CBC, ubl_xml
from tests.documents.einvoice_corpus import (
    CASES_BY_NAME,
    FULL_SELLER,
    MINIMAL_SELLER,
    buyer,
    stored,
    taxed,
)

D = Decimal


@pytest.mark.parametrize(
    ("name", "category", "rate"),
    [
        ("eur-standard-full-profiles", "S", D("19")),
        ("usd-outside-scope-us-buyer", "O", None),
        ("usd-tax-off", "O", None),
        ("eur-reverse-charge", "AE", D(0)),
        ("eur-reverse-charge-unprefixed-vat-number", "AE", D(0)),
        ("eur-exempt", "E", D(0)),
        ("eur-zero-rated", "Z", D(0)),
        ("cad-two-rates", "S", D("14.975")),
        ("eur-credit-note-reverse-charge", "AE", D(0)),
    ],
)
def test_the_vat_category_follows_rebills_tax(name: str, category: str, rate: Decimal) -> None:
    case = CASES_BY_NAME[name]
    e = build_einvoice(case.invoice, case.seller, case.buyer)
    (breakdown,) = e.breakdown
    assert (breakdown.vat.code, breakdown.vat.rate) == (category, rate)
    assert {line.vat.code for line in e.lines} == {category}
    if category in ("AE", "E", "O"):
        assert breakdown.vat.exemption_reason  # BR-AE-10, BR-E-10, BR-O-10
    if category == "AE":
        assert breakdown.vat.exemption_code == "VATEX-EU-AE"
        assert e.buyer.vat_id and e.buyer.vat_id[:2].isalpha()
        assert any("Reverse charge" in note for note in e.notes)
    if category == "O":  # BR-O-02: no seller or buyer VAT identifier
        assert e.seller.vat_id is None and e.buyer.vat_id is None


@pytest.mark.parametrize("name", sorted(n for n in CASES_BY_NAME))
def test_the_totals_are_the_stored_invoices(name: str) -> None:
    case = CASES_BY_NAME[name]
    e = build_einvoice(case.invoice, case.seller, case.buyer)
    sign = -1 if case.invoice["kind"] == "credit_note" else 1
    assert e.totals.payable == sign * D(case.invoice["total"])
    assert e.totals.tax_total == sign * D(case.invoice["tax_total"])
    assert e.breakdown[0].taxable == e.totals.tax_exclusive == sign * D(case.invoice["subtotal"])


def test_credit_lines_are_allowances_and_a_discount_says_so() -> None:
    e = build_einvoice(*_parts("eur-standard-full-profiles"))
    assert [line.name for line in e.lines] == [
        "Growth plan × 3",
        "Support plan (17/31 days)",
        "AWS Amazon EC2",
        "AWS Amazon S3",
        "Onboarding fee",
    ]
    assert e.lines[0].quantity == 3 and e.lines[0].price == D("500.00")
    assert [(a.reason, a.amount, a.reason_code) for a in e.allowances] == [
        ("Pre-purchased infrastructure applied", D("400.00"), None),
        ("Discount 5 % on all charges", D("100.62"), "95"),
        ("Goodwill credit", D("20.00"), None),
    ]


def test_a_credit_note_states_positive_amounts_and_names_the_invoice() -> None:
    e = build_einvoice(*_parts("eur-void-credit-note"))
    assert (e.type_code, e.preceding_invoice) == ("381", "INV-2026-000101")
    assert all(line.net_amount > 0 for line in e.lines)
    assert all(a.amount > 0 for a in e.allowances)
    assert e.totals.payable == D("2548.61")


def test_a_document_of_credits_only_keeps_them_as_lines() -> None:
    e = build_einvoice(*_parts("eur-only-credits"))
    (line,) = e.lines
    assert (line.quantity, line.price, line.net_amount) == (D(-1), D("50.00"), D("-50.00"))
    assert e.allowances == ()


def test_jpy_amounts_have_no_decimals() -> None:
    case = CASES_BY_NAME["jpy-standard"]
    root = ET.fromstring(cii_xml(case.invoice, case.seller, case.buyer))
    grand = root.findtext(f".//{{{RAM}}}GrandTotalAmount")
    assert grand == case.invoice["total"] and "." not in grand


def test_a_bhd_amount_with_a_third_decimal_is_refused_not_rounded() -> None:
    fils = (InvoiceLine("subscription", "Growth plan", D("100.125")),)
    invoice = stored(taxed(fils, currency="BHD", buyer_country="BH", rates=[("VAT", "10")]))
    seller = {"name": "Example Cloud WLL", "country": "BH", "tax_id": "200000898300002"}
    with pytest.raises(EInvoiceIncomplete, match="BR-DEC"):
        cii_xml(invoice, seller, buyer("BH"))
    # The same invoice with amounts EN 16931 can state is written with two decimals.
    exact = (InvoiceLine("subscription", "Growth plan", D("100.100")),)
    invoice = stored(taxed(exact, currency="BHD", buyer_country="BH", rates=[("VAT", "10")]))
    root = ET.fromstring(ubl_xml(invoice, seller, buyer("BH")))
    assert root.findtext(f"{{{CAC}}}LegalMonetaryTotal/{{{CBC}}}PayableAmount") == "110.11"


def test_a_stored_total_that_disagrees_with_the_lines_is_refused() -> None:
    invoice = {**CASES_BY_NAME["eur-exempt"].invoice, "total": "9999.99"}
    with pytest.raises(EInvoiceIncomplete, match=r"not its total 9999\.99"):
        build_einvoice(invoice, MINIMAL_SELLER, buyer(exempt=True))


def test_a_draft_has_no_e_invoice() -> None:
    invoice = {**CASES_BY_NAME["eur-exempt"].invoice, "status": "draft", "number": None}
    with pytest.raises(EInvoiceIncomplete, match="draft"):
        build_einvoice(invoice, MINIMAL_SELLER, buyer())


@pytest.mark.parametrize(
    ("seller", "field"),
    [
        ({"name": "Example Cloud GmbH", "tax_id": "DE136695976"}, "seller.address"),
        ({"name": "Example Cloud GmbH", "country": "DE"}, "seller.tax_id"),
        ({"country": "DE", "tax_id": "DE136695976"}, "seller"),
    ],
)
def test_what_the_standard_needs_of_the_seller_is_named(seller: Any, field: str) -> None:
    invoice = CASES_BY_NAME["eur-standard-minimal-profiles"].invoice
    with pytest.raises(EInvoiceIncomplete) as raised:
        build_einvoice(invoice, seller, buyer())
    assert raised.value.field == field


def test_reverse_charge_needs_the_buyers_vat_number() -> None:
    invoice = CASES_BY_NAME["eur-reverse-charge"].invoice
    with pytest.raises(EInvoiceIncomplete, match="BR-AE-02"):
        build_einvoice(invoice, MINIMAL_SELLER, buyer("FR"))


def test_a_thin_profile_falls_back_to_what_rebill_has() -> None:
    case = CASES_BY_NAME["eur-standard-minimal-profiles"]
    e = build_einvoice(case.invoice, case.seller, case.buyer)
    assert (e.seller.name, e.seller.trading_name) == ("Example Cloud GmbH", None)
    assert (e.seller.address.country, e.buyer.address.country) == ("DE", "DE")
    assert e.seller.vat_id == "DE136695976"
    assert e.issue_date == date(2026, 11, 2)  # from issued_at
    assert (e.period_start, e.period_end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert e.due_date == e.issue_date and e.payment_terms == "Due on 2026-11-02"
    assert e.payment_means is None
    assert e.buyer.electronic_address == "ap@acme.example"


def test_a_full_profile_fills_the_parties_payment_and_terms() -> None:
    case = CASES_BY_NAME["eur-standard-full-profiles"]
    e = build_einvoice(case.invoice, case.seller, case.buyer)
    assert (e.seller.name, e.seller.trading_name) == ("Example Cloud GmbH", "Example Cloud")
    assert e.seller.legal_registration == "HRB 12345 B"
    assert e.seller.address.lines[-1] == "Büro 12"
    assert (e.buyer.name, e.buyer.trading_name) == ("Acme Holdings Ltd", "Acme")
    assert e.buyer.electronic_address == "invoices@acme.example"  # the first billing e-mail
    assert e.buyer_reference == "PO-4711"
    assert e.due_date == date(2026, 11, 16)  # the customer's 14 days win over the seller's 30
    assert e.payment_means is not None
    assert (e.payment_means.type_code, e.payment_means.account) == (
        "58",
        "DE89370400440532013000",
    )
    assert e.notes[-1].startswith("Example Cloud GmbH ·")  # the footer
    cii = cii_xml(case.invoice, case.seller, case.buyer).decode()
    assert "<ram:LineThree>3. Stock, Büro 12</ram:LineThree>" in cii


def test_the_recorded_dates_win_over_the_fallbacks() -> None:
    case = CASES_BY_NAME["eur-standard-contracted-dates"]
    e = build_einvoice(case.invoice, case.seller, case.buyer)
    assert (e.issue_date, e.due_date) == (date(2026, 11, 3), date(2026, 12, 3))
    assert e.payment_terms == "Payment within 30 days, by 2026-12-03"


def test_a_bank_account_without_iban_is_a_plain_credit_transfer() -> None:
    seller = {
        **FULL_SELLER,
        "bank": {
            "account_name": "Example",
            "account_number": "000123456789",
            "routing_number": "026009593",
        },
    }
    case = CASES_BY_NAME["usd-outside-scope-us-buyer"]
    e = build_einvoice(case.invoice, seller, case.buyer)
    assert e.payment_means is not None
    assert (e.payment_means.type_code, e.payment_means.iban) == ("30", False)
    assert e.payment_means.institution == "026009593"
    ubl = ubl_xml(case.invoice, seller, case.buyer).decode()
    assert "<cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>" in ubl


def test_a_non_vat_tax_id_of_the_buyer_is_a_registration_not_a_vat_number() -> None:
    case = CASES_BY_NAME["usd-outside-scope-us-buyer"]
    e = build_einvoice(case.invoice, case.seller, case.buyer)
    assert (e.buyer.vat_id, e.buyer.legal_registration) == (None, "12-3456789")


def test_descriptions_lose_the_characters_xml_cannot_carry() -> None:
    weird = (InvoiceLine("custom", "Fee\x00 with <tags> & \x1bescapes", D("10.00")),)
    invoice = stored(replace(taxed(weird), number="INV-1"))
    root = ET.fromstring(cii_xml(invoice, MINIMAL_SELLER, buyer()))
    assert root.findtext(f".//{{{RAM}}}SpecifiedTradeProduct/{{{RAM}}}Name") == (
        "Fee with <tags> & escapes"
    )


def _parts(name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    case = CASES_BY_NAME[name]
    return case.invoice, case.seller, case.buyer
