"""An invoice run works on batches of customers (one Map item and one task per batch): the same
invoices whatever the batch size, and a failure stays with its customer or its batch."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.stack

# What differs between two computations of the same invoice: when and by which run, its files.
VOLATILE = ("created_at", "run_id", "csv_key", "customer_csv_key")


def _drafts(period: str) -> dict[str, tuple[dict[str, Any], bytes, bytes]]:
    """Each customer's live draft (without what differs per computation) and its two CSVs."""
    from chalicelib.store import invoices, objects

    found = {}
    for invoice in invoices.invoices_of_period(period):
        pointer = invoices.live_pointer(invoice["customer_id"], period)
        if pointer is None or pointer["invoice_id"] != invoice["id"]:
            continue
        stable = {k: v for k, v in invoice.items() if k not in VOLATILE}
        found[invoice["customer_id"]] = (
            stable,
            objects.get_bytes(invoice["csv_key"]),
            objects.get_bytes(invoice["customer_csv_key"]),
        )
    return found


def _batches(run_id: str) -> list[list[str]]:
    from chalicelib.store import objects
    from chalicelib.store.run_files import customers_key

    return [item["customer_ids"] for item in objects.get_json(customers_key(run_id))]


def test_the_invoices_are_the_same_whatever_the_batch_size(
    clean_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.service import invoice_stages
    from localaws import demo

    period = demo.load_demo()
    monkeypatch.setattr(invoice_stages, "BATCH_SIZE", 1)  # one customer per task, as before
    alone = demo.run_invoices(period, mode="draft")
    assert alone["status"] == "succeeded", alone.get("errors")
    customers = sorted(c for [c] in _batches(alone["run_id"]))
    assert len(customers) == 4
    one_by_one = _drafts(period)

    monkeypatch.setattr(invoice_stages, "BATCH_SIZE", 3)
    batched = demo.run_invoices(period, mode="draft")
    assert batched["status"] == "succeeded", batched.get("errors")
    assert batched["run_id"] != alone["run_id"]
    assert _batches(batched["run_id"]) == [customers[:3], customers[3:]]
    assert _drafts(period) == one_by_one
    assert set(one_by_one) == set(customers)
    assert batched["reconciliation"]["balanced"] is True
    strip = ("run_id", "computed_at")
    assert {k: v for k, v in batched["reconciliation"].items() if k not in strip} == {
        k: v for k, v in alone["reconciliation"].items() if k not in strip
    }


def test_a_batch_that_fails_as_a_whole_fails_its_customers_only(
    clean_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.service import invoice_stages
    from localaws import demo

    period = demo.load_demo()
    monkeypatch.setattr(invoice_stages, "BATCH_SIZE", 2)
    invoice_batch = invoice_stages.invoice_batch

    def first_batch_breaks(run_id: str, period: str, mode: str, batch: int) -> Any:
        if batch == 0:
            raise OSError("no space left on device")
        return invoice_batch(run_id, period, mode, batch)

    monkeypatch.setattr(invoice_stages, "invoice_batch", first_batch_breaks)
    run = demo.run_invoices(period, mode="draft")
    first, second = _batches(run["run_id"])
    assert run["status"] == "partial", run
    assert run["counts"] | {"customers": 4} == {
        "customers": 4,
        "saved": 2,
        "unchanged": 0,
        "failed": 2,
        "not_run": 0,
    }
    assert sorted(run["errors"], key=lambda e: e["customer_id"]) == [
        {"customer_id": c, "type": "OSError", "message": "no space left on device"}
        for c in sorted(first)
    ]
    assert set(_drafts(period)) == set(second)


def test_when_the_batch_pass_fails_each_customer_is_priced_alone(
    clean_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.errors import BillingError
    from chalicelib.service import invoice_stages
    from chalicelib.store import reference
    from localaws import demo
    from localaws.demo_data import ACME_PROD

    period = demo.load_demo()
    reference_run = demo.run_invoices(period, mode="draft")
    expected = _drafts(period)

    # One pass over every customer fails (as a bad document of one customer would make it).
    def no_batch_pass(*args: Any) -> Any:
        raise BillingError("the batch's pricing failed")

    monkeypatch.setattr(invoice_stages, "price_usage_batch", no_batch_pass)
    run = demo.run_invoices(period, mode="draft")
    assert run["status"] == "succeeded", run.get("errors")
    assert _drafts(period) == expected
    assert run["reconciliation"]["currencies"] == reference_run["reconciliation"]["currencies"]

    # A customer whose account names a price list that does not exist fails alone.
    [acme_prod] = [a for a in reference.list_accounts("acme") if a["account_id"] == ACME_PROD]
    reference.put_account("acme", {**acme_prod, "price_list_id": "gone"})
    run = demo.run_invoices(period, mode="draft")
    assert run["status"] == "partial"
    [error] = run["errors"]
    assert error["customer_id"] == "acme" and "'gone'" in error["message"], error
    assert run["counts"]["saved"] == 3


def test_a_batch_that_dies_midway_keeps_the_results_it_recorded(
    clean_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.service import invoice_stages
    from chalicelib.store import invoices
    from localaws import demo

    period = demo.load_demo()
    monkeypatch.setattr(invoice_stages, "RESULTS_AT_ONCE", 1)
    record_results = invoices.record_results
    calls = []

    def dies_at_the_third(run_id: str, results: Any) -> None:
        calls.append(results)
        if len(calls) == 3:
            raise OSError("the task died")
        record_results(run_id, results)

    monkeypatch.setattr(invoices, "record_results", dies_at_the_third)
    run = demo.run_invoices(period, mode="draft")
    [batch] = _batches(run["run_id"])
    assert run["status"] == "partial", run
    assert (run["counts"]["saved"], run["counts"]["failed"]) == (2, 2)
    # The two recorded before the task died stay saved; RecordFailure names the other two.
    assert sorted(e["customer_id"] for e in run["errors"]) == sorted(batch[2:])
    assert {e["type"] for e in run["errors"]} == {"OSError"}
