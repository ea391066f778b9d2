"""``Idempotency-Key`` on POSTs: a retried request gets the first response instead of a rerun.

The key is claimed with a conditional write before the request runs, so two copies racing each
other cannot both run; the successful response is then stored for 24 hours and replayed (with
``Idempotent-Replayed: true``). A request that failed is forgotten, so it can be corrected and
retried with the same key. Keys are per caller, and a key reused for a different request is a
400. Secrets in a response (an API token) are not stored: a replay omits them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from chalice.app import Response

from chalicelib.api.auth import Principal
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.store import access

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"


class RequestInProgress(Conflict):
    code = "request_in_progress"


def _fingerprint(scope: str, body: Any) -> str:
    canonical = json.dumps([scope, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _stored(response: Response, secret_fields: Iterable[str]) -> dict[str, Any]:
    body = response.body
    secret = set(secret_fields)
    if secret and isinstance(body, str) and body:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            body = json.dumps({k: v for k, v in parsed.items() if k not in secret})
    return {"status": response.status_code, "body": body, "headers": dict(response.headers)}


def _replay(stored: dict[str, Any]) -> Response:
    return Response(
        body=stored["body"],
        status_code=stored["status"],
        headers={**stored["headers"], "Idempotent-Replayed": "true"},
    )


def run_once(
    key: str | None,
    principal: Principal,
    scope: str,
    body: Any,
    run: Callable[[], Response],
    secret_fields: Iterable[str] = (),
) -> Response:
    """``run()`` unless this caller already sent this key: then the first response."""
    if key is None:
        return run()
    if not _KEY.match(key):
        raise InvalidInput(f"{HEADER} must be 1 to 255 visible ASCII characters", field=HEADER)
    fingerprint = _fingerprint(scope, body)
    existing = access.claim_idempotency_key(principal.subject, key, fingerprint)
    if existing is not None:
        if existing.get("fingerprint") != fingerprint:
            raise IdempotencyKeyReused(
                f"this {HEADER} was used for a different request", field=HEADER
            )
        if existing.get("state") != "done":
            raise RequestInProgress(f"a request with this {HEADER} is still running")
        return _replay(existing["response"])
    try:
        response = run()
    except BaseException:
        access.release_idempotency_key(principal.subject, key)
        raise
    if 200 <= response.status_code < 300:
        stored = _stored(response, secret_fields)
        access.complete_idempotency_key(principal.subject, key, fingerprint, stored)
    else:
        access.release_idempotency_key(principal.subject, key)
    return response
