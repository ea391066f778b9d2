"""POST /invoices/{id}/credit-notes: a paid (or issued) invoice credited in full or in part."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.stack


def _serial(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


def test_a_paid_invoice_is_credited_in_full(api: Api, make_invoice: Any) -> None:
    paid = make_invoice("acme", status="paid")
    before = api.get(f"/invoices/{paid['id']}").json
    reply = api.post(f"/invoices/{paid['id']}/credit-notes")
    assert reply.status == 201, reply
    note = reply.json
    assert (note["kind"], note["status"]) == ("credit_note", "issued")
    assert note["credited_invoice_id"] == note["credit_note_for"] == paid["id"]
    assert note["credited_invoice_number"] == paid["number"]
    assert _serial(note["number"]) == _serial(paid["number"]) + 1  # the same counter
    assert note["total"] == "-" + paid["total"] == "-580.00"
    assert [line["amount"] for line in note["lines"]] == ["-500.00", "-120.00", "40.00"]
    assert api.get(f"/invoices/{note['id']}").json == note
    # The paid invoice itself does not change.
    assert api.get(f"/invoices/{paid['id']}").json == before
    again = api.post(f"/invoices/{paid['id']}/credit-notes")
    assert (again.status, again.json["code"]) == (409, "invalid_transition")


def test_part_of_an_invoice_is_credited_never_more_than_remains(
    api: Api, make_invoice: Any
) -> None:
    paid = make_invoice("acme", status="paid")
    path = f"/invoices/{paid['id']}/credit-notes"
    first = api.post(path, body={"amount": "50.00", "reason": "disputed usage"})
    assert first.status == 201, first
    assert (first.json["total"], first.json["credit_reason"]) == ("-50.00", "disputed usage")
    assert first.json["lines"][0]["description"] == f"Credit on invoice {paid['number']}"

    lines = api.post(path, body={"lines": [{"index": 1, "amount": "20.00"}, {"index": 0}]})
    assert lines.status == 201, lines
    assert [(line["kind"], line["amount"]) for line in lines.json["lines"]] == [
        ("cloud_usage", "-20.00"),
        ("subscription", "-500.00"),
    ]
    # 580.00 − 50.00 − 520.00 = 10.00 remain.
    too_much = api.post(path, body={"amount": "10.01"})
    assert (too_much.status, too_much.json["code"], too_much.json["field"]) == (
        400,
        "credit_exceeds_remaining",
        "amount",
    )
    assert "10.00" in too_much.json["message"]
    line_again = api.post(path, body={"lines": [{"index": 0, "amount": "0.01"}]})
    assert (line_again.status, line_again.json["field"]) == (400, "lines[0].index")
    rest = api.post(path)
    assert rest.status == 201, rest
    assert rest.json["total"] == "-10.00"
    notes = [first.json, lines.json, rest.json]
    assert [note["id"] for note in notes] == [f"{paid['id']}-cn-{n}" for n in (1, 2, 3)]
    assert len({note["number"] for note in notes}) == 3
    assert api.post(path, body={"amount": "0.01"}).status == 409


def test_the_body_is_validated(api: Api, make_invoice: Any) -> None:
    paid = make_invoice("acme", status="paid")
    path = f"/invoices/{paid['id']}/credit-notes"
    for body, field in (
        ({"amount": "ten"}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"lines": []}, "lines"),
        ({"lines": [{"index": -1}]}, "lines[0].index"),
        ({"lines": [{"index": 9}]}, "lines[0].index"),
        ({"lines": [{"index": 2}]}, "lines[0].index"),  # the pre-purchased credit: no charge
        ({"lines": [{"amount": "1.00"}]}, "lines[0].index"),
        ({"amount": "1.00", "lines": [{"index": 0}]}, "lines"),
        ({"all": True}, "all"),
    ):
        reply = api.post(path, body=body)
        assert (reply.status, reply.json.get("field")) == (400, field), (body, reply)
    # Nothing was credited by the refusals.
    assert api.post(path).json["total"] == "-580.00"


def test_only_issued_and_paid_invoices_are_credited(
    api: Api, make_invoice: Any, customer_token: Any
) -> None:
    draft = make_invoice("acme", status="draft")
    reply = api.post(f"/invoices/{draft['id']}/credit-notes")
    assert (reply.status, reply.json["code"]) == (409, "invalid_transition")
    issued = make_invoice("globex")
    note = api.post(f"/invoices/{issued['id']}/credit-notes", body={"amount": "80.00"}).json
    # A credit note is final: not credited, voided or paid.
    for action in ("credit-notes", "void", "mark-paid"):
        refused = api.post(f"/invoices/{note['id']}/{action}")
        assert (refused.status, refused.json["code"]) == (409, "invalid_transition"), action
    # A credited invoice is not voided (its credit notes would count twice).
    refused = api.post(f"/invoices/{issued['id']}/void")
    assert (refused.status, refused.json["code"]) == (409, "invalid_transition")
    assert "credit what remains" in refused.json["message"]
    assert api.post(f"/invoices/{issued['id']}/mark-paid").status == 200
    assert api.post("/invoices/nope/credit-notes").status == 404
    # Operators only; the customer sees the credit note and the credited invoice's number.
    token = customer_token("globex")
    assert api.post(f"/invoices/{issued['id']}/credit-notes", token).status == 403
    seen = api.get(f"/invoices/{note['id']}", token).json
    assert seen["credited_invoice_number"] == issued["number"]
    assert seen["credited_invoice_id"] == issued["id"]


def test_a_retried_credit_is_one_credit_note(api: Api, make_invoice: Any) -> None:
    from chalicelib.store import invoices

    paid = make_invoice("acme", status="paid")
    path = f"/invoices/{paid['id']}/credit-notes"
    headers = {"Idempotency-Key": "credit-acme-1"}
    first = api.post(path, body={"amount": "10.00"}, headers=headers)
    second = api.post(path, body={"amount": "10.00"}, headers=headers)
    assert (first.status, second.status) == (201, 201)
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.json == first.json
    assert invoices.credited(paid["id"]) == {"total": "10.00", "lines": {}, "count": 1}
    other = api.post(path, body={"amount": "11.00"}, headers=headers)
    assert (other.status, other.json["code"]) == (400, "idempotency_key_reused")


def test_a_void_credit_note_names_the_voided_invoices_number(api: Api, make_invoice: Any) -> None:
    issued = make_invoice("acme")
    note = api.post(f"/invoices/{issued['id']}/void").json["credit_note"]
    assert note["credited_invoice_number"] == issued["number"]
    assert note["credited_invoice_id"] == issued["id"]


def test_two_credits_that_read_the_same_remainder_cannot_both_take_it(
    api: Api, make_invoice: Any
) -> None:
    from chalicelib.billing.document import Invoice
    from chalicelib.billing.lifecycle import (
        Credited,
        credit,
        credited_after,
        format_invoice_number,
        void,
    )
    from chalicelib.errors import Conflict
    from chalicelib.store import invoices

    issued = make_invoice("acme")
    invoice = Invoice.from_dict(issued)
    note = credit(invoice, Credited(), "2026-12-01T00:00:00+00:00")
    tally = {**credited_after(Credited(), note).to_dict(), "count": 1}

    def store(note_id: str) -> dict[str, Any]:
        # Both read "nothing credited yet" before either stored its credit note.
        return invoices.credit_with_next_number(
            issued,
            {**note.to_dict(), "id": note_id},
            None,
            tally,
            "TEST-2026",
            lambda n: format_invoice_number("TEST-", 2026, n),
        )

    store(f"{issued['id']}-cn-1")
    with pytest.raises(invoices.CreditedMeanwhile):
        store(f"{issued['id']}-cn-1b")
    assert api.get(f"/invoices/{issued['id']}-cn-1b").status == 404
    # A void that read the invoice before the credit is refused by the store as well.
    _, void_note = void(invoice, "(assigned when stored)", "2026-12-01T00:00:00+00:00")
    with pytest.raises(Conflict, match="credited"):
        invoices.void_with_credit_note(
            {**issued, "status": "void"},
            {**void_note.to_dict(), "id": f"{issued['id']}-cn"},
            "TEST-2026",
            lambda n: format_invoice_number("TEST-", 2026, n),
        )
    assert api.get(f"/invoices/{issued['id']}").json["status"] == "issued"
