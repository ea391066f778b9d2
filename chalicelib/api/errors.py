"""The one place that maps domain errors to HTTP responses ``{code, message, field?}``.

Status codes follow the error's class, never its message. Anything that is not a
:class:`RebillError` is a bug: it is logged and answered with a bare 500.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Response

from chalicelib.api.cognito import IdentityUnavailable
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
    (IdentityUnavailable, 503),
)


def status_of(error: RebillError) -> int:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(error: RebillError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field:
        body["field"] = error.field
    status = status_of(error)
    # RFC 6750: a 401 names the scheme the client should use.
    headers = {"WWW-Authenticate": 'Bearer realm="rebill"'} if status == 401 else None
    return _json(body, status, headers)


def internal_error_response() -> Response:
    return _json({"code": "internal_error", "message": "internal error"}, 500)
