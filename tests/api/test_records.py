"""The store's typed records tell the truth: every field of a stored invoice, credit note, live
pointer, bill file, account aggregate and report delivery is one its record
(chalicelib.store.records) declares."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from chalicelib.store.records import (
    AccountAggregate,
    BillRecord,
    BillRef,
    Collision,
    DeliveryRecord,
    FailedPart,
    InvoiceRecord,
    LivePointer,
    PartOutcome,
)
from tests.api.conftest import PERIOD, Api
from tests.flow.test_duplicate_bills import ACME, GLOBEX, _land, _line
from tests.flow.test_report_delivery import PERIOD as DELIVERY_PERIOD
from tests.flow.test_report_delivery import _deliver, _part

pytestmark = pytest.mark.stack


def test_stored_invoices_and_credit_notes_hold_only_declared_fields(
    api: Api, make_invoice: Any
) -> None:
    from chalicelib.service import invoices as lifecycle
    from chalicelib.store import invoices

    declared = set(InvoiceRecord.__annotations__)
    paid = make_invoice("acme", status="paid")
    voided, note = lifecycle.void_invoice(make_invoice("globex")["id"], "ordered twice")
    credit = lifecycle.credit_invoice(paid["id"], reason="goodwill")
    for doc_id in (paid["id"], voided["id"], note["id"], credit["id"]):
        stored = invoices.get_invoice(doc_id)
        assert set(stored) - declared == set(), doc_id
    pointer = invoices.live_pointer("acme", PERIOD)
    assert pointer is not None and set(pointer) == set(LivePointer.__annotations__)


def _undeclared(bill: BillRecord) -> set[str]:
    """The stored fields of a bill record (and of the references it holds) that its record
    does not declare, and the fields of a reference that it lacks."""
    stored: dict[str, Any] = dict(bill)
    extra = set(stored) - set(BillRecord.__annotations__)
    for field, record in (
        ("duplicate_of", BillRef),
        ("collided_with", Collision),
        ("superseded_by", Collision),
    ):
        if stored.get(field) is not None:
            extra |= {f"{field}.{k}" for k in set(stored[field]) ^ set(record.__annotations__)}
    return extra


def test_stored_bill_files_hold_only_declared_fields(clean_stack: Any) -> None:
    """A file taken in, the older export it replaced, a byte-for-byte duplicate, a file refused
    for lines already current, and an unreadable file: each record as stored."""
    from chalicelib.store import bills

    older = _land("bills/exports/october-day5.csv", _render([("l1", ACME, "10")]))
    full = _land("bills/exports/october.csv", _render([("l1", ACME, "11"), ("l2", GLOBEX, "20")]))
    duplicate = _land("bills/exports/october-copy.csv", _render([("l1", ACME, "10")]))
    refused = _land("bills/acme-only.csv", _render([("l2", GLOBEX, "20.50")]))
    unreadable = _land("bills/broken.csv", b"lineItem/UsageAccountId,name\n1,2\n")

    stored = {
        bill["id"]: bills.get_bill(bill["id"])
        for bill in (older, full, duplicate, refused, unreadable)
    }
    statuses = {b_id: bill["status"] for b_id, bill in stored.items() if bill is not None}
    assert [statuses[b["id"]] for b in (older, full, duplicate, refused, unreadable)] == [
        "superseded",
        "processed",
        "duplicate",
        "refused",
        "failed",
    ]
    for bill_id, bill in stored.items():
        assert bill is not None and _undeclared(bill) == set(), bill_id

    # The account aggregates hold exactly their record's fields.
    aggregates = bills.aggregates_of("2026-10", [older["id"], full["id"]])
    assert len(aggregates) == 3
    for aggregate in aggregates:
        assert set(aggregate) == set(AccountAggregate.__annotations__)


def test_stored_report_deliveries_and_their_parts_hold_only_declared_fields(
    clean_stack: Any,
) -> None:
    """A multi-part delivery made current, and one failed by a bad part: the delivery, each
    part's outcome and each part's bill record as stored."""
    from chalicelib.store import bills

    good_id, good_keys, good = _deliver([_part(["1.25"]), _part(["2.50"])])
    bad_id, bad_keys, bad = _deliver(
        [_part(["1"]), gzip.compress(b"lineItem/UsageAccountId,name\n1,2\n")]
    )
    assert (good["status"], bad["status"]) == ("SUCCEEDED", "FAILED")

    for delivery_id, keys in ((good_id, good_keys), (bad_id, bad_keys)):
        delivery = bills.get_delivery(delivery_id)
        assert delivery is not None
        assert set(delivery) - set(DeliveryRecord.__annotations__) == set(), delivery_id
        for failed in delivery.get("failed_parts") or []:
            assert set(failed) == set(FailedPart.__annotations__)
        outcomes = bills.part_outcomes(delivery_id)
        assert sorted(outcomes) == sorted(keys)
        for outcome in outcomes.values():
            assert set(outcome) == set(PartOutcome.__annotations__)
            bill = bills.get_bill(outcome["bill_id"])
            assert bill is not None and _undeclared(bill) == set(), outcome
            assert bill["delivery_id"] == delivery_id
    delivery = bills.get_delivery(good_id)
    assert delivery is not None and delivery["status"] == "current"
    assert {a["bill_id"] for a in bills.current_aggregates(DELIVERY_PERIOD)} == {
        outcome["bill_id"] for outcome in bills.part_outcomes(good_id).values()
    }


def _render(lines: list[tuple[str, str, str]]) -> bytes:
    from tests.bill_files import curgen

    return curgen.render([_line(line_id, account, cost) for line_id, account, cost in lines])
