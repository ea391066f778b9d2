"""Bill files over the API: a presigned upload into ``bills/`` and the files of a period.

Uploading is the client's PUT to the presigned URL; the bucket notification does the rest, as
for files the clouds deliver themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.api.endpoint import Call, operation
from chalicelib.api.pagination import decode_cursor, page_body, page_of_list, position_of
from chalicelib.errors import InvalidInput
from chalicelib.store import bills, objects

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


def _order(bill: dict[str, Any]) -> str:
    return f"{bill.get('received_at') or ''}|{bill['id']}"


@operation("listBills")
def list_bills(call: Call) -> dict[str, Any]:
    period = call.query["period"]
    scope = f"bills:{period}"
    after = decode_cursor(call.query.get("cursor"), scope)
    # A period has tens to hundreds of bill files: one query, paged here.
    page, last = page_of_list(
        bills.bills_of_period(period),
        _order,
        call.query["limit"],
        None if after is None else position_of(after, str),
    )
    return page_body(page, last, scope)
