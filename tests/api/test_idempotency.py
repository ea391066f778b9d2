"""Idempotency-Key on POSTs: a retry gets the first response, and runs nothing again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import PRICE_LIST, Api, customer_body

pytestmark = pytest.mark.stack


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_a_retry_replays_the_first_response(api: Api) -> None:
    first = api.post("/price-lists", body=PRICE_LIST, headers=_key("k-1"))
    assert first.status == 201
    again = api.post("/price-lists", body=PRICE_LIST, headers=_key("k-1"))
    # Without the key this would be a 409: the price list exists.
    assert (again.status, again.body) == (201, first.body)
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert api.post("/price-lists", body=PRICE_LIST).status == 409


def test_a_key_reused_for_another_request_is_refused(api: Api) -> None:
    assert api.post("/price-lists", body=PRICE_LIST, headers=_key("k-2")).status == 201
    other = api.post("/price-lists", body={**PRICE_LIST, "id": "b"}, headers=_key("k-2"))
    assert (other.status, other.json["code"]) == (400, "idempotency_key_reused")
    elsewhere = api.post("/plans", body={"price": "1", "currency": "USD"}, headers=_key("k-2"))
    assert elsewhere.status == 400


def test_a_failed_request_can_be_corrected_and_retried_with_its_key(api: Api) -> None:
    assert api.post("/price-lists", body=PRICE_LIST).status == 201
    bad = api.post("/customers", body={"currency": "usd"}, headers=_key("k-3"))
    assert bad.status == 400
    good = api.post("/customers", body=customer_body("acme"), headers=_key("k-3"))
    assert good.status == 201


def test_keys_belong_to_their_caller(api: Api) -> None:
    from chalicelib.api.auth import create_api_token

    other_operator = create_api_token("second operator", "operator")["token"]
    assert api.post("/price-lists", body=PRICE_LIST, headers=_key("k-4")).status == 201
    theirs = api.post("/price-lists", other_operator, body=PRICE_LIST, headers=_key("k-4"))
    assert theirs.status == 409  # ran: another caller's key is not this one


def test_a_request_still_running_with_the_key_is_a_409(api: Api) -> None:
    from chalicelib.api.auth import authenticate
    from chalicelib.api.idempotency import _fingerprint
    from chalicelib.store import access

    # As if the same request were running right now: its claim is there, with no response.
    caller = authenticate(f"Bearer {api.default_token}").subject
    claim = _fingerprint("createPriceList:{}", PRICE_LIST)
    assert access.claim_idempotency_key(caller, "k-5", claim) is None
    reply = api.post("/price-lists", body=PRICE_LIST, headers=_key("k-5"))
    assert (reply.status, reply.json["code"]) == (409, "request_in_progress")
    assert api.get("/price-lists/standard").status == 404


def test_a_replayed_token_creation_does_not_show_the_secret_again(
    api: Api, reference_data: Any
) -> None:
    body = {"name": "erp", "role": "customer", "customer_id": "acme"}
    first = api.post("/api-tokens", body=body, headers=_key("k-7"))
    assert "token" in first.json
    again = api.post("/api-tokens", body=body, headers=_key("k-7"))
    assert again.status == 201
    assert again.json == {k: v for k, v in first.json.items() if k != "token"}
    assert len([t for t in api.get("/api-tokens").json["items"] if t["name"] == "erp"]) == 1


def test_a_malformed_key_is_refused(api: Api) -> None:
    reply = api.post("/price-lists", body=PRICE_LIST, headers=_key("x" * 300))
    assert (reply.status, reply.json["field"]) == (400, "Idempotency-Key")
    assert api.get("/price-lists/standard").status == 404
