"""The invoice a reseller sends: an invoice or credit note as a PDF/A-3 document.

:func:`render` lays out one document on A4 pages: the seller's and the buyer's blocks, the title
and number, issue date, due date, service period and buyer reference, the lines (their column
headings repeated on every page), the tax of each rate, the tax legends (reverse charge, exempt),
the totals in the currency's minor unit, the payment instructions and the footer with
"Page x of y". A draft carries a diagonal DRAFT mark on every page.

Only what the customer is billed is printed: the invoice passes through the customer view's
whitelist (:mod:`chalicelib.billing.customer_view`) before anything is laid out, so the
reseller's figures (cost, margin, savings) cannot reach the page. Labels, dates and amounts are
in the customer's language (en, de, fr) through babel. Fonts are shipped in ``fonts/`` and
embedded as subsets: DejaVu Sans for Latin, Greek and Cyrillic, Droid Sans Fallback for Chinese,
Japanese and Korean, so any customer name renders.

Pure: no AWS.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos
from PIL import Image, UnidentifiedImageError

from chalicelib.billing.customer_view import customer_view
from chalicelib.billing.tax import EXEMPT_NOTE, REVERSE_CHARGE_NOTE
from chalicelib.documents.facturx import PDFA_COMPLIANCE, attach_einvoice, xmp_metadata

logger = logging.getLogger(__name__)

FONTS = Path(__file__).parent / "fonts"
FONT, CJK_FONT = "dejavu", "droid"
PRODUCER = "Rebill"
LANGUAGES = ("en", "de", "fr")
MAX_LOGO_BYTES = 512 * 1024
LOGO_FORMATS = ("PNG", "JPEG")
CJK_START = 0x2E80  # the CJK radicals; DejaVu Sans covers Latin, Greek and Cyrillic below

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "for_invoice": "for invoice {number}",
        "number": "Number",
        "draft_number": "Draft (not yet numbered)",
        "issue_date": "Issue date",
        "due_date": "Due date",
        "service_period": "Service period",
        "buyer_reference": "Your reference",
        "bill_to": "Bill to",
        "from": "From",
        "tax_id": "VAT ID",
        "description": "Description",
        "service": "Provider / service",
        "quantity": "Quantity",
        "amount": "Amount",
        "subtotal": "Subtotal",
        "discount": "Discount",
        "tax_on": "{name} {rate} % on {base}",
        "total": "Total",
        "total_credited": "Total credited",
        "payment": "Payment",
        "pay_by": "Please pay {total} by {due_date}, quoting {number}.",
        "credit_settled": "This credit note is settled against your account.",
        "account_name": "Account holder",
        "iban": "IBAN",
        "bic": "BIC",
        "account_number": "Account number",
        "routing_number": "Routing number",
        "reference": "Reference",
        "page": "Page {page} of {pages}",
        "continued": "{title} {number} (continued)",
        "draft": "DRAFT",
        "reverse_charge": REVERSE_CHARGE_NOTE,
        "customer_vat": "Customer VAT number: {tax_id}.",
        "exempt": EXEMPT_NOTE,
    },
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Gutschrift",
        "for_invoice": "zur Rechnung {number}",
        "number": "Nummer",
        "draft_number": "Entwurf (noch ohne Nummer)",
        "issue_date": "Rechnungsdatum",
        "due_date": "Fällig am",
        "service_period": "Leistungszeitraum",
        "buyer_reference": "Ihre Referenz",
        "bill_to": "Rechnungsempfänger",
        "from": "Von",
        "tax_id": "USt-IdNr.",
        "description": "Beschreibung",
        "service": "Anbieter / Dienst",
        "quantity": "Menge",
        "amount": "Betrag",
        "subtotal": "Zwischensumme",
        "discount": "Rabatt",
        "tax_on": "{name} {rate} % auf {base}",
        "total": "Gesamtbetrag",
        "total_credited": "Gutgeschrieben",
        "payment": "Zahlung",
        "pay_by": "Bitte überweisen Sie {total} bis zum {due_date} unter Angabe von {number}.",
        "credit_settled": "Diese Gutschrift wird mit Ihrem Konto verrechnet.",
        "account_name": "Kontoinhaber",
        "iban": "IBAN",
        "bic": "BIC",
        "account_number": "Kontonummer",
        "routing_number": "Bankleitzahl",
        "reference": "Verwendungszweck",
        "page": "Seite {page} von {pages}",
        "continued": "{title} {number} (Fortsetzung)",
        "draft": "ENTWURF",
        "reverse_charge": "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge, "
        "Artikel 196 der Richtlinie 2006/112/EG).",
        "customer_vat": "USt-IdNr. des Leistungsempfängers: {tax_id}.",
        "exempt": "Steuerbefreit: keine Steuer berechnet.",
    },
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "for_invoice": "sur la facture {number}",
        "number": "Numéro",
        "draft_number": "Brouillon (pas encore numéroté)",
        "issue_date": "Date d'émission",
        "due_date": "Date d'échéance",
        "service_period": "Période de service",
        "buyer_reference": "Votre référence",
        "bill_to": "Facturé à",
        "from": "De",
        "tax_id": "N° TVA",
        "description": "Description",
        "service": "Fournisseur / service",
        "quantity": "Quantité",
        "amount": "Montant",
        "subtotal": "Sous-total",
        "discount": "Remise",
        "tax_on": "{name} {rate} % sur {base}",
        "total": "Total",
        "total_credited": "Total crédité",
        "payment": "Paiement",
        "pay_by": "Merci de régler {total} avant le {due_date} en indiquant {number}.",
        "credit_settled": "Cet avoir est imputé sur votre compte.",
        "account_name": "Titulaire du compte",
        "iban": "IBAN",
        "bic": "BIC",
        "account_number": "Numéro de compte",
        "routing_number": "Code banque",
        "reference": "Référence",
        "page": "Page {page} sur {pages}",
        "continued": "{title} {number} (suite)",
        "draft": "BROUILLON",
        "reverse_charge": "Autoliquidation : TVA due par le preneur "
        "(article 196 de la directive 2006/112/CE).",
        "customer_vat": "N° TVA du client : {tax_id}.",
        "exempt": "Exonéré : aucune taxe facturée.",
    },
}

# A4 in mm: margins, the columns of the lines table (description, provider/service, quantity,
# amount) and the line height of body text.
MARGIN = 18.0
COLUMNS = (84.0, 46.0, 18.0, 26.0)
LINE = 4.6
BODY, SMALL, TITLE = 9.0, 7.5, 18.0
GREY, DARK, RULE, DRAFT_RED = (110, 110, 110), (25, 25, 25), (200, 200, 200), (240, 175, 175)


@dataclass(frozen=True)
class Party:
    """A seller or buyer block: its lines, top to bottom."""

    name: str
    lines: tuple[str, ...]


def _address_lines(address: Mapping[str, Any] | None) -> list[str]:
    if not address:
        return []
    lines = [str(line) for line in address.get("lines") or []]
    city = " ".join(str(p) for p in (address.get("postal_code"), address.get("city")) if p)
    if address.get("region"):
        city = f"{city}, {address['region']}" if city else str(address["region"])
    if city:
        lines.append(city)
    if address.get("country"):
        lines.append(str(address["country"]))
    return lines


def seller_party(seller: Mapping[str, Any], labels: Mapping[str, str]) -> Party:
    name = seller.get("legal_name") or seller.get("name") or ""
    lines = _address_lines(seller.get("address"))
    if seller.get("tax_id"):
        lines.append(f"{labels['tax_id']} {seller['tax_id']}")
    lines += [str(seller[k]) for k in ("email", "phone") if seller.get(k)]
    return Party(str(name), tuple(lines))


def buyer_party(customer: Mapping[str, Any], customer_id: str, labels: Mapping[str, str]) -> Party:
    name = customer.get("legal_name") or customer.get("name") or customer_id
    lines = _address_lines(customer.get("address"))
    tax_id = (customer.get("tax_profile") or {}).get("tax_id")
    if tax_id:
        lines.append(f"{labels['tax_id']} {tax_id}")
    return Party(str(name), tuple(lines))


# --- formats ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formats:
    """Amounts, dates and labels in the document's language."""

    language: str
    currency: str

    @property
    def labels(self) -> Mapping[str, str]:
        return LABELS[self.language]

    def money(self, value: Any) -> str:
        """In the currency's minor unit (JPY 0 decimals, BHD 3), the language's way."""
        amount = Decimal(str(value if value not in (None, "") else 0))
        return str(format_currency(amount, self.currency, locale=self.language))

    def day(self, value: str | date | None) -> str:
        if not value:
            return "—"
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
        return str(format_date(day, format="long", locale=self.language))

    def rate(self, value: Any) -> str:
        return str(format_decimal(Decimal(str(value)), locale=self.language))


# --- the document -----------------------------------------------------------------------------


class _Document(FPDF):
    """A4 pages whose header (logo, DRAFT mark, running title, column headings) and footer
    (footer text, "Page x of y") repeat on every page."""

    def __init__(
        self, formats: Formats, *, draft: bool, running_title: str, footer: str, cjk: bool
    ) -> None:
        super().__init__(
            orientation="P", unit="mm", format="A4", enforce_compliance=PDFA_COMPLIANCE
        )
        self.formats = formats
        self.draft = draft
        self.running_title = running_title
        self.footer_text = footer
        self.logo: bytes | None = None
        self.in_lines_table = False
        self.buyer_reference: str | None = None
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=26)
        self.add_font(FONT, "", FONTS / "DejaVuSans.ttf")
        self.add_font(FONT, "B", FONTS / "DejaVuSans-Bold.ttf")
        self.cjk = cjk
        if cjk:  # 4 MB to parse: only for a document that has such text
            self.add_font(CJK_FONT, "", FONTS / "DroidSansFallbackFull.ttf")

    # fpdf2 lays text out character by character whenever fallback fonts are set: the CJK
    # fallback is set only while a text that needs it is measured or drawn.
    def _fallback_for(self, text: object) -> None:
        if self.cjk:
            needed = isinstance(text, str) and _has_cjk(text)
            self.set_fallback_fonts([CJK_FONT] if needed else [], exact_match=False)

    def cell(self, *args: Any, **kwargs: Any) -> Any:
        self._fallback_for(kwargs.get("text", args[2] if len(args) > 2 else ""))
        return super().cell(*args, **kwargs)

    def multi_cell(self, *args: Any, **kwargs: Any) -> Any:
        self._fallback_for(kwargs.get("text", args[2] if len(args) > 2 else ""))
        return super().multi_cell(*args, **kwargs)

    def get_string_width(self, *args: Any, **kwargs: Any) -> float:
        self._fallback_for(kwargs.get("s", args[0] if args else ""))
        return super().get_string_width(*args, **kwargs)

    def header(self) -> None:
        if self.draft:
            self._draft_mark()
        if self.page_no() > 1:
            self.set_font(FONT, "", SMALL)
            self.set_text_color(*GREY)
            self.cell(0, LINE, self.running_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(2)
        if self.in_lines_table:
            self.lines_heading()

    def _draft_mark(self) -> None:
        self.set_font(FONT, "B", 96)
        self.set_text_color(*DRAFT_RED)
        text = self.formats.labels["draft"]
        width = self.get_string_width(text)
        x, y = self.w / 2, self.h / 2
        with self.rotation(45, x, y):
            self.text(x - width / 2, y + 12, text)
        self.set_text_color(*DARK)

    def footer(self) -> None:
        self.set_y(-20)
        self.set_draw_color(*RULE)
        self.line(MARGIN, self.get_y(), self.w - MARGIN, self.get_y())
        self.ln(1.5)
        self.set_font(FONT, "", SMALL)
        self.set_text_color(*GREY)
        page = self.formats.labels["page"].format(page=self.page_no(), pages="{nb}")
        text_width = self.epw - 32
        self.multi_cell(text_width, 3.4, self.footer_text, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.cell(32, 3.4, page, align="R")
        self.set_text_color(*DARK)

    def lines_heading(self) -> None:
        labels = self.formats.labels
        self.set_font(FONT, "B", SMALL + 0.5)
        self.set_text_color(*DARK)
        titles = (labels["description"], labels["service"], labels["quantity"], labels["amount"])
        for width, title, align in zip(COLUMNS, titles, "LLRR", strict=True):
            self.cell(width, LINE + 1, title, align=align)
        self.ln(LINE + 1)
        self.set_draw_color(*DARK)
        self.line(MARGIN, self.get_y(), self.w - MARGIN, self.get_y())
        self.ln(0.8)
        self.set_font(FONT, "", BODY)

    def text_lines(self, width: float, text: str) -> int:
        """How many lines ``text`` takes in a column ``width`` wide (one when it fits)."""
        if self.fits(width, text):
            return 1
        lines = self.multi_cell(width, LINE, text, dry_run=True, output=MethodReturnValue.LINES)
        assert isinstance(lines, list)  # output=LINES answers the lines alone
        return max(1, len(lines))

    def fits(self, width: float, text: str) -> bool:
        return "\n" not in text and self.get_string_width(text) <= width - 2 * self.c_margin

    def column(self, width: float, text: str, align: str) -> None:
        """One cell of a lines-table row: a plain cell when it fits (fast), else wrapped."""
        if self.fits(width, text):
            self.cell(width, LINE, text, align=align)
        else:
            self.multi_cell(width, LINE, text, align=align)


def _logo_image(logo: bytes | None) -> io.BytesIO | None:
    """The logo when it is a PNG or JPEG of at most 512 KB; else None (with a log line)."""
    if not logo:
        return None
    if len(logo) > MAX_LOGO_BYTES:
        logger.warning("logo skipped: %d bytes, at most %d", len(logo), MAX_LOGO_BYTES)
        return None
    try:
        with Image.open(io.BytesIO(logo)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        logger.warning("logo skipped: not a readable image (%s)", error)
        return None
    if kind not in LOGO_FORMATS:
        logger.warning("logo skipped: %s, not PNG or JPEG", kind)
        return None
    return io.BytesIO(logo)


def _title(view: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[str, str | None]:
    if view.get("kind") == "credit_note":
        number = view.get("credited_invoice_number") or view.get("credit_note_for")
        subtitle = labels["for_invoice"].format(number=number) if number else None
        return labels["credit_note"], subtitle
    return labels["invoice"], None


def _printed_lines(view: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The lines on the page: tax notes are legends, zero lines of a credit note say nothing."""
    credit_note = view.get("kind") == "credit_note"
    return [
        line
        for line in view.get("lines") or []
        if line.get("kind") != "tax_note"
        and not (credit_note and Decimal(str(line.get("amount") or 0)) == 0)
    ]


def _legend(note: str, labels: Mapping[str, str]) -> str:
    """The tax core's legal note in the document's language (another note as it was stored)."""
    if note == EXEMPT_NOTE:
        return labels["exempt"]
    if note.startswith(REVERSE_CHARGE_NOTE):
        rest = note.removeprefix(REVERSE_CHARGE_NOTE).strip()
        prefix, _, tax_id = rest.partition("Customer VAT number: ")
        if not prefix and tax_id:
            vat = labels["customer_vat"].format(tax_id=tax_id.removesuffix("."))
            return f"{labels['reverse_charge']} {vat}"
        return f"{labels['reverse_charge']} {rest}".strip()
    return note


def _legends(view: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """Each distinct tax note (reverse charge, exemption), once."""
    notes: list[str] = []
    for tax in view.get("taxes") or []:
        if tax.get("note") and tax["note"] not in notes:
            notes.append(str(tax["note"]))
    for line in view.get("lines") or []:
        if line.get("kind") == "tax_note" and line.get("description") not in notes:
            notes.append(str(line["description"]))
    return [_legend(note, labels) for note in notes]


def _footer_text(seller: Mapping[str, Any], party: Party) -> str:
    legal = " · ".join(
        str(p) for p in (party.name, seller.get("registration"), seller.get("tax_id")) if p
    )
    return "\n".join(p for p in (str(seller.get("footer") or ""), legal) if p)


_CONTROLS = {code: " " for code in (*range(0x00, 0x0A), *range(0x0B, 0x20), 0x7F)}


def printable(value: Any) -> Any:
    """``value`` with every text printable: a lone surrogate (which JSON can carry and no PDF
    string can) becomes "?", a control character a space; mappings and lists throughout."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8").translate(_CONTROLS)
    if isinstance(value, Mapping):
        return {key: printable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable(item) for item in value]
    return value


def _has_cjk(text: str) -> bool:
    """Whether ``text`` is beyond DejaVu Sans: CJK ideographs, kana, hangul (from U+2E80)."""
    return any(ord(char) >= CJK_START for char in text)


def _needs_cjk(*parts: Mapping[str, Any]) -> bool:
    return _has_cjk(json.dumps(parts, ensure_ascii=False, default=str))


def _parse_moment(value: str | None) -> datetime:
    if not value:
        return datetime(2000, 1, 1, tzinfo=UTC)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def render(
    invoice: Mapping[str, Any],
    seller: Mapping[str, Any],
    customer: Mapping[str, Any],
    language: str = "en",
    *,
    draft: bool = False,
    logo: bytes | None = None,
    einvoice_xml: bytes | None = None,
) -> bytes:
    """The PDF/A-3 bytes of ``invoice`` (a stored invoice or credit note record).

    ``seller`` is the settings' seller, ``customer`` the customer document (``{}`` when it is
    gone: the buyer block is then the invoice's customer id). ``draft`` adds the DRAFT mark;
    ``logo`` (PNG or JPEG, ≤ 512 KB) is drawn at the top when readable and skipped otherwise;
    ``einvoice_xml`` is attached as Factur-X (EN 16931).
    """
    if language not in LABELS:
        raise ValueError(f"unknown invoice language {language!r}: one of {', '.join(LABELS)}")
    view = printable(customer_view(invoice))
    seller, customer = printable(seller), printable(customer)
    formats = Formats(language, str(view.get("currency") or "USD"))
    labels = formats.labels
    title, subtitle = _title(view, labels)
    number = view.get("number")
    shown_number = str(number) if number else labels["draft_number"]
    seller_block = seller_party(seller, labels)
    buyer_block = buyer_party(customer, str(view.get("customer_id") or ""), labels)
    pdf = _Document(
        formats,
        draft=draft,
        running_title=labels["continued"].format(title=title, number=number or ""),
        footer=_footer_text(seller, seller_block),
        cjk=_needs_cjk(view, seller, customer),
    )
    pdf.buyer_reference = customer.get("buyer_reference")
    created = _parse_moment(view.get("issued_at") or invoice.get("created_at"))
    pdf.set_creation_date(created)
    pdf.set_lang(language)
    pdf.set_title(f"{title} {number or ''}".strip())
    pdf.set_author(seller_block.name or PRODUCER)
    pdf.set_creator(PRODUCER)
    pdf.set_producer(PRODUCER)
    pdf.set_xmp_metadata(
        xmp_metadata(
            title=f"{title} {number or ''}".strip(),
            author=seller_block.name or PRODUCER,
            created=created,
            producer=PRODUCER,
            facturx=einvoice_xml is not None,
        )
    )
    if einvoice_xml is not None:
        attach_einvoice(pdf, einvoice_xml, created)
    pdf.add_page()
    _head(pdf, view, _logo_image(logo), seller_block, buyer_block, title, subtitle, shown_number)
    _lines(pdf, _printed_lines(view))
    _totals(pdf, view)
    _notes(pdf, _legends(view, labels))
    _payment(pdf, view, seller, shown_number)
    return bytes(pdf.output())


# --- the parts of the page --------------------------------------------------------------------


def _block(pdf: _Document, x: float, width: float, heading: str, party: Party) -> float:
    pdf.set_xy(x, pdf.get_y())
    pdf.set_font(FONT, "", SMALL)
    pdf.set_text_color(*GREY)
    pdf.cell(width, LINE, heading, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(*DARK)
    pdf.set_font(FONT, "B", BODY + 1)
    pdf.multi_cell(width, LINE + 0.6, party.name, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", BODY)
    for line in party.lines:
        pdf.multi_cell(width, LINE, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
    return pdf.get_y()


def _head(
    pdf: _Document,
    view: Mapping[str, Any],
    logo: io.BytesIO | None,
    seller: Party,
    buyer: Party,
    title: str,
    subtitle: str | None,
    number: str,
) -> None:
    labels, formats = pdf.formats.labels, pdf.formats
    top = pdf.get_y()
    if logo is not None:
        pdf.image(logo, x=MARGIN, y=top, h=16, keep_aspect_ratio=True)
        pdf.set_y(top + 20)
    left = pdf.get_y()
    seller_end = _block(pdf, MARGIN, 80, labels["from"], seller)
    # the title and the document's facts, on the right
    right_x, right_w = 96.0, pdf.w - MARGIN - 96.0
    pdf.set_xy(right_x, top)
    pdf.set_font(FONT, "B", TITLE)
    pdf.cell(right_w, 9, title, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    if subtitle:
        pdf.set_font(FONT, "", BODY)
        pdf.cell(right_w, LINE, subtitle, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.ln(2)
    service = view.get("service_period") or {}
    facts: list[tuple[str, str]] = [
        (labels["number"], number),
        (labels["issue_date"], formats.day(view.get("issue_date"))),
    ]
    if view.get("kind") != "credit_note":
        facts.append((labels["due_date"], formats.day(view.get("due_date"))))
    if service.get("start") and service.get("end"):
        period = f"{formats.day(service['start'])} – {formats.day(service['end'])}"
        facts.append((labels["service_period"], period))
    elif view.get("period"):
        facts.append((labels["service_period"], str(view["period"])))
    if pdf.buyer_reference:
        facts.append((labels["buyer_reference"], pdf.buyer_reference))
    for label, value in facts:
        pdf.set_x(right_x)
        pdf.set_font(FONT, "", SMALL)
        pdf.set_text_color(*GREY)
        pdf.cell(30, LINE, label)
        pdf.set_text_color(*DARK)
        pdf.set_font(FONT, "", BODY)
        pdf.multi_cell(right_w - 30, LINE, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    facts_end = pdf.get_y()
    pdf.set_y(max(seller_end, facts_end, left) + 6)
    buyer_end = _block(pdf, MARGIN, 100, labels["bill_to"], buyer)
    pdf.set_y(buyer_end + 8)


def _lines(pdf: _Document, lines: Sequence[Mapping[str, Any]]) -> None:
    formats = pdf.formats
    pdf.lines_heading()
    pdf.in_lines_table = True
    for line in lines:
        service = " / ".join(str(p) for p in (line.get("provider"), line.get("service")) if p)
        quantity = line.get("quantity")
        cells = (
            str(line.get("description") or ""),
            service,
            "" if quantity is None else formats.rate(quantity),
            formats.money(line.get("amount")),
        )
        height = LINE * max(
            pdf.text_lines(COLUMNS[0], cells[0]), pdf.text_lines(COLUMNS[1], cells[1])
        )
        if pdf.get_y() + height + 1 > pdf.page_break_trigger:
            pdf.add_page()  # the header repeats the column headings
        y = pdf.get_y()
        x = MARGIN
        for width, text, align in zip(COLUMNS, cells, "LLRR", strict=True):
            pdf.set_xy(x, y)
            pdf.column(width, text, align)
            x += width
        pdf.set_y(y + height + 0.6)
        pdf.set_draw_color(*RULE)
        pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
        pdf.ln(0.8)
    pdf.in_lines_table = False
    pdf.ln(3)


def _totals(pdf: _Document, view: Mapping[str, Any]) -> None:
    formats, labels = pdf.formats, pdf.formats.labels
    rows: list[tuple[str, str, bool]] = [
        (labels["subtotal"], formats.money(view.get("subtotal")), False)
    ]
    for tax in view.get("taxes") or []:
        label = labels["tax_on"].format(
            name=tax.get("name") or "",
            rate=formats.rate(tax.get("rate") or 0),
            base=formats.money(tax.get("base")),
        )
        rows.append((label, formats.money(tax.get("amount")), False))
    total_label = labels["total_credited"] if view.get("kind") == "credit_note" else labels["total"]
    rows.append((total_label, formats.money(view.get("total")), True))
    if pdf.get_y() + LINE * (len(rows) + 2) > pdf.page_break_trigger:
        pdf.add_page()
    label_x, label_w, value_w = 80.0, pdf.w - MARGIN - 80.0 - 34.0, 34.0
    for label, value, strong in rows:
        if strong:
            pdf.set_draw_color(*DARK)
            pdf.line(label_x, pdf.get_y() + 0.5, pdf.w - MARGIN, pdf.get_y() + 0.5)
            pdf.ln(1.5)
        pdf.set_x(label_x)
        pdf.set_font(FONT, "B" if strong else "", BODY + (1 if strong else 0))
        pdf.cell(label_w, LINE + 1, label, align="R")
        pdf.cell(value_w, LINE + 1, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _notes(pdf: _Document, notes: Sequence[str]) -> None:
    pdf.set_font(FONT, "", SMALL + 0.5)
    for note in notes:
        pdf.multi_cell(0, LINE, note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if notes:
        pdf.ln(3)


def _payment(
    pdf: _Document, view: Mapping[str, Any], seller: Mapping[str, Any], number: str
) -> None:
    formats, labels = pdf.formats, pdf.formats.labels
    rows: list[str] = []
    if view.get("kind") == "credit_note":
        rows.append(labels["credit_settled"])
    elif Decimal(str(view.get("total") or 0)) > 0:
        rows.append(
            labels["pay_by"].format(
                total=formats.money(view.get("total")),
                due_date=formats.day(view.get("due_date")),
                number=number,
            )
        )
        bank = seller.get("bank") or {}
        for key in ("account_name", "iban", "bic", "account_number", "routing_number"):
            if bank.get(key):
                rows.append(f"{labels[key]}: {bank[key]}")
        rows.append(f"{labels['reference']}: {number}")
    if not rows:
        return
    if pdf.get_y() + LINE * (len(rows) + 2) > pdf.page_break_trigger:
        pdf.add_page()
    pdf.set_font(FONT, "B", BODY)
    pdf.cell(0, LINE + 1, labels["payment"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", BODY)
    for row in rows:
        pdf.multi_cell(0, LINE, row, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
