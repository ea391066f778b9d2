"""Bill files landing in the bucket, through the S3 notification and the real ingest Lambda."""

from __future__ import annotations

import csv
import decimal
import gzip
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import EXTERNAL_DATA

pytestmark = pytest.mark.stack

# (file, format, the column holding its billed cost) — see shared/data/external/README.md
EXTERNAL_FILES = [
    ("focus-1.0-sample.csv", "focus-1.0", "BilledCost"),
    ("aws-cur-2023-06-final.csv", "aws-cur-legacy", "lineItem/UnblendedCost"),
    ("aws-cur-2023-06-not-final.csv", "aws-cur-legacy", "lineItem/UnblendedCost"),
    ("gcp-billing-export-2024-03.csv", "gcp-billing-export", "cost"),
    ("azure-cost-details-mca.csv", "azure-mca", "CostInBillingCurrency"),
    ("azure-cost-details-ea.csv", "azure-ea", "Cost"),
]


def _column_sum(name: str, column: str) -> Decimal:
    """The file's own total, to the last decimal: every value of the raw text, summed exactly."""
    exact = decimal.Context(prec=80)
    with (EXTERNAL_DATA / name).open(encoding="utf-8-sig", newline="") as handle:
        values = [row[column] for row in csv.DictReader(handle)]
    total = Decimal(0)
    for value in values:
        if value not in ("", "NULL"):
            total = exact.add(total, exact.create_decimal(value))
    return total


def _land(key: str, body: bytes) -> dict[str, Any]:
    """PUT a file under bills/ as a cloud would; return the bill record the ingest wrote."""
    from chalicelib.service.bill_intake import LandedObject
    from chalicelib.store import bills, objects
    from chalicelib.store.aws import client

    etag = client("s3").put_object(Bucket=objects.bucket(), Key=key, Body=body)["ETag"]
    record = bills.get_bill(LandedObject(key, etag.strip('"'), 0, "").bill_id)
    assert record is not None, f"no bill record for {key}: the notification did not fire"
    return record


@pytest.mark.parametrize(("name", "expected_format", "billed_column"), EXTERNAL_FILES)
def test_every_external_file_is_taken_in(
    clean_stack: Any, name: str, expected_format: str, billed_column: str
) -> None:
    record = _land(f"bills/external/{name}", (EXTERNAL_DATA / name).read_bytes())
    assert record["status"] == "processed", record["error"]
    assert record["format"] == expected_format
    assert record["rows"] > 0
    assert Decimal(record["totals"]["billed_cost"]) == _column_sum(name, billed_column)


def test_final_cur_is_flagged_and_not_final_is_not(clean_stack: Any) -> None:
    final = _land("bills/a/final.csv", (EXTERNAL_DATA / "aws-cur-2023-06-final.csv").read_bytes())
    draft = _land(
        "bills/b/draft.csv", (EXTERNAL_DATA / "aws-cur-2023-06-not-final.csv").read_bytes()
    )
    assert final["final"] is True
    assert draft["final"] is False


BAD_FILES = {
    "truncated.csv.gz": gzip.compress((EXTERNAL_DATA / "aws-cur-2023-06-final.csv").read_bytes())[
        :-40
    ],
    "empty.csv": b"",
    "not-a-bill.csv": b"name,colour\napple,red\n",
    "latin1.csv": (EXTERNAL_DATA / "aws-cur-2023-06-final.csv")
    .read_bytes()
    .replace(b"NOK", "NØK".encode("latin-1")),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_is_quarantined_with_a_clear_error(clean_stack: Any, name: str) -> None:
    from chalicelib.store import objects

    key = f"bills/bad/{name}"
    record = _land(key, BAD_FILES[name])
    assert record["status"] == "failed"
    assert record["error"]["message"].startswith(key)
    # Moved, never deleted: the original bytes are kept under quarantine/.
    assert objects.head(key) is None
    assert objects.get_bytes(record["quarantine_key"]) == BAD_FILES[name]


HOSTILE_FILES = {
    "zeros.csv.gz": ("zeros", "longer than 8 MiB"),  # 10 GiB of zero bytes from 10 MB
    "blank-lines.csv.gz": ("blank lines", "possible zip bomb"),  # 10 GiB of line breaks
    "one-line.csv": ("one line", "header line is longer than 1 MiB"),  # 5 MB, no line break
}


def _hostile(kind: str) -> bytes:
    from tests.bill_files import bombs

    if kind == "zeros":
        return bombs.gzip_of_zeros()
    if kind == "blank lines":
        return bombs.gzip_of_blank_lines()
    return b"x" * 5_000_000


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_a_bomb_or_an_endless_line_is_an_invalid_file_never_retried(
    clean_stack: Any, name: str
) -> None:
    from chalicelib.store import objects
    from chalicelib.workflow import bill_events

    kind, fragment = HOSTILE_FILES[name]
    key = f"bills/hostile/{name}"
    body = _hostile(kind)
    record = _land(key, body)
    assert record["status"] == "failed"
    message = record["error"]["message"]
    assert message.startswith(key) and fragment in message, message
    assert (
        "internal error" not in message and "/tmp" not in message and "rebill-work" not in message
    )
    assert not record.get("retryable")
    assert objects.head(key) is None
    assert objects.get_bytes(record["quarantine_key"]) == body
    # The same event again (Lambda's retry, S3's second delivery) does not take it in again.
    etag = objects.head(record["quarantine_key"])["ETag"]  # a copy: the same bytes, the same ETag
    event = {"Records": [{"s3": {"object": {"key": key, "eTag": etag, "size": len(body)}}}]}
    [again] = bill_events.handle_s3_event(event)
    assert again["duplicate"] is True and again["status"] == "failed"


def test_a_bad_file_does_not_disturb_earlier_data(clean_stack: Any) -> None:
    from chalicelib.store import bills

    good = _land("bills/a/final.csv", (EXTERNAL_DATA / "aws-cur-2023-06-final.csv").read_bytes())
    [period] = good["periods"]
    before = bills.current_aggregates(period)
    _land("bills/a/broken.csv", b"lineItem/UsageAccountId\n")
    assert bills.current_aggregates(period) == before
    assert bills.get_bill(good["id"])["status"] == "processed"


def test_a_redelivery_under_the_same_key_replaces_the_older_one(clean_stack: Any) -> None:
    from chalicelib.store import bills

    body = (EXTERNAL_DATA / "aws-cur-2023-06-not-final.csv").read_bytes()
    first = _land("bills/cur/report.csv", body)
    second = _land("bills/cur/report.csv", body.replace(b",10,", b",12,", 1))
    assert second["id"] != first["id"]
    [period] = second["periods"]
    current = bills.current_aggregates(period)
    assert {a["bill_id"] for a in current} == {second["id"]}
    assert bills.get_bill(first["id"])["status"] == "superseded"


def test_a_failure_of_ours_is_retried_and_a_bad_file_is_not(
    clean_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.service import bill_intake as ingest
    from chalicelib.store import bills, objects
    from chalicelib.store.aws import client
    from chalicelib.workflow import bill_events

    key = "bills/retry/final.csv"
    body = (EXTERNAL_DATA / "aws-cur-2023-06-final.csv").read_bytes()
    real = ingest.normalize_bill

    def outage(source: Any, **kwargs: Any) -> Any:
        raise OSError(f"[Errno 28] No space left on device: '{source.parent}/piece-00001.csv'")

    monkeypatch.setattr(ingest, "normalize_bill", outage)
    # The notification's invocation fails inside moto (which swallows it): the record says why.
    etag = client("s3").put_object(Bucket=objects.bucket(), Key=key, Body=body)["ETag"]
    bill_id = ingest.LandedObject(key, etag.strip('"'), 0, "").bill_id
    failed = bills.get_bill(bill_id)
    assert failed is not None and failed["status"] == "failed" and failed["retryable"] is True
    # The message names the bill's key, not the local copy it was being read from.
    assert failed["error"]["message"] == (
        f"internal error: [Errno 28] No space left on device: '{key}'"
    )
    assert objects.head(key) is not None  # not quarantined: the file is fine

    # Lambda retries the same event; this time the work gets done.
    monkeypatch.setattr(ingest, "normalize_bill", real)
    event = {"Records": [{"s3": {"object": {"key": key, "eTag": etag, "size": len(body)}}}]}
    [outcome] = bill_events.handle_s3_event(event)
    assert outcome["status"] == "processed"
    assert bills.get_bill(bill_id)["status"] == "processed"
    [again] = bill_events.handle_s3_event(event)
    assert again["duplicate"] is True
