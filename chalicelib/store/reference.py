"""Reference data in DynamoDB: settings, price lists, plans, customers, accounts, subscriptions.

Each document is kept in its API shape (DESIGN §5.1). Keys:

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

from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import NotFound
from chalicelib.store.tables import ReferenceItem

Doc = dict[str, Any]

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


def list_accounts(customer_id: str) -> list[Doc]:
    return _query(f"CUSTOMER#{customer_id}", "ACCOUNT#")


def owners_of_account(provider: str, account_id: str) -> list[str]:
    """Customer ids that own the account (several when validity ranges split it over time)."""
    items = ReferenceItem.by_account.query(account_key(provider, account_id))
    return sorted({item.pk.removeprefix("CUSTOMER#") for item in items})


# --- subscriptions --------------------------------------------------------------------------


def put_subscription(customer_id: str, doc: Doc) -> Doc:
    return _put(f"CUSTOMER#{customer_id}", f"SUBSCRIPTION#{doc['id']}", "subscription", doc)


def list_subscriptions(customer_id: str) -> list[Doc]:
    return _query(f"CUSTOMER#{customer_id}", "SUBSCRIPTION#")
