"""Reference data in DynamoDB: settings, price lists, plans, customers, accounts, subscriptions.

Each document is kept in its API shape (docs/design.md §5.1). Keys:

====================  ==========================  =======================================
item                  pk                          sk
====================  ==========================  =======================================
settings              ``SETTINGS``                ``SETTINGS``
price list            ``PRICE_LIST``              ``<id>``
plan                  ``PLAN``                    ``<id>``
customer              ``CUSTOMER``                ``<id>``
account               ``CUSTOMER#<customer id>``  ``ACCOUNT#<provider>#<account id>``
subscription          ``CUSTOMER#<customer id>``  ``SUBSCRIPTION#<id>``
====================  ==========================  =======================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.errors import InvalidInput, NotFound
from chalicelib.store.conditions import condition_failed, create_item
from chalicelib.store.records import AccountRecord, Doc
from chalicelib.store.tables import ReferenceItem

_COLLECTIONS = {"price_list": "PRICE_LIST", "plan": "PLAN", "customer": "CUSTOMER"}


def _now() -> datetime:
    return datetime.now(UTC)


def _put(pk: str, sk: str, kind: str, doc: Doc, account_key: str | None = None) -> Doc:
    ReferenceItem(pk, sk, kind=kind, doc=doc, account_key=account_key, updated_at=_now()).save()
    return doc


def _get(pk: str, sk: str, what: str) -> Doc:
    try:
        doc: Doc = ReferenceItem.get(pk, sk).doc
        return doc
    except DoesNotExist:
        raise NotFound(f"{what} not found") from None


def _query(pk: str, prefix: str | None = None) -> list[Doc]:
    condition = ReferenceItem.sk.startswith(prefix) if prefix else None
    return [item.doc for item in ReferenceItem.query(pk, condition)]


# --- settings -----------------------------------------------------------------------------


def put_settings(doc: Doc) -> Doc:
    return _put("SETTINGS", "SETTINGS", "settings", doc)


def get_settings() -> Doc:
    try:
        doc: Doc = ReferenceItem.get("SETTINGS", "SETTINGS").doc
        return doc
    except DoesNotExist:
        return {}


# --- read, then write only over what was read (a partial update) ---------------------------


@dataclass(frozen=True)
class Versioned:
    """A document as read, with what its next write is conditioned on: the item's
    ``updated_at`` (every write sets it), or that there was no item (``exists`` False)."""

    doc: Doc | None
    exists: bool
    updated_at: datetime | None = None


def _read_versioned(pk: str, sk: str) -> Versioned:
    try:
        item = ReferenceItem.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return Versioned(doc=None, exists=False)
    return Versioned(doc=item.doc, exists=True, updated_at=item.updated_at)


def _write_over(pk: str, sk: str, kind: str, doc: Doc, read: Versioned) -> bool:
    """Write ``doc`` unless the item changed since ``read``; False then (nothing written)."""
    condition: Any
    if not read.exists:
        condition = ReferenceItem.pk.does_not_exist()
    elif read.updated_at is None:
        condition = ReferenceItem.pk.exists() & ReferenceItem.updated_at.does_not_exist()
    else:
        condition = ReferenceItem.updated_at == read.updated_at
    item = ReferenceItem(pk, sk, kind=kind, doc=doc, updated_at=_now())
    try:
        item.save(condition=condition)
        return True
    except PutError as error:
        if condition_failed(error):
            return False
        raise


def read_settings() -> Versioned:
    return _read_versioned("SETTINGS", "SETTINGS")


def write_settings_over(doc: Doc, read: Versioned) -> bool:
    return _write_over("SETTINGS", "SETTINGS", "settings", doc, read)


def read_document(kind: str, doc_id: str) -> Versioned:
    return _read_versioned(_COLLECTIONS[kind], doc_id)


def write_document_over(kind: str, doc: Doc, read: Versioned) -> bool:
    """Replace a document read with :func:`read_document` (which must have found it)."""
    return _write_over(_COLLECTIONS[kind], doc["id"], kind, doc, read)


# --- price lists, plans, customers ----------------------------------------------------------


def put_document(kind: str, doc: Doc) -> Doc:
    return _put(_COLLECTIONS[kind], doc["id"], kind, doc)


def get_document(kind: str, doc_id: str) -> Doc:
    return _get(_COLLECTIONS[kind], doc_id, f"{kind.replace('_', ' ')} {doc_id!r}")


def list_documents(kind: str) -> list[Doc]:
    return _query(_COLLECTIONS[kind])


def delete_document(kind: str, doc_id: str) -> None:
    get_document(kind, doc_id)
    ReferenceItem(_COLLECTIONS[kind], doc_id).delete()


# --- accounts -------------------------------------------------------------------------------


def account_key(provider: str, account_id: str) -> str:
    return f"ACCOUNT#{provider}#{account_id}"


def put_account(customer_id: str, doc: Doc) -> Doc:
    key = account_key(doc["provider"], doc["account_id"])
    return _put(f"CUSTOMER#{customer_id}", key, "account", doc, account_key=key)


def list_accounts(customer_id: str) -> list[AccountRecord]:
    accounts: list[Any] = _query(f"CUSTOMER#{customer_id}", "ACCOUNT#")
    return accounts


def all_accounts() -> list[tuple[str, AccountRecord]]:
    """Every customer's accounts, (customer id, account), by customer and account: one scan of
    the account index, which holds only accounts (not a query per customer)."""
    found: list[tuple[str, AccountRecord]] = [
        (item.pk.removeprefix("CUSTOMER#"), item.doc)
        for item in ReferenceItem.by_account.scan(attributes_to_get=["pk", "doc"])
    ]
    found.sort(key=lambda link: (link[0], account_key(link[1]["provider"], link[1]["account_id"])))
    return found


def account_owners() -> dict[tuple[str, str], str]:
    """Who owns each account now, (provider, account id) -> customer id (of several owners over
    time, the first by id)."""
    owners: dict[tuple[str, str], str] = {}
    for customer, account in all_accounts():
        owners.setdefault((account["provider"], account["account_id"]), customer)
    return owners


def owners_of_account(provider: str, account_id: str) -> list[str]:
    """Customer ids that own the account (several when validity ranges split it over time)."""
    items = ReferenceItem.by_account.query(account_key(provider, account_id))
    return sorted({item.pk.removeprefix("CUSTOMER#") for item in items})


# --- subscriptions --------------------------------------------------------------------------


def put_subscription(customer_id: str, doc: Doc) -> Doc:
    return _put(f"CUSTOMER#{customer_id}", f"SUBSCRIPTION#{doc['id']}", "subscription", doc)


def list_subscriptions(customer_id: str) -> list[Doc]:
    return _query(f"CUSTOMER#{customer_id}", "SUBSCRIPTION#")


# --- what the API adds: conditional writes, deletes and pages -------------------------------


def _create(pk: str, sk: str, kind: str, doc: Doc, account_key: str | None = None) -> bool:
    """Write a new item; False when one with that key exists already (nothing is written)."""
    return create_item(
        ReferenceItem(pk, sk, kind=kind, doc=doc, account_key=account_key, updated_at=_now())
    )


def _replace(pk: str, sk: str, kind: str, doc: Doc, what: str) -> Doc:
    """Overwrite an existing item; NotFound when there is none (a PUT never creates)."""
    item = ReferenceItem(pk, sk, kind=kind, doc=doc, updated_at=_now())
    try:
        item.save(condition=ReferenceItem.pk.exists())
        return doc
    except PutError as error:
        if condition_failed(error):
            raise NotFound(f"{what} not found") from None
        raise


def _delete(pk: str, sk: str, what: str) -> None:
    try:
        ReferenceItem(pk, sk).delete(condition=ReferenceItem.pk.exists())
    except DeleteError as error:
        if condition_failed(error):
            raise NotFound(f"{what} not found") from None
        raise


def _page(pk: str, prefix: str, limit: int, after: str | None) -> tuple[list[Doc], str | None]:
    """Up to ``limit`` documents of ``pk`` whose sort key starts with ``prefix``, after the sort
    key ``after``; and the sort key to go on from, None on the last page."""
    if after is not None and (not after.startswith(prefix) or len(after) > 1024):
        raise InvalidInput("the cursor does not belong to this list", field="cursor")
    condition: Any = None
    if after:
        condition = ReferenceItem.sk > after
    elif prefix:
        condition = ReferenceItem.sk.startswith(prefix)
    docs: list[Doc] = []
    last: str | None = None
    # One more than asked: whether it comes says whether there is a next page.
    for item in ReferenceItem.query(pk, condition, limit=limit + 1):
        if not item.sk.startswith(prefix):
            break  # past the prefix: later sort keys belong to other kinds of item
        if len(docs) == limit:
            return docs, last
        docs.append(item.doc)
        last = item.sk
    return docs, None


def create_document(kind: str, doc: Doc) -> bool:
    return _create(_COLLECTIONS[kind], doc["id"], kind, doc)


def replace_document(kind: str, doc: Doc) -> Doc:
    what = f"{kind.replace('_', ' ')} {doc['id']!r}"
    return _replace(_COLLECTIONS[kind], doc["id"], kind, doc, what)


def remove_document(kind: str, doc_id: str) -> None:
    _delete(_COLLECTIONS[kind], doc_id, f"{kind.replace('_', ' ')} {doc_id!r}")


def page_documents(kind: str, limit: int, after: str | None) -> tuple[list[Doc], str | None]:
    return _page(_COLLECTIONS[kind], "", limit, after)


def existing_documents(kind: str, doc_ids: list[str]) -> set[str]:
    keys = [(_COLLECTIONS[kind], doc_id) for doc_id in dict.fromkeys(doc_ids)]
    return {item.sk for item in ReferenceItem.batch_get(keys)}


def create_account(customer_id: str, doc: Doc) -> bool:
    key = account_key(doc["provider"], doc["account_id"])
    return _create(f"CUSTOMER#{customer_id}", key, "account", doc, account_key=key)


def get_account(customer_id: str, provider: str, account_id: str) -> Doc:
    key = account_key(provider, account_id)
    return _get(f"CUSTOMER#{customer_id}", key, f"account {provider}/{account_id}")


def delete_account(customer_id: str, provider: str, account_id: str) -> None:
    key = account_key(provider, account_id)
    _delete(f"CUSTOMER#{customer_id}", key, f"account {provider}/{account_id}")


def account_links(provider: str, account_id: str) -> list[tuple[str, Doc]]:
    """Every (customer id, account document) linking the cloud account."""
    items = ReferenceItem.by_account.query(account_key(provider, account_id))
    return [(item.pk.removeprefix("CUSTOMER#"), item.doc) for item in items]


def page_accounts(customer_id: str, limit: int, after: str | None) -> tuple[list[Doc], str | None]:
    return _page(f"CUSTOMER#{customer_id}", "ACCOUNT#", limit, after)


def create_subscription(customer_id: str, doc: Doc) -> bool:
    return _create(f"CUSTOMER#{customer_id}", f"SUBSCRIPTION#{doc['id']}", "subscription", doc)


def get_subscription(customer_id: str, subscription_id: str) -> Doc:
    sk = f"SUBSCRIPTION#{subscription_id}"
    return _get(f"CUSTOMER#{customer_id}", sk, f"subscription {subscription_id!r}")


def replace_subscription(customer_id: str, doc: Doc) -> Doc:
    sk = f"SUBSCRIPTION#{doc['id']}"
    what = f"subscription {doc['id']!r}"
    return _replace(f"CUSTOMER#{customer_id}", sk, "subscription", doc, what)


def delete_subscription(customer_id: str, subscription_id: str) -> None:
    sk = f"SUBSCRIPTION#{subscription_id}"
    _delete(f"CUSTOMER#{customer_id}", sk, f"subscription {subscription_id!r}")


def page_subscriptions(
    customer_id: str, limit: int, after: str | None
) -> tuple[list[Doc], str | None]:
    return _page(f"CUSTOMER#{customer_id}", "SUBSCRIPTION#", limit, after)


def delete_customer(customer_id: str) -> None:
    """The customer with its accounts and subscriptions."""
    get_document("customer", customer_id)
    with ReferenceItem.batch_write() as batch:
        for item in ReferenceItem.query(f"CUSTOMER#{customer_id}"):
            batch.delete(item)
    remove_document("customer", customer_id)


# --- an invoice run's snapshot ----------------------------------------------------------------

# The kinds of item an invoice run reads: everything but tokens and idempotency records.
SNAPSHOT_KINDS = ("settings", "price_list", "plan", "customer", "account", "subscription")


def snapshot() -> dict[str, Any]:
    """Every reference document an invoice run needs, in one scan of the table (a few pages,
    not a query per customer): ``settings``, ``price_lists``, ``plans`` and ``customers`` (lists
    of documents) and ``accounts`` / ``subscriptions`` (customer id → documents)."""
    found: dict[str, Any] = {
        "settings": {},
        "price_lists": [],
        "plans": [],
        "customers": [],
        "accounts": {},
        "subscriptions": {},
    }
    for item in ReferenceItem.scan(ReferenceItem.kind.is_in(*SNAPSHOT_KINDS), consistent_read=True):
        if item.kind == "settings":
            found["settings"] = item.doc
        elif item.kind in ("price_list", "plan", "customer"):
            found[f"{item.kind}s"].append(item.doc)
        else:
            owner = item.pk.removeprefix("CUSTOMER#")
            found[f"{item.kind}s"].setdefault(owner, []).append(item.doc)
    # In the order the per-kind queries give them (by sort key).
    for name in ("price_lists", "plans", "customers"):
        found[name].sort(key=lambda doc: doc["id"])
    for accounts in found["accounts"].values():
        accounts.sort(key=lambda doc: account_key(doc["provider"], doc["account_id"]))
    for subscriptions in found["subscriptions"].values():
        subscriptions.sort(key=lambda doc: doc["id"])
    return found
