"""The one place that maps domain errors to HTTP responses ``{code, message, field?}``."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.errors import (
    BillingError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RebillError,
    Unauthorized,
)

_STATUS: tuple[tuple[type[RebillError], int], ...] = (
    (InvalidInput, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (BillingError, 422),
)


def status_of(error: RebillError) -> int:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)


def error_response(error: RebillError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field:
        body["field"] = error.field
    return Response(
        body=json.dumps(body),
        status_code=status_of(error),
        headers={"Content-Type": "application/json"},
    )
