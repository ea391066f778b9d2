"""What the embedded AWS keeps between runs, in a data directory (``serve --data-dir``).

- ``dynamodb/``: every table (reference data, bills, invoices, runs, API tokens, the
  invoice-number counters), in DynamoDB Local's own database (``-dbPath``, ``-sharedDb``);
- ``s3/<bucket>/``: every object (its latest version, content type and metadata), one file per
  object, written before the S3 call answers;
- ``moto/cognito-idp.pickle``: the user pools (users, passwords, groups, app clients, issued
  tokens), moto's models pickled after each call that may change them, before it answers;
- ``moto/dynamodb.pickle``: likewise the tables, when moto's DynamoDB stands in for DynamoDB
  Local (no Java).

A write is on disk when the call that made it answers, so a stack killed with ``kill -9`` loses
nothing it acknowledged (files are renamed into place, not fsynced: a power cut may). Not kept:
Step Functions executions and their history, SNS messages, and the resources ``provision``
creates again on every start (functions, state machines, topic, role, bucket notification).

The hook is a WSGI wrapper around moto's server: the only way in for the API, the Lambdas and
scripts. Changes moto makes to S3 without a request (none that Rebill relies on) are caught by
a sync every second; everything is written once more at stop.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import pickle
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("localaws")

MARKER = ".rebill-data"  # written into every data directory: only such a directory is reset
LOCK = ".lock"
S3_DIR = "s3"
MOTO_DIR = "moto"
DYNAMODB_DIR = "dynamodb"
DEMO_MARKER = "demo.json"

# Actions that only read; every other action of a pickled service is followed by a snapshot.
_READ_ACTIONS = (
    "Get",
    "List",
    "Describe",
    "Query",
    "Scan",
    "BatchGet",
    "TransactGet",
    "AdminGet",
    "AdminList",
)


class DataDirError(RuntimeError):
    """The data directory cannot be used (or reset) as asked; nothing was changed."""


class DataDirInUse(DataDirError):
    pass


class NotADataDir(DataDirError):
    pass


class OtherDynamoDB(DataDirError):
    pass


def check_dynamodb(data: DataDir, *, moto_dynamodb: bool) -> None:
    """Refuse to start on tables another DynamoDB back end holds: they would seem gone."""
    local = (data.path / DYNAMODB_DIR / "shared-local-instance.db").is_file()
    moto = (data.path / MOTO_DIR / "dynamodb.pickle").is_file()
    if moto_dynamodb and local:
        raise OtherDynamoDB(
            f"{data.path} holds DynamoDB Local's tables but DynamoDB Local is not running "
            "(Java missing or --dynamodb moto): start with Java, or reset"
        )
    if not moto_dynamodb and moto:
        raise OtherDynamoDB(
            f"{data.path} holds moto's DynamoDB tables: start with --dynamodb moto, or reset"
        )


class DataDir:
    """The directory and its lock: one stack at a time runs on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fd: int | None = None

    def open(self) -> DataDir:
        if self.path.exists() and not self.path.is_dir():
            raise NotADataDir(f"{self.path} is not a directory: choose another --data-dir")
        if self.path.exists() and any(self.path.iterdir()) and not self.is_data_dir():
            raise NotADataDir(
                f"{self.path} is not empty and holds no Rebill data ({MARKER} missing): "
                "choose another --data-dir"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / MARKER).touch()
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DataDirInUse(
                f"{self.path} is in use by another stack (pid {holder}): stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return self

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock; a killed process releases it too
            self._lock_fd = None

    def is_data_dir(self) -> bool:
        return (self.path / MARKER).is_file()

    def sub(self, name: str) -> Path:
        path = self.path / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def reset(path: Path) -> list[str]:
    """Delete a data directory; return what it held. Refuses a directory in use or not ours."""
    if not path.exists():
        return []
    if not DataDir(path).is_data_dir():
        raise NotADataDir(f"{path} holds no Rebill data ({MARKER} missing): not deleting it")
    lock = DataDir(path).open()  # raises DataDirInUse while a stack runs on it
    try:
        held = describe(path)
    finally:
        lock.close()
    shutil.rmtree(path)
    return held


def describe(path: Path) -> list[str]:
    """What a data directory holds, in words."""
    held: list[str] = []
    if (path / DYNAMODB_DIR).is_dir() and any((path / DYNAMODB_DIR).iterdir()):
        held.append(f"{path / DYNAMODB_DIR}: the DynamoDB tables (customers, bills, invoices, …)")
    s3 = path / S3_DIR
    for bucket in sorted(p for p in s3.glob("*") if p.is_dir()):
        count = sum(1 for _ in bucket.glob("*.obj"))
        held.append(f"{bucket}: {count} object(s) of bucket {bucket.name}")
    for pickled in sorted((path / MOTO_DIR).glob("*.pickle")):
        held.append(f"{pickled}: moto's {pickled.stem} state")
    if (path / DEMO_MARKER).is_file():
        held.append(f"{path / DEMO_MARKER}: the record that the demo was loaded")
    return held


def _write_atomically(path: Path, chunks: Iterable[bytes]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    os.replace(tmp, path)


# --- S3 ---------------------------------------------------------------------------------------


def _s3_backend() -> Any:
    from moto.s3.models import s3_backends

    from localaws.stack import ACCOUNT_ID

    return s3_backends[ACCOUNT_ID]["aws"]


@dataclass(frozen=True)
class _Header:
    key: str
    etag: str
    last_modified: str
    metadata: dict[str, str]
    storage_class: str | None


def _header_of(name: str, key: Any) -> _Header:
    with key.lock:  # moto computes the ETag from the buffer a reader may be using
        etag = key.etag
    return _Header(
        key=name,
        etag=etag,
        last_modified=key.last_modified.isoformat(),
        metadata={str(k): str(v) for k, v in key.metadata.items()},
        storage_class=key.storage_class,
    )


def _fingerprint(key: Any) -> tuple[Any, ...]:
    """Cheap to take for every object on every call: a write makes a new ``FakeKey``; metadata
    and storage class change on the same one."""
    return (key, tuple(sorted(key.metadata.items())), key.storage_class, key.last_modified)


class S3Mirror:
    """Every object of moto's S3 as one file: ``s3/<bucket>/<sha256 of key>.obj``, a JSON
    header line then the bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.active = False  # nothing is written (or deleted) before restore() has run
        # (bucket, key) → the fingerprint of what is on disk
        self._written: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._lock = threading.Lock()

    def _path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / (hashlib.sha256(key.encode()).hexdigest() + ".obj")

    def restore(self) -> int:
        """Put every stored object back into moto (no notification fires); start mirroring."""
        backend = _s3_backend()
        restored = 0
        with self._lock:
            for bucket_dir in sorted(p for p in self.root.glob("*") if p.is_dir()):
                for tmp in bucket_dir.glob(".*.tmp"):  # a write cut short: its object is older
                    tmp.unlink()
                if bucket_dir.name not in backend.buckets:
                    from localaws.stack import REGION

                    backend.create_bucket(bucket_dir.name, REGION)
                for path in sorted(bucket_dir.glob("*.obj")):
                    with open(path, "rb") as f:
                        header = _Header(**json.loads(f.readline()))
                        value = f.read()
                    key = backend.put_object(
                        bucket_dir.name,
                        header.key,
                        value,
                        storage=header.storage_class,
                        etag=header.etag.strip('"'),
                        disable_notification=True,
                    )
                    key.set_metadata(dict(header.metadata))
                    key.last_modified = datetime.fromisoformat(header.last_modified)
                    self._written[(bucket_dir.name, header.key)] = _fingerprint(key)
                    restored += 1
            self.active = True
        return restored

    def sync(self) -> None:
        """Write the objects that changed since the last sync and delete the files of the
        objects that are gone."""
        if not self.active:
            return
        backend = _s3_backend()
        with self._lock:
            seen: set[tuple[str, str]] = set()
            for bucket_name, bucket in list(backend.buckets.items()):
                # The raw {key: [versions]} of moto's key store, copied in one step.
                for name, versions in list(dict.items(bucket.keys)):
                    if self._sync_one(bucket_name, name, versions):
                        seen.add((bucket_name, name))
            for bucket_name, name in set(self._written) - seen:
                self._sync_one(bucket_name, name, None)

    def sync_object(self, bucket_name: str, name: str) -> bool:
        """Write (or delete the file of) the one object a request changed: a write costs the
        same with 100 objects in the bucket or 100,000. False when there is no such bucket (the
        caller syncs everything then)."""
        if not self.active:
            return True
        bucket = _s3_backend().buckets.get(bucket_name)
        if bucket is None:
            return False
        with self._lock:
            self._sync_one(bucket_name, name, dict.get(bucket.keys, name))
        return True

    def _sync_one(self, bucket_name: str, name: str, versions: list[Any] | None) -> bool:
        """Bring one object's file in line with moto (``versions``: its raw entry in the key
        store, None when there is none); whether the object exists. Holds the lock."""
        from moto.s3.models import FakeKey

        key = versions[-1] if versions else None
        if not isinstance(key, FakeKey):  # gone, or a delete marker
            if self._written.pop((bucket_name, name), None) is not None:
                self._path(bucket_name, name).unlink(missing_ok=True)
            return False
        fingerprint = _fingerprint(key)
        if self._written.get((bucket_name, name)) == fingerprint:
            return True
        try:
            header = _header_of(name, key)
            value = key.value
        except ValueError:  # replaced meanwhile: the request that did it syncs
            return True
        path = self._path(bucket_name, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(header.__dict__).encode() + b"\n"
        _write_atomically(path, (line, value))
        self._written[(bucket_name, name)] = fingerprint
        return True


def s3_object_of(environ: dict[str, Any]) -> tuple[str, str] | None:
    """The (bucket, key) a path-style S3 request writes or deletes, if it names one object (a
    multi-object delete, ``POST /bucket?delete``, names none)."""
    path = str(environ.get("PATH_INFO") or "")
    # WSGI hands the decoded path as latin-1 text; keys are UTF-8.
    with contextlib.suppress(UnicodeError):
        path = path.encode("latin-1").decode("utf-8")
    bucket, _, name = path.lstrip("/").partition("/")
    if not bucket or not name:
        return None
    return bucket, name


# --- moto services kept as pickles --------------------------------------------------------------


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        from joserfc.jwk import RSAKey

        # A user pool's signing key (moto loads the same one into every pool).
        if isinstance(obj, RSAKey):
            return RSAKey.import_key, (obj.as_dict(private=True),)
        return NotImplemented


@dataclass
class PickledService:
    """Some attributes of one moto backend, pickled after every call that may change them."""

    name: str
    target_prefix: str  # the X-Amz-Target of the service's calls
    backend: Callable[[], Any]
    attributes: tuple[str, ...]
    path: Path

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._digest = b""  # of the pickle on disk
        self.active = False

    def changes(self, target: str) -> bool:
        if not target.startswith(self.target_prefix):
            return False
        return not target.removeprefix(self.target_prefix).startswith(_READ_ACTIONS)

    def restore(self) -> bool:
        with self._lock:
            self.active = True
            if not self.path.is_file():
                return False
            data = self.path.read_bytes()
            self._digest = hashlib.sha256(data).digest()
            state = pickle.loads(data)
            backend = self.backend()
            for attribute, value in state.items():
                current = getattr(backend, attribute)
                current.clear()
                current.update(value)
            return True

    def snapshot(self) -> None:
        if not self.active:
            return
        backend = self.backend()
        with self._lock:
            for attempt in range(20):
                buffer = io.BytesIO()
                try:
                    state = {a: getattr(backend, a) for a in self.attributes}
                    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
                    break
                except RuntimeError:  # another request changed a dict while it was pickled
                    if attempt == 19:
                        raise
            data = buffer.getvalue()
            digest = hashlib.sha256(data).digest()
            if digest == self._digest:  # a call that changed nothing (a failed one, a read)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.path, (data,))
            self._digest = digest


def pickled_services(data: DataDir, *, dynamodb: bool) -> list[PickledService]:
    from localaws.stack import ACCOUNT_ID, REGION

    def backend(service: str) -> Callable[[], Any]:
        def get() -> Any:
            from moto.backends import get_backend

            return get_backend(service)[ACCOUNT_ID][REGION]  # type: ignore[call-overload]

        return get

    services = [
        PickledService(
            "cognito-idp",
            "AWSCognitoIdentityProviderService.",
            backend("cognito-idp"),
            ("user_pools", "user_pool_domains"),
            data.path / MOTO_DIR / "cognito-idp.pickle",
        )
    ]
    if dynamodb:
        services.append(
            PickledService(
                "dynamodb",
                "DynamoDB_20120810.",
                backend("dynamodb"),
                ("tables",),
                data.path / MOTO_DIR / "dynamodb.pickle",
            )
        )
    return services


# --- the hook -----------------------------------------------------------------------------------


class Persistence:
    """Wraps moto's WSGI app: after a call that may change S3 or a pickled service, the change
    is on disk before the response leaves."""

    def __init__(self, data: DataDir, *, moto_dynamodb: bool) -> None:
        self.data = data
        self.s3 = S3Mirror(data.sub(S3_DIR))
        self.services = pickled_services(data, dynamodb=moto_dynamodb)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        def persisted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            response = app(environ, start_response)
            # moto has done the work by now; the body it returns is already computed.
            if environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE"):
                target = environ.get("HTTP_X_AMZ_TARGET", "")
                try:
                    if not target:  # S3: the object the request names, or every object
                        named = s3_object_of(environ)
                        if named is None or not self.s3.sync_object(*named):
                            self.s3.sync()
                    for service in self.services:
                        if service.changes(target):
                            service.snapshot()
                except Exception:
                    log.exception("could not write the embedded AWS's data to %s", self.data.path)
                    raise
            return response

        return persisted

    def restore_services(self) -> list[str]:
        """Before provisioning: the pickled services' state (provisioning then finds it)."""
        return [s.name for s in self.services if s.restore()]

    def restore_objects(self) -> int:
        """After provisioning: the objects (the bucket exists; no notification fires)."""
        count = self.s3.restore()
        self._thread = threading.Thread(target=self._every_second, daemon=True)
        self._thread.start()
        return count

    def _every_second(self) -> None:
        # S3 only: it is cheap to compare, and the pickled services change through calls only.
        while not self._stop.wait(1.0):
            with contextlib.suppress(Exception):
                self.s3.sync()

    def flush(self) -> None:
        self.s3.sync()
        for service in self.services:
            service.snapshot()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def demo_loaded(data: DataDir | None) -> dict[str, Any] | None:
    if data is None or not (data.path / DEMO_MARKER).is_file():
        return None
    loaded: dict[str, Any] = json.loads((data.path / DEMO_MARKER).read_text())
    return loaded


def record_demo(data: DataDir, period: str) -> None:
    _write_atomically(data.path / DEMO_MARKER, (json.dumps({"period": period}).encode(),))
