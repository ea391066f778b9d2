"""API tokens for machine clients: created by operators, shown once, revocable."""

from __future__ import annotations

from typing import Any

from chalicelib.api import auth
from chalicelib.api.endpoint import Call, operation
from chalicelib.api.pagination import decode_cursor, page_body, position_of


@operation("createApiToken", secret_fields=("token",))
def create_api_token(call: Call) -> dict[str, Any]:
    body = call.fields
    return auth.create_api_token(body["name"], body["role"], body.get("customer_id"))


@operation("listApiTokens")
def list_api_tokens(call: Call) -> dict[str, Any]:
    after = decode_cursor(call.query.get("cursor"), "api-tokens")
    docs, last = auth.list_api_tokens(
        call.query["limit"], None if after is None else position_of(after, str)
    )
    return page_body(docs, last, "api-tokens")


@operation("revokeApiToken")
def revoke_api_token(call: Call, token_id: str) -> None:
    auth.revoke_api_token(token_id)
