"""Tenancy, route by route: a customer's token reads its own invoices and CSVs; another
customer's invoice is a 404 on every route; every operator-only route is a 403 and changes
nothing; without a token every route but /health and /openapi.json is a 401."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.openapi import operations
from tests.api.conftest import PERIOD, Api

pytestmark = pytest.mark.stack

OWN, OTHER = "acme", "globex"


def _requests(ids: dict[str, str]) -> dict[str, tuple[str, str, Any]]:
    """operationId → (method, path, body), aimed at the *other* customer's things."""
    other_invoice = ids["other_invoice"]
    return {
        "getSettings": ("GET", "/settings", None),
        "putSettings": ("PUT", "/settings", {}),
        "patchSettings": ("PATCH", "/settings", {}),
        "createPriceList": ("POST", "/price-lists", {"id": "cheap"}),
        "listPriceLists": ("GET", "/price-lists", None),
        "getPriceList": ("GET", "/price-lists/standard", None),
        "putPriceList": ("PUT", "/price-lists/standard", {"name": "x"}),
        "deletePriceList": ("DELETE", "/price-lists/standard", None),
        "createPlan": ("POST", "/plans", {"price": "1", "currency": "USD"}),
        "listPlans": ("GET", "/plans", None),
        "getPlan": ("GET", "/plans/growth", None),
        "putPlan": ("PUT", "/plans/growth", {"price": "1", "currency": "USD"}),
        "createCustomer": ("POST", "/customers", {"id": "new", "currency": "USD"}),
        "listCustomers": ("GET", "/customers", None),
        "getCustomer": ("GET", f"/customers/{OTHER}", None),
        "putCustomer": ("PUT", f"/customers/{OTHER}", {"currency": "EUR"}),
        "patchCustomer": ("PATCH", f"/customers/{OTHER}", {"currency": "EUR"}),
        "deleteCustomer": ("DELETE", f"/customers/{OTHER}", None),
        "createAccount": (
            "POST",
            f"/customers/{OTHER}/accounts",
            {"provider": "aws", "account_id": "999"},
        ),
        "listAccounts": ("GET", f"/customers/{OTHER}/accounts", None),
        "deleteAccount": ("DELETE", f"/customers/{OTHER}/accounts/aws/222222222222", None),
        "createSubscription": (
            "POST",
            f"/customers/{OTHER}/subscriptions",
            {"plan_id": "growth", "start_date": "2026-10-01"},
        ),
        "listSubscriptions": ("GET", f"/customers/{OTHER}/subscriptions", None),
        "getSubscription": ("GET", f"/customers/{OTHER}/subscriptions/globex-growth", None),
        "putSubscription": (
            "PUT",
            f"/customers/{OTHER}/subscriptions/globex-growth",
            {"plan_id": "growth", "start_date": "2026-10-01"},
        ),
        "deleteSubscription": ("DELETE", f"/customers/{OTHER}/subscriptions/globex-growth", None),
        "createBillUploadUrl": ("POST", "/bills/upload-url", {"filename": "x.csv"}),
        "createLogoUploadUrl": ("POST", "/settings/logo-upload-url", {"content_type": "image/png"}),
        "listBills": ("GET", f"/bills?period={PERIOD}", None),
        "getBill": ("GET", "/bills/0123456789abcdef01234567", None),
        "getBillingReport": ("GET", f"/reports/billing?period={PERIOD}", None),
        "startInvoiceRun": ("POST", "/invoice-runs", {"period": PERIOD}),
        "getInvoiceRun": ("GET", f"/invoice-runs/{ids['run']}", None),
        "listInvoiceRuns": ("GET", "/invoice-runs", None),
        "listInvoices": ("GET", f"/invoices?customer_id={OTHER}", None),
        "getInvoice": ("GET", f"/invoices/{other_invoice}", None),
        "getInvoiceCsv": ("GET", f"/invoices/{other_invoice}/csv", None),
        "getInvoiceEInvoice": ("GET", f"/invoices/{other_invoice}/e-invoice?format=ubl", None),
        "getInvoicePdf": ("GET", f"/invoices/{other_invoice}/pdf", None),
        "issueInvoice": ("POST", f"/invoices/{ids['other_draft']}/issue", None),
        "voidInvoice": ("POST", f"/invoices/{other_invoice}/void", None),
        "markInvoicePaid": ("POST", f"/invoices/{other_invoice}/mark-paid", None),
        "creditInvoice": ("POST", f"/invoices/{other_invoice}/credit-notes", None),
        "recordInvoicePayment": (
            "POST",
            f"/invoices/{other_invoice}/payments",
            {"amount": "1.00"},
        ),
        "sendInvoice": ("POST", f"/invoices/{other_invoice}/send", None),
        "createApiToken": ("POST", "/api-tokens", {"name": "mine", "role": "operator"}),
        "listApiTokens": ("GET", "/api-tokens", None),
        "revokeApiToken": ("DELETE", f"/api-tokens/{ids['token']}", None),
        "listUsers": ("GET", "/users", None),
        "inviteUser": ("POST", "/users", {"email": "x@example.test", "role": "operator"}),
        "disableUser": ("POST", "/users/someone/disable", None),
        "enableUser": ("POST", "/users/someone/enable", None),
        "resetUserPassword": ("POST", "/users/someone/reset", None),
        "getHealth": ("GET", "/health", None),
        "getOpenApi": ("GET", "/openapi.json", None),
    }


@pytest.fixture
def world(api: Api, reference_data: Any, make_invoice: Any, customer_token: Any) -> dict[str, Any]:
    from chalicelib.store import invoices

    own_invoice = make_invoice(OWN)
    other_invoice = make_invoice(OTHER)
    other_draft = make_invoice(OTHER, "2026-11", status="draft")
    invoices.create_run(
        "run-1",
        {
            "run_id": "run-1",
            "period": PERIOD,
            "mode": "issue",
            "status": "succeeded",
            "counts": {},
            "errors": [],
        },
    )
    token = customer_token(OWN)
    other_token_id = api.post(
        "/api-tokens", body={"name": "globex", "role": "customer", "customer_id": OTHER}
    ).json["id"]
    return {
        "token": token,
        "own_invoice": own_invoice["id"],
        "ids": {
            "other_invoice": other_invoice["id"],
            "other_draft": other_draft["id"],
            "run": "run-1",
            "token": other_token_id,
        },
    }


def test_the_table_covers_every_operation(world: dict[str, Any]) -> None:
    assert set(_requests(world["ids"])) == set(operations())


def test_a_customer_reaches_nothing_of_another_customer(api: Api, world: dict[str, Any]) -> None:
    token = world["token"]
    for operation_id, (method, path, body) in _requests(world["ids"]).items():
        roles = operations()[operation_id][2].get("x-rebill-roles")
        reply = api.request(method, path, token, body=body)
        if roles is None:
            assert reply.status == 200, (operation_id, reply)
        elif "customer" in roles:
            # Another customer's invoice or CSV is not found: exactly as a missing one.
            assert reply.status == 404, (operation_id, reply)
            assert reply.json["code"] == "not_found"
        else:
            assert (reply.status, reply.json["code"]) == (403, "forbidden"), (operation_id, reply)
    # Nothing the customer tried changed anything.
    assert api.get(f"/customers/{OTHER}").status == 200
    assert api.get(f"/customers/{OTHER}/subscriptions/globex-growth").status == 200
    assert api.get(f"/invoices/{world['ids']['other_invoice']}").json["status"] == "issued"
    assert api.get(f"/invoices/{world['ids']['other_draft']}").json["status"] == "draft"
    assert len(api.get("/api-tokens").json["items"]) == 3


def test_not_found_says_the_same_for_another_customers_invoice_and_a_missing_one(
    api: Api, world: dict[str, Any]
) -> None:
    other = world["ids"]["other_invoice"]
    missing = other.replace(OTHER, "nobody")
    for suffix in ("", "/csv", "/e-invoice?format=cii"):
        theirs = api.get(f"/invoices/{other}{suffix}", world["token"]).json
        absent = api.get(f"/invoices/{missing}{suffix}", world["token"]).json
        assert theirs["message"] == absent["message"].replace(missing, other)


def test_a_customer_reads_its_own_invoice_and_csv(api: Api, world: dict[str, Any]) -> None:
    token, own = world["token"], world["own_invoice"]
    assert api.get(f"/invoices/{own}", token).status == 200
    assert api.get(f"/invoices/{own}/csv", token).status == 302
    listed = api.get("/invoices", token).json["items"]
    assert [i["id"] for i in listed] == [own]
    assert api.get("/invoices", token, customer_id=OWN).status == 200


def test_without_a_token_only_health_and_the_document_answer(
    api: Api, world: dict[str, Any]
) -> None:
    for operation_id, (method, path, body) in _requests(world["ids"]).items():
        reply = api.request(method, path, None, body=body)
        if operations()[operation_id][2].get("x-rebill-roles") is None:
            assert reply.status == 200, operation_id
        else:
            assert (reply.status, reply.json["code"]) == (401, "unauthorized"), operation_id
            assert reply.headers["www-authenticate"].startswith("Bearer")
