"""Reference data over the API: settings, price lists, plans, customers, accounts, subscriptions.

A body is checked twice: against its OpenAPI schema (shape, unknown fields) and by the billing
domain's parser (``Customer.from_dict`` …: the business rules). What is stored is the parser's
normalized form, so a GET returns exactly what an invoice run will read. References between
documents (a customer's price list, a subscription's plan) must exist when they are written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from chalicelib.api.endpoint import Call, operation
from chalicelib.api.pagination import decode_cursor, page_body, position_of
from chalicelib.billing.reference import Account, Customer, Plan, PriceList, Settings, Subscription
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.store import access, reference
from chalicelib.store.invoice_keys import InvoiceFilter
from chalicelib.store.invoice_search import search_invoices

Doc = dict[str, Any]
Fetch = Callable[[int, str | None], tuple[list[Doc], str | None]]

# DynamoDB items hold at most 400 KB; keep documents well below.
MAX_DOCUMENT_BYTES = 300_000


def _storable(doc: Doc) -> Doc:
    size = len(json.dumps(doc).encode())
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            f"the document is too large ({size} bytes, at most {MAX_DOCUMENT_BYTES})"
        )
    return doc


def _with_id(body: Doc, path_id: str | None = None) -> Doc:
    """The body with its id: the path's (a PUT), the client's, or a new one."""
    if path_id is not None:
        if body.get("id") not in (None, path_id):
            raise InvalidInput("id differs from the id in the path", field="id")
        return {**body, "id": path_id}
    return {**body, "id": body.get("id") or uuid.uuid4().hex[:16]}


def _for_customer(body: Doc, customer_id: str) -> Doc:
    if body.get("customer_id") not in (None, customer_id):
        raise InvalidInput("customer_id differs from the customer in the path", field="customer_id")
    return {**body, "customer_id": customer_id}


def _must_exist(kind: str, doc_id: str | None, field: str) -> None:
    if doc_id and doc_id not in reference.existing_documents(kind, [doc_id]):
        raise InvalidInput(f"{kind.replace('_', ' ')} {doc_id!r} does not exist", field=field)


def _page(call: Call, scope: str, fetch: Fetch) -> Doc:
    after = decode_cursor(call.query.get("cursor"), scope)
    docs, last = fetch(call.query["limit"], None if after is None else position_of(after, str))
    return page_body(docs, last, scope)


def _created(kind: str, doc: Doc) -> Doc:
    if not reference.create_document(kind, _storable(doc)):
        raise Conflict(f"{kind.replace('_', ' ')} {doc['id']!r} exists already")
    return doc


# --- settings ---------------------------------------------------------------------------------


@operation("getSettings")
def get_settings(call: Call) -> Doc:
    return reference.get_settings() or Settings().to_dict()


@operation("putSettings")
def put_settings(call: Call) -> Doc:
    doc = Settings.from_dict(call.fields).to_dict()
    reference.put_settings(_storable(doc))
    return doc


# --- price lists ------------------------------------------------------------------------------


@operation("createPriceList")
def create_price_list(call: Call) -> Doc:
    return _created("price_list", PriceList.from_dict(_with_id(call.fields)).to_dict())


@operation("listPriceLists")
def list_price_lists(call: Call) -> Doc:
    return _page(call, "price-lists", lambda n, a: reference.page_documents("price_list", n, a))


@operation("getPriceList")
def get_price_list(call: Call, price_list_id: str) -> Doc:
    return reference.get_document("price_list", price_list_id)


@operation("putPriceList")
def put_price_list(call: Call, price_list_id: str) -> Doc:
    doc = PriceList.from_dict(_with_id(call.fields, price_list_id)).to_dict()
    return reference.replace_document("price_list", _storable(doc))


@operation("deletePriceList")
def delete_price_list(call: Call, price_list_id: str) -> None:
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


# --- plans ------------------------------------------------------------------------------------


@operation("createPlan")
def create_plan(call: Call) -> Doc:
    return _created("plan", Plan.from_dict(_with_id(call.fields)).to_dict())


@operation("listPlans")
def list_plans(call: Call) -> Doc:
    return _page(call, "plans", lambda n, a: reference.page_documents("plan", n, a))


@operation("getPlan")
def get_plan(call: Call, plan_id: str) -> Doc:
    return reference.get_document("plan", plan_id)


@operation("putPlan")
def put_plan(call: Call, plan_id: str) -> Doc:
    doc = Plan.from_dict(_with_id(call.fields, plan_id)).to_dict()
    return reference.replace_document("plan", _storable(doc))


# --- customers --------------------------------------------------------------------------------


def _customer(body: Doc) -> Doc:
    doc = Customer.from_dict(body).to_dict()
    _must_exist("price_list", doc.get("price_list_id"), "price_list_id")
    return doc


@operation("createCustomer")
def create_customer(call: Call) -> Doc:
    doc = _created("customer", _customer(_with_id(call.fields)))
    access.start_customer_incarnation(doc["id"])  # tokens of an earlier same-id customer: dead
    return doc


@operation("listCustomers")
def list_customers(call: Call) -> Doc:
    return _page(call, "customers", lambda n, a: reference.page_documents("customer", n, a))


@operation("getCustomer")
def get_customer(call: Call, customer_id: str) -> Doc:
    return reference.get_document("customer", customer_id)


@operation("putCustomer")
def put_customer(call: Call, customer_id: str) -> Doc:
    doc = _customer(_with_id(call.fields, customer_id))
    return reference.replace_document("customer", _storable(doc))


@operation("deleteCustomer")
def delete_customer(call: Call, customer_id: str) -> None:
    reference.get_document("customer", customer_id)
    # Invoices are records the reseller must keep: a customer that has some stays.
    if search_invoices(InvoiceFilter(customer_id=customer_id), limit=1).docs:
        raise Conflict(f"customer {customer_id!r} has invoices and cannot be deleted")
    reference.delete_customer(customer_id)
    access.end_customer_incarnation(customer_id)  # and its API tokens with it


# --- accounts ---------------------------------------------------------------------------------


def _overlap(a: Doc, b: Doc) -> bool:
    """Whether two validity ranges [valid_from, valid_to) share a day (None: unbounded)."""
    lowest, highest = date.min.isoformat(), date.max.isoformat()
    a_from, a_to = a.get("valid_from") or lowest, a.get("valid_to") or highest
    b_from, b_to = b.get("valid_from") or lowest, b.get("valid_to") or highest
    return bool(a_from < b_to and b_from < a_to)


@operation("createAccount")
def create_account(call: Call, customer_id: str) -> Doc:
    reference.get_document("customer", customer_id)
    doc = Account.from_dict(_for_customer(call.fields, customer_id)).to_dict()
    _must_exist("price_list", doc.get("price_list_id"), "price_list_id")
    for owner, linked in reference.account_links(doc["provider"], doc["account_id"]):
        # A cloud account billed to two customers on the same day would be billed twice.
        if owner != customer_id and _overlap(doc, linked):
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


@operation("listAccounts")
def list_accounts(call: Call, customer_id: str) -> Doc:
    reference.get_document("customer", customer_id)
    scope = f"accounts:{customer_id}"
    return _page(call, scope, lambda n, a: reference.page_accounts(customer_id, n, a))


@operation("deleteAccount")
def delete_account(call: Call, customer_id: str, provider: str, account_id: str) -> None:
    reference.delete_account(customer_id, provider, account_id)


# --- subscriptions ----------------------------------------------------------------------------


def _subscription(body: Doc) -> Doc:
    doc = Subscription.from_dict(body).to_dict()
    _must_exist("plan", doc["plan_id"], "plan_id")
    return doc


@operation("createSubscription")
def create_subscription(call: Call, customer_id: str) -> Doc:
    reference.get_document("customer", customer_id)
    doc = _subscription(_with_id(_for_customer(call.fields, customer_id)))
    if not reference.create_subscription(customer_id, doc):
        raise Conflict(f"subscription {doc['id']!r} exists already", field="id")
    return doc


@operation("listSubscriptions")
def list_subscriptions(call: Call, customer_id: str) -> Doc:
    reference.get_document("customer", customer_id)
    scope = f"subscriptions:{customer_id}"
    return _page(call, scope, lambda n, a: reference.page_subscriptions(customer_id, n, a))


@operation("getSubscription")
def get_subscription(call: Call, customer_id: str, subscription_id: str) -> Doc:
    return reference.get_subscription(customer_id, subscription_id)


@operation("putSubscription")
def put_subscription(call: Call, customer_id: str, subscription_id: str) -> Doc:
    body = _with_id(_for_customer(call.fields, customer_id), subscription_id)
    return reference.replace_subscription(customer_id, _subscription(body))


@operation("deleteSubscription")
def delete_subscription(call: Call, customer_id: str, subscription_id: str) -> None:
    reference.delete_subscription(customer_id, subscription_id)
