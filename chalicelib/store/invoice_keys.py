"""The keys of an invoice: its CSV files and e-invoices in the bucket, the invoice list's
indexes, and the filters of ``GET /invoices`` as ranges.

Pure: no AWS. Amounts become strings that sort as the numbers do (:func:`sortable_amount`),
followed by ``#<invoice id>``, so a range of amounts is one ``BETWEEN`` on an index's sort key.
"Discount" is the discount an invoice grants, ``-discount_total`` (discount lines are negative).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.vocabulary import EINVOICE_FORMATS

LISTING = "INVOICE"
INVOICE_FILES_PREFIX = "invoices/"  # the data bucket's folder of invoice files
DETAIL_CSV_FIELD, CUSTOMER_CSV_FIELD = "csv_key", "customer_csv_key"
# The document fields naming an invoice's generated files in the data bucket. Each computation
# of a draft writes its files into a folder of its own (:func:`computation_folder`), so a file
# an issued invoice points to is never written again.
FILE_FIELDS = (DETAIL_CSV_FIELD, CUSTOMER_CSV_FIELD)


# --- the invoice's CSV files ----------------------------------------------------------------


def computation_folder(invoice_id: str, computation: str) -> str:
    """``invoices/<invoice id>/<computation>/``: the files of one computation of a draft."""
    return f"{INVOICE_FILES_PREFIX}{invoice_id}/{computation}/"


@dataclass(frozen=True)
class InvoiceCsvKeys:
    """Where an invoice's two CSVs are stored, and the document field naming each key.

    ``detail`` is the operator's full CSV (the reseller's cost, list cost, basis, savings
    retained, price list and price rule of every row); ``customer`` is what the customer is
    billed, and the only CSV a customer's link ever points to.
    """

    detail: str
    customer: str

    def fields(self) -> dict[str, str]:
        """The invoice document's fields holding the keys."""
        return {DETAIL_CSV_FIELD: self.detail, CUSTOMER_CSV_FIELD: self.customer}


def invoice_csv_keys(invoice_id: str, computation: str) -> InvoiceCsvKeys:
    """The one place invoice CSV object keys are named: in the computation's own folder."""
    folder = computation_folder(invoice_id, computation)
    return InvoiceCsvKeys(
        detail=f"{folder}{invoice_id}.csv", customer=f"{folder}{invoice_id}-customer.csv"
    )


# --- the invoice's e-invoices ------------------------------------------------------------


def einvoice_key(invoice_id: str, syntax: str) -> str:
    """``invoices/<invoice id>/e-invoice/<invoice id>-<cii|ubl>.xml``: written once, when first
    asked for, and never again (an issued invoice does not change)."""
    if syntax not in EINVOICE_FORMATS:
        raise ValueError(f"no e-invoice syntax {syntax!r}")
    return f"{INVOICE_FILES_PREFIX}{invoice_id}/e-invoice/{invoice_id}-{syntax}.xml"


# --- the invoice's PDF ------------------------------------------------------------------------

PDF_FIELD = (
    "pdf_key"  # the issued document's PDF, written once (chalicelib/service/invoice_documents)
)


def issued_pdf_key(invoice_id: str, number: str) -> str:
    """``invoices/<invoice id>/issued/<number>.pdf``: an issued document's PDF, never rewritten.

    No computation folder is named ``issued`` (they are ``<run id>-<random>``), so a draft's
    files never land here."""
    return f"{INVOICE_FILES_PREFIX}{invoice_id}/issued/{number}.pdf"


def draft_pdf_key(doc: Mapping[str, Any]) -> str:
    """A draft's PDF, rendered again at each request, in the folder of the draft's computation
    (beside its CSVs), so it goes where that computation's files go."""
    csv_key = doc.get(DETAIL_CSV_FIELD)
    folder = (
        csv_key.rsplit("/", 1)[0] + "/"
        if isinstance(csv_key, str) and "/" in csv_key
        else computation_folder(doc["id"], "draft")
    )
    return f"{folder}{doc['id']}-draft.pdf"


# --- index keys -----------------------------------------------------------------------------

# Amounts are kept with 4 decimals (every ISO 4217 minor unit fits) in 20 digits.
_SCALE = Decimal(10) ** 4
_DIGITS = 20
_LIMIT = 10**_DIGITS
# Key bounds: every encoded amount starts with "n" (negative) or "p" (zero or positive).
_LOWEST, _HIGHEST = "n", "q"
# "#" ends the amount in a key; "$" sorts right after it, so "<amount>$" is above every key
# of that amount and below every key of the next one.
_AFTER = "$"


def sortable_amount(amount: Decimal) -> str:
    """A string that sorts as the amount does: ``p`` + digits, or ``n`` + the complement."""
    units = int((amount * _SCALE).to_integral_value())
    units = max(min(units, _LIMIT - 1), -(_LIMIT - 1))
    if units >= 0:
        return f"p{units:0{_DIGITS}d}"
    return f"n{_LIMIT + units:0{_DIGITS}d}"


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def discount_of(doc: Mapping[str, Any]) -> Decimal:
    """The discount an invoice grants: ``-discount_total`` (discount lines are negative)."""
    return -_decimal(doc.get("discount_total"))


def index_attributes(doc: Mapping[str, Any]) -> dict[str, str]:
    """The index keys of an invoice item (every write of an invoice sets them)."""
    invoice_id = doc["id"]
    return {
        "listing": LISTING,
        "total_sort": f"{sortable_amount(_decimal(doc.get('total')))}#{invoice_id}",
        "discount_sort": f"{sortable_amount(discount_of(doc))}#{invoice_id}",
    }


def payment_attributes(doc: Mapping[str, Any], balance: Decimal | None) -> dict[str, str | None]:
    """``balance_due`` and ``open_due`` of an invoice item.

    Issued and paid invoices carry their balance due (``balance`` None: at issue, their total;
    paid, nothing); an issued invoice with a balance due carries ``"<due date>#<invoice id>"``,
    the key of the sparse ``by_open_due`` index. Drafts, void invoices and credit notes carry
    neither."""
    status = doc.get("status")
    if doc.get("kind") == "credit_note" or status not in ("issued", "paid"):
        return {"balance_due": None, "open_due": None}
    if balance is None:
        balance = _decimal(doc.get("total")) if status == "issued" else Decimal(0)
    open_due = None
    if status == "issued" and balance > 0 and doc.get("due_date"):
        open_due = f"{doc['due_date']}#{doc['id']}"
    return {"balance_due": str(balance), "open_due": open_due}


# --- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmountRange:
    """``lower ≤ x ≤ upper`` (``lower < x`` when not ``lower_inclusive``); None is unbounded."""

    lower: Decimal | None = None
    upper: Decimal | None = None
    lower_inclusive: bool = True

    def intersect(self, other: AmountRange) -> AmountRange:
        lower, inclusive = self.lower, self.lower_inclusive
        if other.lower is not None and (
            lower is None
            or other.lower > lower
            or (other.lower == lower and not other.lower_inclusive)
        ):
            lower, inclusive = other.lower, other.lower_inclusive
        uppers = [u for u in (self.upper, other.upper) if u is not None]
        return AmountRange(lower, min(uppers) if uppers else None, inclusive)

    @property
    def empty(self) -> bool:
        if self.lower is None or self.upper is None:
            return False
        return self.lower > self.upper or (self.lower == self.upper and not self.lower_inclusive)

    def key_bounds(self) -> tuple[str, str]:
        """The (low, high) key strings for ``BETWEEN`` on ``<sortable amount>#<id>`` keys."""
        low = _LOWEST
        if self.lower is not None:
            low = sortable_amount(self.lower) + ("" if self.lower_inclusive else _AFTER)
        high = _HIGHEST if self.upper is None else sortable_amount(self.upper) + _AFTER
        return low, high


@dataclass(frozen=True)
class InvoiceFilter:
    customer_id: str | None = None
    period: str | None = None
    status: str | None = None
    has_discount: bool | None = None
    min_discount: Decimal | None = None
    max_discount: Decimal | None = None
    min_total: Decimal | None = None
    max_total: Decimal | None = None
    # True for a customer: drafts are the reseller's work in progress, never listed to them.
    hide_drafts: bool | None = None
    # Only invoices overdue on this day (YYYY-MM-DD): issued, a balance due, due before it.
    overdue_on: str | None = None

    @property
    def total_range(self) -> AmountRange | None:
        if self.min_total is None and self.max_total is None:
            return None
        return AmountRange(self.min_total, self.max_total)

    @property
    def discount_range(self) -> AmountRange | None:
        ranges = []
        if self.has_discount is True:
            ranges.append(AmountRange(lower=Decimal(0), lower_inclusive=False))
        elif self.has_discount is False:
            ranges.append(AmountRange(upper=Decimal(0)))
        if self.min_discount is not None or self.max_discount is not None:
            ranges.append(AmountRange(self.min_discount, self.max_discount))
        if not ranges:
            return None
        result = ranges[0]
        for other in ranges[1:]:
            result = result.intersect(other)
        return result
