"""The one place that maps domain errors to HTTP responses ``{code, message, field?}``.

Status codes follow the error's class, never its message. Anything that is not a
:class:`RebillError` is a bug: it is logged and answered with a bare 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from chalicelib.api.cognito import IdentityUnavailable
from chalicelib.errors import (
    BillingError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    RebillError,
    Unauthorized,
)


class BodyTooLarge(InvalidInput):
    """A request body over the documented limit (``validation.MAX_BODY_BYTES``)."""

    code = "body_too_large"


class MethodNotAllowed(RebillError):
    code = "method_not_allowed"


class UnsupportedMediaType(RebillError):
    code = "unsupported_media_type"


_STATUS: tuple[tuple[type[RebillError], int], ...] = (
    (BodyTooLarge, 413),
    (MethodNotAllowed, 405),
    (UnsupportedMediaType, 415),
    (InvalidInput, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (PreconditionFailed, 412),
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


def framework_errors(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice's middleware for HTTP events: the refusals Chalice makes itself before a view
    runs (a method the route lacks, a body that is not JSON) and its catch-all 500 answered in
    the API's shape ``{code, message}`` instead of Chalice's ``{Code, Message}``."""
    response = get_response(request)
    body = response.body
    if not (isinstance(body, dict) and "Code" in body):
        return response
    status = response.status_code
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    if status == 405:
        allowed = headers.get("Allow", "")
        error: RebillError = MethodNotAllowed(
            f"{request.method} is not a method of this route (it has {allowed})"
        )
    elif status == 415:
        content_type = request.headers.get("content-type", "")
        error = UnsupportedMediaType(
            f"a request body must be JSON (Content-Type: application/json), not {content_type}"
        )
    elif status < 500:
        error = InvalidInput(str(body.get("Message") or "bad request"))
    else:
        return internal_error_response()
    answer = error_response(error)
    answer.headers.update(headers)
    answer.status_code = status
    return answer
