"""Unpack a bill file into one plain file DuckDB can read: detect the packing by magic bytes.

gzip and zip are decompressed here, streaming, into the work directory, rather than handed to
DuckDB:

- DuckDB's gzip reader silently accepts a truncated stream (it parses what is there); here the
  inflater checks every member's CRC-32 and length and a stream that stops early is an error;
- DuckDB cannot read zip at all;
- only a decompressor we drive can stop a zip bomb at ``max_decompressed_bytes`` (output is
  produced in bounded pieces, so even one tiny input chunk cannot blow up memory);
- DuckDB parses a plain file with all its threads but a compressed one (or a pipe) with one:
  ISA-L's inflater (about 2x zlib) plus a parallel parse of the plain file beats both DuckDB's
  own gzip reader and streaming through a pipe (measured in ``bench/bench_ingest.py``).
"""

from __future__ import annotations

import queue
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Protocol, cast

from isal import isal_zlib

from chalicelib.errors import InvalidBillFile

# Compressed bytes read at a time, and most decompressed bytes produced at a time: pieces that
# stay in the CPU caches (4 MiB pieces make the same inflate and write half as fast).
CHUNK = 256 << 10
OUT_CHUNK = 1 << 20
GZIP_WBITS = 31  # zlib: gzip wrapper, 32 KiB window, header and trailer (CRC-32, size) checked
# Bad deflate data, CRC-32 or length mismatch (isal's stub declares it as an instance).
_INFLATE_ERROR = cast(type[Exception], isal_zlib.error)

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
PARQUET_MAGIC = b"PAR1"
UNSUPPORTED = {
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
}
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Plain:
    path: Path  # an uncompressed CSV, JSON-lines or Parquet file
    kind: str  # 'csv' | 'jsonl' | 'parquet'
    container: str  # what arrived: 'csv', 'csv.gz', 'csv.zip', 'jsonl.gz', 'parquet', …


def unpack(source: Path, work_dir: Path, *, max_bytes: int, label: str) -> Plain:
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise InvalidBillFile(f"{label}: cannot be opened ({exc.strerror})") from exc
    if size == 0:
        raise InvalidBillFile(f"{label}: the file is empty")
    head = _head(source)
    if head.startswith(GZIP_MAGIC):
        target = work_dir / "plain"
        with _BackgroundWriter(target) as out:
            _gunzip(source, out, max_bytes=max_bytes, label=label)
        inner = _sniff(target, label)
        return Plain(target, inner, f"{inner}.gz")
    if head.startswith(ZIP_MAGIC):
        target = work_dir / "plain"
        _unzip(source, target, max_bytes=max_bytes, label=label)
        inner = _sniff(target, label)
        return Plain(target, inner, f"{inner}.zip")
    kind = _sniff(source, label)
    return Plain(source, kind, kind)


def _head(path: Path, n: int = 64) -> bytes:
    with path.open("rb") as f:
        return f.read(n)


def _sniff(path: Path, label: str) -> str:
    """'parquet', 'jsonl' or 'csv' from the first bytes of an uncompressed file."""
    size = path.stat().st_size
    if size == 0:
        raise InvalidBillFile(f"{label}: the file is empty (after decompression)")
    head = _head(path, 4096)
    if head.startswith(PARQUET_MAGIC):
        with path.open("rb") as f:
            f.seek(max(0, size - 4))
            if size < 12 or f.read(4) != PARQUET_MAGIC:
                raise InvalidBillFile(f"{label}: truncated Parquet file (no footer)")
        return "parquet"
    for magic, name in UNSUPPORTED.items():
        if head.startswith(magic):
            raise InvalidBillFile(f"{label}: {name} compression is not supported (use gzip or zip)")
    if head.startswith((GZIP_MAGIC, *ZIP_MAGIC)):
        raise InvalidBillFile(f"{label}: an archive inside an archive is not supported")
    text = head[len(BOM) :] if head.startswith(BOM) else head
    first = text.lstrip(b" \t\r\n")[:1]
    if not first:
        raise InvalidBillFile(f"{label}: the file holds only blank lines")
    if first == b"{":
        return "jsonl"
    if first == b"[":
        raise InvalidBillFile(
            f"{label}: a JSON array is not a supported bill format (export JSON lines)", line=1
        )
    return "csv"


class _Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class _BackgroundWriter:
    """Writes to a file on another thread, so that inflating and writing (which both release
    the GIL) overlap. A write error (disk full) is raised by the next write or on close."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="rebill-unpack", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:  # after an error, keep draining so no put() blocks
                try:
                    self._file.write(chunk)
                except BaseException as exc:  # handed over to the caller
                    self._error = exc

    def write(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def __enter__(self) -> _BackgroundWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        self._queue.put(None)
        self._thread.join()
        self._file.close()
        if kind is None and self._error is not None:
            raise self._error


def _gunzip(source: Path, out: _Sink, *, max_bytes: int, label: str) -> None:
    """Inflate every gzip member of ``source`` into ``out``; a stream cut short is an error."""
    total = 0
    inflater = isal_zlib.decompressobj(GZIP_WBITS)
    with source.open("rb") as f:
        data = f.read(CHUNK)
        while data:
            try:
                piece = inflater.decompress(data, OUT_CHUNK)
            except _INFLATE_ERROR as exc:
                raise InvalidBillFile(f"{label}: corrupt gzip data ({exc})") from exc
            total += len(piece)
            if total > max_bytes:
                raise _bomb(label, max_bytes)
            out.write(piece)  # disk full is not the file's fault: OSError propagates
            if inflater.unconsumed_tail:
                data = inflater.unconsumed_tail
            elif inflater.eof:  # a member ends: another one, zero padding, or the end
                data = inflater.unused_data or f.read(CHUNK)
                if not data.strip(b"\0"):
                    _expect_zeros(f, label)
                    return
                if not data.startswith(GZIP_MAGIC[:1]) or (
                    len(data) > 1 and not data.startswith(GZIP_MAGIC)
                ):
                    raise InvalidBillFile(f"{label}: corrupt gzip data (junk after the data)")
                inflater = isal_zlib.decompressobj(GZIP_WBITS)
            else:
                data = f.read(CHUNK)
    raise InvalidBillFile(f"{label}: truncated gzip file (ends after {total} decompressed bytes)")


def _expect_zeros(f: BinaryIO, label: str) -> None:
    """After the last member only zero padding may follow (as gzip(1) accepts)."""
    while chunk := f.read(CHUNK):
        if chunk.strip(b"\0"):
            raise InvalidBillFile(f"{label}: corrupt gzip data (junk after the data)")


def _unzip(source: Path, target: Path, *, max_bytes: int, label: str) -> None:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidBillFile(f"{label}: corrupt or truncated zip file ({exc})") from exc
    with archive:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir() and not m.filename.startswith("__MACOSX/")
        ]
        if len(members) != 1:
            names = ", ".join(m.filename for m in members[:5]) or "nothing"
            raise InvalidBillFile(
                f"{label}: a zip bill must hold exactly one file; it holds {len(members)} ({names})"
            )
        try:
            member = archive.open(members[0])
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            # RuntimeError: an encrypted member; NotImplementedError: unknown compression.
            raise InvalidBillFile(f"{label}: cannot open {members[0].filename} ({exc})") from exc
        with member, target.open("wb") as out:
            _copy_limited(member, out, max_bytes=max_bytes, label=label, what="zip")


def _copy_limited(
    reader: IO[bytes], out: BinaryIO, *, max_bytes: int, label: str, what: str
) -> None:
    """Copy decompressed bytes, counting what really comes out (headers' sizes are claims)."""
    total = 0
    while True:
        try:
            chunk = reader.read(CHUNK)
        except EOFError as exc:
            raise InvalidBillFile(
                f"{label}: truncated {what} file (ends after {total} decompressed bytes)"
            ) from exc
        except (OSError, zlib.error, zipfile.BadZipFile) as exc:  # BadGzipFile is an OSError
            raise InvalidBillFile(f"{label}: corrupt {what} data ({exc})") from exc
        if not chunk:
            return
        total += len(chunk)
        if total > max_bytes:
            raise _bomb(label, max_bytes)
        # Write errors (disk full) are not the file's fault: they propagate as OSError.
        out.write(chunk)


def _bomb(label: str, max_bytes: int) -> InvalidBillFile:
    return InvalidBillFile(
        f"{label}: decompresses to more than {max_bytes} bytes; refused as a possible zip bomb"
    )
