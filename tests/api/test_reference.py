"""Reference data routes: settings, price lists, plans, customers, accounts, subscriptions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import PLAN, PRICE_LIST, Api, customer_body

pytestmark = pytest.mark.stack


def test_health_needs_no_token(api: Api) -> None:
    reply = api.get("/health", None)
    assert (reply.status, reply.json) == (200, {"status": "ok"})


def test_settings_start_as_defaults_and_are_replaced_whole(api: Api) -> None:
    assert api.get("/settings").json["tax"] == {"enabled": False, "rates": []}
    body = {
        "seller": {"name": "Example Cloud GmbH", "country": "de", "tax_id": "DE136695976"},
        "tax": {"enabled": True, "rates": [{"country": "DE", "rate": "19", "name": "VAT"}]},
        "invoice_number_prefix": "RB-",
        "fx_rates": [{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0.92"}],
    }
    reply = api.put("/settings", body=body)
    assert reply.status == 200, reply
    stored = api.get("/settings").json
    assert stored == reply.json
    assert stored["seller"]["country"] == "DE"  # normalized by the domain parser
    assert stored["invoice_number_prefix"] == "RB-"
    assert stored["fx_rates"] == [{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0.92"}]


def test_settings_are_checked_by_the_domain_after_the_schema(api: Api) -> None:
    reply = api.put(
        "/settings",
        body={"fx_rates": [{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0"}]},
    )
    assert reply.status == 400
    assert reply.json["field"] == "fx_rates[0].rate"


def test_price_list_lifecycle(api: Api) -> None:
    created = api.post("/price-lists", body=PRICE_LIST)
    assert created.status == 201, created
    assert created.json["rules"][0] == {
        "id": "s3",
        "match": {"service": "amazons3"},
        "type": "markup",
        "percent": "5",
    }
    assert api.post("/price-lists", body=PRICE_LIST).status == 409
    assert api.get("/price-lists/standard").json == created.json
    changed = api.put("/price-lists/standard", body={**PRICE_LIST, "name": "Standard 2027"})
    assert (changed.status, changed.json["name"]) == (200, "Standard 2027")
    assert api.put("/price-lists/other", body=PRICE_LIST).json["field"] == "id"
    assert api.put("/price-lists/missing", body={"name": "x"}).status == 404
    assert api.delete("/price-lists/standard").status == 204
    assert api.get("/price-lists/standard").status == 404
    assert api.delete("/price-lists/standard").status == 404


def test_a_price_list_in_use_cannot_be_deleted(api: Api, reference_data: Any) -> None:
    reply = api.delete("/price-lists/standard")
    assert reply.status == 409
    assert "acme" in reply.json["message"]


def test_ids_are_generated_when_not_given(api: Api) -> None:
    reply = api.post("/plans", body={k: v for k, v in PLAN.items() if k != "id"})
    assert reply.status == 201, reply
    plan_id = reply.json["id"]
    assert api.get(f"/plans/{plan_id}").json["price"] == "500"  # normalized: plain decimal


def test_plans(api: Api) -> None:
    assert api.post("/plans", body=PLAN).status == 201
    reply = api.put("/plans/growth", body={**PLAN, "price": "550"})
    assert (reply.status, reply.json["price"]) == (200, "550")
    assert api.get("/plans").json["items"][0]["price"] == "550"
    bad = api.post("/plans", body={**PLAN, "id": "x", "unused_credit_policy": "keep"})
    assert (bad.status, bad.json["field"]) == (400, "unused_credit_policy")


def test_customers(api: Api) -> None:
    assert api.post("/price-lists", body=PRICE_LIST).status == 201
    created = api.post("/customers", body=customer_body("acme"))
    assert created.status == 201, created
    assert created.json["tax_profile"]["country"] == "US"
    assert api.get("/customers/acme").json == created.json
    replaced = api.put(
        "/customers/acme", body={**customer_body("acme"), "discount": {"percent": "5"}}
    )
    assert replaced.json["discount"] == {"percent": "5", "applies_to": "all"}
    unknown_list = api.post("/customers", body={**customer_body("b"), "price_list_id": "nope"})
    assert (unknown_list.status, unknown_list.json["field"]) == (400, "price_list_id")
    bad_currency = api.post("/customers", body={**customer_body("c"), "currency": "XXY"})
    assert (bad_currency.status, bad_currency.json["field"]) == (400, "currency")


def test_deleting_a_customer_removes_its_accounts_and_subscriptions(
    api: Api, reference_data: Any
) -> None:
    assert api.delete("/customers/acme").status == 204
    assert api.get("/customers/acme").status == 404
    assert api.get("/customers/acme/accounts").status == 404
    # The account is free again: another customer may take it.
    reply = api.post(
        "/customers/globex/accounts", body={"provider": "aws", "account_id": "111111111111"}
    )
    assert reply.status == 201, reply


def test_a_customer_with_invoices_stays(api: Api, reference_data: Any, make_invoice: Any) -> None:
    make_invoice("acme")
    reply = api.delete("/customers/acme")
    assert reply.status == 409
    assert api.get("/customers/acme").status == 200


def test_accounts(api: Api, reference_data: Any) -> None:
    listed = api.get("/customers/acme/accounts").json["items"]
    assert listed == [
        {
            "customer_id": "acme",
            "provider": "aws",
            "account_id": "111111111111",
            "price_list_id": None,
            "valid_from": None,
            "valid_to": None,
        }
    ]
    assert (
        api.post(
            "/customers/acme/accounts", body={"provider": "aws", "account_id": "111111111111"}
        ).status
        == 409
    )
    assert (
        api.post("/customers/nobody/accounts", body={"provider": "aws", "account_id": "3"}).status
        == 404
    )
    assert api.delete("/customers/acme/accounts/aws/111111111111").status == 204
    assert api.get("/customers/acme/accounts").json["items"] == []
    assert api.delete("/customers/acme/accounts/aws/111111111111").status == 404


def test_an_account_belongs_to_one_customer_at_a_time(api: Api, reference_data: Any) -> None:
    taken = api.post(
        "/customers/globex/accounts", body={"provider": "aws", "account_id": "111111111111"}
    )
    assert (taken.status, taken.json["field"]) == (409, "account_id")
    # Moving an account from one customer to another on a date is two non-overlapping links.
    api.delete("/customers/acme/accounts/aws/111111111111")
    before = {"provider": "aws", "account_id": "111111111111", "valid_to": "2026-10-15"}
    after = {"provider": "aws", "account_id": "111111111111", "valid_from": "2026-10-15"}
    assert api.post("/customers/acme/accounts", body=before).status == 201
    assert api.post("/customers/globex/accounts", body=after).status == 201


def test_account_ids_stay_strings(api: Api, reference_data: Any) -> None:
    reply = api.post("/customers/acme/accounts", body={"provider": "aws", "account_id": 12})
    assert (reply.status, reply.json["field"]) == (400, "account_id")
    reply = api.post(
        "/customers/acme/accounts", body={"provider": "aws", "account_id": "000011112222"}
    )
    assert reply.json["account_id"] == "000011112222"


def test_subscriptions(api: Api, reference_data: Any) -> None:
    base = "/customers/acme/subscriptions"
    assert api.get(f"{base}/acme-growth").json["start_date"] == "2026-10-01"
    replaced = api.put(
        f"{base}/acme-growth",
        body={"plan_id": "growth", "quantity": 3, "start_date": "2026-10-01"},
    )
    assert (replaced.status, replaced.json["quantity"]) == (200, 3)
    unknown_plan = api.post(base, body={"plan_id": "nope", "start_date": "2026-10-01"})
    assert (unknown_plan.status, unknown_plan.json["field"]) == (400, "plan_id")
    backwards = api.post(
        base, body={"plan_id": "growth", "start_date": "2026-10-01", "end_date": "2026-09-01"}
    )
    assert (backwards.status, backwards.json["field"]) == (400, "end_date")
    other = api.post(
        base, body={"plan_id": "growth", "start_date": "2026-10-01", "customer_id": "globex"}
    )
    assert (other.status, other.json["field"]) == (400, "customer_id")
    assert api.delete(f"{base}/acme-growth").status == 204
    assert api.get(base).json == {"items": [], "next_cursor": None}
    assert (
        api.put(
            f"{base}/acme-growth", body={"plan_id": "growth", "start_date": "2026-10-01"}
        ).status
        == 404
    )


def test_lists_page_through_with_a_cursor(api: Api) -> None:
    assert api.post("/price-lists", body=PRICE_LIST).status == 201
    ids = [f"c{n:02d}" for n in range(7)]
    for customer_id in ids:
        assert api.post("/customers", body=customer_body(customer_id)).status == 201
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/customers", **query).json
        pages += 1
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (pages, seen) == (3, ids)
    # A cursor is tied to its list.
    first = api.get("/customers", limit=3).json["next_cursor"]
    reply = api.get("/price-lists", cursor=first)
    assert (reply.status, reply.json["field"]) == (400, "cursor")
