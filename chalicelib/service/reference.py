"""The rules of the reseller's reference data, beyond each document's own parser.

References between documents must exist when they are written (a customer's price list, a
subscription's plan); a cloud account is billed to one customer on any given day; a price list
in use, and a customer with invoices, are not deleted; a customer's API tokens live and die with
it. Documents are checked by the billing core's parsers (``Customer.from_dict`` …) and stored
in their normalized form, so what is read back is exactly what an invoice run reads.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from chalicelib.billing.reference import Account, Customer, Subscription
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.store import access, reference
from chalicelib.store.invoice_keys import InvoiceFilter
from chalicelib.store.invoice_search import search_invoices
from chalicelib.store.records import Doc

# DynamoDB items hold at most 400 KB; keep documents well below.
MAX_DOCUMENT_BYTES = 300_000


def storable(doc: Doc) -> Doc:
    size = len(json.dumps(doc).encode())
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            f"the document is too large ({size} bytes, at most {MAX_DOCUMENT_BYTES})"
        )
    return doc


def with_id(body: Doc, path_id: str | None = None) -> Doc:
    """The body with its id: the path's (a PUT), the client's, or a new one."""
    if path_id is not None:
        if body.get("id") not in (None, path_id):
            raise InvalidInput("id differs from the id in the path", field="id")
        return {**body, "id": path_id}
    return {**body, "id": body.get("id") or uuid.uuid4().hex[:16]}


def for_customer(body: Doc, customer_id: str) -> Doc:
    if body.get("customer_id") not in (None, customer_id):
        raise InvalidInput("customer_id differs from the customer in the path", field="customer_id")
    return {**body, "customer_id": customer_id}


def must_exist(kind: str, doc_id: str | None, field: str) -> None:
    if doc_id and doc_id not in reference.existing_documents(kind, [doc_id]):
        raise InvalidInput(f"{kind.replace('_', ' ')} {doc_id!r} does not exist", field=field)


def create(kind: str, doc: Doc) -> Doc:
    if not reference.create_document(kind, storable(doc)):
        raise Conflict(f"{kind.replace('_', ' ')} {doc['id']!r} exists already")
    return doc


def replace(kind: str, doc: Doc) -> Doc:
    return reference.replace_document(kind, storable(doc))


# --- price lists ------------------------------------------------------------------------------


def delete_price_list(price_list_id: str) -> None:
    """A price list that a customer or the settings name stays."""
    reference.get_document("price_list", price_list_id)
    users = [
        c["id"]
        for c in reference.list_documents("customer")
        if c.get("price_list_id") == price_list_id
    ]
    if users:
        raise Conflict(f"price list {price_list_id!r} is the price list of customer {users[0]!r}")
    if reference.get_settings().get("default_price_list_id") == price_list_id:
        raise Conflict(f"price list {price_list_id!r} is the default price list in the settings")
    reference.remove_document("price_list", price_list_id)


# --- customers --------------------------------------------------------------------------------


def customer_doc(body: Doc) -> Doc:
    doc = Customer.from_dict(body).to_dict()
    must_exist("price_list", doc.get("price_list_id"), "price_list_id")
    return doc


def create_customer(doc: Doc) -> Doc:
    create("customer", doc)
    access.start_customer_incarnation(doc["id"])  # tokens of an earlier same-id customer: dead
    return doc


def delete_customer(customer_id: str) -> None:
    reference.get_document("customer", customer_id)
    # Invoices are records the reseller must keep: a customer that has some stays.
    if search_invoices(InvoiceFilter(customer_id=customer_id), limit=1).docs:
        raise Conflict(f"customer {customer_id!r} has invoices and cannot be deleted")
    reference.delete_customer(customer_id)
    access.end_customer_incarnation(customer_id)  # and its API tokens with it


# --- accounts ---------------------------------------------------------------------------------


def overlap(a: Doc, b: Doc) -> bool:
    """Whether two validity ranges [valid_from, valid_to) share a day (None: unbounded)."""
    lowest, highest = date.min.isoformat(), date.max.isoformat()
    a_from, a_to = a.get("valid_from") or lowest, a.get("valid_to") or highest
    b_from, b_to = b.get("valid_from") or lowest, b.get("valid_to") or highest
    return bool(a_from < b_to and b_from < a_to)


def create_account(customer_id: str, body: Doc) -> Doc:
    reference.get_document("customer", customer_id)
    doc = Account.from_dict(for_customer(body, customer_id)).to_dict()
    must_exist("price_list", doc.get("price_list_id"), "price_list_id")
    for owner, linked in reference.account_links(doc["provider"], doc["account_id"]):
        # A cloud account billed to two customers on the same day would be billed twice.
        if owner != customer_id and overlap(doc, linked):
            raise Conflict(
                f"account {doc['provider']}/{doc['account_id']} belongs to customer {owner!r} "
                "on some of these dates",
                field="account_id",
            )
    if not reference.create_account(customer_id, doc):
        raise Conflict(
            f"account {doc['provider']}/{doc['account_id']} is linked to this customer already",
            field="account_id",
        )
    return doc


# --- subscriptions ----------------------------------------------------------------------------


def subscription_doc(body: Doc) -> Doc:
    doc = Subscription.from_dict(body).to_dict()
    must_exist("plan", doc["plan_id"], "plan_id")
    return doc


def create_subscription(customer_id: str, body: Doc) -> Doc:
    reference.get_document("customer", customer_id)
    doc = subscription_doc(with_id(for_customer(body, customer_id)))
    if not reference.create_subscription(customer_id, doc):
        raise Conflict(f"subscription {doc['id']!r} exists already", field="id")
    return doc
