"""The data bucket: bill files, normalized Parquet, run scratch files and invoice CSVs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chalicelib.billing.reference import LOGO_PREFIX
from chalicelib.config import get_config
from chalicelib.store.aws import client

BILLS_PREFIX = "bills/"
NORMALIZED_PREFIX = "normalized/"
QUARANTINE_PREFIX = "quarantine/"
RUNS_PREFIX = "runs/"
INVOICES_PREFIX = "invoices/"
SETTINGS_LOGO_PREFIX = LOGO_PREFIX  # the seller's logo, uploaded through a presigned PUT


def bucket() -> str:
    return get_config().data_bucket


def download(key: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    client("s3").download_file(bucket(), key, str(dest))
    return dest


def download_many(keys: Sequence[str], dest_dir: Path, threads: int = 8) -> list[Path]:
    """Download ``keys`` side by side into ``dest_dir`` (as ``<index>.parquet``, in order): a
    run reads thousands of small per-account partitions, and each is a round trip."""
    if not keys:
        return []
    dest_dir.mkdir(parents=True, exist_ok=True)
    s3, name = client("s3"), bucket()

    def fetch(pair: tuple[int, str]) -> Path:
        dest = dest_dir / f"{pair[0]}.parquet"
        with dest.open("wb") as out:
            shutil.copyfileobj(s3.get_object(Bucket=name, Key=pair[1])["Body"], out, 1 << 20)
        return dest

    with ThreadPoolExecutor(min(threads, len(keys))) as pool:
        return list(pool.map(fetch, enumerate(keys)))


def upload(path: Path, key: str, content_type: str = "application/octet-stream") -> None:
    client("s3").upload_file(str(path), bucket(), key, ExtraArgs={"ContentType": content_type})


def put_file(path: Path, key: str, content_type: str = "application/octet-stream") -> None:
    """Upload a small file in one request (``upload`` starts a transfer manager's threads)."""
    client("s3").put_object(
        Bucket=bucket(), Key=key, Body=path.read_bytes(), ContentType=content_type
    )


def put_json(key: str, value: Any) -> None:
    client("s3").put_object(
        Bucket=bucket(), Key=key, Body=json.dumps(value).encode(), ContentType="application/json"
    )


def get_json(key: str) -> Any:
    body = client("s3").get_object(Bucket=bucket(), Key=key)["Body"].read()
    return json.loads(body)


def put_bytes(key: str, data: bytes, content_type: str) -> None:
    client("s3").put_object(Bucket=bucket(), Key=key, Body=data, ContentType=content_type)


def put_new(key: str, data: bytes, content_type: str) -> bool:
    """Write ``key`` only where no object is: False (and nothing written) when one is there."""
    s3 = client("s3")
    try:
        s3.put_object(
            Bucket=bucket(), Key=key, Body=data, ContentType=content_type, IfNoneMatch="*"
        )
        return True
    except s3.exceptions.ClientError as error:
        # 412: an object is there; 409: another write of the key is under way
        if error.response.get("Error", {}).get("Code") in (
            "PreconditionFailed",
            "ConditionalRequestConflict",
        ):
            return False
        raise


def get_bytes(key: str) -> bytes:
    data: bytes = client("s3").get_object(Bucket=bucket(), Key=key)["Body"].read()
    return data


def head(key: str) -> dict[str, Any] | None:
    s3 = client("s3")
    try:
        result: dict[str, Any] = s3.head_object(Bucket=bucket(), Key=key)
        return result
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def list_keys(prefix: str, delimiter: str = "") -> list[str]:
    """Keys under ``prefix``; with ``delimiter="/"`` only those directly in that folder."""
    paginator = client("s3").get_paginator("list_objects_v2")
    keys: list[str] = []
    for page in paginator.paginate(Bucket=bucket(), Prefix=prefix, Delimiter=delimiter):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def delete(key: str) -> None:
    """Delete one object; a key that is already gone is no error."""
    client("s3").delete_object(Bucket=bucket(), Key=key)


def move(key: str, dest_key: str) -> None:
    """Copy then delete: S3 has no rename. The copy lands before the original goes."""
    s3 = client("s3")
    s3.copy_object(Bucket=bucket(), Key=dest_key, CopySource={"Bucket": bucket(), "Key": key})
    s3.delete_object(Bucket=bucket(), Key=key)


def presigned_get(key: str, expires_in: int = 300) -> str:
    url: str = client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket(), "Key": key}, ExpiresIn=expires_in
    )
    return url


def presigned_put(key: str, expires_in: int = 900, content_type: str | None = None) -> str:
    """A URL that lets its holder PUT the bytes of exactly this object, for ``expires_in`` s
    (with ``content_type``: only with that Content-Type header, which the URL signs)."""
    params = {"Bucket": bucket(), "Key": key}
    if content_type is not None:
        params["ContentType"] = content_type
    url: str = client("s3").generate_presigned_url(
        "put_object", Params=params, ExpiresIn=expires_in
    )
    return url


def put_once(key: str, body: bytes, content_type: str, download_name: str | None = None) -> bool:
    """Write ``key`` only if it does not exist (``If-None-Match: *``): an object written once is
    never replaced. False when it existed already (another writer was first)."""
    s3 = client("s3")
    extra = (
        {"ContentDisposition": f'attachment; filename="{download_name}"'} if download_name else {}
    )
    try:
        s3.put_object(
            Bucket=bucket(),
            Key=key,
            Body=body,
            ContentType=content_type,
            IfNoneMatch="*",
            **extra,
        )
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
            return False
        raise
    return True
