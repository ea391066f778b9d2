"""POST /invoices/{id}/payments, the balance due on GET /invoices/{id}, and the overdue list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.stack


def _pay(api: Api, invoice_id: str, amount: str, **body: Any) -> Any:
    return api.post(f"/invoices/{invoice_id}/payments", body={"amount": amount, **body})


def test_partial_payments_leave_a_balance_and_the_last_one_pays(
    api: Api, make_invoice: Any
) -> None:
    invoice = make_invoice("acme")
    fresh = api.get(f"/invoices/{invoice['id']}").json
    assert (fresh["amount_paid"], fresh["balance_due"], fresh["payments"]) == ("0.00", "580.00", [])
    first = _pay(api, invoice["id"], "200", paid_at="2026-11-20", reference="SEPA 4711")
    assert first.status == 201, first
    assert (first.json["status"], first.json["balance_due"]) == ("issued", "380.00")
    assert first.json["payments"] == [
        {
            "id": f"{invoice['id']}-pay-1",
            "amount": "200.00",
            "paid_at": "2026-11-20T00:00:00+00:00",
            "recorded_at": first.json["payments"][0]["recorded_at"],
            "reference": "SEPA 4711",
        }
    ]
    second = _pay(api, invoice["id"], "380.00")
    assert second.status == 201, second
    shown = api.get(f"/invoices/{invoice['id']}").json
    assert (shown["status"], shown["amount_paid"], shown["balance_due"]) == (
        "paid",
        "580.00",
        "0.00",
    )
    assert shown["paid_at"] == second.json["payments"][1]["paid_at"]
    assert [p["amount"] for p in shown["payments"]] == ["200.00", "380.00"]
    # The invoice as issued is unchanged but for its status and payment date.
    changed = {k for k in invoice if invoice[k] != shown.get(k, invoice[k])}
    assert changed == {"status", "paid_at"}
    again = _pay(api, invoice["id"], "1.00")
    assert (again.status, again.json["code"]) == (409, "invalid_transition")


def test_an_overpayment_is_refused_and_nothing_is_recorded(api: Api, make_invoice: Any) -> None:
    invoice = make_invoice("acme")
    reply = _pay(api, invoice["id"], "580.01")
    assert (reply.status, reply.json["code"], reply.json["field"]) == (
        400,
        "payment_exceeds_balance",
        "amount",
    )
    assert "580.00 USD due" in reply.json["message"]
    for bad, field in (("0", "amount"), ("1.234", "amount"), ("abc", "amount")):
        refused = _pay(api, invoice["id"], bad)
        assert (refused.status, refused.json.get("field")) == (400, field), (bad, refused)
    for moment in ("yesterday", "0001-01-01T00:00:00+01:00"):
        refused = _pay(api, invoice["id"], "1.00", paid_at=moment)
        assert (refused.status, refused.json["field"]) == (400, "paid_at"), moment
    future = _pay(api, invoice["id"], "1.00", paid_at="2999-01-01")
    assert (future.status, future.json["field"]) == (400, "paid_at")
    shown = api.get(f"/invoices/{invoice['id']}").json
    assert (shown["payments"], shown["balance_due"]) == ([], "580.00")


def test_a_payment_after_a_credit_note_covers_what_remains(api: Api, make_invoice: Any) -> None:
    invoice = make_invoice("acme")
    assert _pay(api, invoice["id"], "100.00").status == 201
    note = api.post(f"/invoices/{invoice['id']}/credit-notes", body={"amount": "80.00"})
    assert note.status == 201, note
    shown = api.get(f"/invoices/{invoice['id']}").json
    assert (shown["amount_paid"], shown["balance_due"]) == ("100.00", "400.00")
    assert _pay(api, invoice["id"], "400.01").json["code"] == "payment_exceeds_balance"
    assert _pay(api, invoice["id"], "400.00").json["status"] == "paid"
    # A credit note of a paid invoice leaves the customer a credit balance.
    api.post(f"/invoices/{invoice['id']}/credit-notes", body={"amount": "50.00"})
    assert api.get(f"/invoices/{invoice['id']}").json["balance_due"] == "-50.00"


def test_payments_on_drafts_void_invoices_and_credit_notes_are_refused(
    api: Api, make_invoice: Any
) -> None:
    draft = make_invoice("acme", status="draft")
    assert _pay(api, draft["id"], "1.00").json["code"] == "invalid_transition"
    issued = make_invoice("globex")
    voided = api.post(f"/invoices/{issued['id']}/void").json
    for document in (voided["invoice"], voided["credit_note"]):
        reply = _pay(api, document["id"], "1.00")
        assert (reply.status, reply.json["code"]) == (409, "invalid_transition"), reply
    assert _pay(api, "inv-nobody-2026-10-1", "1.00").status == 404


def test_an_invoice_with_payments_is_credited_not_voided(api: Api, make_invoice: Any) -> None:
    invoice = make_invoice("acme")
    assert _pay(api, invoice["id"], "10.00").status == 201
    reply = api.post(f"/invoices/{invoice['id']}/void")
    assert (reply.status, reply.json["code"]) == (409, "invalid_transition")
    assert "credit it instead" in reply.json["message"]


def test_a_payment_landing_while_an_invoice_is_voided_stops_the_void(
    api: Api, make_invoice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import invoices as store

    invoice = make_invoice("acme")
    read = store.payments
    landed: list[str] = []

    def read_then_a_payment_lands(invoice_id: str) -> Any:
        seen = read(invoice_id)
        if not landed:  # the void saw no payment; one is recorded before it is written
            landed.append(invoice_id)
            assert _pay(api, invoice_id, "10.00").status == 201
        return seen

    monkeypatch.setattr(store, "payments", read_then_a_payment_lands)
    reply = api.post(f"/invoices/{invoice['id']}/void")
    assert (reply.status, reply.json["code"]) == (409, "conflict"), reply
    shown = api.get(f"/invoices/{invoice['id']}").json
    assert (shown["status"], shown["amount_paid"]) == ("issued", "10.00")


def test_mark_paid_records_a_payment_of_the_whole_balance(api: Api, make_invoice: Any) -> None:
    invoice = make_invoice("acme")
    _pay(api, invoice["id"], "80.00")
    reply = api.post(
        f"/invoices/{invoice['id']}/mark-paid", body={"paid_at": "2026-11-21T09:00:00Z"}
    )
    assert reply.status == 200, reply
    assert (reply.json["status"], reply.json["balance_due"]) == ("paid", "0.00")
    assert [p["amount"] for p in reply.json["payments"]] == ["80.00", "500.00"]


def test_the_same_idempotency_key_records_one_payment(api: Api, make_invoice: Any) -> None:
    invoice = make_invoice("acme")
    key = {"Idempotency-Key": "payment-2026-11-20-acme"}
    first = api.post(f"/invoices/{invoice['id']}/payments", body={"amount": "5"}, headers=key)
    again = api.post(f"/invoices/{invoice['id']}/payments", body={"amount": "5"}, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert again.json == first.json
    assert len(api.get(f"/invoices/{invoice['id']}").json["payments"]) == 1


def test_customers_see_their_own_payments_and_record_none(
    api: Api, make_invoice: Any, customer_token: Callable[[str], str]
) -> None:
    acme, globex = make_invoice("acme"), make_invoice("globex")
    _pay(api, acme["id"], "30.00", reference="acme transfer")
    acme_token = customer_token("acme")
    mine = api.get(f"/invoices/{acme['id']}", acme_token)
    assert mine.status == 200
    assert (mine.json["amount_paid"], mine.json["balance_due"]) == ("30.00", "550.00")
    assert mine.json["payments"][0]["reference"] == "acme transfer"
    assert api.get(f"/invoices/{globex['id']}", acme_token).status == 404
    refused = api.post(f"/invoices/{acme['id']}/payments", acme_token, body={"amount": "1"})
    assert refused.status == 403, refused


# --- overdue ----------------------------------------------------------------------------------


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """Move the API's clock ``days`` ahead (invoices were issued today, due in their terms)."""
    from chalicelib.api import invoices as api_invoices
    from chalicelib.service import payments as service_payments

    def move(days: int) -> None:
        moment = datetime.now(UTC) + timedelta(days=days)
        monkeypatch.setattr(api_invoices, "_now", lambda: moment)
        monkeypatch.setattr(service_payments, "_today", lambda: moment.date())

    yield move


def _ids(reply: Any) -> list[str]:
    assert reply.status == 200, reply
    return [doc["id"] for doc in reply.json["items"]]


def test_overdue_lists_only_issued_invoices_with_a_balance_past_due(
    api: Api, make_invoice: Any, later: Callable[[int], None], customer_token: Callable[[str], str]
) -> None:
    open_acme = make_invoice("acme")
    paid_acme = make_invoice("acme", "2026-09")
    partly_globex = make_invoice("globex")
    make_invoice("globex", "2026-09", status="draft")
    credited = make_invoice("globex", "2026-08")
    _pay(api, paid_acme["id"], "580.00")
    _pay(api, partly_globex["id"], "80.00")
    api.post(f"/invoices/{credited['id']}/credit-notes")  # credited in full: nothing due
    due = open_acme["due_date"]
    assert _ids(api.get("/invoices", overdue=True)) == []  # nothing is past due yet
    assert api.get(f"/invoices/{open_acme['id']}").json["overdue"] is False

    later(40)  # past every due date (30-day terms)
    overdue = _ids(api.get("/invoices", overdue=True))
    assert sorted(overdue) == sorted([open_acme["id"], partly_globex["id"]])
    assert _ids(api.get("/invoices", overdue=True, customer_id="globex")) == [partly_globex["id"]]
    assert _ids(api.get("/invoices", overdue=True, period="2026-09")) == []
    shown = api.get(f"/invoices/{open_acme['id']}").json
    assert (shown["overdue"], shown["due_date"]) == (True, due)
    assert api.get(f"/invoices/{paid_acme['id']}").json["overdue"] is False
    assert _ids(api.get("/invoices", customer_token("acme"), overdue=True)) == [open_acme["id"]]
    # Paid now: off the list at once.
    today = datetime.now(UTC).date().isoformat()
    assert _pay(api, open_acme["id"], "580.00", paid_at=today).status == 201
    assert _ids(api.get("/invoices", overdue=True)) == [partly_globex["id"]]
    assert api.get("/invoices", overdue=False).status == 400


def test_the_billing_report_shows_what_each_customer_owes_and_what_is_overdue(
    api: Api, make_invoice: Any, reference_data: Any
) -> None:
    acme_october, acme_september = make_invoice("acme"), make_invoice("acme", "2026-09")
    globex = make_invoice("globex")
    _pay(api, acme_october["id"], "80.00")
    _pay(api, globex["id"], "580.00")
    report = api.get("/reports/billing", period="2026-10").json
    assert report["outstanding"] == [
        {
            "customer_id": "acme",
            "name": "Acme Inc.",
            "currency": "USD",
            "outstanding": "1080.00",
            "overdue": "0.00",
            "invoices": 2,
            "overdue_invoices": 0,
        }
    ]
    from chalicelib.service import reports

    moment = datetime.now(UTC) + timedelta(days=40)  # past every due date
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reports, "_today", lambda: moment.date())
        later_report = reports.billing_report("2026-10")
    assert [(r["outstanding"], r["overdue"]) for r in later_report["outstanding"]] == [
        ("1080.00", "1080.00")
    ]
    assert acme_september["status"] == "issued"


def test_the_overdue_list_is_one_query_on_the_sparse_index() -> None:
    from chalicelib.store.invoice_keys import InvoiceFilter
    from chalicelib.store.invoice_search import plan_for

    plan = plan_for(InvoiceFilter(customer_id="acme", period="2026-10", overdue_on="2026-12-01"))
    assert plan is not None
    assert (plan.index_name, plan.hash_attribute, plan.range_attribute) == (
        "by_open_due",
        "listing",
        "open_due",
    )
