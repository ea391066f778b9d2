"""Schema sanity: every e-invoice of the corpus is valid against the XML schemas — the Factur-X
EN 16931 profile's XSD for CII, UBL 2.1's Invoice and CreditNote XSDs — which check what the
Schematron rules do not (element order, which elements exist); and the CII passes Factur-X's
own EN 16931 profile rules with no fatal assertion, as the PDF will embed it. The schemas and
rules are those the ``factur-x`` package ships."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import facturx
import pytest
from lxml import etree
from saxonche import PySaxonProcessor

from chalicelib.documents.cii import cii_xml
from chalicelib.documents.ubl import ubl_xml
from tests.documents.einvoice_corpus import CASES_BY_NAME, Case, corpus

SCHEMAS = Path(facturx.__file__).parent / "xsd_and_schematron"
SVRL = "http://purl.oclc.org/dsdl/svrl"
CASES = corpus()


@pytest.fixture(scope="module")
def xsd() -> dict[str, etree.XMLSchema]:
    def load(relative: str) -> etree.XMLSchema:
        return etree.XMLSchema(etree.parse(str(SCHEMAS / relative)))

    return {
        "cii": load("facturx-en16931/Factur-X_EN16931.xsd"),
        "invoice": load("ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"),
        "credit_note": load("ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"),
    }


def _errors(schema: etree.XMLSchema, xml: bytes) -> list[str]:
    if schema.validate(etree.fromstring(xml)):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_xml_is_valid_against_the_schemas(xsd: dict[str, etree.XMLSchema], case: Case) -> None:
    assert _errors(xsd["cii"], cii_xml(case.invoice, case.seller, case.buyer)) == []
    ubl_schema = xsd["credit_note" if case.invoice["kind"] == "credit_note" else "invoice"]
    assert _errors(ubl_schema, ubl_xml(case.invoice, case.seller, case.buyer)) == []


def test_the_schema_check_catches_a_misplaced_element(xsd: dict[str, etree.XMLSchema]) -> None:
    case = CASES_BY_NAME["eur-standard-full-profiles"]
    xml = cii_xml(case.invoice, case.seller, case.buyer).decode()
    type_code = "<ram:TypeCode>380</ram:TypeCode>"
    swapped = xml.replace(type_code, "", 1).replace("<ram:ID>", type_code + "<ram:ID>", 1)
    assert _errors(xsd["cii"], swapped.encode()) != []


def test_the_cii_passes_the_factur_x_en16931_profile_rules() -> None:
    processor = PySaxonProcessor(license=False)
    rules = processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=str(SCHEMAS / "facturx-en16931" / "FACTUR-X_EN16931.xslt")
    )
    for case in CASES:
        xml = cii_xml(case.invoice, case.seller, case.buyer).decode()
        report = rules.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml))
        fatal = [
            f"{failed.get('id')}: {' '.join((failed.findtext(f'{{{SVRL}}}text') or '').split())}"
            for failed in ET.fromstring(report.encode()).iter(f"{{{SVRL}}}failed-assert")
            if failed.get("flag") == "fatal"
        ]
        assert fatal == [], case.name
