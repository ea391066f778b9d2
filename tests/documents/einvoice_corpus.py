"""Invoices and credit notes as Rebill stores them, taxed by the real stage 8 and credited by
the real lifecycle, with the seller and buyer documents beside them: the corpus the e-invoice
tests run through the CEN validation artefacts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from chalicelib.billing.document import Invoice, InvoiceLine
from chalicelib.billing.lifecycle import Credited as CreditedSoFar
from chalicelib.billing.lifecycle import LineCredit, credit, void
from chalicelib.billing.tax import compute_tax
from tests.billing.fixtures import context, customer, settings

D = Decimal
PERIOD = "2026-10"
ISSUED_AT = "2026-11-02T09:30:00+00:00"

FULL_SELLER: dict[str, Any] = {
    "name": "Example Cloud",
    "legal_name": "Example Cloud GmbH",
    "country": "DE",
    "tax_id": "DE136695976",
    "address": {
        "lines": ["Hauptstraße 1", "Gebäude B", "3. Stock", "Büro 12"],
        "city": "Berlin",
        "postal_code": "10115",
        "region": "Berlin",
        "country": "DE",
    },
    "registration": "HRB 12345 B",
    "email": "billing@example-cloud.example",
    "phone": "+49 30 1234567",
    "bank": {
        "account_name": "Example Cloud GmbH",
        "iban": "DE89 3704 0044 0532 0130 00",
        "bic": "COBADEFFXXX",
    },
    "payment_terms_days": 30,
    "footer": "Example Cloud GmbH · Geschäftsführer: A. Example",
}
MINIMAL_SELLER: dict[str, Any] = {
    "name": "Example Cloud GmbH",
    "country": "DE",
    "tax_id": "DE136695976",
}


def buyer(
    country: str = "DE",
    *,
    tax_id: str | None = None,
    exempt: bool = False,
    full: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "acme",
        "name": "Acme",
        "email": "ap@acme.example",
        "currency": "EUR",
        "tax_profile": {"country": country, "region": None, "tax_id": tax_id, "exempt": exempt},
    }
    if full:
        doc.update(
            legal_name="Acme Holdings Ltd",
            address={
                "lines": ["1 Main Street"],
                "city": "Springfield",
                "postal_code": "12345",
                "region": None,
                "country": country,
            },
            billing_emails=["invoices@acme.example", "cfo@acme.example"],
            buyer_reference="PO-4711",
            payment_terms_days=14,
            language="en",
        )
    doc.update(extra)
    return doc


def lines(currency: str = "EUR", scale: Decimal = Decimal(1)) -> tuple[InvoiceLine, ...]:
    """A month of Rebill: subscriptions, cloud usage, pre-purchased credit, a discount, custom
    items (a fee and a credit), in ``currency``'s minor unit × ``scale``."""

    def m(value: str) -> Decimal:
        exponent = D(1) if currency == "JPY" else D("0.01")
        return (D(value) * scale).quantize(exponent)

    return (
        InvoiceLine("subscription", "Growth plan × 3", m("1500.00"), quantity=3),
        InvoiceLine("subscription", "Support plan (17/31 days)", m("54.84"), quantity=1),
        InvoiceLine(
            "cloud_usage", "AWS Amazon EC2", m("812.37"), provider="aws", service="AmazonEC2"
        ),
        InvoiceLine("cloud_usage", "AWS Amazon S3", m("45.10"), provider="aws", service="AmazonS3"),
        InvoiceLine("prepurchased_credit", "Pre-purchased infrastructure applied", -m("400.00")),
        InvoiceLine("discount", "Discount 5 % on all charges", -m("100.62")),
        InvoiceLine("custom", "Onboarding fee", m("250.00")),
        InvoiceLine("custom", "Goodwill credit", -m("20.00")),
    )


def taxed(
    invoice_lines: Sequence[InvoiceLine],
    *,
    currency: str = "EUR",
    seller_country: str = "DE",
    buyer_country: str = "DE",
    rates: Sequence[tuple[str, str]] = (("VAT", "19"),),
    tax_id: str | None = None,
    exempt: bool = False,
    tax_enabled: bool = True,
    number: str = "INV-2026-000101",
) -> Invoice:
    """An issued invoice taxed by Rebill's own stage 8 for a buyer in ``buyer_country``."""
    cp = context(
        customer_=customer(
            currency=currency,
            tax_profile={"country": buyer_country, "tax_id": tax_id, "exempt": exempt},
        ),
        settings_=settings(
            seller={"name": "Seller", "country": seller_country, "tax_id": "DE136695976"},
            tax={
                "enabled": tax_enabled,
                "rates": [
                    {"country": buyer_country, "rate": rate, "name": name} for name, rate in rates
                ],
            },
        ),
    )
    untaxed = Invoice("acme", PERIOD, currency, tuple(invoice_lines))
    invoice = compute_tax(cp, untaxed)
    return replace(
        invoice, id="acme-2026-10-1", number=number, status="issued", issued_at=ISSUED_AT
    )


def stored(invoice: Invoice, **extra: Any) -> dict[str, Any]:
    """The invoice as the store keeps it (``Invoice.to_dict`` plus what storage adds)."""
    return {**invoice.to_dict(), "csv_key": "invoices/x/c/x.csv", "run_id": "run-1", **extra}


@dataclass(frozen=True)
class Case:
    name: str
    invoice: dict[str, Any]
    seller: dict[str, Any]
    buyer: dict[str, Any]


def corpus() -> list[Case]:
    eur = taxed(lines())
    _voided, void_note = void(eur, "INV-2026-000102", "2026-11-20T10:00:00+00:00")
    partial = credit(eur, CreditedSoFar(), "2026-11-21T10:00:00+00:00", amount=D("333.33"))
    by_lines = credit(
        eur,
        CreditedSoFar(),
        "2026-11-22T10:00:00+00:00",
        lines=[LineCredit(2, D("100.01")), LineCredit(6, None)],
    )
    many = tuple(
        InvoiceLine(
            "cloud_usage",
            f"AWS service {i:03d}",
            D(i * 7919 % 100000) / 100,
            provider="aws",
            service=f"Service{i:03d}",
        )
        for i in range(1, 501)
    )
    bhd_lines = tuple(
        replace(line, amount=(line.amount * 10).quantize(D("0.01"))) for line in lines()
    )  # BHD amounts with a zero third decimal: what EN 16931's two decimals can state
    return [
        Case("eur-standard-full-profiles", stored(eur), FULL_SELLER, buyer(full=True)),
        Case("eur-standard-minimal-profiles", stored(eur), MINIMAL_SELLER, buyer()),
        Case(
            "eur-standard-contracted-dates",
            stored(
                eur,
                issue_date="2026-11-03",
                due_date="2026-12-03",
                service_period={"start": "2026-10-01", "end": "2026-10-31"},
                payment_terms_days=30,
            ),
            FULL_SELLER,
            buyer(full=True),
        ),
        Case(
            "usd-outside-scope-us-buyer",
            stored(taxed(lines("USD"), currency="USD", buyer_country="US", rates=())),
            FULL_SELLER,
            buyer("US", tax_id="12-3456789", full=True),
        ),
        Case(
            "usd-tax-off",
            stored(taxed(lines("USD"), currency="USD", buyer_country="US", tax_enabled=False)),
            MINIMAL_SELLER,
            buyer("US"),
        ),
        Case(
            "jpy-standard",
            stored(
                taxed(
                    lines("JPY", D(150)),
                    currency="JPY",
                    buyer_country="JP",
                    rates=[("消費税", "10")],
                )
            ),
            {"name": "Example Cloud KK", "country": "JP", "tax_id": "T1234567890123"},
            buyer("JP", full=True),
        ),
        Case(
            "bhd-standard",
            stored(taxed(bhd_lines, currency="BHD", buyer_country="BH", rates=[("VAT", "10")])),
            {"name": "Example Cloud WLL", "country": "BH", "tax_id": "200000898300002"},
            buyer("BH"),
        ),
        Case(
            "eur-reverse-charge",
            stored(taxed(lines(), buyer_country="FR", tax_id="FR40303265045")),
            FULL_SELLER,
            buyer("FR", tax_id="FR40303265045", full=True),
        ),
        Case(
            "eur-reverse-charge-unprefixed-vat-number",
            stored(taxed(lines(), buyer_country="AT", tax_id="U13585627")),
            MINIMAL_SELLER,
            buyer("AT", tax_id="U13585627"),
        ),
        Case("eur-exempt", stored(taxed(lines(), exempt=True)), FULL_SELLER, buyer(exempt=True)),
        Case(
            "eur-zero-rated",
            stored(taxed(lines(), rates=[("VAT", "0")])),
            MINIMAL_SELLER,
            buyer(),
        ),
        Case(
            "cad-two-rates",
            stored(
                taxed(
                    lines("CAD"),
                    currency="CAD",
                    buyer_country="CA",
                    rates=[("GST", "5"), ("QST", "9.975")],
                )
            ),
            {"name": "Example Cloud Inc.", "country": "CA", "tax_id": "123456789RT0001"},
            buyer("CA"),
        ),
        Case("eur-void-credit-note", stored(void_note), FULL_SELLER, buyer(full=True)),
        Case(
            "eur-partial-credit-note-by-amount",
            stored(replace(partial, number="INV-2026-000103"), credit_reason="Service outage"),
            FULL_SELLER,
            buyer(),
        ),
        Case(
            "eur-credit-note-by-lines",
            stored(replace(by_lines, number="INV-2026-000104")),
            MINIMAL_SELLER,
            buyer(full=True),
        ),
        Case(
            "eur-credit-note-reverse-charge",
            stored(
                void(
                    taxed(lines(), buyer_country="FR", tax_id="FR40303265045"),
                    "INV-2026-000105",
                    "2026-11-20T10:00:00+00:00",
                )[1]
            ),
            FULL_SELLER,
            buyer("FR", tax_id="FR40303265045"),
        ),
        Case("eur-500-lines", stored(taxed(many)), FULL_SELLER, buyer(full=True)),
        Case(
            "eur-only-credits",
            stored(taxed((InvoiceLine("unused_credit", "Unused credit credited", D("-50.00")),))),
            MINIMAL_SELLER,
            buyer(),
        ),
    ]


CASES_BY_NAME: dict[str, Case] = {case.name: case for case in corpus()}
