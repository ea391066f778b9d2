"""The invoice list's access patterns: which index answers which combination of filters.

``GET /invoices`` filters by customer, period, status, discount and total, in any combination.
Every combination is one DynamoDB Query on a global index of the invoices table — never a
scan. The most selective filter given picks the index and goes into the key condition; the
other filters become a filter expression over what that key condition reads:

==================================  ======================  ===================================
filters given (others optional)     index                   key condition
==================================  ======================  ===================================
customer                            ``by_customer``         customer [+ period prefix]
period + draft/void status          ``by_status``           status + period prefix
period + total range                ``by_period_total``     period + total between
period + discount                   ``by_period_discount``  period + discount between
period + status                     ``by_status``           status + period prefix
period                              ``by_period``           period
draft/void status                   ``by_status``           status
total range                         ``by_total``            total between
discount                            ``by_discount``         discount between
status                              ``by_status``           status
nothing                             ``by_recent``           all invoices, newest first
==================================  ======================  ===================================

A customer has a few dozen invoices in its lifetime, so the customer index reads little
whatever else is asked. Drafts and voided invoices are rare next to issued and paid ones, so
those statuses drive the query when given. Amount keys are strings that sort like the numbers
(:func:`sortable_amount`) followed by ``#<invoice id>``, so a range of amounts is one
``BETWEEN``. "Discount" is the discount an invoice grants, ``-discount_total`` (discount lines
are negative): ``has_discount`` means it is above zero.

A page stops at ``limit`` matches or after :data:`MAX_EVALUATED` items read, whichever comes
first, and says where to go on; a page may therefore hold fewer items than asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import QueryError

from chalicelib.errors import InvalidInput
from chalicelib.store.tables import InvoiceItem

Doc = dict[str, Any]

LISTING = "INVOICE"
RARE_STATUSES = ("draft", "void")
MAX_EVALUATED = 1000  # items read per request: bounds the time and cost of one page

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


# --- the plan of one query ------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    index_name: str
    hash_attribute: str
    hash_value: str
    range_attribute: str
    range_condition: Any  # a PynamoDB condition on the range key, or None
    filter_condition: Any  # a PynamoDB condition on other attributes, or None
    forward: bool

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("pk", "sk", self.hash_attribute, self.range_attribute)))


def _amount_condition(attribute: Any, amounts: AmountRange) -> Any:
    low, high = amounts.key_bounds()
    return attribute.between(low, high)


def _and(*conditions: Any) -> Any:
    present = [c for c in conditions if c is not None]
    if not present:
        return None
    result = present[0]
    for condition in present[1:]:
        result = result & condition
    return result


def plan_for(f: InvoiceFilter) -> Plan | None:
    """The query answering ``f``; None when no invoice can match (an empty amount range)."""
    totals, discounts = f.total_range, f.discount_range
    if (totals is not None and totals.empty) or (discounts is not None and discounts.empty):
        return None
    item = InvoiceItem
    status = None if f.status is None else item.status == f.status
    total = None if totals is None else _amount_condition(item.total_sort, totals)
    discount = None if discounts is None else _amount_condition(item.discount_sort, discounts)
    period_prefix = None if f.period is None else item.period_sort.startswith(f"{f.period}#")

    def plan(index: str, hash_attr: str, hash_value: str, range_attr: str, **kw: Any) -> Plan:
        return Plan(
            index_name=index,
            hash_attribute=hash_attr,
            hash_value=hash_value,
            range_attribute=range_attr,
            range_condition=kw.get("range"),
            filter_condition=_and(*kw.get("filters", ())),
            forward=kw.get("forward", False),
        )

    if f.customer_id is not None:
        return plan(
            "by_customer",
            "customer_id",
            f.customer_id,
            "period_sort",
            range=period_prefix,
            filters=(status, total, discount),
        )
    rare_status = f.status in RARE_STATUSES
    if f.period is not None:
        if rare_status or (f.status is not None and totals is None and discounts is None):
            assert f.status is not None
            return plan(
                "by_status",
                "status",
                f.status,
                "period_sort",
                range=period_prefix,
                filters=(total, discount),
            )
        if totals is not None:
            return plan(
                "by_period_total",
                "period",
                f.period,
                "total_sort",
                range=total,
                filters=(status, discount),
            )
        if discounts is not None:
            return plan(
                "by_period_discount",
                "period",
                f.period,
                "discount_sort",
                range=discount,
                filters=(status,),
            )
        return plan("by_period", "period", f.period, "customer_sort", forward=True)
    if f.status is not None and (rare_status or (totals is None and discounts is None)):
        return plan("by_status", "status", f.status, "period_sort", filters=(total, discount))
    if totals is not None:
        return plan(
            "by_total", "listing", LISTING, "total_sort", range=total, filters=(status, discount)
        )
    if discounts is not None:
        return plan(
            "by_discount", "listing", LISTING, "discount_sort", range=discount, filters=(status,)
        )
    return plan("by_recent", "listing", LISTING, "period_sort")


# --- running it -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    docs: list[Doc]
    next_key: dict[str, str] | None  # where the next page starts; None: this was the last


def _start_key(plan: Plan, start: Mapping[str, str] | None) -> dict[str, dict[str, str]] | None:
    if start is None:
        return None
    if set(start) != set(plan.key_names) or not all(
        isinstance(v, str) and 0 < len(v) <= 1024 for v in start.values()
    ):
        raise InvalidInput("the cursor does not belong to this list", field="cursor")
    if start[plan.hash_attribute] != plan.hash_value:
        raise InvalidInput("the cursor does not belong to this list", field="cursor")
    return {name: {"S": value} for name, value in start.items()}


def search_invoices(f: InvoiceFilter, limit: int, start: Mapping[str, str] | None = None) -> Page:
    """One page of the invoices matching ``f``, in the order of the index that answers it."""
    plan = plan_for(f)
    if plan is None:
        return Page([], None)
    index = getattr(InvoiceItem, plan.index_name)
    # Without a filter every item read is returned: read one more than needed to know whether
    # another page exists. With one, read in larger steps.
    page_size = limit + 1 if plan.filter_condition is None else min(MAX_EVALUATED, limit * 4 + 20)
    results = index.query(
        plan.hash_value,
        plan.range_condition,
        filter_condition=plan.filter_condition,
        scan_index_forward=plan.forward,
        last_evaluated_key=_start_key(plan, start),
        page_size=page_size,
    )
    pages = results.page_iter
    docs: list[Doc] = []
    try:
        for page in pages:
            raw_items = page.get("Items", [])
            for position, raw in enumerate(raw_items):
                docs.append(InvoiceItem.from_raw_data(raw).doc)
                if len(docs) == limit:
                    more = position < len(raw_items) - 1 or pages.last_evaluated_key is not None
                    next_key = {name: raw[name]["S"] for name in plan.key_names}
                    return Page(docs, next_key if more else None)
            if pages.last_evaluated_key is not None and pages.total_scanned_count >= MAX_EVALUATED:
                return Page(docs, {k: v["S"] for k, v in pages.last_evaluated_key.items()})
    except QueryError as error:
        if getattr(error, "cause_response_code", None) == "ValidationException":
            # A cursor outside this query's key range (one made by hand).
            raise InvalidInput("the cursor does not belong to this list", field="cursor") from None
        raise
    return Page(docs, None)
