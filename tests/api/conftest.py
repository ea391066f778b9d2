"""Fixtures of the API tests: the Chalice app in-process (chalice.test.Client) on the embedded
AWS, tokens for each kind of caller, reference data created through the API itself, and
invoices written straight through the store (the billing engine is not under test here)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

PERIOD = "2026-10"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:  # what a failing assertion shows
        return f"Reply({self.status}, {self.body[:500]!r})"


@dataclass
class Api:
    """Calls the app like API Gateway would: ``api.get("/invoices", token, period="2026-10")``."""

    client: Any
    default_token: str | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        token: Any = ...,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        **query: Any,
    ) -> Reply:
        token = self.default_token if token is ... else token
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if query:
            path += "?" + urllib.parse.urlencode(
                {k: str(v).lower() if isinstance(v, bool) else v for k, v in query.items()}
            )
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        response = self.client.http.request(method, path, headers=all_headers, body=payload)
        self.calls.append((method, path))
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Reply(response.status_code, headers, response.body)

    def get(self, path: str, token: Any = ..., **kw: Any) -> Reply:
        return self.request("GET", path, token, **kw)

    def post(self, path: str, token: Any = ..., **kw: Any) -> Reply:
        return self.request("POST", path, token, **kw)

    def put(self, path: str, token: Any = ..., **kw: Any) -> Reply:
        return self.request("PUT", path, token, **kw)

    def delete(self, path: str, token: Any = ..., **kw: Any) -> Reply:
        return self.request("DELETE", path, token, **kw)


@pytest.fixture
def api(clean_stack: Any) -> Iterator[Api]:
    from chalice.test import Client

    from app import app
    from chalicelib.api.auth import create_api_token

    with Client(app, stage_name="local") as client:
        operator = create_api_token("test operator", "operator")["token"]
        yield Api(client, default_token=operator)


@pytest.fixture
def operator_token(api: Api) -> str:
    assert api.default_token
    return api.default_token


# --- reference data, created through the API -------------------------------------------------

PRICE_LIST = {
    "id": "standard",
    "name": "Standard",
    "default": {"type": "markup", "percent": "10"},
    "rules": [{"id": "s3", "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"}],
}
PLAN = {
    "id": "growth",
    "name": "Growth",
    "price": "500.00",
    "currency": "USD",
    "included_credit": "40.00",
    "credit_providers": ["aws"],
}


def customer_body(customer_id: str, currency: str = "USD") -> dict[str, Any]:
    return {
        "id": customer_id,
        "name": f"{customer_id.title()} Inc.",
        "currency": currency,
        "price_list_id": "standard",
        "email": f"billing@{customer_id}.example",
        "tax_profile": {"country": "US", "region": None, "tax_id": None, "exempt": False},
        "discount": {"percent": "0", "applies_to": "all"},
    }


@pytest.fixture
def reference_data(api: Api) -> dict[str, Any]:
    """Two customers, acme and globex, each with an account and a subscription."""
    for path, body in (
        ("/price-lists", PRICE_LIST),
        ("/plans", PLAN),
        ("/customers", customer_body("acme")),
        ("/customers", customer_body("globex")),
        ("/customers/acme/accounts", {"provider": "aws", "account_id": "111111111111"}),
        ("/customers/globex/accounts", {"provider": "aws", "account_id": "222222222222"}),
        (
            "/customers/acme/subscriptions",
            {"id": "acme-growth", "plan_id": "growth", "start_date": "2026-10-01"},
        ),
        (
            "/customers/globex/subscriptions",
            {"id": "globex-growth", "plan_id": "growth", "start_date": "2026-09-15"},
        ),
    ):
        reply = api.post(path, body=body)
        assert reply.status == 201, (path, reply)
    return {"customers": ["acme", "globex"]}


@pytest.fixture
def customer_token(api: Api, reference_data: dict[str, Any]) -> Callable[[str], str]:
    """An API token of a customer's role (the customer is created if need be), via the API."""

    def make(customer_id: str) -> str:
        if api.get(f"/customers/{customer_id}").status == 404:
            assert api.post("/customers", body=customer_body(customer_id)).status == 201
        reply = api.post(
            "/api-tokens",
            body={"name": f"{customer_id} erp", "role": "customer", "customer_id": customer_id},
        )
        assert reply.status == 201, reply
        token: str = reply.json["token"]
        return token

    return make


# --- invoices, straight through the store ------------------------------------------------------


def invoice_doc(
    customer_id: str,
    period: str = PERIOD,
    *,
    usage: str = "120.00",
    discount: str = "0",
    currency: str = "USD",
    sequence: int = 1,
) -> dict[str, Any]:
    """A plausible draft: a subscription, cloud usage, the pre-purchased credit, a discount."""
    from chalicelib.billing.document import Figures, Invoice, InvoiceLine
    from chalicelib.store import invoices
    from chalicelib.store.invoice_keys import invoice_csv_keys

    lines = [
        InvoiceLine("subscription", "Growth plan", Decimal("500.00")),
        InvoiceLine(
            "cloud_usage", "AWS Amazon EC2", Decimal(usage), provider="aws", service="AmazonEC2"
        ),
        InvoiceLine("prepurchased_credit", "Pre-purchased infrastructure applied", Decimal("-40")),
    ]
    if Decimal(discount):
        lines.append(InvoiceLine("discount", "Customer discount", -Decimal(discount)))
    invoice = Invoice(
        customer_id=customer_id,
        period=period,
        currency=currency,
        lines=tuple(lines),
        figures=Figures(cost=Decimal(usage) * Decimal("0.8"), credit=Decimal(40)),
    )
    invoice_id = invoices.invoice_id_for(customer_id, period, sequence)
    return {
        **invoice.to_dict(),
        "id": invoice_id,
        "sequence": sequence,
        "status": "draft",
        "run_id": "test-run",
        **invoice_csv_keys(invoice_id, "seeded").fields(),
        "created_at": "2026-11-01T00:00:00+00:00",
    }


def store_invoice(
    customer_id: str, period: str = PERIOD, *, status: str = "issued", **kw: Any
) -> dict[str, Any]:
    """Store an invoice (draft, issued or paid) and its CSVs; returns the stored document."""
    from chalicelib.service.invoices import issue_draft as issue_invoice
    from chalicelib.store import invoices, objects
    from chalicelib.store.aws import client

    doc = invoice_doc(customer_id, period, **kw)
    usage = doc["cloud_usage_total"]
    for key, body in (
        (doc["csv_key"], f"provider,service,price,cost\naws,AmazonEC2,{usage},{doc['cost']}\n"),
        (doc["customer_csv_key"], f"provider,service,price\naws,AmazonEC2,{usage}\n"),
    ):
        client("s3").put_object(
            Bucket=objects.bucket(), Key=key, Body=body.encode(), ContentType="text/csv"
        )
    invoices.save_live_invoice(doc, invoices.live_pointer(customer_id, period))
    if status in ("issued", "paid"):
        doc = issue_invoice(doc)
    if status == "paid":
        doc = {**doc, "status": "paid", "paid_at": "2026-11-20T00:00:00+00:00"}
        invoices.update_invoice(doc, expected_status="issued")
    return doc


@pytest.fixture
def make_invoice(clean_stack: Any) -> Callable[..., dict[str, Any]]:
    return store_invoice
