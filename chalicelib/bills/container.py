"""Unpack a bill file into one plain file DuckDB can read: detect the packing by magic bytes.

gzip and zip are decompressed here, streaming, into the work directory, rather than handed to
DuckDB: DuckDB's gzip reader silently accepts a truncated stream (it parses what is there), it
cannot read zip at all, and only a decompressor we drive can stop a zip bomb at
``max_decompressed_bytes``. isal's igzip decompresses at several hundred MB/s, so the extra
pass costs little next to parsing, and the plain file lets DuckDB parse CSV in parallel.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from isal import igzip

from chalicelib.errors import InvalidBillFile

CHUNK = 1 << 20

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
        with target.open("wb") as out:
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


def _gunzip(source: Path, out: BinaryIO, *, max_bytes: int, label: str) -> None:
    with igzip.open(source, "rb") as f:  # type: ignore[no-untyped-call]
        _copy_limited(f, out, max_bytes=max_bytes, label=label, what="gzip")


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
            raise InvalidBillFile(
                f"{label}: decompresses to more than {max_bytes} bytes; refused as a possible "
                "zip bomb"
            )
        # Write errors (disk full) are not the file's fault: they propagate as OSError.
        out.write(chunk)
