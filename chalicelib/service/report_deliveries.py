"""A multi-part report delivery: its parts taken in side by side, then published in one step.

AWS writes a legacy CUR delivery as ``<report>/<yyyymmdd-yyyymmdd>/<assembly id>/<name>-N.csv.gz``
plus ``<name>-Manifest.json`` (beside the parts and/or one level up) listing the parts. The
manifest's landing starts one execution of the ``ingest-report`` state machine for the delivery
(``statemachines/ingest_report.asl.json``):

- ``IngestPart`` runs once per part, in parallel: it normalizes the part, writes its partitions
  and account aggregates keyed by the part's bill id (nothing reads them until a delivery names
  the bill), keeps the part's bill record (processing → processed, or failed with the file
  quarantined) and records the part's outcome on the delivery. A part not in the bucket yet
  raises ``PartNotLanded`` and the state machine asks again later.
- ``PublishDelivery`` makes the delivery the report's current one with the single conditional
  switch of ``chalicelib.store.bills`` only if every part was taken in; otherwise the delivery is
  recorded as failed and the previous one stays current.

A part's own S3 event only records that it landed: the execution takes it in, once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any, TypedDict, cast

from chalicelib.config import get_config
from chalicelib.observability import logger
from chalicelib.service import bill_versions
from chalicelib.service.bill_intake import (
    LandedObject,
    announce_final,
    new_record,
    normalize_and_stage,
    settle,
)
from chalicelib.store import bills, executions, objects
from chalicelib.store.records import BillRecord, DeliveryRecord, FailedPart, PartOutcome


class PartNotLanded(Exception):
    """The manifest names a part that is not in the bucket yet (the state machine retries)."""


class RetriableIngestError(Exception):
    """A failure of ours (not of the file): worth the state machine's retry."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DeliveryInput(TypedDict):
    """The input of a delivery's ``ingest-report`` execution: the delivery and its part keys."""

    delivery_id: str
    manifest_key: str
    report: str
    assembly_id: str
    period: str | None
    delivered_at: str
    expected_parts: int
    parts: list[str]


# --- the S3 events ------------------------------------------------------------------------------


def delivery_of(landed: LandedObject, manifest: dict[str, Any]) -> DeliveryInput | None:
    """The execution input for a manifest: None when it names no parts."""
    if "dataFiles" in manifest:
        return _data_export_delivery(landed, manifest)
    assembly_id = str(manifest.get("assemblyId") or "")
    parts = [str(key) for key in manifest.get("reportKeys") or []]
    if not assembly_id or not parts:
        return None
    path = PurePosixPath(landed.key)
    report = str(path.parent.parent if path.parent.name == assembly_id else path.parent)
    period = str((manifest.get("billingPeriod") or {}).get("start", ""))
    return _delivery(landed, report, assembly_id, period, parts)


def _data_export_delivery(landed: LandedObject, manifest: dict[str, Any]) -> DeliveryInput | None:
    """A Data Exports (CUR 2.0, FOCUS) manifest: ``<export>/metadata/BILLING_PERIOD=YYYY-MM/
    <export>-Manifest.json`` lists the execution's data files as ``s3://`` URIs (under
    ``<export>/data/BILLING_PERIOD=YYYY-MM/``); the export is the report, the execution the
    delivery."""
    assembly_id = str(manifest.get("executionId") or "")
    parts = [_key_of(str(uri)) for uri in manifest.get("dataFiles") or []]
    if not assembly_id or not parts:
        return None
    path = PurePosixPath(landed.key)
    partition = path.parent.name
    metadata = path.parent.parent
    report = str(metadata.parent if metadata.name == "metadata" else path.parent)
    period = str((manifest.get("billingPeriod") or {}).get("start", ""))
    if partition.startswith("BILLING_PERIOD="):
        period = partition.removeprefix("BILLING_PERIOD=")
    return _delivery(landed, report, assembly_id, period.replace("-", ""), parts)


def _key_of(uri: str) -> str:
    """The object key of an ``s3://bucket/key`` URI (the bucket is ours: the export writes here)."""
    if uri.startswith("s3://"):
        return uri.removeprefix("s3://").split("/", 1)[-1]
    return uri


def _delivery(
    landed: LandedObject, report: str, assembly_id: str, period: str, parts: list[str]
) -> DeliveryInput:
    # AWS writes the same manifest beside the parts and one level up: both name one delivery,
    # and the same event delivered twice names it again.
    digest = hashlib.sha256(f"{report}\n{assembly_id}\n{landed.etag}".encode()).hexdigest()
    return {
        "delivery_id": f"delivery-{digest[:48]}",
        "manifest_key": landed.key,
        "report": report,
        "assembly_id": assembly_id,
        "period": f"{period[:4]}-{period[4:6]}" if len(period) >= 6 else None,
        "delivered_at": landed.event_time,
        "expected_parts": len(parts),
        "parts": parts,
    }


def start_delivery(landed: LandedObject) -> dict[str, Any]:
    """Start the delivery's execution, once: the same event twice, or the same manifest written
    in two places, is taken in once. A delivery that failed is started again when its manifest
    lands again (after the bad part was delivered anew)."""
    manifest: dict[str, Any] = objects.get_json(landed.key)
    delivery = delivery_of(landed, manifest)
    if delivery is None:
        logger.warning("manifest names no parts", extra={"key": landed.key})
        return {"manifest": landed.key, "parts": 0}
    delivery_id = delivery["delivery_id"]
    doc: DeliveryRecord = {
        "delivery_id": delivery["delivery_id"],
        "manifest_key": delivery["manifest_key"],
        "report": delivery["report"],
        "assembly_id": delivery["assembly_id"],
        "period": delivery["period"],
        "delivered_at": delivery["delivered_at"],
        "expected_parts": delivery["expected_parts"],
        "status": "receiving",
        "attempt": 1,
        "failed_parts": [],
    }
    if not bills.create_delivery(delivery_id, doc):
        existing = bills.get_delivery(delivery_id) or {}
        if existing.get("status") != "failed":
            logger.info("delivery already under way", extra={"delivery_id": delivery_id})
            return {"manifest": landed.key, "delivery_id": delivery_id, "duplicate": True}
        doc["attempt"] = int(existing.get("attempt", 1)) + 1
    machine = get_config().ingest_report_state_machine_arn

    def claim(attempt: int, name: str) -> bool:
        # Execution names stay taken for 90 days: each attempt has a name of its own. The record
        # names the execution before it starts, so the execution's own writes come after.
        doc["attempt"] = attempt
        doc["execution_arn"] = executions.execution_arn(machine, name)
        bills.save_delivery(delivery_id, doc)
        return True

    executions.start_with_attempt_name(
        machine, delivery_id, lambda name: delivery, claim, first_attempt=int(doc["attempt"])
    )
    return {"manifest": landed.key, "delivery_id": delivery_id, "parts": len(delivery["parts"])}


def part_landed(landed: LandedObject) -> dict[str, Any]:
    """A part of a delivery is in the bucket: its record says so; its delivery takes it in."""
    record = new_record(landed)
    record["landed"] = True
    created = bills.create_bill(landed.bill_id, record)
    return {"bill_id": landed.bill_id, "status": "processing", "duplicate": not created}


# --- the state machine's tasks ------------------------------------------------------------------


def ingest_part(task: dict[str, Any]) -> dict[str, Any]:
    """Take in one part of a delivery and record its outcome on the delivery."""
    key = str(task["part_key"])
    head = objects.head(key)
    if head is None:
        done = bills.part_outcomes(task["delivery_id"]).get(key)
        if done is not None:  # quarantined, or moved on, by an earlier attempt
            return dict(done)
        raise PartNotLanded(f"{key} is not in the bucket yet")
    landed = LandedObject(
        key, str(head["ETag"]).strip('"'), int(head.get("ContentLength", 0)), _now()
    )
    record = new_record(landed)
    record["delivery_id"] = task["delivery_id"]
    if not bills.create_bill(landed.bill_id, record):
        existing: BillRecord = bills.get_bill(landed.bill_id) or {}
        status = existing.get("status")
        if status in ("processed", "superseded") or (
            status == "failed" and not existing.get("retryable")
        ):
            return dict(_record_outcome(task, existing))
        record["received_at"] = existing.get("received_at", record["received_at"])
    manifest = _manifest(task)
    try:
        normalize_and_stage(record, landed, manifest)
    except Exception as error:  # the record says so; the state machine retries
        raise RetriableIngestError(f"{key}: {error}") from error
    return dict(_record_outcome(task, bills.get_bill(landed.bill_id) or record))


def _manifest(task: dict[str, Any]) -> dict[str, Any] | None:
    key = task["manifest_key"]
    manifest = objects.get_json(key) if objects.head(key) else None
    return manifest if isinstance(manifest, dict) else None


def _record_outcome(task: dict[str, Any], record: BillRecord) -> PartOutcome:
    outcome: PartOutcome = {
        "part_key": task["part_key"],
        "bill_id": record["id"],
        "status": "processed" if record["status"] in ("processed", "superseded") else "failed",
        "error": record.get("error"),
    }
    bills.record_part_outcome(task["delivery_id"], task["part_key"], outcome)
    return outcome


def publish_delivery(delivery: dict[str, Any]) -> dict[str, Any]:
    """Make the delivery current if every part was taken in; otherwise record it as failed."""
    delivery_id = delivery["delivery_id"]
    outcomes = bills.part_outcomes(delivery_id)
    failed: list[FailedPart] = [
        {
            "part_key": key,
            "error": (outcomes[key].get("error") if key in outcomes else None)
            or {"message": f"{key}: never landed, or could not be taken in"},
        }
        for key in delivery["parts"]
        if key not in outcomes or outcomes[key].get("status") != "processed"
    ]
    # The execution's input (all but its part keys and a Map error) under what was stored.
    doc = cast(DeliveryRecord, {k: v for k, v in delivery.items() if k not in ("parts", "error")})
    doc.update(bills.get_delivery(delivery_id) or {})
    if failed:
        doc.update({"status": "failed", "failed_parts": failed, "finished_at": _now()})
        bills.save_delivery(delivery_id, doc)
        logger.warning(
            "delivery not published", extra={"delivery_id": delivery_id, "failed": failed}
        )
        return {"delivery_id": delivery_id, "status": "failed", "failed_parts": failed}

    records: list[BillRecord] = [
        bills.get_bill(outcomes[key]["bill_id"]) or {} for key in delivery["parts"]
    ]
    provider = next((p for r in records if (p := r.get("provider"))), "aws")
    published = bill_versions.publish(
        bill_versions.Delivery(
            provider, delivery["report"], delivery["assembly_id"], delivery["delivered_at"], records
        )
    )
    settle(published, records)
    for bill_id in published.replaced_bills:
        _mark_delivery_superseded(bill_id)
    periods = sorted({p for r in records for p in r.get("periods") or []})
    totals = _sum_totals(records)
    doc.update(
        {
            "status": published.status,
            "failed_parts": [],
            "periods": periods,
            "bill_ids": sorted(r["id"] for r in records),
            "totals": totals,
            "finished_at": _now(),
        }
    )
    if published.refusal is not None:
        doc["error"] = {"message": published.refusal.message, "overlap": published.refusal.overlap}
    bills.save_delivery(delivery_id, doc)
    if published.status == "current" and any(r.get("final") for r in records):
        announce_final(provider, periods, totals)
    return {
        "delivery_id": delivery_id,
        "status": published.status,
        "periods": periods,
        "totals": totals,
    }


def _mark_delivery_superseded(bill_id: str) -> None:
    bill = bills.get_bill(bill_id) or {}
    delivery_id = bill.get("delivery_id")
    if delivery_id:
        delivery = bills.get_delivery(delivery_id)
        if delivery is not None and delivery.get("status") == "current":
            bills.save_delivery(delivery_id, {**delivery, "status": "superseded"})


def _sum_totals(records: list[BillRecord]) -> dict[str, str]:
    sums: dict[str, Decimal] = {}
    for record in records:
        for name, value in (record.get("totals") or {}).items():
            sums[name] = sums.get(name, Decimal(0)) + Decimal(value)
    return {name: str(value) for name, value in sums.items()}
