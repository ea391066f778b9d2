"""The invoice list a billing team works with: each invoice with its customer's name, sorted
by a column and searched by invoice number or customer (``GET /invoices?sort=&order=&q=``).

The filters still choose the indexed query (:mod:`chalicelib.store.invoice_search`); sorting
and searching work on what that query reads. Every page reads the whole filtered set again,
sorts it by ``(sort key, invoice id)`` — a total order — and starts after the cursor's
position in that order, so pages never overlap nor skip an invoice, whatever the sort. The set
is bounded: past :data:`MAX_SORTED` invoices a sorted or searched list is refused with a
message to narrow the filters (a period, a customer or a status), rather than being sorted
wrongly or read without end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.errors import InvalidInput, NotFound
from chalicelib.store import reference
from chalicelib.store.invoice_keys import InvoiceFilter, sortable_amount
from chalicelib.store.invoice_search import matching_invoices
from chalicelib.store.records import Doc

MAX_SORTED = 5000  # invoices one sorted or searched list may hold; narrow the filters beyond


@dataclass(frozen=True)
class Ordering:
    """How a list is sorted and what it searches for (``text``: None lists every invoice)."""

    sort: str = "period"
    order: str = "desc"
    text: str | None = None


def ordering_of(sort: str | None, order: str | None, text: str | None) -> Ordering | None:
    """The ordering a request asks for; None: the index's own order (neither sort nor search).

    Without ``sort`` a search lists the newest periods first; with it ``order`` is ``asc``
    unless asked otherwise."""
    text = (text or "").strip() or None
    if sort is None and text is None:
        return None
    if sort is None:
        return Ordering("period", order or "desc", text)
    return Ordering(sort, order or "asc", text)


# --- customer names -------------------------------------------------------------------------


def customer_names(customer_ids: Iterable[str], operator: bool) -> dict[str, str]:
    """Each customer's name (a customer id without a stored customer has none).

    An operator's list of several customers reads every customer in one query; otherwise each
    customer is read by its id."""
    wanted = set(customer_ids)
    if operator and len(wanted) > 1:
        return {
            doc["id"]: doc["name"]
            for doc in reference.list_documents("customer")
            if doc["id"] in wanted and doc.get("name")
        }
    names = {}
    for customer_id in wanted:
        try:
            name = reference.get_document("customer", customer_id).get("name")
        except NotFound:
            continue
        if name:
            names[customer_id] = name
    return names


def with_customer_names(docs: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> list[Doc]:
    return [{**doc, "customer_name": names.get(doc["customer_id"])} for doc in docs]


# --- sorting and searching (pure) -------------------------------------------------------------


def matches(doc: Mapping[str, Any], text: str, names: Mapping[str, str]) -> bool:
    """The invoice number starts with ``text``, or the customer's id or name contains it
    (case-insensitive)."""
    wanted = text.casefold()
    number = str(doc.get("number") or "").casefold()
    customer_id = str(doc["customer_id"]).casefold()
    name = names.get(doc["customer_id"], "").casefold()
    return number.startswith(wanted) or wanted in customer_id or wanted in name


def sort_key(doc: Mapping[str, Any], sort: str, names: Mapping[str, str]) -> list[str]:
    """Strings whose order is the column's order, ending with the invoice id (a total order).

    Drafts have no number and no issue date: they come after every numbered or issued invoice
    in ascending order (drafts among themselves by sequence)."""
    if sort == "number":
        number = doc.get("number")
        column = ["0", number] if number else ["1", f"{int(doc.get('sequence') or 0):09d}"]
    elif sort == "customer":
        customer_id = doc["customer_id"]
        column = [names.get(customer_id, customer_id).casefold(), customer_id]
    elif sort == "total":
        column = [sortable_amount(Decimal(str(doc.get("total") or "0")))]
    elif sort == "issued_at":
        issued = doc.get("issued_at")
        column = ["0", issued] if issued else ["1", ""]
    else:  # period, status
        column = [str(doc[sort])]
    return [*column, str(doc["id"])]


def ordered_page(
    docs: Sequence[Doc],
    ordering: Ordering,
    names: Mapping[str, str],
    limit: int,
    after: Sequence[str] | None,
) -> tuple[list[Doc], list[str] | None]:
    """The page of ``docs`` (searched and sorted) after the position ``after``, and the
    position of its last invoice when more follow."""
    found = [d for d in docs if ordering.text is None or matches(d, ordering.text, names)]
    keyed = sorted(
        ((sort_key(d, ordering.sort, names), d) for d in found),
        key=lambda pair: pair[0],
        reverse=ordering.order == "desc",
    )
    if after is not None:
        position = list(after)
        if ordering.order == "desc":
            keyed = [(k, d) for k, d in keyed if k < position]
        else:
            keyed = [(k, d) for k, d in keyed if k > position]
    page = keyed[:limit]
    more = len(keyed) > limit
    return [d for _, d in page], (page[-1][0] if more else None)


# --- the list -----------------------------------------------------------------------------------


def sorted_invoices(
    f: InvoiceFilter,
    ordering: Ordering,
    limit: int,
    after: Sequence[str] | None,
    operator: bool,
) -> tuple[list[Doc], list[str] | None]:
    """A page of the invoices matching ``f``, searched and sorted, with their customer names."""
    docs = matching_invoices(f, MAX_SORTED)
    if len(docs) > MAX_SORTED:
        raise InvalidInput(
            f"more than {MAX_SORTED} invoices match these filters: narrow them (a period, a "
            "customer or a status) to sort or search",
            field="sort" if ordering.text is None else "q",
        )
    names = customer_names({d["customer_id"] for d in docs}, operator)
    page, position = ordered_page(docs, ordering, names, limit, after)
    return with_customer_names(page, names), position
