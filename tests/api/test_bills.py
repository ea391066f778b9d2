"""Bill files through the API: uploaded under names of the user's choosing, found by status,
and one file with what it collided with."""

from __future__ import annotations

import urllib.request
from typing import Any

from tests.api.conftest import Api
from tests.api.test_runs import _matches_schema
from tests.bill_files import curgen

PERIOD = "2026-10"


def _upload(api: Api, filename: str, body: bytes) -> dict[str, Any]:
    link = api.post("/bills/upload-url", body={"filename": filename}).json
    request = urllib.request.Request(
        link["upload_url"],
        data=body,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    urllib.request.urlopen(request, timeout=120).close()
    [bill] = [b for b in api.get("/bills", period=PERIOD).json["items"] if b["key"] == link["key"]]
    return bill


def _line(line_id: str, account: str, cost: str) -> dict[str, str]:
    return curgen.line(
        identity__LineItemId=line_id,
        identity__TimeInterval="2026-10-05T10:00:00Z/2026-10-05T11:00:00Z",
        lineItem__UsageAccountId=account,
        lineItem__UnblendedCost=cost,
    )


def test_duplicates_and_refusals_are_found_by_status_and_explained(api: Api) -> None:
    month = curgen.render([_line("a", "111111111111", "10"), _line("b", "222222222222", "5")])
    first = _upload(api, "october.csv", month)
    again = _upload(api, "october (1).csv", month)
    refused = _upload(api, "acme-only.csv", curgen.render([_line("a", "111111111111", "9")]))
    assert (first["status"], again["status"], refused["status"]) == (
        "processed",
        "duplicate",
        "refused",
    )

    detail = api.get(f"/bills/{again['id']}").json
    _matches_schema(detail, "BillDetail")
    assert detail["duplicate_of"] == {"bill_id": first["id"], "key": "bills/october.csv"}
    assert detail["duplicate_of_bill"]["id"] == first["id"]
    assert detail["current_in"] == []

    detail = api.get(f"/bills/{refused['id']}").json
    assert detail["collided_with_bill"]["key"] == "bills/october.csv"
    assert "1 line(s) of this file are already current" in detail["error"]["message"]
    assert detail["quarantine_key"] == "quarantine/acme-only.csv"
    assert api.get(f"/bills/{first['id']}").json["current_in"] == [PERIOD]

    # Every period's files of a status, newest first, paged.
    listed = api.get("/bills", status="refused").json
    assert [b["id"] for b in listed["items"]] == [refused["id"]]
    assert [b["id"] for b in api.get("/bills", status="duplicate").json["items"]] == [again["id"]]
    page = api.get("/bills", status="processed", limit=1).json
    assert [b["id"] for b in page["items"]] == [first["id"]] and page["next_cursor"] is None
    in_period = api.get("/bills", period=PERIOD, status="duplicate").json["items"]
    assert [b["id"] for b in in_period] == [again["id"]]


def test_bill_lookups_answer_in_the_documented_shape(api: Api) -> None:
    missing = api.get("/bills/0123456789abcdef01234567")
    assert (missing.status, missing.json["code"]) == (404, "not_found")
    assert api.get("/bills/not-a-bill-id").json["code"] == "not_found"
    reply = api.get("/bills")
    assert (reply.status, reply.json["field"]) == (400, "period")
    assert api.get("/bills", status="lost").status == 400


def test_bill_totals_have_display_twins_rounded_to_the_currency(api: Api) -> None:
    bill = _upload(
        api,
        "display.csv",
        curgen.render([_line("d-1", "111111111111", "1.005"), _line("d-2", "1", "2.0000001")]),
    )
    assert bill["status"] == "processed", bill
    assert bill["totals"]["billed_cost"].startswith("3.0050001")
    assert bill["totals_display"]["billed_cost"] == "3.01"
    assert set(bill["totals_display"]) == set(bill["totals"])
    detail = api.get(f"/bills/{bill['id']}").json
    assert detail["totals_display"] == bill["totals_display"]
    [listed] = [b for b in api.get("/bills", status="processed").json["items"]]
    assert listed["totals_display"]["billed_cost"] == "3.01"
    _matches_schema(detail, "BillDetail")
