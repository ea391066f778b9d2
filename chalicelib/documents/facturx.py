"""PDF/A-3 and Factur-X: the metadata that makes an invoice PDF an archive and an e-invoice.

The PDF is PDF/A-3b (fpdf2 enforces the rules it can: every font embedded, no encryption, an
sRGB OutputIntent, no Info dictionary beside the XMP). Its XMP metadata is written here: the
PDF/A identification (``pdfaid:part=3``, ``conformance=B``), title, author, dates, and, when an
EN 16931 invoice is embedded, the Factur-X extension schema with the ``fx:`` properties
(document type, file name, version, conformance level). The XML is attached as
``factur-x.xml`` with ``AFRelationship /Alternative`` and listed in the catalog's ``/AF``.

Pure: no AWS.
"""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape

from fpdf import FPDF

FACTURX_FILENAME = "factur-x.xml"
FACTURX_NAMESPACE = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FACTURX_VERSION = "1.0"
FACTURX_CONFORMANCE = "EN 16931"  # the profile of the CII the invoice carries
# EN 16931 profile: the XML is an equivalent of the visible invoice (Factur-X 1.0, § 6.2.2).
FACTURX_RELATIONSHIP = "Alternative"
PDFA_COMPLIANCE = "PDF/A-3B"

_FX_PROPERTIES = (
    ("DocumentFileName", "The name of the embedded XML document"),
    ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE"),
    ("Version", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "The conformance level of the embedded XML document"),
)


def _text(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _facturx_schema() -> str:
    properties = "".join(
        '<rdf:li rdf:parseType="Resource">'
        f"<pdfaProperty:name>{name}</pdfaProperty:name>"
        "<pdfaProperty:valueType>Text</pdfaProperty:valueType>"
        "<pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{description}</pdfaProperty:description>"
        "</rdf:li>"
        for name, description in _FX_PROPERTIES
    )
    return (
        '<rdf:Description rdf:about=""'
        ' xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"'
        ' xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"'
        ' xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
        '<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
        "<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>"
        f"<pdfaSchema:namespaceURI>{FACTURX_NAMESPACE}</pdfaSchema:namespaceURI>"
        "<pdfaSchema:prefix>fx</pdfaSchema:prefix>"
        f"<pdfaSchema:property><rdf:Seq>{properties}</rdf:Seq></pdfaSchema:property>"
        "</rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>"
        f'<rdf:Description rdf:about="" xmlns:fx="{FACTURX_NAMESPACE}">'
        "<fx:DocumentType>INVOICE</fx:DocumentType>"
        f"<fx:DocumentFileName>{FACTURX_FILENAME}</fx:DocumentFileName>"
        f"<fx:Version>{FACTURX_VERSION}</fx:Version>"
        f"<fx:ConformanceLevel>{FACTURX_CONFORMANCE}</fx:ConformanceLevel>"
        "</rdf:Description>"
    )


def xmp_metadata(
    *, title: str, author: str, created: datetime, producer: str, facturx: bool
) -> str:
    """The document's XMP packet body (fpdf2 wraps it in ``<?xpacket?>``)."""
    stamp = created.isoformat(timespec="seconds")
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">'
        "<pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>"
        "</rdf:Description>"
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:format>application/pdf</dc:format>"
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{_text(title)}</rdf:li></rdf:Alt>'
        "</dc:title>"
        f"<dc:creator><rdf:Seq><rdf:li>{_text(author)}</rdf:li></rdf:Seq></dc:creator>"
        "</rdf:Description>"
        '<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">'
        f"<pdf:Producer>{_text(producer)}</pdf:Producer>"
        "</rdf:Description>"
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        f"<xmp:CreatorTool>{_text(producer)}</xmp:CreatorTool>"
        f"<xmp:CreateDate>{stamp}</xmp:CreateDate>"
        f"<xmp:ModifyDate>{stamp}</xmp:ModifyDate>"
        f"<xmp:MetadataDate>{stamp}</xmp:MetadataDate>"
        "</rdf:Description>"
        f"{_facturx_schema() if facturx else ''}"
        "</rdf:RDF></x:xmpmeta>"
    )


def attach_einvoice(pdf: FPDF, xml: bytes, created: datetime) -> None:
    """Attach the EN 16931 CII as ``factur-x.xml``, an associated file of the document."""
    if not xml.strip():
        raise ValueError("the e-invoice XML is empty")
    pdf.embed_file(
        bytes=xml,
        basename=FACTURX_FILENAME,
        mime_type="text/xml",
        associated_file_relationship=FACTURX_RELATIONSHIP,
        modification_date=created,
        creation_date=created,
        desc="Factur-X / ZUGFeRD invoice (EN 16931, CII)",
        compress=True,
    )
