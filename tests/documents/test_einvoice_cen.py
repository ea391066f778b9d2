"""Every e-invoice Rebill makes passes the official CEN validation artefacts of EN 16931
(shared/data/external/en16931, release validation-1.3.16) with no fatal assertion, in CII and in
UBL, across the corpus of tests/documents/einvoice_corpus.py; and the check itself fails on a
tampered document."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from saxonche import PySaxonProcessor, PyXsltExecutable

from chalicelib.documents.cii import RAM, RSM, cii_xml
from chalicelib.documents.ubl import CBC, INVOICE_NS, ubl_xml
from tests.documents.einvoice_corpus import Case, corpus

ARTEFACTS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "external" / "en16931"
SVRL = "http://purl.oclc.org/dsdl/svrl"
CASES = corpus()
Writer = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], bytes]
SYNTAXES: dict[str, Writer] = {"cii": cii_xml, "ubl": ubl_xml}


def _artefacts() -> Path:
    assert ARTEFACTS.is_dir(), f"the CEN validation artefacts are not at {ARTEFACTS}"
    return ARTEFACTS


@dataclass
class Validator:
    processor: PySaxonProcessor
    stylesheets: dict[str, PyXsltExecutable]

    def failures(self, syntax: str, xml: bytes) -> list[tuple[str, str, str]]:
        """(rule id, flag, text) of every failed assertion of the syntax's CEN rules."""
        node = self.processor.parse_xml(xml_text=xml.decode("utf-8"))
        report = self.stylesheets[syntax].transform_to_string(xdm_node=node)
        assert report, "the validation produced no SVRL report"
        root = ET.fromstring(report.encode("utf-8"))
        return [
            (
                failed.get("id", "?"),
                failed.get("flag", "?"),
                " ".join((failed.findtext(f"{{{SVRL}}}text") or "").split()),
            )
            for failed in root.iter(f"{{{SVRL}}}failed-assert")
        ]

    def fatal(self, syntax: str, xml: bytes) -> list[str]:
        return [
            f"{rule}: {text}" for rule, flag, text in self.failures(syntax, xml) if flag == "fatal"
        ]


@pytest.fixture(scope="session")
def cen() -> Iterator[Validator]:
    base = _artefacts()
    processor = PySaxonProcessor(license=False)
    xslt = processor.new_xslt30_processor()
    stylesheets = {
        "cii": xslt.compile_stylesheet(
            stylesheet_file=str(base / "cii" / "xslt" / "EN16931-CII-validation.xslt")
        ),
        "ubl": xslt.compile_stylesheet(
            stylesheet_file=str(base / "ubl" / "xslt" / "EN16931-UBL-validation.xslt")
        ),
    }
    yield Validator(processor, stylesheets)


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_e_invoice_has_no_fatal_assertion(cen: Validator, case: Case, syntax: str) -> None:
    xml = SYNTAXES[syntax](case.invoice, case.seller, case.buyer)
    fatal = cen.fatal(syntax, xml)
    assert fatal == [], f"{case.name} ({syntax}) breaks EN 16931:\n" + "\n".join(fatal)


def test_the_corpus_covers_what_issue_14_names() -> None:
    names = {c.name for c in CASES}
    currencies = {c.invoice["currency"] for c in CASES}
    assert {"USD", "EUR", "JPY", "BHD"} <= currencies
    assert any(c.invoice["kind"] == "credit_note" for c in CASES)
    assert any(len(c.invoice["lines"]) >= 500 for c in CASES)
    assert any(len(c.invoice["taxes"]) > 1 for c in CASES)
    kinds = {line["kind"] for c in CASES for line in c.invoice["lines"]}
    assert {"discount", "custom", "prepurchased_credit"} <= kinds
    assert {"eur-reverse-charge", "eur-exempt", "eur-zero-rated"} <= names


# --- the check itself fails on a wrong document --------------------------------------------------


def _tamper(xml: bytes, pattern: str, replacement: str) -> bytes:
    text, count = re.subn(pattern, replacement, xml.decode("utf-8"), count=1)
    assert count == 1, f"nothing to tamper with: {pattern}"
    return text.encode("utf-8")


def test_a_tampered_payable_amount_breaks_br_co_16(cen: Validator) -> None:
    case = CASES[0]
    cii = _tamper(
        cii_xml(case.invoice, case.seller, case.buyer),
        r"<ram:DuePayableAmount>[^<]*<",
        "<ram:DuePayableAmount>1.00<",
    )
    ubl = _tamper(
        ubl_xml(case.invoice, case.seller, case.buyer),
        r"(<cbc:PayableAmount [^>]*>)[^<]*<",
        r"\g<1>1.00<",
    )
    assert any(f.startswith("BR-CO-16:") for f in cen.fatal("cii", cii))
    assert any(f.startswith("BR-CO-16:") for f in cen.fatal("ubl", ubl))


def test_a_tampered_line_breaks_the_line_total_rule(cen: Validator) -> None:
    case = CASES[0]
    cii = _tamper(
        cii_xml(case.invoice, case.seller, case.buyer),
        r"<ram:LineTotalAmount>[^<]*<",
        "<ram:LineTotalAmount>0.01<",
    )
    assert any(f.startswith("BR-CO-10:") for f in cen.fatal("cii", cii))


def test_the_standards_own_examples_pass(cen: Validator) -> None:
    """The check accepts what the standard says is valid (so a pass above means something)."""
    base = _artefacts()
    for syntax in ("cii", "ubl"):
        for example in sorted((base / syntax / "examples").iterdir())[:3]:
            assert cen.fatal(syntax, example.read_bytes()) == [], example.name


# --- schema sanity: the root, the namespaces and the document type --------------------------


@pytest.mark.parametrize("case", CASES[:1] + CASES[-6:-3], ids=lambda c: c.name)
def test_the_documents_are_of_the_right_type(case: Case) -> None:
    cii = ET.fromstring(cii_xml(case.invoice, case.seller, case.buyer))
    ubl = ET.fromstring(ubl_xml(case.invoice, case.seller, case.buyer))
    credit_note = case.invoice["kind"] == "credit_note"
    assert cii.tag == f"{{{RSM}}}CrossIndustryInvoice"
    type_code = cii.find(f"{{{RSM}}}ExchangedDocument/{{{RAM}}}TypeCode")
    assert type_code is not None and type_code.text == ("381" if credit_note else "380")
    if credit_note:
        assert ubl.tag.endswith("}CreditNote")
        assert ubl.findtext(f"{{{CBC}}}CreditNoteTypeCode") == "381"
    else:
        assert ubl.tag == f"{{{INVOICE_NS}}}Invoice"
        assert ubl.findtext(f"{{{CBC}}}InvoiceTypeCode") == "380"
