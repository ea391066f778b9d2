"""Partial updates of the settings and of a customer: JSON Merge Patch (RFC 7396), validated after
merging, written only over the version that was read (ETag / If-Match)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.patch import merge_patch
from tests.api.conftest import Api, customer_body

pytestmark = pytest.mark.stack

SETTINGS = {
    "seller": {"name": "Example Cloud GmbH", "country": "DE", "tax_id": "DE136695976"},
    "tax": {"enabled": True, "rates": [{"country": "DE", "rate": "19", "name": "VAT"}]},
    "automated_bill_processing": True,
    "pass_through": {"provider_credits": True, "provider_tax": False, "provider_discounts": False},
    "invoice_number_prefix": "EC-",
    "fx_rates": [{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0.92"}],
}


# --- RFC 7396 itself (its Appendix A) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7396(target: Any, patch: Any, result: Any) -> None:
    before = repr(target)
    assert merge_patch(target, patch) == result
    assert repr(target) == before  # the target is not changed in place


# --- PATCH /settings ----------------------------------------------------------------------------


def test_a_settings_patch_changes_only_what_it_names(api: Api) -> None:
    assert api.put("/settings", body=SETTINGS).status == 200
    reply = api.request("PATCH", "/settings", body={"seller": {"tax_id": "DE999999999"}})
    assert reply.status == 200, reply
    stored = api.get("/settings").json
    named = {k: v for k, v in stored["seller"].items() if v is not None}
    assert named == {"name": "Example Cloud GmbH", "country": "DE", "tax_id": "DE999999999"}
    assert stored["tax"]["rates"] == [
        {"country": "DE", "region": None, "rate": "19", "name": "VAT"}
    ]
    assert stored["fx_rates"] == SETTINGS["fx_rates"]
    assert stored["invoice_number_prefix"] == "EC-"
    assert stored["pass_through"]["provider_credits"] is True
    assert reply.json == stored


def test_null_deletes_a_key_and_an_array_replaces_the_whole_array(api: Api) -> None:
    api.put("/settings", body=SETTINGS)
    reply = api.request(
        "PATCH",
        "/settings",
        body={
            "seller": {"tax_id": None},
            "fx_rates": [{"period": "2026-11", "from": "USD", "to": "GBP", "rate": "0.79"}],
        },
    )
    assert reply.status == 200, reply
    stored = api.get("/settings").json
    assert stored["seller"]["tax_id"] is None
    assert stored["seller"]["name"] == "Example Cloud GmbH"
    assert stored["fx_rates"] == [{"period": "2026-11", "from": "USD", "to": "GBP", "rate": "0.79"}]


def test_a_patch_of_never_saved_settings_starts_from_the_defaults(api: Api) -> None:
    defaults = api.get("/settings").json
    reply = api.request("PATCH", "/settings", body={"automated_bill_processing": True})
    assert reply.status == 200, reply
    assert reply.json == {**defaults, "automated_bill_processing": True}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"tax": {"rates": [{"country": "DE"}]}}, "tax.rates[0].rate"),
        ({"seller": {"country": "Germany"}}, "seller.country"),
        ({"sellr": {"name": "typo"}}, "sellr"),
        ({"fx_rates": [{"period": "2026-13", "from": "USD", "to": "EUR", "rate": "1"}]}, None),
        ({"invoice_number_prefix": "no spaces please"}, "invoice_number_prefix"),
    ],
)
def test_the_merged_settings_are_validated_and_a_refused_patch_changes_nothing(
    api: Api, patch: dict[str, Any], field: str | None
) -> None:
    api.put("/settings", body=SETTINGS)
    before = api.get("/settings")
    reply = api.request("PATCH", "/settings", body=patch)
    assert reply.status == 400, reply
    if field:
        assert reply.json["field"] == field
    after = api.get("/settings")
    assert after.json == before.json
    assert after.headers["etag"] == before.headers["etag"]


def test_a_patch_body_must_be_an_object(api: Api) -> None:
    reply = api.request("PATCH", "/settings", body=["seller"])
    assert reply.status == 400, reply


def test_if_match_refuses_a_change_based_on_a_stale_read(api: Api) -> None:
    api.put("/settings", body=SETTINGS)
    first = api.get("/settings")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    # Someone else changes the prefix after our read ...
    changed = api.request("PATCH", "/settings", body={"invoice_number_prefix": "XX-"})
    assert changed.headers["etag"] != etag
    # ... so our change, made on what we read, is refused and nothing of it is written.
    stale = api.request(
        "PATCH", "/settings", body={"seller": {"name": "Stale"}}, headers={"If-Match": etag}
    )
    assert stale.status == 412, stale
    assert stale.json["code"] == "precondition_failed"
    assert api.get("/settings").json["seller"]["name"] == "Example Cloud GmbH"
    # With the current ETag it lands and answers the next one.
    fresh = api.request(
        "PATCH",
        "/settings",
        body={"seller": {"name": "Fresh"}},
        headers={"If-Match": changed.headers["etag"]},
    )
    assert fresh.status == 200, fresh
    assert fresh.headers["etag"] == api.get("/settings").headers["etag"]
    assert api.get("/settings").json["invoice_number_prefix"] == "XX-"


def test_without_if_match_a_patch_that_loses_a_race_is_merged_again(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two partial updates of different fields at the same time: both land."""
    from chalicelib.store import reference

    api.put("/settings", body=SETTINGS)
    write = reference.write_settings_over
    raced = []

    def racing_write(doc: dict[str, Any], read: Any) -> bool:
        if not raced:  # another writer lands between this request's read and its write
            raced.append(True)
            current = reference.get_settings()
            reference.put_settings({**current, "invoice_number_prefix": "RACE-"})
        return write(doc, read)

    monkeypatch.setattr(reference, "write_settings_over", racing_write)
    reply = api.request("PATCH", "/settings", body={"seller": {"tax_id": "DE111111111"}})
    assert reply.status == 200, reply
    stored = api.get("/settings").json
    assert stored["invoice_number_prefix"] == "RACE-"  # the other writer's change survived
    assert stored["seller"]["tax_id"] == "DE111111111"  # and ours landed


def test_put_still_replaces_the_whole_settings(api: Api) -> None:
    api.put("/settings", body=SETTINGS)
    reply = api.put("/settings", body={"seller": {"name": "Only a name"}})
    assert reply.status == 200, reply
    stored = api.get("/settings").json
    assert stored["seller"]["name"] == "Only a name"
    assert stored["tax"]["rates"] == [] and stored["fx_rates"] == []
    assert reply.headers["etag"] == api.get("/settings").headers["etag"]


def test_a_merge_patch_media_type_and_an_idempotency_key_are_accepted(api: Api) -> None:
    headers = {"Content-Type": "application/merge-patch+json", "Idempotency-Key": "patch-1"}
    first = api.request("PATCH", "/settings", body={"tax": {"enabled": True}}, headers=headers)
    assert first.status == 200, first
    again = api.request("PATCH", "/settings", body={"tax": {"enabled": True}}, headers=headers)
    assert again.status == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.json == first.json


def test_only_operators_patch(api: Api, customer_token: Any) -> None:
    token = customer_token("acme")
    reply = api.request("PATCH", "/settings", token, body={"tax": {"enabled": True}})
    assert reply.status == 403
    reply = api.request("PATCH", "/customers/acme", token, body={"email": "x@acme.example"})
    assert reply.status == 403


# --- PATCH /customers/{id} ----------------------------------------------------------------------


def test_a_customer_patch_keeps_every_field_it_does_not_name(api: Api) -> None:
    body = {
        **customer_body("initech"),
        "price_list_id": None,
        "tax_profile": {"country": "DE", "region": None, "tax_id": "DE123456789", "exempt": False},
        "discount": {"percent": "5", "applies_to": "cloud"},
        "custom_items": [
            {
                "id": "support",
                "description": "Support",
                "type": "fee",
                "amount": "99.00",
                "recurring": True,
            }
        ],
    }
    assert api.post("/customers", body=body).status == 201
    etag = api.get("/customers/initech").headers["etag"]
    reply = api.request(
        "PATCH",
        "/customers/initech",
        body={"name": "Initech AG", "email": "ap@initech.example"},
        headers={"If-Match": etag},
    )
    assert reply.status == 200, reply
    stored = api.get("/customers/initech").json
    assert stored["name"] == "Initech AG" and stored["email"] == "ap@initech.example"
    assert stored["tax_profile"]["tax_id"] == "DE123456789"
    assert stored["discount"] == {"percent": "5", "applies_to": "cloud"}
    assert [item["id"] for item in stored["custom_items"]] == ["support"]
    assert stored["currency"] == "USD"
    # The tax id alone goes; the rest of the tax profile stays.
    reply = api.request("PATCH", "/customers/initech", body={"tax_profile": {"tax_id": None}})
    assert reply.status == 200, reply
    assert reply.json["tax_profile"]["country"] == "DE"
    assert reply.json["tax_profile"]["tax_id"] is None


def test_a_customer_patch_is_refused_where_a_put_would_be(
    api: Api, reference_data: dict[str, Any]
) -> None:
    before = api.get("/customers/acme").json
    for patch, status, field in (
        ({"id": "other"}, 400, "id"),
        ({"currency": "dollars"}, 400, "currency"),
        ({"price_list_id": "no-such-list"}, 400, "price_list_id"),
        ({"nickname": "A"}, 400, "nickname"),
    ):
        reply = api.request("PATCH", "/customers/acme", body=patch)
        assert reply.status == status, (patch, reply)
        assert reply.json.get("field") == field, (patch, reply)
    assert api.get("/customers/acme").json == before
    assert api.request("PATCH", "/customers/nobody", body={"name": "x"}).status == 404
    stale = api.request(
        "PATCH", "/customers/acme", body={"name": "x"}, headers={"If-Match": '"0000"'}
    )
    assert stale.status == 412, stale
