"""Bill files over the API: a presigned upload into ``bills/``, the files of a period or of a
status, and one file with what it collided with.

Uploading is the client's PUT to the presigned URL; the bucket notification does the rest, as
for files the clouds deliver themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.api.endpoint import Call, operation
from chalicelib.api.pagination import decode_cursor, page_body, page_of_list, position_of
from chalicelib.billing.money import display
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.store import bills, objects
from chalicelib.store.records import BillRecord, BillRef, Collision

UPLOAD_SECONDS = 900


@operation("createBillUploadUrl")
def create_upload_url(call: Call) -> dict[str, Any]:
    filename: str = call.fields["filename"]
    # The clouds write path segments (cur/report/<range>/<assembly>/part.csv.gz); keep them,
    # but never let a name climb out of the bills prefix.
    if any(segment in ("", ".", "..") for segment in filename.split("/")):
        raise InvalidInput("filename must not have empty, '.' or '..' segments", field="filename")
    key = objects.BILLS_PREFIX + filename
    expires_at = datetime.now(UTC) + timedelta(seconds=UPLOAD_SECONDS)
    return {
        "upload_url": objects.presigned_put(key, UPLOAD_SECONDS),
        "key": key,
        "expires_at": expires_at.isoformat(timespec="seconds"),
    }


def _order(bill: BillRecord) -> str:
    return f"{bill.get('received_at') or ''}|{bill['id']}"


@operation("listBills")
def list_bills(call: Call) -> dict[str, Any]:
    period = call.query.get("period")
    status = call.query.get("status")
    if period is None and status is None:
        raise InvalidInput("give a period, a status, or both", field="period")
    if period is None:
        return _bills_with_status(call, str(status))
    scope = f"bills:{period}:{status or ''}"
    after = decode_cursor(call.query.get("cursor"), scope)
    # A period has tens to hundreds of bill files: one query, paged here.
    page, last = page_of_list(
        [b for b in bills.bills_of_period(period) if status in (None, b["status"])],
        _order,
        call.query["limit"],
        None if after is None else position_of(after, str),
    )
    return page_body([_with_display(b) for b in page], last, scope)


def _with_display(bill: BillRecord) -> dict[str, Any]:
    """The bill with ``totals_display``: its totals (as many decimals as the provider gave)
    rounded to the bill currency's minor unit, for people."""
    totals = bill.get("totals")
    if not totals:
        return {**bill, "totals_display": None}
    currency = bill.get("currency") or ""
    return {
        **bill,
        "totals_display": {name: display(Decimal(v), currency) for name, v in totals.items()},
    }


def _bills_with_status(call: Call, status: str) -> dict[str, Any]:
    """Every period's files of one status, newest first, from the status index."""
    scope = f"bills-status:{status}"
    after = decode_cursor(call.query.get("cursor"), scope)
    page, last = bills.bills_with_status(
        status, None if after is None else position_of(after, str), call.query["limit"]
    )
    return page_body([_with_display(b) for b in page], last, scope)


@operation("getBill")
def get_bill(call: Call, bill_id: str) -> dict[str, Any]:
    bill = bills.get_bill(bill_id)
    if bill is None:
        raise NotFound(f"bill {bill_id!r} not found")
    current = [p for p in bill.get("periods") or [] if bill_id in bills.current_set(p).bill_ids()]
    delivery: dict[str, Any] | None = None
    if bill.get("delivery_id"):
        stored = bills.get_delivery(bill["delivery_id"])
        if stored is not None:
            delivery = {**stored, "parts": bills.part_outcomes(bill["delivery_id"])}
    return {
        **_with_display(bill),
        "current_in": current,
        "delivery": delivery,
        "duplicate_of_bill": _other(bill.get("duplicate_of")),
        "collided_with_bill": _other(bill.get("collided_with")),
    }


def _other(ref: BillRef | Collision | None) -> BillRecord | None:
    if not ref or not ref.get("bill_id"):
        return None
    return bills.get_bill(str(ref["bill_id"]))
