"""The API about itself: liveness and its OpenAPI document (both without authentication)."""

from __future__ import annotations

from typing import Any

from chalicelib.api import openapi
from chalicelib.api.endpoint import Call, operation


@operation("getHealth")
def health(call: Call) -> dict[str, str]:
    return {"status": "ok"}


@operation("getOpenApi")
def openapi_document(call: Call) -> dict[str, Any]:
    return openapi.document()
