"""An EN 16931 e-invoice in UN/CEFACT Cross Industry Invoice (D16B): the XML of Factur-X /
ZUGFeRD's EN 16931 profile (the PDF embeds it as ``factur-x.xml``).

:func:`cii_xml` is the public entry: a stored invoice or credit note, the seller and the buyer
in, UTF-8 XML out. Elements follow the schema's order; :mod:`chalicelib.documents.einvoice`
decides every figure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import date
from typing import Any

from chalicelib.documents.einvoice import (
    Address,
    EInvoice,
    Party,
    VatCategory,
    build_einvoice,
    price_text,
    quantity_text,
    rate_text,
)

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"  # Factur-X / ZUGFeRD EN 16931 ("Comfort") profile
_PREFIXES = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}


def cii_xml(
    invoice: Mapping[str, Any], seller: Mapping[str, Any], buyer: Mapping[str, Any]
) -> bytes:
    """The CII XML of an issued invoice or credit note (TypeCode 380 or 381)."""
    return write_cii(build_einvoice(invoice, seller, buyer))


def _q(prefix: str, name: str) -> str:
    return f"{{{_PREFIXES[prefix]}}}{name}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    prefix, name = tag.split(":")
    element = ET.SubElement(parent, _q(prefix, name), attrib)
    if text is not None:
        element.text = text
    return element


def _date(parent: ET.Element, tag: str, value: date, kind: str = "udt:DateTimeString") -> None:
    _sub(_sub(parent, tag), kind, value.strftime("%Y%m%d"), format="102")


def write_cii(e: EInvoice) -> bytes:
    for prefix, uri in _PREFIXES.items():
        ET.register_namespace(prefix, uri)
    root = ET.Element(_q("rsm", "CrossIndustryInvoice"))
    context = _sub(root, "rsm:ExchangedDocumentContext")
    _sub(
        _sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931_GUIDELINE
    )

    document = _sub(root, "rsm:ExchangedDocument")
    _sub(document, "ram:ID", e.number)
    _sub(document, "ram:TypeCode", e.type_code)
    _date(document, "ram:IssueDateTime", e.issue_date)
    for note in e.notes:
        _sub(_sub(document, "ram:IncludedNote"), "ram:Content", note)

    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    for line in e.lines:
        item = _sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _sub(_sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", line.id)
        _sub(_sub(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.name)
        price = _sub(_sub(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
        _sub(price, "ram:ChargeAmount", price_text(line.price))
        _sub(
            _sub(item, "ram:SpecifiedLineTradeDelivery"),
            "ram:BilledQuantity",
            quantity_text(line.quantity),
            unitCode="C62",
        )
        settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
        _category(settlement, "ram:ApplicableTradeTax", line.vat)
        _sub(
            _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"),
            "ram:LineTotalAmount",
            e.amount(line.net_amount),
        )

    agreement = _sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    if e.buyer_reference:
        _sub(agreement, "ram:BuyerReference", e.buyer_reference)
    _party(agreement, "ram:SellerTradeParty", e.seller)
    _party(agreement, "ram:BuyerTradeParty", e.buyer)
    _sub(transaction, "ram:ApplicableHeaderTradeDelivery")

    settlement = _sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    if e.payment_means and e.payment_means.remittance:
        _sub(settlement, "ram:PaymentReference", e.payment_means.remittance)
    _sub(settlement, "ram:InvoiceCurrencyCode", e.currency)
    if e.payment_means:
        means = _sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _sub(means, "ram:TypeCode", e.payment_means.type_code)
        account = _sub(means, "ram:PayeePartyCreditorFinancialAccount")
        if e.payment_means.iban:
            _sub(account, "ram:IBANID", e.payment_means.account)
        if e.payment_means.account_name:
            _sub(account, "ram:AccountName", e.payment_means.account_name)
        if not e.payment_means.iban:
            _sub(account, "ram:ProprietaryID", e.payment_means.account)
        if e.payment_means.institution:
            institution = _sub(means, "ram:PayeeSpecifiedCreditorFinancialInstitution")
            _sub(institution, "ram:BICID", e.payment_means.institution)
    for vat in e.breakdown:
        tax = _sub(settlement, "ram:ApplicableTradeTax")
        _sub(tax, "ram:CalculatedAmount", e.amount(vat.tax))
        _sub(tax, "ram:TypeCode", "VAT")
        if vat.vat.exemption_reason:
            _sub(tax, "ram:ExemptionReason", vat.vat.exemption_reason)
        _sub(tax, "ram:BasisAmount", e.amount(vat.taxable))
        _sub(tax, "ram:CategoryCode", vat.vat.code)
        if vat.vat.exemption_code:
            _sub(tax, "ram:ExemptionReasonCode", vat.vat.exemption_code)
        if vat.vat.rate is not None:
            _sub(tax, "ram:RateApplicablePercent", rate_text(vat.vat.rate))
    period = _sub(settlement, "ram:BillingSpecifiedPeriod")
    _date(period, "ram:StartDateTime", e.period_start)
    _date(period, "ram:EndDateTime", e.period_end)
    for allowance in e.allowances:
        charge = _sub(settlement, "ram:SpecifiedTradeAllowanceCharge")
        _sub(_sub(charge, "ram:ChargeIndicator"), "udt:Indicator", "false")
        _sub(charge, "ram:ActualAmount", e.amount(allowance.amount))
        if allowance.reason_code:
            _sub(charge, "ram:ReasonCode", allowance.reason_code)
        _sub(charge, "ram:Reason", allowance.reason)
        _category(charge, "ram:CategoryTradeTax", allowance.vat)
    if e.payment_terms or e.due_date:
        terms = _sub(settlement, "ram:SpecifiedTradePaymentTerms")
        if e.payment_terms:
            _sub(terms, "ram:Description", e.payment_terms)
        if e.due_date:
            _date(terms, "ram:DueDateDateTime", e.due_date)
    totals = _sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    t = e.totals
    _sub(totals, "ram:LineTotalAmount", e.amount(t.line_total))
    _sub(totals, "ram:ChargeTotalAmount", e.amount(t.charge_total))
    _sub(totals, "ram:AllowanceTotalAmount", e.amount(t.allowance_total))
    _sub(totals, "ram:TaxBasisTotalAmount", e.amount(t.tax_exclusive))
    _sub(totals, "ram:TaxTotalAmount", e.amount(t.tax_total), currencyID=e.currency)
    _sub(totals, "ram:GrandTotalAmount", e.amount(t.tax_inclusive))
    _sub(totals, "ram:DuePayableAmount", e.amount(t.payable))
    if e.preceding_invoice:
        preceding = _sub(settlement, "ram:InvoiceReferencedDocument")
        _sub(preceding, "ram:IssuerAssignedID", e.preceding_invoice)

    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return xml


def _category(parent: ET.Element, tag: str, vat: VatCategory) -> None:
    tax = _sub(parent, tag)
    _sub(tax, "ram:TypeCode", "VAT")
    _sub(tax, "ram:CategoryCode", vat.code)
    if vat.rate is not None:
        _sub(tax, "ram:RateApplicablePercent", rate_text(vat.rate))


def _party(parent: ET.Element, tag: str, party: Party) -> None:
    element = _sub(parent, tag)
    if party.identifier:
        _sub(element, "ram:ID", party.identifier)
    _sub(element, "ram:Name", party.name)
    if party.legal_registration or party.trading_name:
        legal = _sub(element, "ram:SpecifiedLegalOrganization")
        if party.legal_registration:
            _sub(legal, "ram:ID", party.legal_registration)
        if party.trading_name:
            _sub(legal, "ram:TradingBusinessName", party.trading_name)
    if party.phone or party.email:
        contact = _sub(element, "ram:DefinedTradeContact")
        if party.phone:
            _sub(
                _sub(contact, "ram:TelephoneUniversalCommunication"),
                "ram:CompleteNumber",
                party.phone,
            )
        if party.email:
            _sub(_sub(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", party.email)
    _address(element, party.address)
    if party.electronic_address:
        uri = _sub(element, "ram:URIUniversalCommunication")
        _sub(uri, "ram:URIID", party.electronic_address, schemeID="EM")
    if party.vat_id:
        _sub(_sub(element, "ram:SpecifiedTaxRegistration"), "ram:ID", party.vat_id, schemeID="VA")
    if party.tax_registration:
        registration = _sub(element, "ram:SpecifiedTaxRegistration")
        _sub(registration, "ram:ID", party.tax_registration, schemeID="FC")


def _address(parent: ET.Element, address: Address) -> None:
    element = _sub(parent, "ram:PostalTradeAddress")
    if address.postal_code:
        _sub(element, "ram:PostcodeCode", address.postal_code)
    lines = list(address.lines[:2])
    if len(address.lines) > 2:  # CII has three address lines: the rest share the third
        lines.append(", ".join(address.lines[2:]))
    for name, text in zip(("ram:LineOne", "ram:LineTwo", "ram:LineThree"), lines, strict=False):
        _sub(element, name, text)
    if address.city:
        _sub(element, "ram:CityName", address.city)
    _sub(element, "ram:CountryID", address.country)
    if address.region:
        _sub(element, "ram:CountrySubDivisionName", address.region)
