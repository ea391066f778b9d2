"""Bill files, report deliveries and per-account period aggregates in DynamoDB.

A cloud re-delivers a month's report many times. Each delivery (a CUR assembly, or a single
file) is a *version*; its parts are bill files. One item per period lists the current version
of every report (:mod:`chalicelib.bill_files.current` says which versions those are), and switching
it is a single conditional write, so a reader that first reads that item and then the
aggregates of the bills it names never sees two versions of a bill, or none. Keys:

================  ======================  ===============================================
item              pk                      sk
================  ======================  ===============================================
bill file         ``BILL#<bill id>``      ``BILL`` (index ``by_bill_status``)
bill in period    ``PERIOD#<period>``     ``BILL#<bill id>``
current versions  ``PERIOD#<period>``     ``CURRENT``
file content      ``CONTENT#<sha-256>``   ``CONTENT``
account aggregate ``PERIOD#<period>``     ``ACCOUNT#<provider>#<account id>#<bill id>``
final notice      ``PERIOD#<period>``     ``FINAL#<provider>``
report delivery   ``DELIVERY#<id>``       ``DELIVERY``
part outcome      ``DELIVERY#<id>``       ``PART#<part key>``
================  ======================  ===============================================

A multi-part delivery (``DELIVERY#<id>``) is taken in by one state machine execution: each part
records its outcome there, and the delivery is switched current only when every part is in.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.bill_files.current import CurrentSet, Version
from chalicelib.store.conditions import condition_failed, create_item
from chalicelib.store.records import (
    AccountAggregate,
    BillRecord,
    DeliveryRecord,
    PartOutcome,
)
from chalicelib.store.tables import BillItem

# --- bill file records --------------------------------------------------------------------


def _bill_item(doc: BillRecord) -> BillItem:
    return BillItem(
        f"BILL#{doc['id']}",
        "BILL",
        kind="bill",
        doc=doc,
        status=doc["status"],
        bill_status=doc["status"],
        received_sort=f"{doc.get('received_at') or ''}#{doc['id']}",
    )


def create_bill(bill_id: str, doc: BillRecord) -> bool:
    """Create the record of a newly received file. False when it exists (event delivered twice)."""
    return create_item(_bill_item(doc))


def get_bill(bill_id: str) -> BillRecord | None:
    try:
        doc: BillRecord = BillItem.get(f"BILL#{bill_id}", "BILL").doc
        return doc
    except DoesNotExist:
        return None


def save_bill(doc: BillRecord) -> None:
    _bill_item(doc).save()
    for period in doc.get("periods") or [doc["received_at"][:7]]:
        BillItem(f"PERIOD#{period}", f"BILL#{doc['id']}", kind="period_bill", doc={}).save()


def bills_of_period(period: str) -> list[BillRecord]:
    ids = [
        item.sk.removeprefix("BILL#")
        for item in BillItem.query(f"PERIOD#{period}", BillItem.sk.startswith("BILL#"))
    ]
    docs: list[BillRecord] = [
        item.doc for item in BillItem.batch_get([(f"BILL#{i}", "BILL") for i in ids])
    ]
    return sorted(docs, key=lambda d: (d.get("received_at", ""), d["id"]))


def bills_with_status(
    status: str, after: str | None, limit: int
) -> tuple[list[BillRecord], str | None]:
    """Bill files of one status, newest first, a page at a time: the page and the sort key of
    its last file when more may follow."""
    condition = BillItem.received_sort < after if after else None
    query = BillItem.by_bill_status.query(
        status, range_key_condition=condition, scan_index_forward=False, limit=limit + 1
    )
    items = list(itertools.islice(query, limit + 1))
    page = items[:limit]
    last = page[-1].received_sort if len(items) > limit and page else None
    return [item.doc for item in page], last


def latest_processed_bill_period() -> str | None:
    """The latest period of the bill file processed last (one item of the status index)."""
    for item in BillItem.by_bill_status.query("processed", scan_index_forward=False, limit=1):
        periods = item.doc.get("periods") or []
        return max(periods) if periods else None
    return None


def set_status(bill_id: str, status: str) -> None:
    doc = get_bill(bill_id)
    if doc is None:
        return
    doc["status"] = status
    save_bill(doc)


# --- content: byte-identical files ---------------------------------------------------------


def claim_content(digest: str, bill_id: str, reusable: Callable[[str], bool]) -> str | None:
    """Record ``bill_id`` as the file with content ``digest``. Returns None when it is the first
    (or the earlier one may be replaced: ``reusable(earlier id)``), else the earlier bill's id."""
    key = f"CONTENT#{digest}"
    if create_item(BillItem(key, "CONTENT", kind="content", doc={"bill_id": bill_id})):
        return None
    earlier = str(BillItem.get(key, "CONTENT", consistent_read=True).doc["bill_id"])
    if earlier == bill_id or reusable(earlier):
        BillItem(key, "CONTENT", kind="content", doc={"bill_id": bill_id}).save()
        return None
    return earlier


def record_content(digest: str, bill_id: str) -> None:
    """Name ``bill_id`` as the latest file with content ``digest`` (parts of a delivery, which
    may repeat an earlier delivery's bytes and are taken in all the same)."""
    BillItem(f"CONTENT#{digest}", "CONTENT", kind="content", doc={"bill_id": bill_id}).save()


# --- account aggregates ---------------------------------------------------------------------


def put_account_aggregates(aggregates: Iterable[AccountAggregate]) -> None:
    """Each aggregate under its period, 25 to a request (BatchWriteItem)."""
    with BillItem.batch_write() as batch:
        for aggregate in aggregates:
            sk = f"ACCOUNT#{aggregate['provider']}#{aggregate['account_id']}#{aggregate['bill_id']}"
            batch.save(
                BillItem(
                    f"PERIOD#{aggregate['period']}", sk, kind="account_aggregate", doc=aggregate
                )
            )


def aggregates_of(period: str, bill_ids: Iterable[str]) -> list[AccountAggregate]:
    """The account aggregates of the given bills in ``period``."""
    wanted = set(bill_ids)
    aggregates: list[AccountAggregate] = [
        item.doc
        for item in BillItem.query(f"PERIOD#{period}", BillItem.sk.startswith("ACCOUNT#"))
        if item.doc["bill_id"] in wanted
    ]
    return aggregates


# --- the period's current versions ------------------------------------------------------------


def current_set(period: str) -> CurrentSet:
    """The current versions of every report in the period (one consistent read)."""
    try:
        item = BillItem.get(f"PERIOD#{period}", "CURRENT", consistent_read=True)
    except DoesNotExist:
        return CurrentSet(period)
    versions = {slot: Version.from_dict(v) for slot, v in item.doc["versions"].items()}
    return CurrentSet(period, versions, int(item.version))


def switch_current(period: str, expected: CurrentSet, versions: dict[str, Version]) -> bool:
    """Replace the period's current versions in one conditional write; False (nothing written)
    when another switch came first since ``expected`` was read."""
    doc = {"versions": {slot: v.to_dict() for slot, v in sorted(versions.items())}}
    item = BillItem(f"PERIOD#{period}", "CURRENT", kind="current", doc=doc)
    item.version = expected.lock + 1
    condition = (
        BillItem.pk.does_not_exist() if expected.lock == 0 else BillItem.version == expected.lock
    )
    try:
        item.save(condition=condition)
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def current_aggregates(period: str) -> list[AccountAggregate]:
    """The account aggregates of the current version of every report in the period."""
    return aggregates_of(period, current_set(period).bill_ids())


# --- multi-part report deliveries -----------------------------------------------------------


def save_delivery(delivery_id: str, doc: DeliveryRecord) -> None:
    BillItem(
        f"DELIVERY#{delivery_id}", "DELIVERY", kind="report_delivery", doc=doc, status=doc["status"]
    ).save()


def create_delivery(delivery_id: str, doc: DeliveryRecord) -> bool:
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


def get_delivery(delivery_id: str) -> DeliveryRecord | None:
    try:
        doc: DeliveryRecord = BillItem.get(
            f"DELIVERY#{delivery_id}", "DELIVERY", consistent_read=True
        ).doc
        return doc
    except DoesNotExist:
        return None


def record_part_outcome(delivery_id: str, part_key: str, outcome: PartOutcome) -> None:
    BillItem(
        f"DELIVERY#{delivery_id}",
        f"PART#{part_key}",
        kind="delivery_part",
        doc=outcome,
        status=outcome["status"],
    ).save()


def part_outcomes(delivery_id: str) -> dict[str, PartOutcome]:
    """The outcome of each part of a delivery that has one, by part key."""
    outcomes: dict[str, PartOutcome] = {
        item.sk.removeprefix("PART#"): item.doc
        for item in BillItem.query(
            f"DELIVERY#{delivery_id}", BillItem.sk.startswith("PART#"), consistent_read=True
        )
    }
    return outcomes


def claim_final_notice(period: str, provider: str) -> bool:
    """True exactly once per provider and period: the caller then sends ``bill.final``."""
    return create_item(BillItem(f"PERIOD#{period}", f"FINAL#{provider}", kind="final", doc={}))


def is_final(period: str, provider: str) -> bool:
    try:
        BillItem.get(f"PERIOD#{period}", f"FINAL#{provider}")
        return True
    except DoesNotExist:
        return False
