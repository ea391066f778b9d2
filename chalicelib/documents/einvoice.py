"""The EN 16931 semantic model of an issued invoice or credit note, built from the stored
invoice, the seller (``settings.seller``) and the buyer (the customer document).

:mod:`chalicelib.documents.cii` and :mod:`chalicelib.documents.ubl` write this one model in the
two syntaxes of the standard, so both say exactly the same thing. Choices (docs/invoices.md):

* Lines with an amount of zero or more are invoice lines (BG-25); negative lines — pre-purchased
  credit applied, discounts, credits — are document-level allowances (BG-20) with the line's
  description as the reason. EN 16931 forbids a negative item price (BR-27), so a negative line
  would need a quantity of −1, which buyers' systems read as returned goods; an allowance is what
  the standard names a discount or a credit. (A document with no line of zero or more keeps its
  negative lines as lines: the standard needs at least one line, BR-16.)
* A credit note (type 381) states its amounts positive, as both syntaxes expect: the stored
  credit note's negated lines and taxes are negated back.
* One VAT category for the whole document, from Rebill's tax (stage 8 taxes the invoice's
  subtotal): several rates of one place (a country and a region component) apply to the same
  base, so they are one rate, their sum, with their summed amounts (BR-CO-17 allows the unit of
  rounding this can differ by).
* Amounts are the invoice's own, never re-rounded: the model refuses an amount that EN 16931
  cannot carry (it allows at most two decimals, BR-DEC; a BHD amount with a third decimal).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.billing.document import Invoice, InvoiceLine
from chalicelib.billing.money import ZERO, minor_unit, plain, round_places
from chalicelib.billing.periods import Period
from chalicelib.billing.tax import EU_MEMBER_STATES, EXEMPT_NOTE, REVERSE_CHARGE_NOTE
from chalicelib.errors import BillingError

CREDIT_NOTE, COMMERCIAL_INVOICE = "381", "380"
MAX_DECIMALS = 2  # BR-DEC-*: EN 16931 amounts carry at most two decimals
UNIT_ONE = "C62"  # UN/ECE Recommendation 20: "one"
DISCOUNT_REASON_CODE = "95"  # UNTDID 5189: discount
CREDIT_TRANSFER, SEPA_CREDIT_TRANSFER = "30", "58"  # UNTDID 4461
OUTSIDE_SCOPE_REASON = "Not subject to VAT"
REVERSE_CHARGE_REASON = "Reverse charge"


class EInvoiceIncomplete(BillingError):
    """The e-invoice cannot be made from what is on file: says which field is missing or why."""

    code = "einvoice_incomplete"


@dataclass(frozen=True)
class VatCategory:
    """BT-151/152 on a line, BT-95/96 on an allowance, BT-118..121 in the breakdown."""

    code: str  # S | Z | E | AE | O (UNTDID 5305)
    rate: Decimal | None  # None for O: outside the scope of VAT has no rate
    exemption_reason: str | None = None
    exemption_code: str | None = None  # VATEX


@dataclass(frozen=True)
class Address:
    """BG-5 / BG-8."""

    country: str
    lines: tuple[str, ...] = ()
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Party:
    """BG-4 seller / BG-7 buyer."""

    name: str  # BT-27 / BT-44: the legal name
    address: Address
    trading_name: str | None = None  # BT-28 / BT-45
    identifier: str | None = None  # BT-29 / BT-46
    legal_registration: str | None = None  # BT-30 / BT-47
    vat_id: str | None = None  # BT-31 / BT-48
    tax_registration: str | None = None  # BT-32 (seller only)
    electronic_address: str | None = None  # BT-34 / BT-49, an e-mail address (scheme EM)
    email: str | None = None  # BT-43 / BT-58
    phone: str | None = None  # BT-42 / BT-57


@dataclass(frozen=True)
class PaymentMeans:
    """BG-16: how to pay (credit transfer to the seller's account)."""

    type_code: str
    account: str | None  # BT-84: the IBAN, or the account number
    iban: bool
    account_name: str | None = None  # BT-85
    institution: str | None = None  # BT-86: BIC (or the routing number)
    remittance: str | None = None  # BT-83


@dataclass(frozen=True)
class Line:
    """BG-25."""

    id: str
    name: str
    quantity: Decimal
    price: Decimal  # BT-146, net price per unit
    net_amount: Decimal  # BT-131
    vat: VatCategory


@dataclass(frozen=True)
class Allowance:
    """BG-20: a document-level allowance (a discount or a credit), a positive amount."""

    amount: Decimal
    reason: str
    vat: VatCategory
    reason_code: str | None = None


@dataclass(frozen=True)
class VatBreakdown:
    """BG-23: one per VAT category and rate."""

    vat: VatCategory
    taxable: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    """BG-22."""

    line_total: Decimal  # BT-106
    allowance_total: Decimal  # BT-107
    charge_total: Decimal  # BT-108
    tax_exclusive: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    payable: Decimal  # BT-115


@dataclass(frozen=True)
class EInvoice:
    number: str  # BT-1
    type_code: str  # BT-3
    issue_date: date  # BT-2
    currency: str  # BT-5
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    allowances: tuple[Allowance, ...]
    breakdown: tuple[VatBreakdown, ...]
    totals: Totals
    period_start: date  # BG-14
    period_end: date
    due_date: date | None = None  # BT-9
    payment_terms: str | None = None  # BT-20
    buyer_reference: str | None = None  # BT-10
    preceding_invoice: str | None = None  # BT-25 (credit notes)
    notes: tuple[str, ...] = ()  # BT-22
    payment_means: PaymentMeans | None = None
    decimals: int = MAX_DECIMALS  # how amounts are written

    @property
    def is_credit_note(self) -> bool:
        return self.type_code == CREDIT_NOTE

    def amount(self, value: Decimal) -> str:
        """An amount as the XML writes it: the currency's decimals (at most two)."""
        rounded = round_places(value, self.decimals)
        return f"{abs(rounded) if rounded == 0 else rounded:f}"  # never "-0.00"


# --- formatting shared by the two syntaxes ------------------------------------------------------


def rate_text(rate: Decimal) -> str:
    return plain(rate)


def quantity_text(quantity: Decimal) -> str:
    return plain(quantity)


def price_text(price: Decimal) -> str:
    return plain(price)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Text XML 1.0 can carry: control characters other than tab and newlines are dropped."""
    return _NOT_XML.sub("", value)


# --- building the model --------------------------------------------------------------------------


def build_einvoice(
    invoice: Mapping[str, Any], seller: Mapping[str, Any], buyer: Mapping[str, Any]
) -> EInvoice:
    """The EN 16931 model of an issued invoice or credit note (a stored invoice document)."""
    if invoice.get("status") == "draft" or not invoice.get("number"):
        raise EInvoiceIncomplete(
            f"invoice {invoice.get('id')!r} is not issued: a draft has no e-invoice"
        )
    doc = Invoice.from_dict(invoice)
    credit_note = doc.kind == "credit_note"
    sign = Decimal(-1) if credit_note else Decimal(1)
    currency = doc.currency
    decimals = _decimals(currency)
    vat = vat_category(doc, sign)

    # The legal note line (amount 0) is carried by the exemption reason and a note instead.
    amounts = [(line, sign * line.amount) for line in doc.lines if line.kind != "tax_note"]
    charges = [(line, amount) for line, amount in amounts if amount >= 0]
    credits = [(line, amount) for line, amount in amounts if amount < 0]
    if not charges:
        charges, credits = amounts, []
    if not charges:
        raise EInvoiceIncomplete(f"invoice {doc.number} has no lines: an e-invoice needs one")
    lines = tuple(_line(str(i), line, amount, vat) for i, (line, amount) in enumerate(charges, 1))
    allowances = tuple(_allowance(line, -amount, vat) for line, amount in credits)

    line_total = sum((line.net_amount for line in lines), ZERO)
    allowance_total = sum((a.amount for a in allowances), ZERO)
    tax_exclusive = line_total - allowance_total
    tax_total = sign * sum((tax.amount for tax in doc.taxes), ZERO)
    totals = Totals(
        line_total=line_total,
        allowance_total=allowance_total,
        charge_total=ZERO,
        tax_exclusive=tax_exclusive,
        tax_total=tax_total,
        tax_inclusive=tax_exclusive + tax_total,
        payable=tax_exclusive + tax_total,
    )
    stated = invoice.get("total")
    if stated is not None and totals.tax_inclusive != sign * Decimal(str(stated)):
        raise EInvoiceIncomplete(  # a stored document whose lines and taxes disagree with it
            f"invoice {doc.number}: its lines and taxes come to {sign * totals.tax_inclusive}, "
            f"not its total {stated}"
        )
    for amount in (
        *(line.net_amount for line in lines),
        *(a.amount for a in allowances),
        tax_total,
        totals.payable,
    ):
        _check_decimals(amount, currency, decimals, doc.number)

    issue_date = _issue_date(invoice)
    start, end = _service_period(invoice, doc.period)
    terms_days = _terms_days(invoice, buyer, seller)
    due_date = _due_date(invoice, issue_date, terms_days)
    notes = [note for note in (_tax_note(doc), _reason(invoice), seller.get("footer")) if note]
    return EInvoice(
        number=str(doc.number),
        type_code=CREDIT_NOTE if credit_note else COMMERCIAL_INVOICE,
        issue_date=issue_date,
        currency=currency,
        seller=seller_party(seller, vat),
        buyer=buyer_party(buyer, vat),
        lines=lines,
        allowances=allowances,
        breakdown=(VatBreakdown(vat, tax_exclusive, tax_total),),
        totals=totals,
        period_start=start,
        period_end=end,
        due_date=due_date,
        payment_terms=_terms_text(terms_days, due_date),
        buyer_reference=_text(buyer.get("buyer_reference")),
        preceding_invoice=doc.credited_invoice_number if credit_note else None,
        notes=tuple(xml_text(str(note)) for note in notes),
        payment_means=payment_means(seller.get("bank"), str(doc.number)),
        decimals=decimals,
    )


def _decimals(currency: str) -> int:
    return min(minor_unit(currency), MAX_DECIMALS)


def _check_decimals(amount: Decimal, currency: str, decimals: int, number: str | None) -> None:
    if round_places(amount, decimals) != amount:
        raise EInvoiceIncomplete(
            f"invoice {number}: the {currency} amount {amount} has more than {MAX_DECIMALS} "
            "decimals, which EN 16931 does not allow (BR-DEC): no e-invoice can state it exactly"
        )


# --- VAT ------------------------------------------------------------------------------------------


def vat_category(doc: Invoice, sign: Decimal = Decimal(1)) -> VatCategory:
    """Rebill's tax lines as one VAT category (docs/invoices.md, "VAT categories").

    Reverse charge (the note of stage 8) is AE, an exempt customer E, a rate above zero S, rates
    of zero Z; no tax line at all (tax off, or no rate for the buyer's place) is O, outside the
    scope of VAT.
    """
    taxes = doc.taxes
    notes = [tax.note for tax in taxes if tax.note]
    if not taxes:
        return VatCategory("O", None, OUTSIDE_SCOPE_REASON, "VATEX-EU-O")
    if any(note.startswith(REVERSE_CHARGE_NOTE) for note in notes):
        return VatCategory("AE", ZERO, REVERSE_CHARGE_REASON, "VATEX-EU-AE")
    if any(note == EXEMPT_NOTE for note in notes):
        return VatCategory("E", ZERO, EXEMPT_NOTE)
    bases = {sign * tax.base for tax in taxes}
    if len(bases) > 1:
        raise EInvoiceIncomplete(
            f"invoice {doc.number}: its taxes apply to different bases "
            f"({', '.join(str(b) for b in sorted(bases))}); one VAT rate per invoice is supported"
        )
    rate = sum((tax.rate for tax in taxes), ZERO)
    return VatCategory("S" if rate > 0 else "Z", rate)


def _tax_note(doc: Invoice) -> str | None:
    notes = [tax.note for tax in doc.taxes if tax.note]
    return notes[0] if notes else None


# --- lines and allowances ----------------------------------------------------------------------


def _line(line_id: str, line: InvoiceLine, amount: Decimal, vat: VatCategory) -> Line:
    quantity = Decimal(line.quantity) if line.quantity and line.quantity > 0 else Decimal(1)
    price = amount / quantity
    if price * quantity != amount or price != round_places(price, 6):
        quantity, price = Decimal(1), amount  # a fee that does not divide: one unit of it
    if amount < 0:  # only on a document with no line of zero or more (BR-27: price ≥ 0)
        quantity, price = -quantity, -price
    return Line(line_id, xml_text(line.description), quantity, price, amount, vat)


def _allowance(line: InvoiceLine, amount: Decimal, vat: VatCategory) -> Allowance:
    code = DISCOUNT_REASON_CODE if line.kind == "discount" else None
    return Allowance(amount, xml_text(line.description), vat, code)


# --- parties -------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = xml_text(str(value)).strip()
    return text or None


def _address(value: Any, fallback_country: Any, who: str) -> Address:
    address: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
    country = _text(address.get("country")) or _text(fallback_country)
    if not country:
        raise EInvoiceIncomplete(
            f"the {who} has no country: EN 16931 needs one (BT-40/BT-55)", field=f"{who}.address"
        )
    lines = tuple(t for t in (_text(x) for x in address.get("lines") or ()) if t)
    return Address(
        country=country.upper(),
        lines=lines,
        city=_text(address.get("city")),
        postal_code=_text(address.get("postal_code")),
        region=_text(address.get("region")),
    )


def vat_number(tax_id: Any, country: str | None) -> str | None:
    """A VAT identifier with its country prefix (EL for Greece), or None when it is not one.

    An id that starts with two letters is taken as prefixed; an EU number without them gets its
    member state's; anything else (a US EIN) is not a VAT identifier."""
    text = _text(tax_id)
    if not text:
        return None
    compact = re.sub(r"[\s.\-/]", "", text).upper()
    if compact[:2].isalpha():
        return compact
    if country in EU_MEMBER_STATES:
        return ("EL" if country == "GR" else str(country)) + compact
    return None


def seller_party(seller: Mapping[str, Any], vat: VatCategory) -> Party:
    name = _text(seller.get("legal_name")) or _text(seller.get("name"))
    if not name:
        raise EInvoiceIncomplete("the seller has no name (settings.seller.name)", field="seller")
    address = _address(seller.get("address"), seller.get("country"), "seller")
    tax_id = _text(seller.get("tax_id"))
    vat_id = vat_number(tax_id, address.country)
    registration = None
    if vat.code == "O" or vat_id is None:  # BR-O-02: no seller VAT identifier outside scope
        vat_id, registration = None, tax_id
    if vat.code != "O" and not (vat_id or registration):
        raise EInvoiceIncomplete(
            f"the seller has no tax id (settings.seller.tax_id): an invoice with VAT category "
            f"{vat.code} must name the seller's VAT number",
            field="seller.tax_id",
        )
    legal_registration = _text(seller.get("registration"))
    identifier = None
    if not (vat_id or legal_registration):  # BR-CO-26: the buyer must be able to identify it
        identifier = tax_id
        if not identifier:
            raise EInvoiceIncomplete(
                "the seller has neither a tax id nor a registration (settings.seller.tax_id, "
                "settings.seller.registration): EN 16931 needs one to identify the seller",
                field="seller.registration",
            )
    trading = _text(seller.get("name"))
    email = _text(seller.get("email"))
    return Party(
        name=name,
        address=address,
        trading_name=trading if trading and trading != name else None,
        identifier=identifier,
        legal_registration=legal_registration,
        vat_id=vat_id,
        tax_registration=registration,
        electronic_address=email,
        email=email,
        phone=_text(seller.get("phone")),
    )


def buyer_party(buyer: Mapping[str, Any], vat: VatCategory) -> Party:
    name = _text(buyer.get("legal_name")) or _text(buyer.get("name"))
    if not name:
        raise EInvoiceIncomplete("the customer has no name", field="customer.name")
    profile: Mapping[str, Any] = buyer.get("tax_profile") or {}
    address = _address(buyer.get("address"), profile.get("country"), "customer")
    tax_id = _text(profile.get("tax_id"))
    vat_id = vat_number(tax_id, address.country)
    registration = tax_id if tax_id and vat_id is None else None  # a non-VAT tax id
    if vat.code == "O":  # BR-O-02: no buyer VAT identifier outside scope
        vat_id = None
    if vat.code == "AE" and not vat_id:
        raise EInvoiceIncomplete(
            "a reverse-charge invoice must name the customer's VAT number (BR-AE-02): "
            "the customer has none (tax_profile.tax_id)",
            field="customer.tax_profile.tax_id",
        )
    emails = [e for e in (_text(x) for x in buyer.get("billing_emails") or ()) if e]
    email = emails[0] if emails else _text(buyer.get("email"))
    trading = _text(buyer.get("name"))
    return Party(
        name=name,
        address=address,
        trading_name=trading if trading and trading != name else None,
        identifier=_text(buyer.get("id")),
        legal_registration=registration,
        vat_id=vat_id,
        electronic_address=email,
        email=email,
        phone=_text(buyer.get("phone")),
    )


def payment_means(bank: Any, remittance: str) -> PaymentMeans | None:
    """A credit transfer to the seller's account: SEPA (58) with an IBAN, else 30."""
    if not isinstance(bank, Mapping):
        return None
    iban = _text(bank.get("iban"))
    account = iban.replace(" ", "").upper() if iban else _text(bank.get("account_number"))
    if not account:
        return None
    return PaymentMeans(
        type_code=SEPA_CREDIT_TRANSFER if iban else CREDIT_TRANSFER,
        account=account,
        iban=bool(iban),
        account_name=_text(bank.get("account_name")),
        institution=_text(bank.get("bic")) or _text(bank.get("routing_number")),
        remittance=remittance,
    )


# --- dates ---------------------------------------------------------------------------------------


def _date(value: Any, field_name: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise EInvoiceIncomplete(f"{field_name} is not a date: {value!r}") from None


def _issue_date(invoice: Mapping[str, Any]) -> date:
    if invoice.get("issue_date"):
        return _date(invoice["issue_date"], "issue_date")
    if invoice.get("issued_at"):
        return _date(invoice["issued_at"], "issued_at")
    raise EInvoiceIncomplete(f"invoice {invoice.get('number')} has no issue date")


def _service_period(invoice: Mapping[str, Any], period: str) -> tuple[date, date]:
    service = invoice.get("service_period")
    if isinstance(service, Mapping) and service.get("start") and service.get("end"):
        return (
            _date(service["start"], "service_period.start"),
            _date(service["end"], "service_period.end"),
        )
    month = Period.parse(period)
    return month.start, month.end - timedelta(days=1)


def _terms_days(invoice: Mapping[str, Any], *profiles: Mapping[str, Any]) -> int | None:
    for source in (invoice, *profiles):
        value = source.get("payment_terms_days")
        if value is not None and not isinstance(value, bool):
            return int(value)
    return None


def _due_date(invoice: Mapping[str, Any], issued: date, terms_days: int | None) -> date:
    if invoice.get("due_date"):
        return _date(invoice["due_date"], "due_date")
    return issued + timedelta(days=terms_days or 0)


def _terms_text(terms_days: int | None, due: date) -> str:
    if terms_days:
        return f"Payment within {terms_days} days, by {due.isoformat()}"
    return f"Due on {due.isoformat()}"


def _reason(invoice: Mapping[str, Any]) -> str | None:
    reason = invoice.get("credit_reason") or invoice.get("void_reason")
    return f"Reason: {reason}" if reason else None
