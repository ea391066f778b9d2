"""GET /invoices filters, in combination, over a few hundred invoices: the answer is exactly
the brute-force one, every page comes from a Query on an index (never a scan), and each
combination uses the index the access-pattern table promises."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal
from typing import Any

import pytest

from tests.api.conftest import Api, invoice_doc

pytestmark = pytest.mark.stack

CUSTOMERS = [f"c{n:03d}" for n in range(30)]
PERIODS = [f"2026-{m:02d}" for m in range(1, 9)]


def _corpus() -> list[dict[str, Any]]:
    """240 invoices and a few credit notes with varied statuses, totals and discounts."""
    from chalicelib.billing.document import Invoice
    from chalicelib.billing.lifecycle import void

    rng = random.Random(7)
    docs = []
    for customer_id, period in itertools.product(CUSTOMERS, PERIODS):
        usage = Decimal(rng.randrange(0, 600_000)) / 100
        discount = Decimal(rng.choice([0, 0, 0, rng.randrange(1, 30_000)])) / 100
        doc = invoice_doc(customer_id, period, usage=str(usage), discount=str(discount))
        status = rng.choices(["issued", "paid", "draft", "void"], [60, 30, 7, 3])[0]
        doc["status"] = status
        if status != "draft":
            doc["number"] = f"INV-2026-{len(docs) + 1:06d}"
        docs.append(doc)
        if status == "void":
            issued = Invoice.from_dict({**doc, "status": "issued"})
            _, note = void(issued, "CN", "2026-11-02T00:00:00+00:00")
            docs.append({**note.to_dict(), "id": doc["id"] + "-cn"})
    return docs


@pytest.fixture
def corpus(api: Api) -> list[dict[str, Any]]:
    from chalicelib.store import invoices
    from chalicelib.store.tables import InvoiceItem

    docs = _corpus()
    # Straight into the table, as the store writes them (with every index key), for speed.
    with InvoiceItem.batch_write() as batch:
        for doc in docs:
            batch.save(invoices._invoice_item(doc))
    return docs


def _matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    total = Decimal(doc["total"])
    discount = -Decimal(doc["discount_total"])
    checks = {
        "customer_id": lambda v: doc["customer_id"] == v,
        "period": lambda v: doc["period"] == v,
        "status": lambda v: doc["status"] == v,
        "has_discount": lambda v: (discount > 0) == v,
        "min_discount": lambda v: discount >= Decimal(v),
        "max_discount": lambda v: discount <= Decimal(v),
        "min_total": lambda v: total >= Decimal(v),
        "max_total": lambda v: total <= Decimal(v),
    }
    return all(checks[name](value) for name, value in query.items())


def _all_pages(api: Api, token: Any = ..., **query: Any) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    cursor = None
    while True:
        reply = api.get("/invoices", token, **query, **({"cursor": cursor} if cursor else {}))
        assert reply.status == 200, (query, reply)
        pages += 1
        ids += [doc["id"] for doc in reply.json["items"]]
        cursor = reply.json["next_cursor"]
        if cursor is None:
            return ids, pages


CUSTOMER_OPTIONS: list[dict[str, Any]] = [{}, {"customer_id": "c003"}]
PERIOD_OPTIONS: list[dict[str, Any]] = [{}, {"period": "2026-03"}]
STATUS_OPTIONS: list[dict[str, Any]] = [{}, {"status": "issued"}, {"status": "draft"}]
DISCOUNT_OPTIONS: list[dict[str, Any]] = [
    {},
    {"has_discount": True},
    {"has_discount": False},
    {"min_discount": "50", "max_discount": "200.5"},
]
TOTAL_OPTIONS: list[dict[str, Any]] = [
    {},
    {"min_total": "3000"},
    {"max_total": "1000.25"},
    {"min_total": "800", "max_total": "4000"},
]


def test_every_combination_of_filters_gives_exactly_the_matching_invoices(
    api: Api, corpus: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store.tables import InvoiceItem

    def no_scans(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the invoice list scanned the table")

    monkeypatch.setattr(InvoiceItem, "scan", no_scans)
    combinations = 0
    for parts in itertools.product(
        CUSTOMER_OPTIONS, PERIOD_OPTIONS, STATUS_OPTIONS, DISCOUNT_OPTIONS, TOTAL_OPTIONS
    ):
        query = {k: v for part in parts for k, v in part.items()}
        expected = sorted(d["id"] for d in corpus if _matches(d, query))
        found, _ = _all_pages(api, limit=100, **query)
        assert len(found) == len(set(found)), query
        assert sorted(found) == expected, query
        combinations += 1
    assert combinations == 192
    # The corpus exercises each filter both ways.
    assert any(d["status"] == "draft" for d in corpus)
    assert any(Decimal(d["total"]) < 0 for d in corpus)


def test_hidden_drafts_are_left_out_by_every_combination_of_filters(
    corpus: list[dict[str, Any]],
) -> None:
    from chalicelib.store.invoice_keys import InvoiceFilter
    from chalicelib.store.invoice_search import search_invoices

    for parts in itertools.product(
        CUSTOMER_OPTIONS, PERIOD_OPTIONS, STATUS_OPTIONS, DISCOUNT_OPTIONS, TOTAL_OPTIONS
    ):
        query = {k: v for part in parts for k, v in part.items()}
        expected = sorted(d["id"] for d in corpus if d["status"] != "draft" and _matches(d, query))
        amounts = {k: Decimal(v) for k, v in query.items() if k.startswith(("min_", "max_"))}
        f = InvoiceFilter(**{**query, **amounts}, hide_drafts=True)
        found: list[str] = []
        start = None
        while True:
            page = search_invoices(f, 100, start)
            found += [doc["id"] for doc in page.docs]
            if page.next_key is None:
                break
            start = page.next_key
        assert sorted(found) == expected, query


def test_each_combination_queries_the_index_of_the_access_pattern_table(
    api: Api, corpus: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store.tables import InvoiceItem

    original = InvoiceItem.query
    used: list[str | None] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        used.append(kwargs.get("index_name"))
        return original(*args, **kwargs)

    monkeypatch.setattr(InvoiceItem, "query", spy)
    expectations = [
        ({}, "by_recent"),
        ({"customer_id": "c001", "period": "2026-02", "min_total": "1"}, "by_customer"),
        ({"period": "2026-02"}, "by_period"),
        ({"period": "2026-02", "status": "paid"}, "by_status"),
        ({"period": "2026-02", "status": "draft", "min_total": "5"}, "by_status"),
        ({"period": "2026-02", "status": "paid", "min_total": "5"}, "by_period_total"),
        ({"period": "2026-02", "has_discount": True}, "by_period_discount"),
        ({"status": "paid"}, "by_status"),
        ({"min_total": "100", "has_discount": True}, "by_total"),
        ({"min_discount": "1"}, "by_discount"),
        ({"status": "void", "max_discount": "0"}, "by_status"),
    ]
    for query, index in expectations:
        used.clear()
        assert api.get("/invoices", **query).status == 200
        assert used == [index], query


def test_three_pages_and_back_again(api: Api, corpus: list[dict[str, Any]]) -> None:
    expected = sorted(d["id"] for d in corpus if d["period"] == "2026-05")
    found, pages = _all_pages(api, period="2026-05", limit=12)
    assert pages == 3
    assert sorted(found) == expected
    # A cursor belongs to its filters: reusing it with others is refused, not misapplied.
    cursor = api.get("/invoices", period="2026-05", limit=12).json["next_cursor"]
    reply = api.get("/invoices", period="2026-06", limit=12, cursor=cursor)
    assert (reply.status, reply.json["field"]) == (400, "cursor")
    reply = api.get("/invoices", period="2026-05", cursor="not-a-cursor")
    assert (reply.status, reply.json["field"]) == (400, "cursor")


def test_a_page_stops_at_the_read_budget_and_goes_on(
    api: Api, corpus: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import invoice_search

    monkeypatch.setattr(invoice_search, "MAX_EVALUATED", 40)
    # by_total, with status and discount as a filter over what it reads
    query = {"min_total": "0", "status": "paid", "has_discount": True}
    expected = sorted(d["id"] for d in corpus if _matches(d, query))
    found, pages = _all_pages(api, **query)
    assert sorted(found) == expected
    assert pages > 1


def test_a_customer_lists_only_its_own_invoices(
    api: Api, corpus: list[dict[str, Any]], customer_token: Any
) -> None:
    token = customer_token("c002")
    found, _ = _all_pages(api, token)
    own = [d for d in corpus if d["customer_id"] == "c002"]
    assert any(d["status"] == "draft" for d in own)
    # Never a draft: those are the reseller's work in progress.
    assert sorted(found) == sorted(d["id"] for d in own if d["status"] != "draft")
    filtered, _ = _all_pages(api, token, status="issued", min_total="100")
    assert sorted(filtered) == sorted(
        d["id"]
        for d in corpus
        if _matches(d, {"customer_id": "c002", "status": "issued", "min_total": "100"})
    )
    assert api.get("/invoices", token, customer_id="c004").status == 404


def test_filter_parameters_are_validated(api: Api) -> None:
    for query, field in (
        ({"period": "2026-13"}, "period"),
        ({"status": "sent"}, "status"),
        ({"has_discount": "yes"}, "has_discount"),
        ({"min_total": "1e3"}, "min_total"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"custmer_id": "acme"}, "custmer_id"),
    ):
        reply = api.get("/invoices", **query)
        assert (reply.status, reply.json.get("field")) == (400, field), query


def test_an_empty_range_is_an_empty_list(api: Api, corpus: list[dict[str, Any]]) -> None:
    reply = api.get("/invoices", min_total="10", max_total="5")
    assert reply.json == {"items": [], "next_cursor": None}
    reply = api.get("/invoices", has_discount=False, min_discount="1")
    assert reply.json == {"items": [], "next_cursor": None}
