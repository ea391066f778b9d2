"""API tokens and idempotency records, in the reference table.

====================  ===================================  ==================
item                  pk                                   sk
====================  ===================================  ==================
API token             ``API_TOKEN``                        ``<token id>``
idempotency record    ``IDEMPOTENCY#<caller>``             ``<key>``
====================  ===================================  ==================

A token item holds the SHA-256 of the token, never the token. An idempotency record is claimed
with a conditional write before the request runs (kind ``idempotency_pending``) and then holds
the first response (kind ``idempotency_done``); records older than a day, and claims of a
request that died before it answered, may be claimed again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.errors import InvalidInput
from chalicelib.store.conditions import condition_failed
from chalicelib.store.tables import ReferenceItem

Doc = dict[str, Any]

TOKENS = "API_TOKEN"
PENDING, DONE = "idempotency_pending", "idempotency_done"
IDEMPOTENCY_TTL = timedelta(hours=24)
# A claim older than this belongs to a request that died (API Gateway gives up after 29 s).
ABANDONED_AFTER = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(UTC)


# --- API tokens -----------------------------------------------------------------------------


def put_api_token(doc: Doc) -> None:
    ReferenceItem(TOKENS, doc["id"], kind="api_token", doc=doc, updated_at=_now()).save(
        condition=ReferenceItem.pk.does_not_exist()
    )


def get_api_token(token_id: str) -> Doc | None:
    try:
        doc: Doc = ReferenceItem.get(TOKENS, token_id, consistent_read=True).doc
        return doc
    except DoesNotExist:
        return None


def delete_api_token(token_id: str) -> bool:
    """False when there is no such token."""
    try:
        ReferenceItem(TOKENS, token_id).delete(condition=ReferenceItem.pk.exists())
        return True
    except DeleteError as error:
        if condition_failed(error):
            return False
        raise


def page_api_tokens(limit: int, after: str | None) -> tuple[list[Doc], str | None]:
    if after is not None and not 0 < len(after) <= 256:
        raise InvalidInput("the cursor does not belong to this list", field="cursor")
    condition = ReferenceItem.sk > after if after else None
    docs: list[Doc] = []
    last: str | None = None
    for item in ReferenceItem.query(TOKENS, condition, limit=limit + 1):
        if len(docs) == limit:
            return docs, last
        docs.append(item.doc)
        last = item.sk
    return docs, None


# --- idempotency ----------------------------------------------------------------------------


def claim_idempotency_key(caller: str, key: str, fingerprint: str) -> Doc | None:
    """Claim ``key`` for a request; None when claimed, else the record that holds it.

    The record says whether the first request is still running (``state: pending``) or what
    it answered (``state: done``, ``response``), and the request's ``fingerprint``.
    """
    now = _now()
    item = ReferenceItem(
        f"IDEMPOTENCY#{caller}",
        key,
        kind=PENDING,
        doc={"fingerprint": fingerprint, "state": "pending"},
        updated_at=now,
    )
    free = (
        ReferenceItem.pk.does_not_exist()
        | (ReferenceItem.updated_at < now - IDEMPOTENCY_TTL)
        | ((ReferenceItem.kind == PENDING) & (ReferenceItem.updated_at < now - ABANDONED_AFTER))
    )
    try:
        item.save(condition=free)
        return None
    except PutError as error:
        if not condition_failed(error):
            raise
    try:
        doc: Doc = ReferenceItem.get(f"IDEMPOTENCY#{caller}", key, consistent_read=True).doc
        return doc
    except DoesNotExist:  # released in between: the caller may simply try again
        return {"fingerprint": fingerprint, "state": "pending"}


def complete_idempotency_key(caller: str, key: str, fingerprint: str, response: Doc) -> None:
    ReferenceItem(
        f"IDEMPOTENCY#{caller}",
        key,
        kind=DONE,
        doc={"fingerprint": fingerprint, "state": "done", "response": response},
        updated_at=_now(),
    ).save()


def release_idempotency_key(caller: str, key: str) -> None:
    """Forget a claim whose request failed, so that it can be retried with the same key."""
    ReferenceItem(f"IDEMPOTENCY#{caller}", key).delete()
