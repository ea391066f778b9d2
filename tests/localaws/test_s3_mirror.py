"""The embedded AWS's S3 on disk: a write or delete syncs the one object it names, so that a
request costs the same with a few objects in the bucket or a month-end's hundred thousand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localaws.persistence import S3Mirror, s3_object_of

pytestmark = pytest.mark.stack

BUCKET = "rebill-local-data"


def test_the_object_a_request_names() -> None:
    assert s3_object_of({"PATH_INFO": f"/{BUCKET}/invoices/i-1/a.csv"}) == (
        BUCKET,
        "invoices/i-1/a.csv",
    )
    # WSGI hands the decoded path as latin-1 text; the key is UTF-8.
    path = f"/{BUCKET}/bills/café.csv".encode().decode("latin-1")
    assert s3_object_of({"PATH_INFO": path}) == (BUCKET, "bills/café.csv")
    # The bucket itself (a presigned POST, a multi-object delete): no one object.
    assert s3_object_of({"PATH_INFO": f"/{BUCKET}"}) is None
    assert s3_object_of({"PATH_INFO": f"/{BUCKET}/"}) is None
    assert s3_object_of({}) is None


@pytest.fixture
def moto_s3(clean_stack: Any) -> Any:
    """The embedded AWS's S3 (moto's, in this process), its bucket empty."""
    from chalicelib.store import objects
    from chalicelib.store.aws import client

    return client("s3"), objects.bucket()


def _files(root: Path) -> int:
    return len(list(root.rglob("*.obj")))


def test_a_write_syncs_only_the_object_it_names(moto_s3: Any, tmp_path: Path) -> None:
    s3, bucket = moto_s3
    mirror = S3Mirror(tmp_path)
    mirror.restore()
    for i in range(50):
        s3.put_object(Bucket=bucket, Key=f"old/{i}", Body=b"x")
    s3.put_object(Bucket=bucket, Key="new", Body=b"fresh")
    assert mirror.sync_object(bucket, "new") is True
    assert _files(tmp_path) == 1  # the other 50 wait for a full sync
    stored = mirror._path(bucket, "new").read_bytes()
    assert stored.endswith(b"\nfresh")

    s3.put_object(Bucket=bucket, Key="new", Body=b"again")
    mirror.sync_object(bucket, "new")
    assert mirror._path(bucket, "new").read_bytes().endswith(b"\nagain")

    s3.delete_object(Bucket=bucket, Key="new")
    mirror.sync_object(bucket, "new")
    assert not mirror._path(bucket, "new").exists()

    mirror.sync()
    assert _files(tmp_path) == 50
    assert mirror.sync_object("no-such-bucket", "k") is False  # the caller syncs everything


def test_the_wrapped_app_syncs_the_named_object_and_everything_otherwise(
    moto_s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localaws.persistence import DataDir, Persistence

    _, bucket = moto_s3
    persistence = Persistence(DataDir(tmp_path).open(), moto_dynamodb=False)
    persistence.s3.restore()
    calls: list[str] = []
    monkeypatch.setattr(persistence.s3, "sync", lambda: calls.append("all"))
    named = persistence.s3.sync_object
    monkeypatch.setattr(
        persistence.s3, "sync_object", lambda b, k: calls.append(f"{b}/{k}") or named(b, k)
    )

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return [b""]

    wrapped = persistence.wrap(app)
    wrapped({"REQUEST_METHOD": "PUT", "PATH_INFO": f"/{bucket}/a/b.csv"}, None)
    wrapped({"REQUEST_METHOD": "GET", "PATH_INFO": f"/{bucket}/a/b.csv"}, None)
    wrapped({"REQUEST_METHOD": "POST", "PATH_INFO": f"/{bucket}", "QUERY_STRING": "delete"}, None)
    wrapped({"REQUEST_METHOD": "DELETE", "PATH_INFO": "/not-a-bucket/k"}, None)
    assert calls == [f"{bucket}/a/b.csv", "all", "not-a-bucket/k", "all"]
