"""Paginated lists: ``limit`` and ``cursor`` in, ``{items, next_cursor}`` out.

A cursor is opaque to clients: base64url of where the next page starts (a DynamoDB key or a
sort key) and a fingerprint of the list it belongs to, so a cursor used with other filters is
a 400 rather than a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from chalicelib.errors import InvalidInput

T = TypeVar("T")


def _fingerprint(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def encode_cursor(position: Any, scope: str) -> str | None:
    """The cursor of the page after ``position`` (None when there is none)."""
    if position is None:
        return None
    payload = json.dumps({"p": position, "s": _fingerprint(scope)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str) -> Any:
    """The position a cursor of this list names; None for the first page."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("the cursor is not valid", field="cursor") from None
    if not isinstance(payload, dict) or payload.get("s") != _fingerprint(scope):
        raise InvalidInput("the cursor does not belong to this list", field="cursor")
    return payload.get("p")


def page_body(items: list[Any], position: Any, scope: str) -> dict[str, Any]:
    return {"items": items, "next_cursor": encode_cursor(position, scope)}


def position_of(value: Any, kind: type) -> Any:
    """A cursor position of the expected type, or a 400."""
    if not isinstance(value, kind):
        raise InvalidInput("the cursor is not valid", field="cursor")
    return value


def page_of_list(
    items: Sequence[T], key: Callable[[T], str], limit: int, after: str | None
) -> tuple[list[T], str | None]:
    """A page of an in-memory list sorted by ``key``: the items after ``after``."""
    ordered = sorted(items, key=key)
    rest = [item for item in ordered if after is None or key(item) > after]
    page = rest[:limit]
    return page, (key(page[-1]) if len(rest) > limit else None)
