"""API tokens and idempotency records, in the reference table.

====================  ===================================  ==================
item                  pk                                   sk
====================  ===================================  ==================
API token             ``API_TOKEN``                        ``<token id>``
customer incarnation  ``CUSTOMER#<customer id>``           ``INCARNATION``
idempotency record    ``IDEMPOTENCY#<caller>``             ``<key>``
====================  ===================================  ==================

A token item holds the SHA-256 of the token, never the token. A customer's token also holds the
customer's *incarnation*: a random uid written when the customer is created, kept in the
customer's own partition (so deleting the customer deletes it) and replaced when a customer
with the same id is created again. A token is valid only while its uid is the current one, so a
token of a deleted customer never comes back with a new customer of the same id.

An idempotency record is claimed with a conditional write before the request runs (kind
``idempotency_pending``) and then holds the first response (kind ``idempotency_done``); records
older than a day, and claims of a request that died before it answered, may be claimed again.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from functools import cache

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import InvalidInput
from chalicelib.store.conditions import condition_failed
from chalicelib.store.records import Doc
from chalicelib.store.tables import ReferenceItem

TOKENS = "API_TOKEN"
INCARNATION = "INCARNATION"
PENDING, DONE = "idempotency_pending", "idempotency_done"
IDEMPOTENCY_TTL = timedelta(hours=24)
# A claim older than this belongs to a request that died (API Gateway gives up after 29 s).
ABANDONED_AFTER = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(UTC)


@cache
def _connection() -> Connection:
    """One connection per process (each builds a botocore client), for transactions."""
    return Connection()


# --- customer incarnations ------------------------------------------------------------------


def _incarnation_doc(customer_id: str, uid: str) -> Doc:
    # Compared whole in a condition (a JSONAttribute has no paths): always built here.
    return {"customer_id": customer_id, "uid": uid}


def _incarnation_item(customer_id: str, uid: str) -> ReferenceItem:
    return ReferenceItem(
        f"CUSTOMER#{customer_id}",
        INCARNATION,
        kind="customer_incarnation",
        doc=_incarnation_doc(customer_id, uid),
        updated_at=_now(),
    )


def start_customer_incarnation(customer_id: str) -> str:
    """A new incarnation for a customer just created: tokens of an earlier one stop working."""
    uid = secrets.token_hex(16)
    _incarnation_item(customer_id, uid).save()
    return uid


def customer_incarnation(customer_id: str) -> str | None:
    """The current incarnation's uid; None when the customer is gone (or predates them)."""
    try:
        item = ReferenceItem.get(f"CUSTOMER#{customer_id}", INCARNATION, consistent_read=True)
    except DoesNotExist:
        return None
    uid: str = item.doc["uid"]
    return uid


def ensure_customer_incarnation(customer_id: str) -> str | None:
    """The customer's incarnation, started now for a customer created before incarnations
    existed; None when the customer does not exist (checked in the same write)."""
    uid = customer_incarnation(customer_id)
    if uid is not None:
        return uid
    try:
        with TransactWrite(connection=_connection()) as transaction:
            transaction.condition_check(
                ReferenceItem, "CUSTOMER", customer_id, condition=ReferenceItem.pk.exists()
            )
            transaction.save(
                _incarnation_item(customer_id, secrets.token_hex(16)),
                condition=ReferenceItem.pk.does_not_exist(),
            )
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
    return customer_incarnation(customer_id)


def end_customer_incarnation(customer_id: str) -> int:
    """Revoke a deleted customer's tokens: its incarnation and every token of it are deleted.

    Returns how many tokens were deleted. A token written concurrently by a request that read
    the incarnation before it ended fails its condition (see :func:`put_api_token`)."""
    ReferenceItem(f"CUSTOMER#{customer_id}", INCARNATION).delete()
    doomed = [
        item
        for item in ReferenceItem.query(TOKENS, consistent_read=True)
        if item.doc.get("customer_id") == customer_id
    ]
    with ReferenceItem.batch_write() as batch:
        for item in doomed:
            batch.delete(item)
    return len(doomed)


# --- API tokens -----------------------------------------------------------------------------


def put_api_token(doc: Doc) -> bool:
    """Store a new token. A customer's token names the incarnation it belongs to
    (``customer_uid``) and is written only while that incarnation is the current one: False
    when it is not (the customer was deleted or created again meanwhile)."""
    item = ReferenceItem(TOKENS, doc["id"], kind="api_token", doc=doc, updated_at=_now())
    if not doc.get("customer_id"):
        item.save(condition=ReferenceItem.pk.does_not_exist())
        return True
    try:
        with TransactWrite(connection=_connection()) as transaction:
            transaction.condition_check(
                ReferenceItem,
                f"CUSTOMER#{doc['customer_id']}",
                INCARNATION,
                condition=ReferenceItem.doc
                == _incarnation_doc(doc["customer_id"], doc["customer_uid"]),
            )
            transaction.save(item, condition=ReferenceItem.pk.does_not_exist())
    except TransactWriteError as error:
        if condition_failed(error):
            return False
        raise
    return True


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
