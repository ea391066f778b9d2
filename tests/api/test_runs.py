"""Invoice runs, bills and the report through the API, on the embedded AWS: the state machine,
the ingest Lambda and the billing engine really run."""

from __future__ import annotations

import csv
import io
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import PERIOD, Api, customer_body

pytestmark = pytest.mark.stack


def _wait(api: Api, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = api.get(f"/invoice-runs/{run_id}").json
        if run["status"] != "running":
            return run
        time.sleep(0.2)
    raise TimeoutError(run_id)


def _put(url: str, data: bytes) -> Any:
    """PUT bytes to a presigned URL, as a client does (a form content type would be parsed)."""
    request = urllib.request.Request(
        url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    return urllib.request.urlopen(request, timeout=120)


def _load_reference_through_the_api(api: Api, reference: dict[str, Any]) -> None:
    assert api.put("/settings", body=reference["settings"]).status == 200
    for path, docs in (
        ("/price-lists", reference["price_lists"]),
        ("/plans", reference["plans"]),
        ("/customers", reference["customers"]),
    ):
        for doc in docs:
            reply = api.post(path, body=doc)
            assert reply.status == 201, (path, reply)
    for kind in ("accounts", "subscriptions"):
        for doc in reference[kind]:
            reply = api.post(f"/customers/{doc['customer_id']}/{kind}", body=doc)
            assert reply.status == 201, (kind, reply)


def test_a_month_end_through_the_api(api: Api, tmp_path: Path) -> None:
    from localaws.demo import wait_for_deliveries
    from localaws.demo_data import DEMO_PERIOD, UNASSIGNED, demo_reference, write_demo_bills

    reference = demo_reference()
    _load_reference_through_the_api(api, reference)

    # Bills: the client PUTs each file to a presigned URL; the bucket notification does the rest.
    files = sorted(write_demo_bills(tmp_path), key=lambda f: str(f).endswith("-Manifest.json"))
    for relative in files:
        link = api.post("/bills/upload-url", body={"filename": str(relative)}).json
        assert link["key"] == f"bills/{relative}"
        with _put(link["upload_url"], (tmp_path / relative).read_bytes()) as response:
            assert response.status == 200
    wait_for_deliveries()  # the report's manifest started its ingest-report execution
    listed = api.get("/bills", period=DEMO_PERIOD).json["items"]
    assert listed and {b["status"] for b in listed} == {"processed"}, listed

    started = api.post("/invoice-runs", body={"period": DEMO_PERIOD})
    assert started.status == 202, started
    run_id = started.json["run_id"]
    assert started.headers["location"] == f"/invoice-runs/{run_id}"
    run = _wait(api, run_id)
    customers = {c["id"] for c in reference["customers"]}
    assert run["status"] == "succeeded", run["errors"]
    assert run["progress"]["saved"] == run["progress"]["customers"] == len(customers)
    assert run["errors"] == []

    invoices = api.get("/invoices", period=DEMO_PERIOD).json["items"]
    assert {i["customer_id"] for i in invoices} == customers
    assert {i["status"] for i in invoices} == {"issued"}
    link = api.get(f"/invoices/{invoices[0]['id']}/csv", redirect=False).json
    with urllib.request.urlopen(link["url"], timeout=10) as response:
        header = next(csv.reader(io.StringIO(response.read().decode("utf-8-sig"))))
    assert "price" in header, header

    report = api.get("/reports/billing", period=DEMO_PERIOD).json
    _matches_schema(report, "BillingReport")
    assert {row["customer_id"] for row in report["rows"]} == customers
    totals = {entry["currency"]: entry["customers"] for entry in report["totals"]}
    assert sum(totals.values()) == len(customers)
    assert all(row["invoice"]["status"] == "issued" for row in report["rows"])
    assert [u["account_id"] for u in report["unassigned"]] == [UNASSIGNED]
    # The run reconciled the bills: the unassigned account's cost is part of the identity.
    reconciled = report["reconciliation"]
    assert reconciled["balanced"] is True and reconciled["run_id"] == run_id
    assert api.get(f"/invoice-runs/{run_id}").json["reconciliation"] == reconciled
    assert Decimal(reconciled["currencies"][0]["unassigned"]) != 0
    spreadsheet = api.get("/reports/billing", period=DEMO_PERIOD, format="csv")
    assert spreadsheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(spreadsheet.body.decode())))
    assert {r["customer_id"] for r in rows} == customers


def test_a_run_reports_progress_and_the_customers_that_failed(
    api: Api, reference_data: Any
) -> None:
    # A customer in EUR subscribed to a USD plan, with no FX rate: its invoice cannot be made.
    assert api.post("/customers", body=customer_body("euro", "EUR")).status == 201
    subscription = {"plan_id": "growth", "start_date": "2026-10-01"}
    assert api.post("/customers/euro/subscriptions", body=subscription).status == 201
    started = api.post("/invoice-runs", body={"period": PERIOD, "mode": "draft"})
    run = _wait(api, started.json["run_id"])
    assert run["status"] == "partial", run
    assert run["progress"] == {
        "customers": 3,
        "done": 3,
        "saved": 2,
        "unchanged": 0,
        "failed": 1,
    }
    [error] = run["errors"]
    assert error["customer_id"] == "euro"
    assert "EUR" in error["message"] or "rate" in error["message"].lower()
    drafts = api.get("/invoices", period=PERIOD, status="draft").json["items"]
    assert {d["customer_id"] for d in drafts} == {"acme", "globex"}


def test_the_same_request_while_a_run_executes_returns_that_run(
    api: Api, reference_data: Any
) -> None:
    from chalicelib.service.runs import run_key
    from chalicelib.store import invoices

    # A run of this scope is under way (as the first request left it).
    run_id = f"{PERIOD}-issue-{run_key(PERIOD, 'issue', ['acme'])}-1"
    invoices.create_run(
        run_id,
        {
            "run_id": run_id,
            "period": PERIOD,
            "mode": "issue",
            "status": "running",
            "requested_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    for _ in range(2):
        reply = api.post("/invoice-runs", body={"period": PERIOD, "customer_ids": ["acme"]})
        assert (reply.status, reply.json) == (202, {"run_id": run_id, "status": "running"})


def test_progress_of_a_running_run(api: Api) -> None:
    from chalicelib.store import invoices

    invoices.create_run(
        "r-1",
        {
            "run_id": "r-1",
            "period": PERIOD,
            "mode": "issue",
            "status": "running",
            "customer_count": 4,
        },
    )
    invoices.record_result("r-1", "a", {"customer_id": "a", "status": "saved"})
    invoices.record_result(
        "r-1",
        "b",
        {
            "customer_id": "b",
            "status": "failed",
            "error": {"type": "MissingFxRate", "message": "no USD→EUR rate for 2026-10"},
        },
    )
    run = api.get("/invoice-runs/r-1").json
    assert run["progress"] == {"customers": 4, "done": 2, "saved": 1, "unchanged": 0, "failed": 1}
    assert run["errors"] == [
        {"customer_id": "b", "type": "MissingFxRate", "message": "no USD→EUR rate for 2026-10"}
    ]
    assert api.get("/invoice-runs/r-2").status == 404


def test_a_run_names_the_customers_that_do_not_exist(api: Api, reference_data: Any) -> None:
    reply = api.post("/invoice-runs", body={"period": PERIOD, "customer_ids": ["acme", "nope"]})
    assert (reply.status, reply.json["field"]) == (400, "customer_ids[1]")


def test_the_upload_link_is_sigv4_and_takes_the_bytes(api: Api) -> None:
    link = api.post("/bills/upload-url", body={"filename": "acme/notes.txt"}).json
    params = urllib.parse.parse_qs(urllib.parse.urlparse(link["upload_url"]).query)
    assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "AWSAccessKeyId" not in params and "Signature" not in params
    assert int(params["X-Amz-Expires"][0]) <= 900
    with _put(link["upload_url"], b"hello") as response:
        assert response.status == 200
    from chalicelib.store import objects

    # The bytes landed (the ingest that the upload triggered may have moved the file aside).
    [key] = [k for k in objects.list_keys("") if k.endswith("acme/notes.txt")]
    assert objects.get_bytes(key) == b"hello"


def test_a_failed_bill_says_why(api: Api) -> None:
    link = api.post("/bills/upload-url", body={"filename": "broken/cur-2026-10.csv"}).json
    with _put(link["upload_url"], b"not,a\nbill"):
        pass
    period = datetime.now(UTC).strftime("%Y-%m")
    bills = api.get("/bills", period=period).json["items"]
    [bill] = [b for b in bills if b["key"] == link["key"]]
    assert bill["status"] == "failed"
    assert bill["error"]["message"]


def _matches_schema(value: Any, name: str) -> None:
    """The response has the shape the OpenAPI document promises."""
    from jsonschema import Draft202012Validator

    from chalicelib.api.openapi import document

    schema = {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
