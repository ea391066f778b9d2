"""The frame around every API view: authenticate, authorize, validate, run, answer.

``@operation("listInvoices")`` ties a view to its operation in the OpenAPI document, which says
who may call it (``x-rebill-roles``), its parameters and its body schema. The view receives a
:class:`Call` with the caller and the validated input and returns a JSON-able value (answered
with the operation's success status) or a :class:`Response`. Domain errors become
``{code, message, field?}`` through :mod:`chalicelib.api.errors`; anything else is a bug and a
logged 500.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice.app import Request, Response

from chalicelib.api import idempotency, openapi, validation
from chalicelib.api.auth import Principal, authenticate
from chalicelib.api.errors import error_response, internal_error_response
from chalicelib.errors import RebillError
from chalicelib.observability import logger

ANONYMOUS = Principal(role="anonymous")


@dataclass(frozen=True)
class Call:
    request: Request
    principal: Principal
    query: dict[str, Any]
    body: Any  # the validated JSON body; None when there is none

    @property
    def fields(self) -> dict[str, Any]:
        """The body as an object ({} when absent)."""
        return dict(self.body or {})


View = Callable[..., Any]
Handler = Callable[..., Response]


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(value),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _success_status(spec: dict[str, Any]) -> int:
    return min(int(code) for code in spec["responses"] if code.isdigit() and int(code) < 300)


def _answer(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if status == 204:
        return Response(body="", status_code=204)
    return json_response(result, status)


def _raw_body(request: Request) -> bytes | None:
    raw = request.raw_body
    return raw.encode() if isinstance(raw, str) else raw


def operation(
    operation_id: str, *, secret_fields: tuple[str, ...] = ()
) -> Callable[[View], Handler]:
    """Make ``view(call, **path_parameters)`` the handler of ``operation_id``."""
    method, _path, spec = openapi.operations()[operation_id]
    roles: list[str] | None = spec.get("x-rebill-roles")
    status = _success_status(spec)

    def decorate(view: View) -> Handler:
        @functools.wraps(view)
        def handler(request: Request, **path: str) -> Response:
            try:
                if roles is None:
                    principal = ANONYMOUS
                else:
                    principal = authenticate(request.headers.get("authorization"))
                    principal.require_role(roles)
                validation.check_path(path, spec)
                query = validation.parse_query(request.query_params, spec)
                body = validation.parse_body(_raw_body(request), spec)
                call = Call(request=request, principal=principal, query=query, body=body)

                def run() -> Response:
                    return _answer(view(call, **path), status)

                if method not in ("POST", "PATCH") or roles is None:
                    return run()
                return idempotency.run_once(
                    request.headers.get(idempotency.HEADER),
                    principal,
                    f"{operation_id}:{json.dumps(path, sort_keys=True)}",
                    body,
                    run,
                    secret_fields,
                )
            except RebillError as error:
                return error_response(error)
            except Exception:
                logger.exception("unhandled error in the API", extra={"operation": operation_id})
                return internal_error_response()

        return handler

    return decorate
