"""Stage 8: tax rates by country and region, exemptions, EU reverse charge."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.billing.document import Invoice, InvoiceLine
from chalicelib.billing.tax import REVERSE_CHARGE_NOTE, compute_tax, valid_vat_number
from tests.billing.fixtures import context, customer, settings

D = Decimal
RATES = [
    {"country": "DE", "rate": "19", "name": "VAT"},
    {"country": "FR", "rate": "20", "name": "TVA"},
    {"country": "US", "rate": "0", "name": "Federal"},
    {"country": "US", "region": "US-WA", "rate": "6.5", "name": "Sales tax"},
    {"country": "CA", "region": "CA-QC", "rate": "5", "name": "GST"},
    {"country": "CA", "region": "CA-QC", "rate": "9.975", "name": "QST"},
]
INVOICE = Invoice(
    customer_id="acme",
    period="2026-10",
    currency="USD",
    lines=(
        InvoiceLine("subscription", "Growth", D("100.00")),
        InvoiceLine("cloud_usage", "AWS EC2", D("23.45"), "aws", "EC2"),
    ),
)  # subtotal 123.45


def taxed(profile: dict[str, Any], enabled: bool = True, seller: str = "DE") -> Invoice:
    cp = context(
        customer_=customer(tax_profile=profile),
        settings_=settings(
            seller={"name": "Example Cloud", "country": seller},
            tax={"enabled": enabled, "rates": RATES},
        ),
    )
    return compute_tax(cp, INVOICE)


def taxes(invoice: Invoice) -> list[tuple[str, Decimal, Decimal]]:
    return [(t.name, t.rate, t.amount) for t in invoice.taxes]


def test_country_rate() -> None:
    invoice = taxed({"country": "DE"})
    assert taxes(invoice) == [("VAT", D(19), D("23.46"))]  # 123.45 × 19 % = 23.4555
    assert invoice.total == D("146.91")


def test_region_rate_is_more_specific_than_country_rate() -> None:
    assert taxes(taxed({"country": "US", "region": "US-WA"})) == [
        ("Sales tax", D("6.5"), D("8.02"))  # 123.45 × 6.5 % = 8.02425
    ]
    assert taxes(taxed({"country": "US", "region": "US-OR"})) == [("Federal", D(0), D("0.00"))]


def test_several_rates_at_the_most_specific_level_all_apply() -> None:
    invoice = taxed({"country": "CA", "region": "CA-QC"})
    assert taxes(invoice) == [
        ("GST", D(5), D("6.17")),  # 6.1725
        ("QST", D("9.975"), D("12.31")),  # 12.3141…
    ]
    assert invoice.tax_total == D("18.48")  # per rate, then summed


def test_no_rate_no_tax() -> None:
    assert taxed({"country": "JP"}).taxes == ()
    assert taxed({}).taxes == ()


def test_tax_service_off() -> None:
    assert taxed({"country": "DE"}, enabled=False).taxes == ()


def test_exempt_customer_pays_none() -> None:
    invoice = taxed({"country": "DE", "exempt": True})
    assert taxes(invoice) == [("VAT", D(0), D(0))]
    assert invoice.total == invoice.subtotal == D("123.45")
    assert [ln.kind for ln in invoice.lines][-1] == "tax_note"


def test_eu_reverse_charge_with_a_valid_vat_number() -> None:
    invoice = taxed({"country": "FR", "tax_id": "FR40303265045"})
    assert taxes(invoice) == [("TVA", D(0), D(0))]
    assert invoice.taxes[0].note is not None and REVERSE_CHARGE_NOTE in invoice.taxes[0].note
    note = invoice.lines[-1]
    assert (note.kind, note.amount) == ("tax_note", D(0))
    assert "FR40303265045" in note.description
    assert invoice.total == D("123.45")


@pytest.mark.parametrize(
    ("profile", "seller"),
    [
        ({"country": "FR", "tax_id": "FR00303265045"}, "DE"),  # fails the check digits
        ({"country": "FR", "tax_id": None}, "DE"),  # a consumer
        ({"country": "FR", "tax_id": "DE136695976"}, "DE"),  # another state's number
        ({"country": "FR", "tax_id": "FR40303265045"}, "FR"),  # same member state
        ({"country": "FR", "tax_id": "FR40303265045"}, "US"),  # seller outside the EU
    ],
)
def test_no_reverse_charge(profile: dict[str, Any], seller: str) -> None:
    assert taxes(taxed(profile, seller=seller)) == [("TVA", D(20), D("24.69"))]  # 24.69


def test_greek_vat_numbers_use_el() -> None:
    assert valid_vat_number("EL094259216", "GR")
    assert valid_vat_number("094259216", "GR")  # prefix added
    assert not valid_vat_number("094259216", "FR")


def test_computing_twice_changes_nothing() -> None:
    cp = context(
        customer_=customer(tax_profile={"country": "FR", "tax_id": "FR40303265045"}),
        settings_=settings(tax={"enabled": True, "rates": RATES}),
    )
    once = compute_tax(cp, INVOICE)
    assert compute_tax(cp, once) == once
