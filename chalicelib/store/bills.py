"""Bill files, report deliveries and per-account period aggregates in DynamoDB.

A cloud re-delivers a month's report many times. Each delivery (a CUR assembly, or a single
file) is a *version*; its parts are bill files. The delivery item of a report and period names
the current version, and switching it is a single conditional write, so a reader that first
reads the delivery items and then the aggregates of the bills they name never sees two
versions, or none. Keys:

================  ======================  ===============================================
item              pk                      sk
================  ======================  ===============================================
bill file         ``BILL#<bill id>``      ``BILL``
bill in period    ``PERIOD#<period>``     ``BILL#<bill id>``
delivery          ``PERIOD#<period>``     ``DELIVERY#<provider>#<report>``
version parts     ``PERIOD#<period>``     ``VERSION#<provider>#<report>#<version>``
account aggregate ``PERIOD#<period>``     ``ACCOUNT#<provider>#<account id>#<bill id>``
final notice      ``PERIOD#<period>``     ``FINAL#<provider>``
report delivery   ``DELIVERY#<id>``       ``DELIVERY``
part outcome      ``DELIVERY#<id>``       ``PART#<part key>``
================  ======================  ===============================================

A multi-part delivery (``DELIVERY#<id>``) is taken in by one state machine execution: each part
records its outcome there, and the delivery is switched current only when every part is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.store.conditions import condition_failed, create_item
from chalicelib.store.tables import BillItem

Doc = dict[str, Any]


# --- bill file records --------------------------------------------------------------------


def create_bill(bill_id: str, doc: Doc) -> bool:
    """Create the record of a newly received file. False when it exists (event delivered twice)."""
    return create_item(
        BillItem(f"BILL#{bill_id}", "BILL", kind="bill", doc=doc, status=doc["status"])
    )


def get_bill(bill_id: str) -> Doc | None:
    try:
        doc: Doc = BillItem.get(f"BILL#{bill_id}", "BILL").doc
        return doc
    except DoesNotExist:
        return None


def save_bill(doc: Doc) -> None:
    BillItem(f"BILL#{doc['id']}", "BILL", kind="bill", doc=doc, status=doc["status"]).save()
    for period in doc.get("periods") or [doc["received_at"][:7]]:
        BillItem(f"PERIOD#{period}", f"BILL#{doc['id']}", kind="period_bill", doc={}).save()


def bills_of_period(period: str) -> list[Doc]:
    ids = [
        item.sk.removeprefix("BILL#")
        for item in BillItem.query(f"PERIOD#{period}", BillItem.sk.startswith("BILL#"))
    ]
    docs = [item.doc for item in BillItem.batch_get([(f"BILL#{i}", "BILL") for i in ids])]
    return sorted(docs, key=lambda d: (d.get("received_at", ""), d["id"]))


def set_status(bill_id: str, status: str, **fields: Any) -> None:
    doc = get_bill(bill_id)
    if doc is None:
        return
    doc.update(fields, status=status)
    save_bill(doc)


# --- account aggregates ---------------------------------------------------------------------


def put_account_aggregate(period: str, bill_id: str, aggregate: Doc) -> None:
    sk = f"ACCOUNT#{aggregate['provider']}#{aggregate['account_id']}#{bill_id}"
    BillItem(f"PERIOD#{period}", sk, kind="account_aggregate", doc=aggregate).save()


# --- deliveries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPart:
    provider: str
    report: str
    version: str
    delivered_at: str  # ISO timestamp of the delivery; the newest delivery wins
    expected_parts: int


def record_part(period: str, part: DeliveryPart, bill_id: str) -> bool:
    """Count one processed part of a version; True once every expected part is in."""
    item = BillItem(
        f"PERIOD#{period}",
        f"VERSION#{part.provider}#{part.report}#{part.version}",
        kind="version",
        doc={"expected_parts": part.expected_parts, "delivered_at": part.delivered_at},
    )
    # ADD to a string set is idempotent: the same part processed twice counts once.
    item.update(
        actions=[
            BillItem.kind.set("version"),
            BillItem.doc.set(item.doc),
            BillItem.parts_done.add({bill_id}),
        ]
    )
    done = set(item.parts_done or [])
    return len(done) >= part.expected_parts


def version_bills(period: str, part: DeliveryPart) -> list[str]:
    item = BillItem.get(f"PERIOD#{period}", f"VERSION#{part.provider}#{part.report}#{part.version}")
    return sorted(set(item.parts_done or []))


def publish_version(period: str, part: DeliveryPart, bill_ids: list[str]) -> list[str] | None:
    """Make ``part.version`` the current delivery of its report and period, unless a newer one
    already is. Returns the bill ids it replaced, or None when this version is not the newest."""
    sk = f"DELIVERY#{part.provider}#{part.report}"
    while True:
        try:
            current = BillItem.get(f"PERIOD#{period}", sk, consistent_read=True)
        except DoesNotExist:
            current = None
        if current is not None:
            if current.doc["version"] == part.version:
                return []
            if current.doc["delivered_at"] > part.delivered_at:
                return None
        doc = {
            "provider": part.provider,
            "report": part.report,
            "version": part.version,
            "delivered_at": part.delivered_at,
            "bill_ids": bill_ids,
        }
        new = BillItem(f"PERIOD#{period}", sk, kind="delivery", doc=doc)
        condition = (
            BillItem.pk.does_not_exist() if current is None else BillItem.version == current.version
        )
        new.version = (current.version if current is not None else 0) + 1
        try:
            new.save(condition=condition)
        except PutError as error:
            if condition_failed(error):
                continue  # another delivery switched it meanwhile: look again
            raise
        replaced: list[str] = [] if current is None else list(current.doc["bill_ids"])
        return replaced


def current_aggregates(period: str) -> list[Doc]:
    """The account aggregates of the current delivery of every report in the period."""
    deliveries = BillItem.query(
        f"PERIOD#{period}", BillItem.sk.startswith("DELIVERY#"), consistent_read=True
    )
    current_bills = {bill_id for d in deliveries for bill_id in d.doc["bill_ids"]}
    return [
        item.doc
        for item in BillItem.query(f"PERIOD#{period}", BillItem.sk.startswith("ACCOUNT#"))
        if item.doc["bill_id"] in current_bills
    ]


# --- multi-part report deliveries -----------------------------------------------------------


def save_delivery(delivery_id: str, doc: Doc) -> None:
    BillItem(
        f"DELIVERY#{delivery_id}", "DELIVERY", kind="report_delivery", doc=doc, status=doc["status"]
    ).save()


def create_delivery(delivery_id: str, doc: Doc) -> bool:
    """Claim a delivery for one execution. False when it was claimed before."""
    return create_item(
        BillItem(
            f"DELIVERY#{delivery_id}",
            "DELIVERY",
            kind="report_delivery",
            doc=doc,
            status=doc["status"],
        )
    )


def get_delivery(delivery_id: str) -> Doc | None:
    try:
        doc: Doc = BillItem.get(f"DELIVERY#{delivery_id}", "DELIVERY", consistent_read=True).doc
        return doc
    except DoesNotExist:
        return None


def record_part_outcome(delivery_id: str, part_key: str, outcome: Doc) -> None:
    BillItem(
        f"DELIVERY#{delivery_id}",
        f"PART#{part_key}",
        kind="delivery_part",
        doc=outcome,
        status=outcome["status"],
    ).save()


def part_outcomes(delivery_id: str) -> dict[str, Doc]:
    """The outcome of each part of a delivery that has one, by part key."""
    return {
        item.sk.removeprefix("PART#"): item.doc
        for item in BillItem.query(
            f"DELIVERY#{delivery_id}", BillItem.sk.startswith("PART#"), consistent_read=True
        )
    }


def claim_final_notice(period: str, provider: str) -> bool:
    """True exactly once per provider and period: the caller then sends ``bill.final``."""
    return create_item(BillItem(f"PERIOD#{period}", f"FINAL#{provider}", kind="final", doc={}))


def is_final(period: str, provider: str) -> bool:
    try:
        BillItem.get(f"PERIOD#{period}", f"FINAL#{provider}")
        return True
    except DoesNotExist:
        return False
