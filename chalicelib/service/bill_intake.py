"""Take in a bill file that landed in the bucket: normalize it, publish it, announce finality.

Runs for each S3 ``ObjectCreated`` event under ``bills/``. Safe under at-least-once delivery:
the bill id is derived from the object key and ETag, and its record is created with a
condition, so the same event twice does the work once. A file that cannot be read is moved to
``quarantine/`` (never deleted) and its record says what is wrong and where.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.bill_files.current import Version
from chalicelib.bill_files.model import NormalizedBill
from chalicelib.bill_files.normalize import normalize_bill
from chalicelib.config import get_config
from chalicelib.errors import InvalidBillFile
from chalicelib.observability import logger, metrics
from chalicelib.service import bill_versions
from chalicelib.store import bills, events, objects, reference
from chalicelib.store.records import AccountAggregate, BillRecord, Collision

_ASSEMBLY_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass(frozen=True)
class LandedObject:
    key: str
    etag: str
    size: int
    event_time: str

    @property
    def bill_id(self) -> str:
        return hashlib.sha256(f"{self.key}\n{self.etag}".encode()).hexdigest()[:24]


def landed_objects(event: dict[str, Any]) -> list[LandedObject]:
    landed = []
    for record in event.get("Records", []):
        s3 = record.get("s3", {})
        key = unquote_plus(s3.get("object", {}).get("key", ""))
        if not key.startswith(objects.BILLS_PREFIX):
            continue
        landed.append(
            LandedObject(
                key=key,
                etag=str(s3["object"].get("eTag", "")).strip('"'),
                size=int(s3["object"].get("size", 0)),
                event_time=record.get("eventTime") or _now(),
            )
        )
    return landed


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- a bill file ----------------------------------------------------------------------------


def new_record(landed: LandedObject, status: str = "processing") -> BillRecord:
    """The record of a newly received bill file."""
    return {
        "id": landed.bill_id,
        "key": landed.key,
        "status": status,
        "format": None,
        "provider": None,
        "periods": [],
        "rows": 0,
        "currency": None,
        "totals": None,
        "final": False,
        "error": None,
        "received_at": landed.event_time,
        "processed_at": None,
        "size": landed.size,
    }


def take_in(landed: LandedObject) -> dict[str, Any]:
    bill_id = landed.bill_id
    record = new_record(landed)
    if not bills.create_bill(bill_id, record):
        existing = bills.get_bill(bill_id) or {}
        # Only a failure of ours (not of the file) is worth the retry Lambda makes.
        if not (existing.get("status") == "failed" and existing.get("retryable")):
            logger.info("bill already taken in", extra={"bill_id": bill_id, "key": landed.key})
            return {"bill_id": bill_id, "status": existing.get("status"), "duplicate": True}
    normalized, outcome = normalize_and_stage(record, landed, None, dedupe=True)
    if normalized is None:
        return outcome
    published = bill_versions.publish(
        bill_versions.Delivery(
            normalized.provider, landed.key, bill_id, landed.event_time, [record]
        )
    )
    settle(published, [record])
    if published.status == "refused":
        return {"bill_id": bill_id, "status": "refused", "error": record["error"]}
    if normalized.final and published.status == "current":
        announce_final(normalized.provider, list(normalized.periods), _totals(normalized))
    return {**outcome, "status": record["status"]}


def settle(published: bill_versions.Published, records: list[BillRecord]) -> None:
    """Record what publishing made of the files: the versions they replaced are superseded;
    files that did not become current say why, and refused files go to quarantine."""
    for bill_id in published.replaced_bills - {r["id"] for r in records}:
        bills.set_status(bill_id, "superseded")
    if published.status == "current":
        return
    if published.status == "superseded":
        by = next((o.by for o in published.outcomes.values() if o.by is not None), None)
        for record in records:
            record.update(
                {"status": "superseded", "superseded_by": None if by is None else _collision(by)}
            )
            bills.save_bill(record)
        return
    refusal = published.refusal
    assert refusal is not None and refusal.by is not None
    for record in records:
        _move_to_quarantine(
            record,
            {
                "status": "refused",
                "error": {
                    "message": f"{record['key']}: {refusal.message}",
                    "overlap": refusal.overlap,
                },
                "collided_with": _collision(refusal.by),
            },
        )
    metrics.add_metric(name="BillFilesRefused", unit=MetricUnit.Count, value=len(records))
    logger.warning("bill refused", extra={"error": refusal.message})


def _collision(version: Version) -> Collision:
    return {
        "bill_id": version.bill_ids[0] if version.bill_ids else None,
        "key": version.describe(),
        "report": version.report,
        "bill_ids": list(version.bill_ids),
    }


def normalize_and_stage(
    record: BillRecord,
    landed: LandedObject,
    manifest: dict[str, Any] | None,
    *,
    dedupe: bool = False,
) -> tuple[NormalizedBill | None, dict[str, Any]]:
    """Normalize the file, write its partitions and account aggregates (read by nobody until a
    delivery names the bill) and mark its record processed. A file that cannot be read is
    quarantined and the record says why (no NormalizedBill then); a failure of ours is recorded
    as retryable and raised. With ``dedupe``, a file byte for byte the same as one taken in
    before is recorded as its duplicate and not normalized (no NormalizedBill then either)."""
    bill_id = record["id"]
    logger.append_keys(bill_id=bill_id, key=landed.key)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(dir=get_config().tmp_dir) as tmp:
        try:
            source = objects.download(
                landed.key, Path(tmp) / "source" / PurePosixPath(landed.key).name
            )
            record["content_sha256"] = _sha256(source)
            if not dedupe:  # a part of a delivery: later single files are compared with it
                bills.record_content(record["content_sha256"], bill_id)
            elif earlier := bills.claim_content(record["content_sha256"], bill_id, _reusable):
                return None, _duplicate(record, earlier)
            normalized = normalize_bill(
                source,
                source_file_id=bill_id,
                out_dir=Path(tmp) / "normalized",
                manifest=manifest,
                owners=reference.account_owners,
            )
            _publish_partitions(bill_id, normalized)
        except InvalidBillFile as error:
            return None, _quarantine(record, error)
        except Exception as error:  # a bug or an outage: keep the file where it is, say so
            # Named by the bill's key, never by the local copy in the temporary directory.
            message = re.sub(re.escape(tmp) + r"""[^\s"'()]*""", landed.key, str(error))
            record.update(
                {
                    "status": "failed",
                    "retryable": True,
                    "error": {"message": f"internal error: {message}"},
                }
            )
            bills.save_bill(record)
            raise
    record.update(
        {
            "status": "processed",
            "format": normalized.format,
            "provider": normalized.provider,
            "periods": list(normalized.periods),
            "rows": normalized.rows,
            "currency": normalized.currency,
            "totals": _totals(normalized),
            "final": normalized.final,
            "processed_at": _now(),
            "seconds": round((datetime.now(UTC) - started).total_seconds(), 3),
            "retryable": False,
            "error": None,
        }
    )
    record["late_after_final"] = any(
        bills.is_final(period, normalized.provider) for period in normalized.periods
    )
    bills.save_bill(record)
    metrics.add_metric(name="BillRowsIngested", unit=MetricUnit.Count, value=normalized.rows)
    logger.info("bill processed", extra={"rows": normalized.rows, "format": normalized.format})
    return normalized, {"bill_id": bill_id, "status": "processed", "rows": normalized.rows}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _reusable(earlier_id: str) -> bool:
    """Whether a file with the same bytes as bill ``earlier_id`` is taken in anew: when the
    earlier one did not count (refused, failed, or a part of a delivery that never became
    current), the operator's new upload is a new attempt. A file still being taken in, current,
    or replaced by a newer one is the earlier file again."""
    earlier = bills.get_bill(earlier_id)
    if earlier is None or earlier.get("status") in ("failed", "refused"):
        return True
    if earlier.get("status") != "processed":
        return False
    return not any(
        earlier_id in bills.current_set(period).bill_ids() for period in earlier["periods"]
    )


def _duplicate(record: BillRecord, earlier_id: str) -> dict[str, Any]:
    earlier: BillRecord = bills.get_bill(earlier_id) or {}
    record.update(
        {
            "status": "duplicate",
            "duplicate_of": {"bill_id": earlier_id, "key": earlier.get("key")},
            "periods": list(earlier.get("periods") or []),
            "provider": earlier.get("provider"),
            "format": earlier.get("format"),
            "error": {
                "message": f"{record['key']}: the same file (byte for byte) as "
                f"{earlier.get('key') or earlier_id}, taken in before; not counted again"
            },
            "processed_at": _now(),
            "retryable": False,
        }
    )
    bills.save_bill(record)
    metrics.add_metric(name="BillFilesDuplicate", unit=MetricUnit.Count, value=1)
    logger.info("bill file is a duplicate", extra={"duplicate_of": earlier_id})
    return {"bill_id": record["id"], "status": "duplicate", "duplicate_of": earlier_id}


def _totals(normalized: NormalizedBill) -> dict[str, str]:
    return {name: str(value) for name, value in asdict(normalized.totals).items()}


def _publish_partitions(bill_id: str, normalized: NormalizedBill) -> None:
    """Upload each partition file once (small accounts of a bill over many share one) and write
    each account's aggregate, which says where its lines are."""
    keys: dict[str, str] = {}
    for part in normalized.partitions:
        if part.location not in keys:
            key = f"{objects.NORMALIZED_PREFIX}{part.location}/bill={bill_id}.parquet"
            objects.upload(Path(part.path), key)
            keys[part.location] = key
    bills.put_account_aggregates(
        [
            AccountAggregate(
                bill_id=bill_id,
                provider=part.provider,
                account_id=part.account_id,
                billing_account_id=part.billing_account_id,
                period=part.period,
                rows=part.rows,
                billed_cost=str(part.billed_cost),
                effective_cost=str(part.effective_cost),
                list_cost=str(part.list_cost),
                savings_eligible_cost=str(part.savings_eligible_cost),
                currency=part.currency,
                parquet_key=keys[part.location],
            )
            for part in normalized.partitions
        ],
    )


def _quarantine(record: BillRecord, error: InvalidBillFile) -> dict[str, Any]:
    _move_to_quarantine(
        record,
        {
            "status": "failed",
            "error": {**error.as_record(), "message": f"{record['key']}: {error.message}"},
            "processed_at": _now(),
        },
    )
    metrics.add_metric(name="BillFilesRejected", unit=MetricUnit.Count, value=1)
    logger.warning("bill file rejected", extra={"error": record["error"]})
    return {"bill_id": record["id"], "status": "failed", "error": record["error"]}


def _move_to_quarantine(record: BillRecord, outcome: BillRecord) -> None:
    """Move a file that is not taken in to ``quarantine/`` (never deleted), record ``outcome``
    on its record, and announce ``bill.failed``."""
    quarantined = objects.QUARANTINE_PREFIX + record["key"].removeprefix(objects.BILLS_PREFIX)
    objects.move(record["key"], quarantined)
    record.update(outcome)
    record["quarantine_key"] = quarantined
    bills.save_bill(record)
    events.publish(
        events.BILL_FAILED,
        {"bill_id": record["id"], "key": record["key"], "error": record["error"]},
    )


def announce_final(provider: str, periods: list[str], totals: dict[str, str]) -> None:
    """``bill.final`` once per provider and period, when automated bill processing is on."""
    if not reference.get_settings().get("automated_bill_processing"):
        return
    for period in periods:
        if bills.claim_final_notice(period, provider):
            events.publish(
                events.BILL_FINAL, {"provider": provider, "period": period, "totals": totals}
            )


# --- deliveries: which files make up the current version of a report -------------------------
#
# AWS writes a legacy CUR delivery as <report>/<yyyymmdd-yyyymmdd>/<assembly id>/<name>-N.csv.gz
# plus <name>-Manifest.json beside the parts and/or one level up; the manifest lists the parts
# (reportKeys) and names the delivery (assemblyId). AWS Data Exports (CUR 2.0, FOCUS) writes
# <export>/data/BILLING_PERIOD=YYYY-MM/[<execution id>/]<export>-0000N.<ext> and
# <export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json, which lists the data files
# (dataFiles) and names the delivery (executionId). Either delivery is taken in by the
# ingest-report state machine (chalicelib.service.report_deliveries). A file outside such a
# layout is a delivery of its own. Either way chalicelib.service.bill_versions decides what
# the delivery replaces (chalicelib.bill_files.current): a later file under the same key, or a newer
# export of the same bill under any name; a file whose lines are already current elsewhere is
# refused.


def in_assembly(key: str) -> bool:
    """Whether the file is a part of a delivery that its manifest takes in: a legacy CUR part
    in its assembly folder, or a Data Exports data file (``<export>/data/BILLING_PERIOD=…/``)."""
    path = PurePosixPath(key)
    if _ASSEMBLY_DIR.match(path.parent.name):
        return True
    parents = [p.name for p in path.parents]
    return any(
        name.startswith("BILLING_PERIOD=") and parents[i + 1 : i + 2] == ["data"]
        for i, name in enumerate(parents)
    )
