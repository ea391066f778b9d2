"""A customer with nothing to bill gets no $0.00 draft: the run says "nothing to bill", and a
stale draft of an earlier run (which billed something then) is deleted with its files."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.stack

PERIOD = "2031-05"


def _reference(with_subscription: bool) -> None:
    from chalicelib.store import reference
    from tests.api.conftest import PLAN, PRICE_LIST, customer_body

    reference.put_document("price_list", PRICE_LIST)
    reference.put_document("plan", PLAN)
    reference.put_document("customer", customer_body("idle"))
    reference.put_document("customer", customer_body("busy"))
    if with_subscription:
        reference.put_subscription(
            "busy", {"id": "busy-growth", "plan_id": "growth", "start_date": "2031-01-01"}
        )


def test_a_run_makes_no_draft_for_a_customer_with_nothing_to_bill(clean_stack: Any) -> None:
    from chalicelib.store import invoices
    from localaws import demo

    _reference(with_subscription=True)
    run = demo.run_invoices(PERIOD, mode="draft")
    assert run["status"] == "succeeded", run.get("errors")
    assert (run["counts"]["saved"], run["counts"]["unchanged"]) == (1, 1)
    results = {r["customer_id"]: r for r in invoices.run_results(run["run_id"])}
    assert results["idle"] == {
        "customer_id": "idle",
        "status": "unchanged",
        "invoice_id": None,
        "reason": "nothing to bill",
    }
    assert invoices.live_pointer("idle", PERIOD) is None
    assert [i["customer_id"] for i in invoices.invoices_of_period(PERIOD)] == ["busy"]


def _exists(key: str) -> bool:
    from chalicelib.store import objects

    return objects.head(key) is not None


def _empty_invoice(customer_id: str) -> Any:
    from chalicelib.billing.document import Invoice

    return Invoice(customer_id=customer_id, period=PERIOD, currency="USD", lines=())


def test_a_stale_draft_is_deleted_with_its_files(clean_stack: Any) -> None:
    from chalicelib.service.run_invoices import save_customer_invoice
    from chalicelib.store import invoices
    from tests.api.conftest import store_invoice

    _reference(with_subscription=False)
    draft = store_invoice("idle", PERIOD, status="draft")
    assert _exists(draft["csv_key"]) and _exists(draft["customer_csv_key"])

    result = save_customer_invoice("run-2", PERIOD, "idle", "draft", _empty_invoice("idle"), "-")
    assert result == {
        "customer_id": "idle",
        "status": "unchanged",
        "invoice_id": None,
        "reason": "nothing to bill",
        "deleted_draft_id": draft["id"],
    }
    assert invoices.live_pointer("idle", PERIOD) is None
    assert invoices.invoices_of_period(PERIOD) == []
    assert not _exists(draft["csv_key"]) and not _exists(draft["customer_csv_key"])
    # Running again: still nothing, nothing to delete.
    again = save_customer_invoice("run-3", PERIOD, "idle", "issue", _empty_invoice("idle"), "-")
    assert again == {
        "customer_id": "idle",
        "status": "unchanged",
        "invoice_id": None,
        "reason": "nothing to bill",
    }


def test_after_a_void_the_pointer_goes_back_to_the_void_invoice(clean_stack: Any) -> None:
    from chalicelib.service import invoices as lifecycle
    from chalicelib.service.run_invoices import save_customer_invoice
    from chalicelib.store import invoices
    from tests.api.conftest import invoice_doc, store_invoice

    _reference(with_subscription=False)
    issued = store_invoice("idle", PERIOD, status="issued")
    lifecycle.void_invoice(issued["id"], "wrong plan")
    void_pointer = invoices.live_pointer("idle", PERIOD)
    assert void_pointer is not None and void_pointer["status"] == "void"
    second = invoice_doc("idle", PERIOD, sequence=2)
    invoices.save_live_invoice(second, void_pointer)

    result = save_customer_invoice("run-2", PERIOD, "idle", "draft", _empty_invoice("idle"), "-")
    assert (result["deleted_draft_id"], result["invoice_id"]) == (second["id"], None)
    assert invoices.live_pointer("idle", PERIOD) == void_pointer
    # The next invoice of the period takes the deleted draft's sequence again.
    again = invoice_doc("idle", PERIOD, sequence=2)
    invoices.save_live_invoice(again, invoices.live_pointer("idle", PERIOD))
    assert invoices.get_invoice(again["id"])["status"] == "draft"
    # An issued invoice is never touched, even with nothing to bill now.
    issued_again = lifecycle.issue_invoice(again["id"])
    kept = save_customer_invoice("run-3", PERIOD, "idle", "issue", _empty_invoice("idle"), "-")
    assert kept["status"] == "unchanged" and kept["invoice_id"] == issued_again["id"]
    assert invoices.get_invoice(issued_again["id"])["status"] == "issued"
