"""An EN 16931 e-invoice in UBL 2.1, as Peppol BIS Billing 3.0 has it: an ``Invoice`` (type
380) or a ``CreditNote`` (type 381).

:func:`ubl_xml` is the public entry: a stored invoice or credit note, the seller and the buyer
in, UTF-8 XML out. Elements follow the UBL schema's order; :mod:`chalicelib.documents.einvoice`
decides every figure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.documents.einvoice import (
    UNIT_ONE,
    Address,
    EInvoice,
    Party,
    VatCategory,
    build_einvoice,
    price_text,
    quantity_text,
    rate_text,
)

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
_PREFIXES = {"cac": CAC, "cbc": CBC}


def ubl_xml(
    invoice: Mapping[str, Any], seller: Mapping[str, Any], buyer: Mapping[str, Any]
) -> bytes:
    """The UBL XML of an issued invoice (``Invoice``) or credit note (``CreditNote``)."""
    return write_ubl(build_einvoice(invoice, seller, buyer))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    prefix, name = tag.split(":")
    element = ET.SubElement(parent, f"{{{_PREFIXES[prefix]}}}{name}", attrib)
    if text is not None:
        element.text = text
    return element


def write_ubl(e: EInvoice) -> bytes:
    credit = e.is_credit_note
    root_ns = CREDIT_NOTE_NS if credit else INVOICE_NS
    ET.register_namespace("", root_ns)  # the document's own namespace is the default one
    for prefix, uri in _PREFIXES.items():
        ET.register_namespace(prefix, uri)
    root = ET.Element(f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}")

    def money(parent: ET.Element, tag: str, value: Decimal) -> None:
        _sub(parent, tag, e.amount(value), currencyID=e.currency)

    _sub(root, "cbc:CustomizationID", PEPPOL_CUSTOMIZATION)
    _sub(root, "cbc:ProfileID", PEPPOL_PROFILE)
    _sub(root, "cbc:ID", e.number)
    _sub(root, "cbc:IssueDate", e.issue_date.isoformat())
    if e.due_date and not credit:  # a UBL CreditNote has no DueDate: see PaymentMeans
        _sub(root, "cbc:DueDate", e.due_date.isoformat())
    _sub(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", e.type_code)
    for note in e.notes:
        _sub(root, "cbc:Note", note)
    _sub(root, "cbc:DocumentCurrencyCode", e.currency)
    if e.buyer_reference:
        _sub(root, "cbc:BuyerReference", e.buyer_reference)
    period = _sub(root, "cac:InvoicePeriod")
    _sub(period, "cbc:StartDate", e.period_start.isoformat())
    _sub(period, "cbc:EndDate", e.period_end.isoformat())
    if e.preceding_invoice:
        reference = _sub(_sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _sub(reference, "cbc:ID", e.preceding_invoice)
    _party(_sub(root, "cac:AccountingSupplierParty"), e.seller, seller=True)
    _party(_sub(root, "cac:AccountingCustomerParty"), e.buyer, seller=False)

    if e.payment_means:
        pm = e.payment_means
        means = _sub(root, "cac:PaymentMeans")
        _sub(means, "cbc:PaymentMeansCode", pm.type_code)
        if credit and e.due_date:
            _sub(means, "cbc:PaymentDueDate", e.due_date.isoformat())
        if pm.remittance:
            _sub(means, "cbc:PaymentID", pm.remittance)
        account = _sub(means, "cac:PayeeFinancialAccount")
        _sub(account, "cbc:ID", pm.account)
        if pm.account_name:
            _sub(account, "cbc:Name", pm.account_name)
        if pm.institution:
            _sub(_sub(account, "cac:FinancialInstitutionBranch"), "cbc:ID", pm.institution)
    if e.payment_terms:
        _sub(_sub(root, "cac:PaymentTerms"), "cbc:Note", e.payment_terms)

    for allowance in e.allowances:
        charge = _sub(root, "cac:AllowanceCharge")
        _sub(charge, "cbc:ChargeIndicator", "false")
        if allowance.reason_code:
            _sub(charge, "cbc:AllowanceChargeReasonCode", allowance.reason_code)
        _sub(charge, "cbc:AllowanceChargeReason", allowance.reason)
        money(charge, "cbc:Amount", allowance.amount)
        _category(charge, "cac:TaxCategory", allowance.vat)

    tax_total = _sub(root, "cac:TaxTotal")
    money(tax_total, "cbc:TaxAmount", e.totals.tax_total)
    for vat in e.breakdown:
        subtotal = _sub(tax_total, "cac:TaxSubtotal")
        money(subtotal, "cbc:TaxableAmount", vat.taxable)
        money(subtotal, "cbc:TaxAmount", vat.tax)
        _category(subtotal, "cac:TaxCategory", vat.vat, breakdown=True)

    t = e.totals
    totals = _sub(root, "cac:LegalMonetaryTotal")
    money(totals, "cbc:LineExtensionAmount", t.line_total)
    money(totals, "cbc:TaxExclusiveAmount", t.tax_exclusive)
    money(totals, "cbc:TaxInclusiveAmount", t.tax_inclusive)
    money(totals, "cbc:AllowanceTotalAmount", t.allowance_total)
    money(totals, "cbc:ChargeTotalAmount", t.charge_total)
    money(totals, "cbc:PayableAmount", t.payable)

    for line in e.lines:
        element = _sub(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        _sub(element, "cbc:ID", line.id)
        quantity = "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity"
        _sub(element, quantity, quantity_text(line.quantity), unitCode=UNIT_ONE)
        money(element, "cbc:LineExtensionAmount", line.net_amount)
        item = _sub(element, "cac:Item")
        _sub(item, "cbc:Name", line.name)
        _category(item, "cac:ClassifiedTaxCategory", line.vat)
        _sub(
            _sub(element, "cac:Price"),
            "cbc:PriceAmount",
            price_text(line.price),
            currencyID=e.currency,
        )

    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return xml


def _category(parent: ET.Element, tag: str, vat: VatCategory, *, breakdown: bool = False) -> None:
    category = _sub(parent, tag)
    _sub(category, "cbc:ID", vat.code)
    if vat.rate is not None:
        _sub(category, "cbc:Percent", rate_text(vat.rate))
    if breakdown and vat.exemption_code:
        _sub(category, "cbc:TaxExemptionReasonCode", vat.exemption_code)
    if breakdown and vat.exemption_reason:
        _sub(category, "cbc:TaxExemptionReason", vat.exemption_reason)
    _sub(_sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")


def _party(parent: ET.Element, party: Party, *, seller: bool) -> None:
    element = _sub(parent, "cac:Party")
    if party.electronic_address:
        _sub(element, "cbc:EndpointID", party.electronic_address, schemeID="EM")
    if party.identifier:
        _sub(_sub(element, "cac:PartyIdentification"), "cbc:ID", party.identifier)
    if party.trading_name:
        _sub(_sub(element, "cac:PartyName"), "cbc:Name", party.trading_name)
    _address(element, party.address)
    if party.vat_id:
        scheme = _sub(element, "cac:PartyTaxScheme")
        _sub(scheme, "cbc:CompanyID", party.vat_id)
        _sub(_sub(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    if seller and party.tax_registration:
        scheme = _sub(element, "cac:PartyTaxScheme")
        _sub(scheme, "cbc:CompanyID", party.tax_registration)
        _sub(_sub(scheme, "cac:TaxScheme"), "cbc:ID", "TAX")
    legal = _sub(element, "cac:PartyLegalEntity")
    _sub(legal, "cbc:RegistrationName", party.name)
    if party.legal_registration:
        _sub(legal, "cbc:CompanyID", party.legal_registration)
    if party.phone or party.email:
        contact = _sub(element, "cac:Contact")
        if party.phone:
            _sub(contact, "cbc:Telephone", party.phone)
        if party.email:
            _sub(contact, "cbc:ElectronicMail", party.email)


def _address(parent: ET.Element, address: Address) -> None:
    element = _sub(parent, "cac:PostalAddress")
    if address.lines:
        _sub(element, "cbc:StreetName", address.lines[0])
    if len(address.lines) > 1:
        _sub(element, "cbc:AdditionalStreetName", address.lines[1])
    if address.city:
        _sub(element, "cbc:CityName", address.city)
    if address.postal_code:
        _sub(element, "cbc:PostalZone", address.postal_code)
    if address.region:
        _sub(element, "cbc:CountrySubentity", address.region)
    if len(address.lines) > 2:  # BT-162: the third line carries the rest
        _sub(_sub(element, "cac:AddressLine"), "cbc:Line", ", ".join(address.lines[2:]))
    _sub(_sub(element, "cac:Country"), "cbc:IdentificationCode", address.country)
