"""A bill is never counted twice, whatever the file is called or how it arrives.

Every file here lands through the bucket notification and the real ingest Lambda; invoice runs
go through the real generate-invoices state machine.
"""

from __future__ import annotations

import gzip
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.bill_files import curgen
from tests.conftest import EXTERNAL_DATA

pytestmark = pytest.mark.stack

PERIOD = "2026-10"
PAYER = "999999999999"  # the demo reseller's payer account
ACME = "111111111111"
GLOBEX = "012345678901"
INITECH = "333333333333"


def _land(key: str, body: bytes) -> dict[str, Any]:
    from chalicelib.service.bill_intake import LandedObject
    from chalicelib.store import bills, objects
    from chalicelib.store.aws import client

    etag = client("s3").put_object(Bucket=objects.bucket(), Key=key, Body=body)["ETag"]
    record = bills.get_bill(LandedObject(key, etag.strip('"'), 0, "").bill_id)
    assert record is not None, f"no bill record for {key}: the notification did not fire"
    return record


def _bill(bill_id: str) -> dict[str, Any]:
    from chalicelib.store import bills

    record = bills.get_bill(bill_id)
    assert record is not None
    return record


def _current_billed(period: str = PERIOD) -> dict[str, Decimal]:
    from chalicelib.store import bills

    totals: dict[str, Decimal] = {}
    for aggregate in bills.current_aggregates(period):
        account = aggregate["account_id"]
        totals[account] = totals.get(account, Decimal(0)) + Decimal(aggregate["billed_cost"])
    return totals


def _line(line_id: str, account: str, cost: str, payer: str = PAYER, hour: int = 10) -> dict:
    return curgen.line(
        identity__LineItemId=line_id,
        identity__TimeInterval=f"2026-10-05T{hour:02d}:00:00Z/2026-10-05T{hour + 1:02d}:00:00Z",
        bill__PayerAccountId=payer,
        lineItem__UsageAccountId=account,
        lineItem__UsageStartDate=f"2026-10-05T{hour:02d}:00:00Z",
        lineItem__UsageEndDate=f"2026-10-05T{hour + 1:02d}:00:00Z",
        lineItem__UnblendedCost=cost,
        pricing__publicOnDemandCost=cost,
    )


def _cloud_usage(run_invoices: Any) -> dict[str, Decimal]:
    from chalicelib.store import invoices

    run = run_invoices(PERIOD, "draft")
    assert run["status"] == "succeeded", run.get("errors")
    assert run["reconciliation"]["balanced"] is True, run["reconciliation"]
    assert run["reconciliation"]["duplicated_lines"] == 0
    return {
        i["customer_id"]: Decimal(i["cloud_usage_total"])
        for i in invoices.invoices_of_period(PERIOD)
    }


def test_the_same_cur_uploaded_twice_under_two_names_is_counted_once(clean_stack: Any) -> None:
    """The demo's month, uploaded as `cur-2026-10.csv.gz` and again as `cur-2026-10(1).csv.gz`:
    the second is recorded as a duplicate of the first and every invoice stays the same."""
    from localaws import demo
    from localaws.demo_data import write_demo_bills

    demo.load_reference(demo.demo_reference())
    with tempfile.TemporaryDirectory() as tmp:
        data = next(p for p in write_demo_bills(tmp) if str(p).endswith(".csv.gz"))
        body = (Path(tmp) / data).read_bytes()
    first = _land("bills/cur-2026-10.csv.gz", body)
    assert first["status"] == "processed", first["error"]
    billed_once = _current_billed()
    invoiced_once = _cloud_usage(demo.run_invoices)

    second = _land("bills/cur-2026-10(1).csv.gz", body)
    assert second["status"] == "duplicate"
    assert second["duplicate_of"] == {"bill_id": first["id"], "key": "bills/cur-2026-10.csv.gz"}
    assert "byte for byte" in second["error"]["message"]
    assert _current_billed() == billed_once
    assert _cloud_usage(demo.run_invoices) == invoiced_once


def test_a_part_of_a_delivery_uploaded_again_by_hand_is_a_duplicate(clean_stack: Any) -> None:
    from localaws import demo

    demo.load_reference(demo.demo_reference())
    demo.load_demo()
    billed = _current_billed()
    part = next(b for b in _bills_of_period() if b["status"] == "processed")
    body = _original_bytes(part["key"])
    again = _land("bills/uploads/october.csv.gz", body)
    assert again["status"] == "duplicate" and again["duplicate_of"]["bill_id"] == part["id"]
    assert _current_billed() == billed


def _bills_of_period() -> list[dict[str, Any]]:
    from chalicelib.store import bills

    return bills.bills_of_period(PERIOD)


def _original_bytes(key: str) -> bytes:
    from chalicelib.store import objects

    return objects.get_bytes(key)


def test_a_newer_month_to_date_export_under_another_name_replaces_the_older(
    clean_stack: Any,
) -> None:
    day5 = curgen.render([_line("l1", ACME, "10"), _line("l2", GLOBEX, "20")])
    # The next day's export restates l1 and adds a line and an account.
    day6 = curgen.render(
        [
            _line("l1", ACME, "11"),
            _line("l2", GLOBEX, "20"),
            _line("l3", INITECH, "5", hour=11),
        ]
    )
    older = _land("bills/exports/october-day5.csv", day5)
    newer = _land("bills/exports/october-day6.csv", gzip.compress(day6))
    assert newer["status"] == "processed", newer["error"]
    assert _bill(older["id"])["status"] == "superseded"
    assert _current_billed() == {ACME: Decimal(11), GLOBEX: Decimal(20), INITECH: Decimal(5)}

    # The older export arriving once more (re-sent under a third name) changes nothing.
    late = _land("bills/exports/october-day5-resent.csv", day5)
    assert late["status"] == "duplicate" and late["duplicate_of"]["bill_id"] == older["id"]
    assert _current_billed() == {ACME: Decimal(11), GLOBEX: Decimal(20), INITECH: Decimal(5)}


def test_a_file_whose_lines_are_already_current_is_refused_and_quarantined(
    clean_stack: Any,
) -> None:
    from chalicelib.store import objects

    full = _land(
        "bills/exports/october.csv",
        curgen.render([_line("l1", ACME, "10"), _line("l2", GLOBEX, "20")]),
    )
    # Only acme's account, the same line id: neither a newer export of the bill nor new lines.
    body = curgen.render([_line("l1", ACME, "10.50")])
    part = _land("bills/acme-only.csv", body)
    assert part["status"] == "refused"
    message = part["error"]["message"]
    assert message.startswith("bills/acme-only.csv: 1 line(s) of this file are already current")
    assert "bills/exports/october.csv" in message and GLOBEX in message
    assert part["collided_with"]["bill_id"] == full["id"]
    assert part["collided_with"]["key"] == "bills/exports/october.csv"
    assert objects.head("bills/acme-only.csv") is None
    assert objects.get_bytes(part["quarantine_key"]) == body
    assert _current_billed() == {ACME: Decimal(10), GLOBEX: Decimal(20)}


def test_bills_of_other_payers_are_added_beside_each_other(clean_stack: Any) -> None:
    one = _land("bills/p1.csv", curgen.render([_line("l1", ACME, "10")]))
    two = _land("bills/p2.csv", curgen.render([_line("m1", INITECH, "7", payer="888888888888")]))
    assert one["status"] == two["status"] == "processed"
    assert _current_billed() == {ACME: Decimal(10), INITECH: Decimal(7)}


def test_google_cloud_and_azure_exports_resent_for_the_same_month(clean_stack: Any) -> None:
    """No line ids in these formats: the same bytes are a duplicate; a re-export with a
    restated cost replaces the earlier one (same billing account, same projects)."""
    from chalicelib.store import bills

    azure = (EXTERNAL_DATA / "azure-cost-details-ea.csv").read_bytes()
    first = _land("bills/azure/ea-2023-09.csv", azure)
    assert _land("bills/azure/ea-2023-09 (copy).csv", azure)["status"] == "duplicate"
    restated = azure.replace(b"0.4838709677419368", b"1.4838709677419368")
    assert restated != azure
    second = _land("bills/azure/ea-2023-09-rerun.csv", restated)
    assert second["status"] == "processed", second["error"]
    assert _bill(first["id"])["status"] == "superseded"
    billed = sum(Decimal(a["billed_cost"]) for a in bills.current_aggregates("2023-09"))
    assert billed == Decimal(second["totals"]["billed_cost"])

    gcp = (EXTERNAL_DATA / "gcp-billing-export-2024-03.csv").read_bytes()
    original = _land("bills/gcp/export.csv", gcp)
    copy = _land("bills/gcp/export-again.csv", gcp)
    assert copy["status"] == "duplicate" and copy["duplicate_of"]["bill_id"] == original["id"]
    for period in original["periods"]:
        current = bills.current_set(period).bill_ids()
        assert original["id"] in current and copy["id"] not in current
