"""Reference data over the API: settings, price lists, plans, customers, accounts, subscriptions.

A body is checked twice: against its OpenAPI schema (shape, unknown fields) and by the billing
domain's parser (``Customer.from_dict`` …: the business rules). What is stored is the parser's
normalized form, so a GET returns exactly what an invoice run will read. References between
documents (a customer's price list, a subscription's plan) must exist when they are written.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Response

from chalicelib.api import patch
from chalicelib.api.endpoint import Call, operation
from chalicelib.api.pagination import decode_cursor, page_body, position_of
from chalicelib.billing.reference import Plan, PriceList, Settings
from chalicelib.errors import NotFound
from chalicelib.service import invoice_documents
from chalicelib.service import reference as rules
from chalicelib.store import reference
from chalicelib.store.records import Doc

Fetch = Callable[[int, str | None], tuple[list[Doc], str | None]]


def _page(call: Call, scope: str, fetch: Fetch) -> Doc:
    after = decode_cursor(call.query.get("cursor"), scope)
    docs, last = fetch(call.query["limit"], None if after is None else position_of(after, str))
    return page_body(docs, last, scope)


# --- settings ---------------------------------------------------------------------------------


@operation("getSettings")
def get_settings(call: Call) -> Response:
    return patch.with_etag(reference.get_settings() or Settings().to_dict())


@operation("putSettings")
def put_settings(call: Call) -> Response:
    doc = Settings.from_dict(call.fields).to_dict()
    reference.put_settings(rules.storable(doc))
    return patch.with_etag(doc)


def _settings_doc(body: Doc) -> Doc:
    return rules.storable(Settings.from_dict(body).to_dict())


@operation("patchSettings")
def patch_settings(call: Call) -> Response:
    return patch.apply(
        call,
        "settings",
        read=reference.read_settings,
        current=lambda read: read.doc or Settings().to_dict(),
        normalize=_settings_doc,
        write=reference.write_settings_over,
        schema="SettingsInput",
    )


@operation("createLogoUploadUrl")
def create_logo_upload_url(call: Call) -> Doc:
    """A presigned PUT for the seller's logo; the settings name it from now on."""
    return invoice_documents.logo_upload(call.fields["content_type"])


# --- price lists ------------------------------------------------------------------------------


@operation("createPriceList")
def create_price_list(call: Call) -> Doc:
    return rules.create("price_list", PriceList.from_dict(rules.with_id(call.fields)).to_dict())


@operation("listPriceLists")
def list_price_lists(call: Call) -> Doc:
    return _page(call, "price-lists", lambda n, a: reference.page_documents("price_list", n, a))


@operation("getPriceList")
def get_price_list(call: Call, price_list_id: str) -> Doc:
    return reference.get_document("price_list", price_list_id)


@operation("putPriceList")
def put_price_list(call: Call, price_list_id: str) -> Doc:
    doc = PriceList.from_dict(rules.with_id(call.fields, price_list_id)).to_dict()
    return rules.replace("price_list", doc)


@operation("deletePriceList")
def delete_price_list(call: Call, price_list_id: str) -> None:
    rules.delete_price_list(price_list_id)


# --- plans ------------------------------------------------------------------------------------


@operation("createPlan")
def create_plan(call: Call) -> Doc:
    return rules.create("plan", Plan.from_dict(rules.with_id(call.fields)).to_dict())


@operation("listPlans")
def list_plans(call: Call) -> Doc:
    return _page(call, "plans", lambda n, a: reference.page_documents("plan", n, a))


@operation("getPlan")
def get_plan(call: Call, plan_id: str) -> Doc:
    return reference.get_document("plan", plan_id)


@operation("putPlan")
def put_plan(call: Call, plan_id: str) -> Doc:
    doc = Plan.from_dict(rules.with_id(call.fields, plan_id)).to_dict()
    return rules.replace("plan", doc)


# --- customers --------------------------------------------------------------------------------


@operation("createCustomer")
def create_customer(call: Call) -> Doc:
    return rules.create_customer(rules.customer_doc(rules.with_id(call.fields)))


@operation("listCustomers")
def list_customers(call: Call) -> Doc:
    return _page(call, "customers", lambda n, a: reference.page_documents("customer", n, a))


@operation("getCustomer")
def get_customer(call: Call, customer_id: str) -> Response:
    return patch.with_etag(reference.get_document("customer", customer_id))


@operation("putCustomer")
def put_customer(call: Call, customer_id: str) -> Response:
    doc = rules.customer_doc(rules.with_id(call.fields, customer_id))
    return patch.with_etag(rules.replace("customer", doc))


@operation("patchCustomer")
def patch_customer(call: Call, customer_id: str) -> Response:
    def current(read: reference.Versioned) -> Doc:
        if read.doc is None:
            raise NotFound(f"customer {customer_id!r} not found")
        return read.doc

    return patch.apply(
        call,
        f"customer {customer_id!r}",
        read=lambda: reference.read_document("customer", customer_id),
        current=current,
        normalize=lambda merged: rules.storable(
            rules.customer_doc(rules.with_id(merged, customer_id))
        ),
        write=lambda doc, read: reference.write_document_over("customer", doc, read),
        schema="CustomerInput",
    )


@operation("deleteCustomer")
def delete_customer(call: Call, customer_id: str) -> None:
    rules.delete_customer(customer_id)


# --- accounts ---------------------------------------------------------------------------------


@operation("createAccount")
def create_account(call: Call, customer_id: str) -> Doc:
    return rules.create_account(customer_id, call.fields)


@operation("listAccounts")
def list_accounts(call: Call, customer_id: str) -> Doc:
    reference.get_document("customer", customer_id)
    scope = f"accounts:{customer_id}"
    return _page(call, scope, lambda n, a: reference.page_accounts(customer_id, n, a))


@operation("deleteAccount")
def delete_account(call: Call, customer_id: str, provider: str, account_id: str) -> None:
    reference.delete_account(customer_id, provider, account_id)


# --- subscriptions ----------------------------------------------------------------------------


@operation("createSubscription")
def create_subscription(call: Call, customer_id: str) -> Doc:
    return rules.create_subscription(customer_id, call.fields)


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
    body = rules.with_id(rules.for_customer(call.fields, customer_id), subscription_id)
    return reference.replace_subscription(customer_id, rules.subscription_doc(body))


@operation("deleteSubscription")
def delete_subscription(call: Call, customer_id: str, subscription_id: str) -> None:
    reference.delete_subscription(customer_id, subscription_id)
