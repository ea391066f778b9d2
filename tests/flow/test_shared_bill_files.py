"""Bill files that several accounts share (a bill over many accounts writes its small ones that
way, chalicelib/bill_files/partition.py) give the same invoices, CSVs and reconciliation as a
file per account, and lines already current are found in them as in a file per account."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.bill_files import curgen
from tests.bill_files.test_partitions import share_files
from tests.flow.test_duplicate_bills import (
    ACME,
    GLOBEX,
    INITECH,
    PERIOD,
    _current_billed,
    _land,
    _line,
)
from tests.flow.test_invoice_batches import VOLATILE

pytestmark = pytest.mark.stack

# The invoice's own identity (new in each stack) besides what VOLATILE names.
IDENTITY = ("id",)


def _month(shared: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Load the demo month and run it; each customer's draft (without what differs per
    computation), its two CSVs, and the reconciliation."""
    from chalicelib.store import bills, invoices, objects
    from localaws import demo

    if shared:  # every bill "over many accounts": all its accounts in one file per period
        _share_every_bills_files(monkeypatch)
    period = demo.load_demo()
    keys = {a["parquet_key"] for a in bills.current_aggregates(period)}
    assert any("/accounts=" in key for key in keys) is shared
    run = demo.run_invoices(period, mode="draft")
    assert run["status"] == "succeeded", run.get("errors")
    drafts = {}
    for invoice in invoices.invoices_of_period(period):
        stable = {k: v for k, v in invoice.items() if k not in VOLATILE + IDENTITY}
        drafts[invoice["customer_id"]] = (
            stable,
            objects.get_bytes(invoice["csv_key"]),
            objects.get_bytes(invoice["customer_csv_key"]),
        )
    reconciliation = {
        k: v for k, v in run["reconciliation"].items() if k not in ("run_id", "computed_at")
    }
    return {"drafts": drafts, "reconciliation": reconciliation, "files": len(keys)}


def test_shared_files_give_the_same_invoices_and_reconciliation(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.reset_data()
    apart = _month(False, monkeypatch)
    stack.reset_data()
    shared = _month(True, monkeypatch)
    assert shared["files"] < apart["files"]
    assert len(apart["drafts"]) == 4
    assert shared["drafts"] == apart["drafts"]
    assert shared["reconciliation"] == apart["reconciliation"]
    assert shared["reconciliation"]["balanced"] is True


def _share_every_bills_files(monkeypatch: pytest.MonkeyPatch) -> None:
    share_files(monkeypatch, 10**9, per_copy=1)  # all of a bill's accounts in one file


def test_lines_already_current_are_counted_in_the_shared_accounts_only(
    clean_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both files in shared files. The second shares acme's account with the first: a line of
    # acme already current refuses it; a line of another account with the id of a line of an
    # account it does not share (l2: globex's there, initech's here) is not compared, as with a
    # file per account.
    from chalicelib.store import bills

    _share_every_bills_files(monkeypatch)
    first = _land(
        "bills/october.csv", curgen.render([_line("l1", ACME, "10"), _line("l2", GLOBEX, "20")])
    )
    assert first["status"] == "processed", first["error"]
    assert len({a["parquet_key"] for a in bills.current_aggregates(PERIOD)}) == 1

    other = _land(
        "bills/initech.csv", curgen.render([_line("x1", ACME, "1"), _line("l2", INITECH, "5")])
    )
    assert other["status"] == "processed", other.get("error")
    assert _current_billed() == {ACME: Decimal(11), GLOBEX: Decimal(20), INITECH: Decimal(5)}

    again = _land(
        "bills/acme.csv", curgen.render([_line("l1", ACME, "10"), _line("y1", INITECH, "2")])
    )
    assert again["status"] == "refused"
    assert "1 line(s) of this file are already current" in again["error"]["message"]
    assert _current_billed() == {ACME: Decimal(11), GLOBEX: Decimal(20), INITECH: Decimal(5)}
