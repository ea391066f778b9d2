"""Request validation: bodies against the OpenAPI schemas, errors that name the field, unknown
fields refused; and the document itself, served at /openapi.json, matches the routes."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.openapi import MATCH_KEYS
from tests.api.conftest import PRICE_LIST, Api, customer_body

pytestmark = pytest.mark.stack


@pytest.mark.parametrize(
    ("path", "body", "field", "says"),
    [
        ("/customers", {"name": "no currency"}, "currency", "is required"),
        ("/customers", {"currency": "USD", "colour": "red"}, "colour", "not a known field"),
        (
            "/customers",
            {"currency": "USD", "tax_profile": {"country": "DE", "vat": "x"}},
            "tax_profile.vat",
            "not a known field",
        ),
        ("/customers", {"currency": "USD", "discount": {"percent": 5}}, "discount.percent", "type"),
        ("/customers", {"id": "a b", "currency": "USD"}, "id", "expected form"),
        (
            "/price-lists",
            {"rules": [{"type": "markup", "percent": "1"}, {"type": "tip"}]},
            "rules[1].type",
            "one of",
        ),
        (
            "/price-lists",
            {"rules": [{"type": "markup", "match": {"colour": "red"}}]},
            "rules[0].match.colour",
            "not a known field",
        ),
        ("/plans", {"price": "-1", "currency": "USD"}, "price", "expected form"),
        ("/invoice-runs", {"period": "2026-13"}, "period", "YYYY-MM"),
        ("/invoice-runs", {"period": "2026-10", "mode": "final"}, "mode", "one of"),
        ("/bills/upload-url", {"filename": "/etc/passwd"}, "filename", "expected form"),
        ("/bills/upload-url", {"filename": "cur/../../x"}, "filename", "segments"),
        ("/api-tokens", {"role": "operator"}, "name", "is required"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str, says: str
) -> None:
    reply = api.post(path, body=body)
    assert reply.status == 400, reply
    assert reply.json["code"] == "invalid_input"
    assert reply.json["field"] == field
    assert says in reply.json["message"]


def test_the_domain_rules_come_after_the_schema(api: Api) -> None:
    # Valid JSON Schema, but a fixed_rate rule needs a unit price (a business rule).
    reply = api.post("/price-lists", body={"rules": [{"type": "fixed_rate"}]})
    assert (reply.status, reply.json["field"]) == (400, "rules[0].unit_price")
    reply = api.put("/settings", body={"tax": {"rates": [{"country": "DE", "rate": "101"}]}})
    assert (reply.status, reply.json["field"]) == (400, "tax.rates[0].rate")


def test_bodies_that_are_not_json_objects(api: Api) -> None:
    for raw in (b"{", b"[1, 2]", b'"text"', b'{"currency": "\\ud800"}'):
        reply = api.post("/customers", raw=raw)
        assert (reply.status, reply.json["code"]) == (400, "invalid_input"), raw
    assert api.post("/customers", raw=b"").json["message"] == "a JSON body is required"
    reply = api.delete("/price-lists/standard", body={"force": True})
    assert (reply.status, reply.json["message"]) == (400, "this operation takes no body")


def test_unknown_query_parameters_and_bad_ids(api: Api) -> None:
    reply = api.get("/customers", verbose="1")
    assert (reply.status, reply.json["field"]) == (400, "verbose")
    assert api.get("/customers/not%20an%20id").status == 404
    reply = api.get("/bills")
    assert (reply.status, reply.json["field"]) == (400, "period")


def test_errors_are_json_with_a_code_and_message(api: Api) -> None:
    reply = api.get("/customers/nobody")
    assert reply.status == 404
    assert reply.headers["content-type"] == "application/json"
    assert set(reply.json) == {"code", "message"}


def test_too_large_a_document_is_refused_before_dynamodb(api: Api) -> None:
    rules = [
        {
            "id": f"r{n}",
            "match": {key: "x" * 128 for key in MATCH_KEYS},
            "type": "markup",
            "percent": "1",
        }
        for n in range(300)
    ]
    reply = api.post("/price-lists", body={**PRICE_LIST, "rules": rules})
    assert reply.status == 400, reply
    assert "too large" in reply.json["message"]


def test_the_document_is_served_and_names_every_route(api: Api) -> None:
    from openapi_spec_validator import validate

    from app import app

    reply = api.get("/openapi.json", None)
    assert reply.status == 200
    document = reply.json
    validate(document)
    assert document["openapi"].startswith("3.1")
    served = {
        (path, method.lower())
        for path, methods in app.routes.items()
        for method in methods
        if method != "OPTIONS"  # CORS preflight, added by Chalice
    }
    documented = {
        (path, method) for path, methods in document["paths"].items() for method in methods
    }
    assert served == documented


def test_the_schemas_accept_the_design_examples(api: Api) -> None:
    from chalicelib.api import validation

    for name, body in (
        ("CustomerInput", customer_body("acme")),
        ("PriceListInput", PRICE_LIST),
        (
            "AccountInput",
            {
                "provider": "aws",
                "account_id": "111111111111",
                "price_list_id": None,
                "valid_from": None,
                "valid_to": None,
            },
        ),
        ("ApiTokenRequest", {"name": "erp", "role": "customer", "customer_id": "acme"}),
    ):
        validation.check(body, validation.component(name))
