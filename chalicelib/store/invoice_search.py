"""The invoice list's access patterns: which index answers which combination of filters.

``GET /invoices`` filters by customer, period, status, discount and total, in any combination.
Every combination is one DynamoDB Query on a global index of the invoices table — never a
scan. The most selective filter given picks the index and goes into the key condition; the
other filters become a filter expression over what that key condition reads:

==================================  ======================  ===================================
filters given (others optional)     index                   key condition
==================================  ======================  ===================================
overdue                             ``by_open_due``         due date before today
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

Only issued invoices with a balance due are in ``by_open_due`` (a sparse index), so the overdue
list reads the overdue invoices and nothing else; its other filters are a filter expression.
A customer has a few dozen invoices in its lifetime, so the customer index reads little
whatever else is asked. Drafts and voided invoices are rare next to issued and paid ones, so
those statuses drive the query when given. Amount ranges are one ``BETWEEN`` on an amount key
(:mod:`chalicelib.store.invoice_keys`).

A customer's list hides drafts (``hide_drafts``): asking for drafts matches nothing, and any
other query carries ``status <> draft`` in its filter expression, so drafts never fill a page.

A page stops at ``limit`` matches or after :data:`MAX_EVALUATED` items read, whichever comes
first, and says where to go on; a page may therefore hold fewer items than asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import QueryError

from chalicelib.errors import InvalidInput
from chalicelib.store.invoice_keys import LISTING, AmountRange, InvoiceFilter
from chalicelib.store.records import Doc
from chalicelib.store.tables import InvoiceItem

RARE_STATUSES = ("draft", "void")
MAX_EVALUATED = 1000  # items read per request: bounds the time and cost of one page

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
    """The query answering ``f``; None when no invoice can match (an empty amount range, or
    drafts asked for by a caller who may not see them)."""
    totals, discounts = f.total_range, f.discount_range
    if (totals is not None and totals.empty) or (discounts is not None and discounts.empty):
        return None
    if f.hide_drafts and f.status == "draft":
        return None
    item = InvoiceItem
    status = None if f.status is None else item.status == f.status
    if f.hide_drafts and status is None:
        # In the query's filter expression, so pages and cursors never count a draft.
        status = item.status != "draft"
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

    if f.overdue_on is not None:
        customer = None if f.customer_id is None else item.customer_id == f.customer_id
        return plan(
            "by_open_due",
            "listing",
            LISTING,
            "open_due",
            range=item.open_due < f.overdue_on,
            filters=(customer, period_prefix, status, total, discount),
            forward=True,
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
        return plan(
            "by_period", "period", f.period, "customer_sort", filters=(status,), forward=True
        )
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
    return plan("by_recent", "listing", LISTING, "period_sort", filters=(status,))


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


def matching_invoices(f: InvoiceFilter, at_most: int) -> list[Doc]:
    """Every invoice matching ``f``, read through the same indexed query as the pages of
    :func:`search_invoices`, stopping once more than ``at_most`` are read (the caller sees
    ``at_most + 1`` items and knows the set is larger than it wants to hold)."""
    docs: list[Doc] = []
    start: Mapping[str, str] | None = None
    while True:
        page = search_invoices(f, at_most + 1 - len(docs), start)
        docs += page.docs
        if page.next_key is None or len(docs) > at_most:
            return docs
        start = page.next_key
