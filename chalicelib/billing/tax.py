"""Stage 8 of docs/design.md §4.2: tax, computed on the composed invoice.

When the tax service is on: the rates of the customer's country and region (a region rate is more
specific than a country rate and wins; several rates at the winning level all apply, e.g. two
components), none for ``exempt`` customers, and reverse charge (0 % with the legal note) for an
EU business customer in another member state than the seller whose VAT number passes validation.
Tax = round(taxable base × rate) per rate, at invoice level; the base is the invoice's subtotal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from stdnum.eu import vat

from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.document import Invoice, InvoiceLine, TaxLine
from chalicelib.billing.money import ZERO, exact, round_money
from chalicelib.billing.reference import Settings, TaxProfile, TaxRate

# The 27 member states by ISO 3166 code. (VAT numbers write Greece as EL.)
EU_MEMBER_STATES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Article 196, Council Directive 2006/112/EC)."
)
EXEMPT_NOTE = "Tax exempt: no tax charged."


@dataclass(frozen=True)
class TaxTreatment:
    kind: str  # none | standard | exempt | reverse_charge
    rates: tuple[TaxRate, ...] = ()
    note: str | None = None


def applicable_rates(rates: Sequence[TaxRate], profile: TaxProfile) -> tuple[TaxRate, ...]:
    """The rates of the customer's country and region; the most specific level wins."""
    if profile.country is None:
        return ()
    in_country = [r for r in rates if r.country == profile.country]
    regional = [r for r in in_country if r.region is not None and r.region == profile.region]
    return tuple(regional or [r for r in in_country if r.region is None])


def valid_vat_number(tax_id: str | None, country: str | None) -> bool:
    """A VAT number that passes validation and belongs to the customer's member state."""
    if not tax_id or country is None:
        return False
    prefix = "EL" if country == "GR" else country
    number = re.sub(r"[\s.\-/]", "", tax_id).upper()
    if not number[:2].isalpha():
        number = prefix + number
    return number[:2].upper() == prefix and bool(vat.is_valid(number))


def tax_treatment(settings: Settings, profile: TaxProfile) -> TaxTreatment:
    if not settings.tax_enabled:
        return TaxTreatment("none")
    rates = applicable_rates(settings.tax_rates, profile)
    if profile.exempt:
        return TaxTreatment("exempt", rates, EXEMPT_NOTE)
    seller_country = settings.seller.country
    if (
        seller_country in EU_MEMBER_STATES
        and profile.country in EU_MEMBER_STATES
        and profile.country != seller_country
        and valid_vat_number(profile.tax_id, profile.country)
    ):
        note = f"{REVERSE_CHARGE_NOTE} Customer VAT number: {profile.tax_id}."
        return TaxTreatment("reverse_charge", rates, note)
    return TaxTreatment("standard" if rates else "none", rates)


@exact
def compute_tax(cp: CustomerPeriod, invoice: Invoice) -> Invoice:
    """The invoice with its taxes (and the legal note line); computing twice changes nothing."""
    lines = tuple(line for line in invoice.lines if line.kind != "tax_note")
    base = sum((line.amount for line in lines), ZERO)
    treatment = tax_treatment(cp.settings, cp.customer.tax_profile)
    taxes: list[TaxLine] = []
    if treatment.kind == "standard":
        taxes = [
            TaxLine(r.name, r.rate, base, round_money(base * r.rate / 100, invoice.currency))
            for r in treatment.rates
        ]
    elif treatment.kind in ("exempt", "reverse_charge"):
        names = [r.name for r in treatment.rates] or [
            "VAT" if treatment.kind == "reverse_charge" else "Tax"
        ]
        taxes = [TaxLine(name, ZERO, base, ZERO, treatment.note) for name in names]
        assert treatment.note is not None
        lines += (InvoiceLine("tax_note", treatment.note, ZERO),)
    return replace(invoice, lines=lines, taxes=tuple(taxes))
