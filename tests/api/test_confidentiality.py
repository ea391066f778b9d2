"""Confidentiality, route by route: every byte a customer can get (JSON, the CSV behind a
presigned link) holds none of the reseller's figures, and drafts do not exist for a customer.

The invoices are made by the billing engine and saved by the invoice run's own SaveInvoice task,
from a bill whose provider cost, list cost, price list and price rule are distinctive: each of
those values is first shown to be in what an operator gets, then looked for in everything a
customer gets. The table of customer requests is checked against the OpenAPI operation list,
so a route opened to customers later cannot escape this test.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.openapi import operations
from chalicelib.billing.invoice_csv import CUSTOMER_CSV_COLUMNS
from tests.api.conftest import PERIOD, Api, Reply
from tests.billing.conftest import Pipeline
from tests.billing.fixtures import account, context, customer, line, price_list

pytestmark = pytest.mark.stack

OWN = "acme"
DRAFT_PERIOD = "2026-11"
SECRET_LIST, SECRET_RULE = "pl-secret-4242", "rule-secret-7731"
# Provider figures of the bill: cost, list cost, and a commitment's effective cost.
SECRET_COST, SECRET_LIST_COST, SECRET_RI_COST, SECRET_RI_LIST = (
    "1234.5678",
    "2345.6789",
    "12.3456",
    "86.4321",
)
# What only the reseller sees, by name, wherever it would appear in a JSON body.
RESELLER_KEYS = {
    "cost",
    "list_cost",
    "basis",
    "margin",
    "margin_percent",
    "savings_retained",
    "savings_removed",
    "price_list",
    "price_list_id",
    "price_rule",
    "price",
    "report",
    "fx_rates",
    "run_id",
    "csv_key",
    "customer_csv_key",
}


def _bill_lines(period: str) -> list[dict[str, Any]]:
    year, month = period.split("-")
    dates = {
        "BillingPeriodStart": f"{year}-{month}-01 00:00:00",
        "ChargePeriodStart": f"{year}-{month}-05 00:00:00",
        "ChargePeriodEnd": f"{year}-{month}-05 01:00:00",
    }
    return [
        line(BilledCost=SECRET_COST, ListCost=SECRET_LIST_COST, PricingQuantity="2", **dates),
        line(
            ServiceCode="AmazonS3", ServiceName="Amazon S3", ResourceId="b", BilledCost="4", **dates
        ),
        # A commitment the customer did not pay for: the reseller keeps the savings.
        line(
            ResourceId="ri",
            BilledCost="0",
            ListCost=SECRET_RI_LIST,
            EffectiveCost=SECRET_RI_COST,
            ProviderLineType="DiscountedUsage",
            CommitmentDiscountId="arn:ri",
            **dates,
        ),
    ]


def save_invoice(tmp_path: Path, period: str, mode: str) -> dict[str, Any]:
    """Price, compose and save one invoice of OWN as an invoice run's batch task saves it."""
    from chalicelib.service.run_invoices import save_customer_invoice
    from chalicelib.store import invoices

    secret_list = price_list(
        [{"id": SECRET_RULE, "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"}],
        id=SECRET_LIST,
        default={"type": "markup", "percent": "10"},
    )
    cp = context(
        customer_=customer(id=OWN, price_list_id=SECRET_LIST),
        accounts=[account(customer_id=OWN)],
        price_lists=[secret_list],
        period=period,
    )
    (tmp_path / period).mkdir()
    run = Pipeline(tmp_path / period).run(cp, _bill_lines(period))
    result = save_customer_invoice(
        f"confidential-{period}", period, OWN, mode, run.invoice, run.priced_path
    )
    assert result["status"] == "saved", result
    return invoices.get_invoice(result["invoice_id"])


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        data: bytes = response.read()
        return data


def everything_handed_out(reply: Reply) -> Iterator[tuple[str, bytes]]:
    """The body, and the bytes of every file a presigned link in it (or a redirect) leads to."""
    yield "body", reply.body
    if reply.status == 302:
        yield reply.headers["location"], download(reply.headers["location"])
    elif reply.headers.get("content-type", "").startswith("application/json"):
        body = reply.json
        if isinstance(body, dict) and isinstance(body.get("url"), str):
            yield body["url"], download(body["url"])


def readable(data: bytes) -> str:
    """A file's text as its reader sees it: a PDF's pages (its streams are compressed)."""
    if not data.startswith(b"%PDF-"):
        return data.decode()
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def json_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from json_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_keys(item)


@pytest.fixture
def world(api: Api, reference_data: Any, customer_token: Any, tmp_path: Path) -> dict[str, Any]:
    seller = {"name": "Example Cloud GmbH", "country": "DE", "tax_id": "DE136695976"}
    assert api.put("/settings", body={"seller": seller}).status == 200  # for the e-invoices
    issued = save_invoice(tmp_path, PERIOD, "issue")
    draft = save_invoice(tmp_path, DRAFT_PERIOD, "draft")
    assert (issued["status"], draft["status"]) == ("issued", "draft")
    # A voided invoice and its credit note are the customer's to see too.
    voided = save_invoice(tmp_path, "2026-09", "issue")
    note = api.post(f"/invoices/{voided['id']}/void", body={"reason": "internal: repriced"})
    assert note.status == 200, note
    return {
        "token": customer_token(OWN),
        "issued": issued["id"],
        "draft": draft["id"],
        "voided": voided["id"],
        "credit_note": note.json["credit_note"]["id"],
    }


def customer_requests(w: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """operationId → the paths a customer calls, each with the status it must get."""
    issued, draft, voided, note = w["issued"], w["draft"], w["voided"], w["credit_note"]
    return {
        "listInvoices": [
            ("/invoices", 200),
            (f"/invoices?customer_id={OWN}", 200),
            ("/invoices?status=draft", 200),
            (f"/invoices?status=draft&customer_id={OWN}&period={DRAFT_PERIOD}", 200),
            (f"/invoices?period={DRAFT_PERIOD}", 200),
            ("/invoices?min_total=0", 200),
            ("/invoices?has_discount=false", 200),
            ("/invoices?limit=1", 200),
        ],
        "getInvoice": [
            (f"/invoices/{issued}", 200),
            (f"/invoices/{voided}", 200),
            (f"/invoices/{note}", 200),
            (f"/invoices/{draft}", 404),
        ],
        "getInvoiceCsv": [
            (f"/invoices/{issued}/csv", 302),
            (f"/invoices/{issued}/csv?redirect=false", 200),
            (f"/invoices/{issued}/csv?redirect=false&view=customer", 200),
            (f"/invoices/{voided}/csv?redirect=false", 200),
            (f"/invoices/{issued}/csv?view=detail", 403),
            (f"/invoices/{issued}/csv?view=detail&redirect=false", 403),
            (f"/invoices/{draft}/csv", 404),
            (f"/invoices/{draft}/csv?redirect=false&view=customer", 404),
        ],
        "getInvoiceEInvoice": [
            (f"/invoices/{issued}/e-invoice?format=cii", 302),
            (f"/invoices/{issued}/e-invoice?format=ubl&redirect=false", 200),
            (f"/invoices/{note}/e-invoice?format=ubl", 302),
            (f"/invoices/{draft}/e-invoice?format=cii", 404),
            (f"/invoices/{draft}/e-invoice?format=ubl&redirect=false", 404),
        ],
        "getInvoicePdf": [
            (f"/invoices/{issued}/pdf", 302),
            (f"/invoices/{issued}/pdf?redirect=false", 200),
            (f"/invoices/{voided}/pdf?redirect=false", 200),
            (f"/invoices/{note}/pdf?redirect=false", 200),
            (f"/invoices/{draft}/pdf", 404),
            (f"/invoices/{draft}/pdf?redirect=false", 404),
        ],
        "getHealth": [("/health", 200)],
        "getOpenApi": [("/openapi.json", 200)],
    }


def reseller_secrets(api: Api, w: dict[str, Any]) -> set[str]:
    """The reseller's figures of the seeded invoices, each shown to be in the operator's view."""
    secrets = {SECRET_LIST, SECRET_RULE, SECRET_COST, SECRET_LIST_COST, SECRET_RI_COST}
    secrets |= {SECRET_RI_LIST}
    operator_text = ""
    for invoice_id in (w["issued"], w["draft"]):
        invoice = api.get(f"/invoices/{invoice_id}").json
        for name in ("cost", "margin", "margin_percent", "savings_retained"):
            secrets.add(invoice[name])
        link = api.get(f"/invoices/{invoice_id}/csv", redirect=False).json["url"]
        detail = download(link).decode()
        operator_text += json.dumps(invoice) + detail
        for row in csv.DictReader(io.StringIO(detail)):
            secrets |= {row[c] for c in ("cost", "list_cost", "basis", "savings_retained")}
    # Too short to be told from other numbers ("0", "4"): the distinctive ones stand for them.
    secrets = {s for s in secrets if s and len(s.replace(".", "").strip("0")) >= 4}
    assert all(s in operator_text for s in secrets), secrets
    return secrets


def test_the_table_covers_every_operation_a_customer_may_call(world: dict[str, Any]) -> None:
    reachable = {
        op_id
        for op_id, (_, _, spec) in operations().items()
        if "customer" in spec.get("x-rebill-roles", ["customer"])
    }
    assert reachable == set(customer_requests(world))


def test_nothing_a_customer_gets_holds_a_reseller_figure_or_a_draft(
    api: Api, world: dict[str, Any]
) -> None:
    secrets = reseller_secrets(api, world)
    # The provider cost of the invoice: 1234.5678 + 4 + 12.3456, and its savings retained.
    assert {SECRET_COST, SECRET_LIST, SECRET_RULE, "1250.91", "74.09"} <= secrets
    files = pdfs = 0
    for operation_id, requests in customer_requests(world).items():
        method, _, _ = operations()[operation_id]
        for path, status in requests:
            reply = api.request(method, path, world["token"])
            assert reply.status == status, (operation_id, path, reply)
            for source, data in everything_handed_out(reply):
                text = readable(data)
                files += source != "body"
                for secret in secrets:
                    assert secret not in text, (path, source, secret)
                # (A refusal names the id asked for, as it does for one that does not exist.)
                assert reply.status >= 400 or world["draft"] not in text, (path, source)
                if source != "body" and operation_id == "getInvoiceEInvoice":
                    assert text.startswith("<?xml"), (path, text[:80])  # the EN 16931 XML
                elif source != "body" and operation_id == "getInvoicePdf":  # the invoice itself
                    pdfs += 1
                    assert "Total" in text, (path, text[:200])
                elif source != "body":  # a file: the customer CSV, header and all
                    header = next(csv.reader(io.StringIO(text)))
                    assert tuple(header) == CUSTOMER_CSV_COLUMNS, (path, header)
                elif operation_id != "getOpenApi" and text:
                    assert not RESELLER_KEYS & set(json_keys(json.loads(text))), path
    assert (files, pdfs) == (4 + 3 + 4, 4)  # the CSVs, the e-invoices and the PDFs


def test_a_draft_is_not_found_exactly_like_a_missing_invoice(
    api: Api, world: dict[str, Any]
) -> None:
    draft, token = world["draft"], world["token"]
    missing = draft.replace(OWN, "nobody")
    for suffix in ("", "/csv", "/csv?redirect=false", "/e-invoice?format=ubl", "/pdf"):
        theirs = api.get(f"/invoices/{draft}{suffix}", token)
        absent = api.get(f"/invoices/{missing}{suffix}", token)
        assert (theirs.status, absent.status) == (404, 404)
        assert theirs.json["code"] == absent.json["code"] == "not_found"
        assert theirs.json["message"] == absent.json["message"].replace(missing, draft)
    # The operator still sees it, whole.
    assert api.get(f"/invoices/{draft}").json["status"] == "draft"


def test_the_customer_list_never_holds_a_draft(api: Api, world: dict[str, Any]) -> None:
    token = world["token"]
    listed = {i["id"] for i in api.get("/invoices", token).json["items"]}
    assert listed == {world["issued"], world["voided"], world["credit_note"]}
    for query in ({"status": "draft"}, {"period": DRAFT_PERIOD}):
        reply = api.get("/invoices", token, **query)
        assert (reply.status, reply.json) == (200, {"items": [], "next_cursor": None}), query
    operator = {i["id"] for i in api.get("/invoices", customer_id=OWN).json["items"]}
    assert world["draft"] in operator


def test_drafts_are_left_out_by_the_query_not_after_the_page(
    api: Api, customer_token: Any, make_invoice: Any
) -> None:
    # The customer index reads the newest period first: three drafts come before the invoice.
    for period in ("2026-11", "2026-12", "2027-01"):
        make_invoice(OWN, period, status="draft")
    issued = make_invoice(OWN)
    first = api.get("/invoices", customer_token(OWN), limit=1)
    assert [i["id"] for i in first.json["items"]] == [issued["id"]], first
    assert first.json["next_cursor"] is None


def test_an_operator_gets_the_detailed_csv_or_asks_for_the_customers(
    api: Api, world: dict[str, Any]
) -> None:
    issued = world["issued"]
    detail = download(api.get(f"/invoices/{issued}/csv", redirect=False).json["url"]).decode()
    assert SECRET_LIST in detail and "cost" in detail.splitlines()[0]
    link = api.get(f"/invoices/{issued}/csv", redirect=False, view="customer").json["url"]
    billed = download(link).decode()
    assert tuple(next(csv.reader(io.StringIO(billed)))) == CUSTOMER_CSV_COLUMNS
    assert SECRET_LIST not in billed
    # Both files add up to the same price.
    prices = [
        sum((Decimal(row["price"]) for row in csv.DictReader(io.StringIO(text))), Decimal(0))
        for text in (detail, billed)
    ]
    assert prices[0] == prices[1] > 0


def test_an_invoice_saved_before_the_customer_csv_existed_serves_the_customer_none(
    api: Api, customer_token: Any, make_invoice: Any
) -> None:
    from chalicelib.store import invoices

    legacy = make_invoice(OWN)
    stored = invoices.get_invoice(legacy["id"])
    del stored["customer_csv_key"]
    invoices.update_invoice(stored, expected_status="issued")
    reply = api.get(f"/invoices/{legacy['id']}/csv", customer_token(OWN))
    assert (reply.status, reply.json["code"]) == (404, "not_found")
    assert "customer CSV" in reply.json["message"]
    assert api.get(f"/invoices/{legacy['id']}/csv").status == 302


def test_the_customer_view_names_what_it_shows_down_to_lines_and_taxes() -> None:
    from chalicelib.api.invoices import customer_view

    doc = {
        "id": "inv-acme-2026-10-1",
        "total": "10.00",
        "cost": "7.00",
        "void_reason": "internal: repriced",
        "lines": [{"kind": "cloud_usage", "amount": "10.00", "cost": "7.00", "price_rule": "r"}],
        "taxes": [{"name": "VAT", "rate": "0", "base": "10.00", "amount": "0", "basis": "7"}],
    }
    assert customer_view(doc) == {
        "id": "inv-acme-2026-10-1",
        "total": "10.00",
        "lines": [{"kind": "cloud_usage", "amount": "10.00"}],
        "taxes": [{"name": "VAT", "rate": "0", "base": "10.00", "amount": "0"}],
    }
