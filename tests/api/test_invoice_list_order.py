"""GET /invoices sorted by a column and searched by number or customer: every page of every
sort, one after the other, is exactly the brute-force order; each invoice carries its
customer's name; a customer's search never finds another customer's invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_filters import CUSTOMERS, _all_pages, _corpus

pytestmark = pytest.mark.stack

# Names whose order differs from the ids' (c000 → "Zephyr 0 GmbH", c001 → "acme 1 Ltd", …).
NAMES = ["Zephyr", "acme", "Blue Yonder", "contoso", "Initech", "Globex"]


def _name(customer_id: str) -> str:
    n = int(customer_id[1:])
    return f"{NAMES[n % len(NAMES)]} {n} {'GmbH' if n % 2 else 'Ltd'}"


@pytest.fixture
def named_corpus(api: Api) -> list[dict[str, Any]]:
    from chalicelib.store import invoices, reference
    from chalicelib.store.tables import InvoiceItem
    from tests.api.conftest import customer_body

    for customer_id in CUSTOMERS:
        reference.put_document(
            "customer", {**customer_body(customer_id), "name": _name(customer_id)}
        )
    docs = _corpus()
    with InvoiceItem.batch_write() as batch:
        for doc in docs:
            batch.save(invoices._invoice_item(doc))
    return docs


def _expected_order(docs: list[dict[str, Any]], sort: str, order: str) -> list[str]:
    """The order the list promises, computed independently: drafts last (ascending)."""

    def key(doc: dict[str, Any]) -> tuple[Any, ...]:
        if sort == "number":
            column: tuple[Any, ...] = (
                (0, doc["number"]) if doc.get("number") else (1, doc["sequence"])
            )
        elif sort == "customer":
            column = (_name(doc["customer_id"]).casefold(), doc["customer_id"])
        elif sort == "total":
            column = (Decimal(doc["total"]),)
        elif sort == "issued_at":
            column = (0, doc["issued_at"]) if doc.get("issued_at") else (1, "")
        else:
            column = (doc[sort],)
        return (*column, doc["id"])

    return [d["id"] for d in sorted(docs, key=key, reverse=order == "desc")]


def _pages(api: Api, token: Any = ..., **query: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        reply = api.get("/invoices", token, **query, **({"cursor": cursor} if cursor else {}))
        assert reply.status == 200, (query, reply)
        items += reply.json["items"]
        cursor = reply.json["next_cursor"]
        if cursor is None:
            return items


def test_every_sort_in_both_orders_pages_through_the_exact_order(
    api: Api, named_corpus: list[dict[str, Any]]
) -> None:
    period = [d for d in named_corpus if d["period"] == "2026-03"]
    for sort in ("number", "customer", "period", "total", "status", "issued_at"):
        for order in ("asc", "desc"):
            found = [
                d["id"] for d in _pages(api, period="2026-03", sort=sort, order=order, limit=7)
            ]
            assert found == _expected_order(period, sort, order), (sort, order)
    # Across every invoice, in pages, with a filter that the index reads through.
    paid = [d for d in named_corpus if d["status"] == "paid"]
    found = [d["id"] for d in _pages(api, status="paid", sort="total", order="desc", limit=50)]
    assert found == _expected_order(paid, "total", "desc")
    # Drafts come after every numbered invoice in ascending order, first in descending.
    by_number = _pages(api, period="2026-03", sort="number", limit=100)
    statuses = [d["status"] for d in by_number]
    assert "draft" in statuses and statuses[statuses.index("draft") :] == ["draft"] * (
        len(statuses) - statuses.index("draft")
    )


def test_each_invoice_carries_its_customers_name_and_a_draft_its_number(
    api: Api, named_corpus: list[dict[str, Any]]
) -> None:
    for query in ({"period": "2026-02"}, {"period": "2026-02", "sort": "customer"}):
        items = _pages(api, **query, limit=100)
        assert items and all(i["customer_name"] == _name(i["customer_id"]) for i in items)
        drafts = [i for i in items if i["status"] == "draft"]
        assert drafts and all(i["draft_number"] == 1 for i in drafts), query
        assert all("draft_number" not in i for i in items if i["status"] != "draft")
    one = api.get(f"/invoices/{named_corpus[0]['id']}").json
    assert one["customer_name"] == _name(named_corpus[0]["customer_id"])


def test_search_by_number_prefix_or_customer_id_or_name(
    api: Api, named_corpus: list[dict[str, Any]]
) -> None:
    def ids(**query: Any) -> list[str]:
        return sorted(d["id"] for d in _pages(api, **query, limit=40))

    assert ids(q="INV-2026-00010") == sorted(
        d["id"] for d in named_corpus if (d.get("number") or "").startswith("INV-2026-00010")
    )
    assert ids(q="inv-2026-000105") == [
        d["id"] for d in named_corpus if d.get("number") == "INV-2026-000105"
    ]
    # A customer's name, any case, anywhere in it: "ACME" is c001, c007, c013, …
    acme = sorted(d["id"] for d in named_corpus if "acme" in _name(d["customer_id"]).lower())
    assert ids(q="ACME") == acme and len({i.split("-")[1] for i in acme}) == 5
    assert ids(q="c02") == sorted(d["id"] for d in named_corpus if d["customer_id"] >= "c020")
    # Searching within the filters: every "GmbH" (odd ids) of the period, and only those.
    found = _pages(api, q="gmbh", period="2026-04", limit=100)
    assert sorted(d["id"] for d in found) == sorted(
        d["id"] for d in named_corpus if d["period"] == "2026-04" and int(d["customer_id"][1:]) % 2
    )
    newest_first = _pages(api, q="Zephyr", limit=100)
    assert [d["period"] for d in newest_first] == sorted(
        (d["period"] for d in newest_first), reverse=True
    )
    assert api.get("/invoices", q="nobody at all").json == {"items": [], "next_cursor": None}


def test_a_customers_search_finds_only_its_own_invoices(
    api: Api, named_corpus: list[dict[str, Any]], customer_token: Any
) -> None:
    token = customer_token("c002")  # "Blue Yonder 2 Ltd"
    own = [d for d in named_corpus if d["customer_id"] == "c002" and d["status"] != "draft"]
    # Another customer's name or number matches nothing of theirs.
    other_number = next(
        d["number"] for d in named_corpus if d["customer_id"] == "c003" and d.get("number")
    )
    for q in ("acme", "c003", other_number, "Ltd"):
        found = _pages(api, token, q=q)
        assert all(d["customer_id"] == "c002" for d in found), q
    assert [d["id"] for d in _pages(api, token, q="acme")] == []
    everything = _pages(api, token, q="Ltd", sort="total")
    assert [d["id"] for d in everything] == _expected_order(own, "total", "asc")
    assert all(d["customer_name"] == "Blue Yonder 2 Ltd" for d in everything)
    assert all("draft_number" not in d for d in everything)
    assert api.get("/invoices", token, q="acme", customer_id="c001").status == 404


def test_a_cursor_belongs_to_its_sort_and_search(
    api: Api, named_corpus: list[dict[str, Any]]
) -> None:
    cursor = api.get("/invoices", period="2026-05", sort="total", limit=5).json["next_cursor"]
    for other in ({"sort": "number"}, {"sort": "total", "order": "desc"}, {"q": "acme"}, {}):
        reply = api.get("/invoices", period="2026-05", limit=5, cursor=cursor, **other)
        assert (reply.status, reply.json["field"]) == (400, "cursor"), other
    unsorted = api.get("/invoices", period="2026-05", limit=5).json["next_cursor"]
    reply = api.get("/invoices", period="2026-05", sort="total", limit=5, cursor=unsorted)
    assert (reply.status, reply.json["field"]) == (400, "cursor")


def test_sorting_more_than_the_bound_asks_to_narrow_the_filters(
    api: Api, named_corpus: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.service import invoice_list

    monkeypatch.setattr(invoice_list, "MAX_SORTED", 40)
    reply = api.get("/invoices", sort="total")
    assert (reply.status, reply.json["field"]) == (400, "sort")
    assert "narrow" in reply.json["message"]
    assert api.get("/invoices", q="acme").json["field"] == "q"
    # 30 invoices of a period fit: narrowed, it sorts.
    assert api.get("/invoices", period="2026-01", sort="total").status == 200
    # Without sort or search the list pages through the index as before, unbounded.
    ids, _ = _all_pages(api, limit=100)
    assert len(ids) == len(named_corpus)


def test_sort_order_and_search_are_validated(api: Api) -> None:
    for query, field in (
        ({"sort": "amount"}, "sort"),
        ({"order": "up"}, "order"),
        ({"q": "x" * 101}, "q"),
    ):
        reply = api.get("/invoices", **query)
        assert (reply.status, reply.json.get("field")) == (400, field), query
