"""Partial updates: ``PATCH`` with a JSON Merge Patch (RFC 7396), and versions as ETags.

A form that shows some of a document's fields sends only what it changed: objects merge, a
``null`` deletes a key (the document's parser then puts its default back), an array replaces the
whole array. The merged document is checked like a ``PUT`` body, against the same schema and by
the same parser, and written only over the exact version that was read:

* with ``If-Match: "<etag>"`` (the ``ETag`` of a ``GET``), a document changed meanwhile is not
  written: ``412 precondition_failed``, so an edit made on a stale screen never lands;
* without it, a write that loses a race is merged again onto the new version (a few times), so
  two partial updates of different fields both land and neither is lost.

The ETag is a digest of the document as stored (its normalized form), so it changes exactly when
what a ``GET`` returns changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from chalice.app import Response

from chalicelib.api import validation
from chalicelib.api.endpoint import Call, json_response
from chalicelib.errors import Conflict, InvalidInput, PreconditionFailed
from chalicelib.store.records import Doc
from chalicelib.store.reference import Versioned

MERGE_PATCH_TYPE = "application/merge-patch+json"
ATTEMPTS = 5  # merges onto a newer version before giving up (only without If-Match)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 §2: ``patch`` applied to ``target`` (neither is changed)."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def etag(doc: Doc) -> str:
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def with_etag(doc: Doc, status: int = 200) -> Response:
    return json_response(doc, status, {"ETag": etag(doc)})


def if_match(call: Call) -> list[str] | None:
    """The ETags of ``If-Match`` (``["*"]`` for any), None when the header is absent."""
    header = call.request.headers.get("if-match")
    if header is None:
        return None
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]
    if not tags:
        raise InvalidInput("If-Match names no ETag", field="If-Match")
    return tags


def apply(
    call: Call,
    what: str,
    read: Callable[[], Versioned],
    current: Callable[[Versioned], Doc],
    normalize: Callable[[Doc], Doc],
    write: Callable[[Doc, Versioned], bool],
    schema: str,
) -> Response:
    """Merge the call's body onto the document ``read()`` finds and write it over that version.

    ``current`` is the document as a GET shows it (NotFound when there is none); ``normalize``
    checks the merged document's business rules and returns what is stored; ``schema`` is the
    component the merged document must satisfy (the PUT body's).
    """
    patch = call.body
    if not isinstance(patch, dict):
        raise InvalidInput("a merge patch of an object is a JSON object")
    expected = if_match(call)
    for _ in range(ATTEMPTS):
        version = read()
        doc = current(version)
        if expected is not None and "*" not in expected and etag(doc) not in expected:
            raise PreconditionFailed(
                f"the {what} changed since it was read (its ETag is {etag(doc)}): "
                "read it again and redo the change"
            )
        merged = merge_patch(doc, patch)
        validation.check(merged, validation.component(schema))
        stored = normalize(merged)
        if write(stored, version):
            return with_etag(stored)
        # Written meanwhile: merged again onto the new version (If-Match is checked again).
    raise Conflict(f"the {what} kept changing while it was being updated: try again")
