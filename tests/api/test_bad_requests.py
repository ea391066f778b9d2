"""Bad requests are 4xx in the API's error shape ``{code, message}``, never a 5xx or the
framework's text: bodies nested absurdly deep or over the size limit, a body that is not JSON, a
method a route lacks, a path no route has — and nothing in a refusal echoes the caller's token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from chalicelib.api.validation import MAX_BODY_BYTES, MAX_BODY_DEPTH
from tests.api.conftest import Api, customer_body

pytestmark = pytest.mark.stack


def _shape(reply: Any) -> dict[str, Any]:
    assert reply.headers["content-type"] == "application/json"
    body: dict[str, Any] = reply.json
    assert set(body) <= {"code", "message", "field"} and {"code", "message"} <= set(body)
    return body


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 1200 + b"1" + b"}" * 1200,
        b"[" * 100_000,  # not even valid JSON
        b'{"id": "acme", "currency": "USD", "name": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    ],
    ids=["arrays", "objects", "unclosed", "deep-value"],
)
def test_a_body_nested_deeper_than_the_limit_is_a_400(api: Api, raw: bytes) -> None:
    reply = api.post("/customers", raw=raw)
    assert reply.status == 400, reply
    assert _shape(reply) == {
        "code": "invalid_input",
        "message": f"the body is nested more than {MAX_BODY_DEPTH} levels deep",
    }


def test_brackets_inside_strings_are_not_nesting(api: Api, reference_data: Any) -> None:
    body = {**customer_body("initech"), "name": "[[[[{{{{" * 20}
    reply = api.post("/customers", body=body)
    assert reply.status == 201, reply
    assert reply.json["name"] == body["name"]


@pytest.mark.parametrize("path", ["/customers", "/price-lists/standard"])
def test_a_body_over_the_limit_is_a_413(api: Api, path: str) -> None:
    raw = json.dumps({"name": "x" * MAX_BODY_BYTES}).encode()
    reply = api.request("POST" if path == "/customers" else "PUT", path, raw=raw)
    assert reply.status == 413, reply
    assert _shape(reply) == {
        "code": "body_too_large",
        "message": f"the body is larger than {MAX_BODY_BYTES} bytes",
    }


def test_a_body_that_is_not_json_is_a_415(api: Api) -> None:
    reply = api.post(
        "/customers",
        raw=json.dumps(customer_body("acme")).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert reply.status == 415, reply
    assert _shape(reply)["code"] == "unsupported_media_type"
    assert "text/plain" in reply.json["message"]


def test_a_method_the_route_lacks_is_a_405(api: Api) -> None:
    reply = api.request("PATCH", "/customers")
    assert reply.status == 405, reply
    assert _shape(reply)["code"] == "method_not_allowed"
    assert set(reply.headers["allow"].split(", ")) == {"GET", "POST"}


# --- over real HTTP, through the local server -------------------------------------------------


@pytest.fixture(scope="module")
def served(stack: Any) -> Iterator[tuple[str, str]]:
    from chalicelib.api.auth import create_api_token
    from localaws.servers import Servers

    stack.reset_data()
    servers = Servers(0, 0)
    servers.start()
    try:
        yield servers.api_url, create_api_token("bad requests", "operator")["token"]
    finally:
        servers.stop()


@pytest.mark.parametrize("with_token", [True, False])
def test_an_unknown_path_is_a_404_that_does_not_echo_the_token(
    served: tuple[str, str], with_token: bool
) -> None:
    url, token = served
    headers = {"Authorization": f"Bearer {token}"} if with_token else {}
    reply = requests.get(f"{url}/no/such/route", headers=headers, timeout=30)
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"code": "not_found", "message": "no such route"}
    assert token not in reply.text


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "PROPFIND"])
def test_any_method_the_route_lacks_is_a_405_in_the_error_shape(
    served: tuple[str, str], method: str
) -> None:
    url, token = served
    reply = requests.request(
        method, f"{url}/customers", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert reply.status_code == 405
    assert reply.json()["code"] == "method_not_allowed"


def test_a_post_without_a_content_type_is_read_as_json(served: tuple[str, str]) -> None:
    url, token = served
    prepared = requests.Request(
        "POST",
        f"{url}/customers",
        data=json.dumps({"name": "no currency"}).encode(),
        headers={"Authorization": f"Bearer {token}"},
    ).prepare()
    prepared.headers.pop("Content-Type", None)
    reply = requests.Session().send(prepared, timeout=30)
    assert reply.status_code == 400
    assert reply.json() == {
        "code": "invalid_input",
        "message": "currency is required",
        "field": "currency",
    }


def test_a_huge_deep_body_over_http_is_a_4xx(served: tuple[str, str]) -> None:
    url, token = served
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deep = requests.post(f"{url}/customers", data=b"[" * 50_000, headers=headers, timeout=30)
    assert (deep.status_code, deep.json()["code"]) == (400, "invalid_input")
    big = requests.post(f"{url}/customers", data=b" " * 2_000_000, headers=headers, timeout=30)
    assert (big.status_code, big.json()["code"]) == (413, "body_too_large")
