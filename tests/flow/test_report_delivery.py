"""A multi-part CUR delivery landing in the bucket: the manifest's S3 event starts the real
ingest-report state machine, which takes the parts in side by side and publishes the delivery."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.bill_files import curgen

pytestmark = pytest.mark.stack

REPORT = "bills/cur/acme/20261001-20261101"
PERIOD = "2026-10"


def _part(costs: list[str], account: str = "012345678901") -> bytes:
    lines = [
        curgen.line(
            lineItem__UnblendedCost=cost,
            pricing__publicOnDemandCost=cost,
            lineItem__UsageAccountId=account,
            identity__LineItemId=uuid.uuid4().hex,
        )
        for cost in costs
    ]
    return gzip.compress(curgen.render(lines))


def _manifest(assembly: str, keys: list[str]) -> bytes:
    return json.dumps(
        {
            "assemblyId": assembly,
            "reportName": "acme",
            "billingPeriod": {"start": "20261001T000000.000Z", "end": "20261101T000000.000Z"},
            "reportKeys": keys,
        }
    ).encode()


def _put(key: str, body: bytes) -> str:
    from chalicelib.store import objects
    from chalicelib.store.aws import client

    etag: str = client("s3").put_object(Bucket=objects.bucket(), Key=key, Body=body)["ETag"]
    return etag.strip('"')


def _delivery_id(manifest_key: str, etag: str, body: bytes) -> str:
    from chalicelib.service.bill_intake import LandedObject
    from chalicelib.service.report_deliveries import delivery_of

    delivery = delivery_of(LandedObject(manifest_key, etag, 0, ""), json.loads(body))
    assert delivery is not None
    return str(delivery["delivery_id"])


def _executions() -> list[dict[str, Any]]:
    from chalicelib.config import get_config
    from chalicelib.store.aws import client

    sfn = client("stepfunctions")
    arn = get_config().ingest_report_state_machine_arn
    found: list[dict[str, Any]] = sfn.list_executions(stateMachineArn=arn)["executions"]
    return found


def _wait(delivery_id: str, timeout: float = 120) -> dict[str, Any]:
    """The finished execution of a delivery (moto runs it in a thread of its own)."""
    from chalicelib.store import bills
    from chalicelib.store.aws import client

    sfn = client("stepfunctions")
    delivery = bills.get_delivery(delivery_id)
    assert delivery is not None, f"the manifest's event did not start {delivery_id}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=delivery["execution_arn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    raise AssertionError(f"the execution of {delivery_id} did not finish")


def _deliver(
    parts: list[bytes], *, manifest_first: bool = False, assembly: str | None = None
) -> tuple[str, list[str], dict[str, Any]]:
    """Land a delivery as AWS writes it; return its id, its part keys and its execution."""
    assembly = assembly or str(uuid.uuid4())
    keys = [f"{REPORT}/{assembly}/acme-{n}.csv.gz" for n in range(1, len(parts) + 1)]
    manifest_key = f"{REPORT}/acme-Manifest.json"
    body = _manifest(assembly, keys)
    if manifest_first:
        delivery_id = _delivery_id(manifest_key, _put(manifest_key, body), body)
        time.sleep(1)  # the execution is already asking for the parts
    for key, part in zip(keys, parts, strict=True):
        _put(key, part)
    if not manifest_first:
        delivery_id = _delivery_id(manifest_key, _put(manifest_key, body), body)
    return delivery_id, keys, _wait(delivery_id)


def _billed(aggregates: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(a["billed_cost"]) for a in aggregates), Decimal(0))


PARTS = [["1.25", "2.50"], ["10.0000000001", "0.75"], ["100", "-3.125"]]
PARTS_TOTAL = Decimal("111.3750000001")


def test_a_three_part_delivery_fans_out_and_becomes_current_at_once(clean_stack: Any) -> None:
    from chalicelib.store import bills

    delivery_id, keys, execution = _deliver([_part(costs) for costs in PARTS])
    assert execution["status"] == "SUCCEEDED", execution
    delivery = bills.get_delivery(delivery_id)
    assert delivery is not None and delivery["status"] == "current"
    current = bills.current_aggregates(PERIOD)
    records = [b for b in bills.bills_of_period(PERIOD) if b["key"] in keys]
    assert {b["status"] for b in records} == {"processed"} and len(records) == 3
    assert {a["bill_id"] for a in current} == {b["id"] for b in records}
    assert _billed(current) == PARTS_TOTAL
    assert Decimal(delivery["totals"]["billed_cost"]) == PARTS_TOTAL
    # One record per part, each with its own part's total.
    by_key = {b["key"]: Decimal(b["totals"]["billed_cost"]) for b in records}
    assert sorted(by_key.values()) == sorted(
        sum((Decimal(c) for c in costs), Decimal(0)) for costs in PARTS
    )


def test_a_redelivery_replaces_the_previous_one(clean_stack: Any) -> None:
    from chalicelib.store import bills

    first_id, first_keys, first = _deliver([_part(costs) for costs in PARTS])
    second_id, second_keys, second = _deliver([_part(["5"]), _part(["7.5"])])
    assert (first["status"], second["status"]) == ("SUCCEEDED", "SUCCEEDED")
    current = bills.current_aggregates(PERIOD)
    assert _billed(current) == Decimal("12.5")
    statuses = {b["key"]: b["status"] for b in bills.bills_of_period(PERIOD)}
    assert {statuses[k] for k in first_keys} == {"superseded"}
    assert {statuses[k] for k in second_keys} == {"processed"}
    assert bills.get_delivery(first_id)["status"] == "superseded"  # type: ignore[index]
    assert bills.get_delivery(second_id)["status"] == "current"  # type: ignore[index]


def test_a_bad_part_fails_the_delivery_and_the_previous_one_stays_current(
    clean_stack: Any,
) -> None:
    from chalicelib.store import bills, objects

    _, _, good = _deliver([_part(costs) for costs in PARTS])
    assert good["status"] == "SUCCEEDED"
    before = bills.current_aggregates(PERIOD)

    bad = gzip.compress(b"lineItem/UsageAccountId,name\n1,2\n")
    delivery_id, keys, execution = _deliver([_part(["1"]), bad, _part(["2"])])
    assert execution["status"] == "FAILED"
    assert execution.get("error") == "DeliveryFailed"
    delivery = bills.get_delivery(delivery_id)
    assert delivery is not None and delivery["status"] == "failed"
    assert [f["part_key"] for f in delivery["failed_parts"]] == [keys[1]]
    assert bills.current_aggregates(PERIOD) == before
    assert _billed(bills.current_aggregates(PERIOD)) == PARTS_TOTAL
    # The bad part is quarantined, never deleted; its record says what is wrong.
    record = bills.get_bill(bills.part_outcomes(delivery_id)[keys[1]]["bill_id"])
    assert record is not None
    assert record["status"] == "failed" and record["error"]["message"].startswith(keys[1])
    assert objects.head(keys[1]) is None
    assert objects.get_bytes(record["quarantine_key"]) == bad


def test_the_same_manifest_event_twice_starts_one_execution(clean_stack: Any) -> None:
    from chalicelib.store import bills, objects
    from chalicelib.store.aws import client
    from chalicelib.workflow import bill_events

    delivery_id, _, execution = _deliver([_part(["4"]), _part(["6"])])
    assert execution["status"] == "SUCCEEDED"
    manifest_key = f"{REPORT}/acme-Manifest.json"
    etag = client("s3").head_object(Bucket=objects.bucket(), Key=manifest_key)["ETag"]
    event = {"Records": [{"s3": {"object": {"key": manifest_key, "eTag": etag, "size": 1}}}]}
    [again] = bill_events.handle_s3_event(event)
    assert again == {"manifest": manifest_key, "delivery_id": delivery_id, "duplicate": True}
    started = [e["executionArn"] for e in _executions() if e["name"].startswith(delivery_id)]
    assert started == [execution["executionArn"]]
    assert _billed(bills.current_aggregates(PERIOD)) == Decimal(10)


def test_a_manifest_that_lands_before_its_parts_waits_for_them(clean_stack: Any) -> None:
    from chalicelib.store import bills

    delivery_id, keys, execution = _deliver([_part(costs) for costs in PARTS], manifest_first=True)
    assert execution["status"] == "SUCCEEDED", execution
    assert bills.get_delivery(delivery_id)["status"] == "current"  # type: ignore[index]
    assert _billed(bills.current_aggregates(PERIOD)) == PARTS_TOTAL
    records = [b for b in bills.bills_of_period(PERIOD) if b["key"] in keys]
    assert {b["status"] for b in records} == {"processed"} and len(records) == 3
    # The execution was under way before any part landed, and still took every part in.
    landed = [datetime.fromisoformat(b["received_at"].replace("Z", "+00:00")) for b in records]
    assert min(landed) > execution["startDate"]


def test_a_part_event_alone_only_records_that_the_part_landed(clean_stack: Any) -> None:
    from chalicelib.service.bill_intake import LandedObject
    from chalicelib.store import bills

    key = f"{REPORT}/{uuid.uuid4()}/acme-1.csv.gz"
    record = bills.get_bill(LandedObject(key, _put(key, _part(["9"])), 0, "").bill_id)
    assert record is not None and record["status"] == "processing" and record["landed"] is True
    assert bills.current_aggregates(PERIOD) == []


def test_a_failed_delivery_is_taken_in_once_its_bad_part_is_delivered_again(
    clean_stack: Any,
) -> None:
    from chalicelib.store import bills

    bad = gzip.compress(b"lineItem/UsageAccountId,name\n1,2\n")
    delivery_id, keys, failed = _deliver([_part(["1"]), bad, _part(["2"])])
    assert failed["status"] == "FAILED"
    assert bills.current_aggregates(PERIOD) == []

    # The fixed part lands under the same key, then the same manifest once more.
    _put(keys[1], _part(["4"]))
    manifest_key = f"{REPORT}/acme-Manifest.json"
    body = _manifest(keys[0].split("/")[-2], keys)
    assert _delivery_id(manifest_key, _put(manifest_key, body), body) == delivery_id
    second = _wait(delivery_id)
    assert second["status"] == "SUCCEEDED" and second["executionArn"] != failed["executionArn"]
    assert bills.get_delivery(delivery_id)["status"] == "current"  # type: ignore[index]
    assert _billed(bills.current_aggregates(PERIOD)) == Decimal(7)


def test_a_failure_of_ours_in_a_part_is_retried(
    clean_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.service import bill_intake as ingest
    from chalicelib.store import bills

    real = ingest.normalize_bill
    failures: list[str] = []

    def outage_once(source: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(str(source))
            raise OSError("No space left on device")
        return real(source, **kwargs)

    monkeypatch.setattr(ingest, "normalize_bill", outage_once)
    delivery_id, keys, execution = _deliver([_part(["3"]), _part(["5"])])
    assert failures, "the outage never happened"
    assert execution["status"] == "SUCCEEDED", execution
    assert bills.get_delivery(delivery_id)["status"] == "current"  # type: ignore[index]
    assert _billed(bills.current_aggregates(PERIOD)) == Decimal(8)
    records = [b for b in bills.bills_of_period(PERIOD) if b["key"] in keys]
    assert {(b["status"], b["retryable"]) for b in records} == {("processed", False)}


EXPORT = "bills/exports/acme-cur2"


def _cur2_part(costs: list[str]) -> bytes:
    """A CUR 2.0 data file as Data Exports writes it with CSV and gzip."""
    header = (
        "line_item_line_item_type,line_item_unblended_cost,pricing_public_on_demand_cost,"
        "line_item_usage_account_id,bill_payer_account_id,bill_invoice_id,"
        "line_item_product_code,bill_billing_period_start_date,line_item_usage_start_date,"
        "line_item_currency_code,product"
    )
    rows = [
        f"Usage,{cost},{cost},012345678901,000011112222,,AmazonS3,"
        f"2026-10-01T00:00:00Z,2026-10-0{n + 1}T00:00:00Z,USD,"
        '"{""product_name"":""Amazon Simple Storage Service""}"'
        for n, cost in enumerate(costs)
    ]
    return gzip.compress("\n".join([header, *rows, ""]).encode())


def _export(execution_id: str, parts: list[bytes]) -> tuple[str, list[str]]:
    """Land one Data Exports execution: its data files, then its manifest."""
    from chalicelib.store import objects

    keys = [
        f"{EXPORT}/data/BILLING_PERIOD={PERIOD}/{execution_id}/acme-cur2-0000{n}.csv.gz"
        for n in range(1, len(parts) + 1)
    ]
    for key, part in zip(keys, parts, strict=True):
        _put(key, part)
    manifest_key = f"{EXPORT}/metadata/BILLING_PERIOD={PERIOD}/acme-cur2-Manifest.json"
    body = json.dumps(
        {
            "executionId": execution_id,
            "exportArn": "arn:aws:bcm-data-exports:us-east-1:000011112222:export/acme-cur2",
            "billingPeriod": {"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
            "dataFiles": [f"s3://{objects.bucket()}/{key}" for key in keys],
        }
    ).encode()
    return _delivery_id(manifest_key, _put(manifest_key, body), body), keys


def test_a_data_exports_delivery_is_taken_in_through_its_manifest(clean_stack: Any) -> None:
    from chalicelib.store import bills

    first, first_keys = _export(str(uuid.uuid4()), [_cur2_part(["1.5", "2"]), _cur2_part(["3"])])
    assert _wait(first)["status"] == "SUCCEEDED"
    delivery = bills.get_delivery(first)
    assert delivery is not None and delivery["status"] == "current"
    assert delivery["report"] == EXPORT and delivery["period"] == PERIOD
    # The data files' own events did not take them in a second time.
    records = [b for b in bills.bills_of_period(PERIOD) if b["key"] in first_keys]
    assert len(records) == 2 and {b["format"] for b in records} == {"aws-cur2"}
    assert _billed(bills.current_aggregates(PERIOD)) == Decimal("6.5")

    # The export's next execution replaces the first one as a whole.
    second, _ = _export(str(uuid.uuid4()), [_cur2_part(["10", "0.25"])])
    assert _wait(second)["status"] == "SUCCEEDED"
    assert _billed(bills.current_aggregates(PERIOD)) == Decimal("10.25")
    assert {bills.get_bill(b["id"])["status"] for b in records} == {"superseded"}
