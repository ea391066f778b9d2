"""Invoice routes: one invoice, its CSV link, and its lifecycle (issue, mark paid, void)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import PERIOD, Api

pytestmark = pytest.mark.stack


def test_an_invoice_with_lines_totals_and_taxes(api: Api, make_invoice: Any) -> None:
    stored = make_invoice("acme", discount="25")
    reply = api.get(f"/invoices/{stored['id']}")
    assert reply.status == 200, reply
    invoice = reply.json
    assert invoice["number"] == f"INV-{datetime.now(UTC).year}-000001"
    assert invoice["status"] == "issued"
    assert [line["kind"] for line in invoice["lines"]] == [
        "subscription",
        "cloud_usage",
        "prepurchased_credit",
        "discount",
    ]
    assert (invoice["subtotal"], invoice["discount_total"], invoice["total"]) == (
        "555.00",
        "-25.00",
        "555.00",
    )
    assert invoice["taxes"] == [] and invoice["tax_total"] == "0.00"
    # Storage details stay inside; the operator sees the reseller's figures.
    assert not {"csv_key", "customer_csv_key", "sequence"} & set(invoice)
    assert invoice["cost"] == "96.00"


def test_a_customer_sees_its_invoice_without_the_resellers_figures(
    api: Api, customer_token: Any, make_invoice: Any
) -> None:
    stored = make_invoice("acme")
    invoice = api.get(f"/invoices/{stored['id']}", customer_token("acme")).json
    assert invoice["total"] == stored["total"]
    for secret in ("cost", "margin", "margin_percent", "savings_retained", "report", "run_id"):
        assert secret not in invoice


def test_the_csv_link_is_short_lived_and_names_only_that_object(
    api: Api, make_invoice: Any
) -> None:
    stored = make_invoice("acme")
    reply = api.get(f"/invoices/{stored['id']}/csv")
    assert reply.status == 302, reply
    url = reply.headers["location"]
    parsed = urllib.parse.urlparse(url)
    params = urllib.parse.parse_qs(parsed.query)
    assert parsed.path.endswith("/" + stored["csv_key"])
    # SigV4 (SSE-KMS buckets refuse SigV2 links, and SigV2 leaves added parameters unsigned).
    assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "AWSAccessKeyId" not in params and "Signature" not in params
    assert int(params["X-Amz-Expires"][0]) <= 300
    assert params["X-Amz-SignedHeaders"] == ["host"]
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read().decode().startswith("provider,service,price")

    link = api.get(f"/invoices/{stored['id']}/csv", redirect=False).json
    expires_at = datetime.fromisoformat(link["expires_at"])
    assert 0 < (expires_at - datetime.now(UTC)).total_seconds() <= 300
    assert urllib.parse.urlparse(link["url"]).path == parsed.path


def test_issue_a_draft(api: Api, make_invoice: Any) -> None:
    draft = make_invoice("acme", status="draft")
    assert api.get(f"/invoices/{draft['id']}").json["number"] is None
    reply = api.post(f"/invoices/{draft['id']}/issue")
    assert reply.status == 200, reply
    assert reply.json["status"] == "issued"
    assert reply.json["number"].endswith("-000001")
    again = api.post(f"/invoices/{draft['id']}/issue")
    assert (again.status, again.json["code"]) == (409, "invalid_transition")


def test_mark_paid(api: Api, make_invoice: Any) -> None:
    draft = make_invoice("acme", status="draft")
    assert api.post(f"/invoices/{draft['id']}/mark-paid").status == 409
    issued = make_invoice("globex")
    reply = api.post(
        f"/invoices/{issued['id']}/mark-paid", body={"paid_at": "2026-11-20T10:00:00+01:00"}
    )
    assert reply.status == 200, reply
    assert (reply.json["status"], reply.json["paid_at"]) == ("paid", "2026-11-20T09:00:00+00:00")
    bad = api.post(f"/invoices/{issued['id']}/mark-paid", body={"paid_at": "yesterday"})
    assert (bad.status, bad.json["field"]) == (400, "paid_at")


def test_void_creates_a_credit_note_and_frees_the_period(api: Api, make_invoice: Any) -> None:
    from chalicelib.store import invoices

    issued = make_invoice("acme", discount="10")
    reply = api.post(f"/invoices/{issued['id']}/void", body={"reason": "wrong account"})
    assert reply.status == 200, reply
    voided, note = reply.json["invoice"], reply.json["credit_note"]
    assert (voided["status"], voided["void_reason"]) == ("void", "wrong account")
    assert note["kind"] == "credit_note" and note["credit_note_for"] == issued["id"]
    assert note["total"] == "-" + issued["total"]
    assert note["discount_total"] == "10.00"
    # Gapless: the credit note takes the next number of the same counter.
    assert int(note["number"].rsplit("-", 1)[1]) == int(issued["number"].rsplit("-", 1)[1]) + 1
    assert api.get(f"/invoices/{note['id']}").json["status"] == "issued"
    assert invoices.live_pointer("acme", PERIOD)["status"] == "void"
    # The next invoice of the customer and period is a new one (sequence 2).
    again = make_invoice("acme", sequence=2)
    assert again["id"].endswith("-2") and again["number"].endswith("-000003")
    assert api.post(f"/invoices/{issued['id']}/void").status == 409
    assert api.post(f"/invoices/{note['id']}/void").status == 409


def test_lifecycle_routes_refuse_unknown_invoices_and_bodies(api: Api) -> None:
    for action in ("issue", "void", "mark-paid"):
        assert api.post(f"/invoices/nope/{action}").status == 404
    reply = api.post("/invoices/nope/issue", body={"force": True})
    assert (reply.status, reply.json["field"]) == (400, "force")


def test_invoice_issued_event_for_the_credit_note(
    api: Api, make_invoice: Any, clean_stack: Any
) -> None:
    from chalicelib.config import get_config

    sqs, sns = clean_stack.client("sqs"), clean_stack.client("sns")
    url = sqs.create_queue(QueueName="api-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscription = sns.subscribe(
        TopicArn=get_config().events_topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )["SubscriptionArn"]
    try:
        issued = make_invoice("acme")
        api.post(f"/invoices/{issued['id']}/void")
        messages = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            messages += [json.loads(m["Body"]) for m in batch]
    finally:  # the topic outlives this test's data: leave no subscriber behind
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=url)
    notes = [m for m in messages if m.get("kind") == "credit_note"]
    assert [n["credit_note_for"] for n in notes] == [issued["id"]]


def test_a_writer_holding_a_stale_pointer_loses(api: Api, make_invoice: Any) -> None:
    from chalicelib.errors import Conflict
    from chalicelib.store import invoices

    draft = make_invoice("acme", status="draft")
    seen = invoices.live_pointer("acme", PERIOD)
    assert api.post(f"/invoices/{draft['id']}/issue").status == 200
    # A run that read the pointer before the issue must not overwrite the issued invoice.
    with pytest.raises(Conflict):
        invoices.save_live_invoice({**draft, "total": "1.00"}, seen)
    assert api.get(f"/invoices/{draft['id']}").json["status"] == "issued"


def test_issuing_dates_the_document_with_the_customers_or_sellers_terms(
    api: Api, make_invoice: Any, customer_token: Any
) -> None:
    settings = api.get("/settings").json
    settings["seller"] = {**settings.get("seller", {}), "payment_terms_days": 14}
    assert api.put("/settings", body=settings).status == 200
    customer = api.get("/customers/globex").json
    customer["payment_terms_days"] = 45
    assert api.put("/customers/globex", body=customer).status == 200

    today = datetime.now(UTC).date()
    seller_terms = api.get(f"/invoices/{make_invoice('acme')['id']}").json
    own_terms = api.get(f"/invoices/{make_invoice('globex')['id']}", customer_token("globex")).json
    assert seller_terms["issue_date"] == today.isoformat()
    assert seller_terms["due_date"] == (today + timedelta(days=14)).isoformat()
    assert seller_terms["service_period"] == {"start": f"{PERIOD}-01", "end": f"{PERIOD}-31"}
    assert (own_terms["payment_terms_days"], own_terms["due_date"]) == (
        45,
        (today + timedelta(days=45)).isoformat(),
    )
    note = api.post(f"/invoices/{seller_terms['id']}/void").json["credit_note"]
    assert note["issue_date"] == note["due_date"] == today.isoformat()
    assert note["service_period"] == seller_terms["service_period"]
