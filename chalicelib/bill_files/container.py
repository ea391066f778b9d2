"""Unpack a bill file into plain files DuckDB can read: detect the packing by magic bytes.

gzip and zip are decompressed here, streaming, rather than handed to DuckDB:

- DuckDB's gzip reader silently accepts a truncated stream (it parses what is there); here the
  inflater checks every member's CRC-32 and length and a stream that stops early is an error;
- DuckDB cannot read zip at all;
- only a decompressor we drive can stop a zip bomb at ``max_bytes`` (output is produced in
  bounded pieces, so even one tiny input chunk cannot blow up memory), or earlier: text that
  inflates more than :data:`MAX_RATIO` times (bills compress some 4-10 times; a bomb of zeros or
  line breaks, about 1,000 times), and a text line longer than DuckDB's line limit (a bomb of
  zeros is one endless line), are refused as soon as they show, not after gigabytes of disk;
- DuckDB parses a plain file with all its threads but a compressed one (or a pipe) with one:
  ISA-L's inflater (about 2x zlib) plus a parallel parse of plain files beats both DuckDB's
  own gzip reader and streaming through a pipe (measured in ``bench/bench_ingest.py``).

A compressed CSV is not inflated into one file. It is cut, as it is inflated, into *pieces* of
whole records of about :data:`PIECE_BYTES` each; every piece after the first starts with a
copy of the header, so each is a CSV file on its own. The caller stages a piece and removes it
before the next one is inflated: the work directory holds one piece, not the whole inflated
bill (a 10-million-line CUR is 10 GB of text, and a Lambda function's ``/tmp`` holds at most
10 GB). Inflating the next piece while DuckDB parses one was measured and dropped: on two cores
DuckDB's parallel parse slows down by more than the inflating takes. A piece ends after a
newline outside quotes: the double quotes before it are balanced (RFC 4180 doubles a quote
inside a quoted value, so a newline inside a value always follows an odd number of quotes).
Each piece carries the offset that turns its line numbers into the bill file's. Parquet and
JSON lines inside gzip or zip are inflated into one file.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO, BinaryIO, cast

from isal import isal_zlib

from chalicelib.bill_files.csvhead import BOM, first_record_bytes
from chalicelib.bill_files.source import MAX_LINE_BYTES
from chalicelib.errors import InvalidBillFile

# Compressed bytes read at a time, and most decompressed bytes produced at a time: pieces that
# stay in the CPU caches (4 MiB pieces make the same inflate and write half as fast).
CHUNK = 256 << 10
OUT_CHUNK = 1 << 20
GZIP_WBITS = 31  # zlib: gzip wrapper, 32 KiB window, header and trailer (CRC-32, size) checked
# Bad deflate data, CRC-32 or length mismatch (isal's stub declares it as an instance).
_INFLATE_ERROR = cast(type[Exception], isal_zlib.error)
# A piece of an inflated CSV holds about this many bytes (a 122-column CUR line is ~1 KB, so
# about a million lines). Staging a bill in two pieces costs DuckDB some 10-20% more than in
# one (measured on the 1M-line benchmark CUR), so pieces are as large as /tmp comfortably
# allows next to the compressed bill, the Parquet output and DuckDB's spill files.
PIECE_BYTES = 1 << 30
SNIFF_BYTES = 4096
# Decompressed / compressed bytes beyond which a file is refused as a compression bomb, judged
# once this much text has come out (a small file may be mostly blank lines).
MAX_RATIO = 200
RATIO_CHECKED_AFTER = 32 << 20

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
PARQUET_MAGIC = b"PAR1"
UNSUPPORTED = {
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
}


@dataclass(frozen=True)
class Piece:
    """A plain file holding whole records of the bill (all of it, unless it came compressed)."""

    path: Path
    number: int  # 0, 1, … in file order
    line_offset: int  # a line number in this file + line_offset = the line in the bill file
    progress: float  # share of the bill file read up to the end of this piece (an estimate)
    owned: bool  # a file of ours, to be removed once staged


class Unpacked:
    """The plain pieces of one bill file; use as ``with unpack(…) as unpacked:``."""

    def __init__(self, source: Path, work_dir: Path, *, max_bytes: int, label: str) -> None:
        self.kind = ""  # 'csv' | 'jsonl' | 'parquet'
        self.container = ""  # what arrived: 'csv', 'csv.gz', 'csv.zip', 'jsonl.gz', 'parquet', …
        self._source = source
        self._work_dir = work_dir
        self._max_bytes = max_bytes
        self._label = label
        self._inflated: Iterator[tuple[bytes, float]] | None = None
        self._head: list[tuple[bytes, float]] = []
        self._pieces: Generator[Piece] | None = None

    def __enter__(self) -> Unpacked:
        label = self._label
        try:
            size = self._source.stat().st_size
        except OSError as exc:
            raise InvalidBillFile(f"{label}: cannot be opened ({exc.strerror})") from exc
        if size == 0:
            raise InvalidBillFile(f"{label}: the file is empty")
        head = _head(self._source)
        if head.startswith(GZIP_MAGIC):
            packing = "gz"
            self._inflated = _gunzip(self._source, max_bytes=self._max_bytes, label=label)
        elif head.startswith(ZIP_MAGIC):
            packing = "zip"
            self._inflated = _unzip(self._source, max_bytes=self._max_bytes, label=label)
        else:
            self.kind = _sniff(self._source, label)
            self.container = self.kind
            return self
        try:
            text = b""
            for data, progress in self._inflated:
                self._head.append((data, progress))
                text += data[: SNIFF_BYTES - len(text)]
                if len(text) >= SNIFF_BYTES:
                    break
            self.kind = _kind_of(text, label, after="after decompression")
        except BaseException:
            self.__exit__()
            raise
        self.container = f"{self.kind}.{packing}"
        return self

    def __exit__(self, *_: object) -> None:
        if self._pieces is not None:
            self._pieces.close()  # waits for the piece being written
        if isinstance(self._inflated, Generator):
            self._inflated.close()  # closes the file being read

    def pieces(self) -> Iterator[Piece]:
        """The pieces in file order. Each is made when the caller asks for it: remove a piece
        of ours (``owned``) before asking for the next, and at most one is on disk."""
        self._pieces = self._make_pieces()
        return self._pieces

    def _make_pieces(self) -> Generator[Piece]:
        if self._inflated is None:
            yield Piece(self._source, 0, 0, 1.0, owned=False)
            return
        inflated: Iterator[tuple[bytes, float]] = chain(self._head, self._inflated)
        if self.kind != "parquet":
            inflated = _bounded_lines(inflated, self._label)
        if self.kind == "csv":
            yield from self._cut(inflated)
            return
        target = self._work_dir / "plain"
        with _BackgroundWriter(target) as out:
            for data, _ in inflated:
                out.write(data)
        if self.kind == "parquet":
            _check_parquet_footer(target, self._label)
        yield Piece(target, 0, 0, 1.0, owned=True)

    def _cut(self, inflated: Iterable[tuple[bytes, float]]) -> Iterator[Piece]:
        """Write the CSV text into pieces of whole records, handing each over when it is done.

        A piece's quotes and newlines are counted only once it is big enough to be cut (they
        say where a record ends, and the piece's lines): a bill of one piece is not counted.
        """
        number = 0
        header = b""
        copied = 0  # lines of the header copy at the top of this piece (none in the first)
        lines_before = 0  # newlines of the bill before this piece's first record
        path = self._piece_path(number)
        out: _BackgroundWriter | BinaryIO = _BackgroundWriter(path)
        try:
            size = 0
            counted: list[int] | None = None  # [quotes, newlines] of the piece so far
            for data, progress in inflated:
                if size + len(data) >= PIECE_BYTES:
                    if counted is None:
                        out.close()
                        counted = _count_quotes_and_newlines(path)
                        out = path.open("ab")  # the few chunks until the cut
                    if cut := _record_end(data, counted[0]):
                        out.write(data[:cut])
                        out.close()
                        newlines = counted[1] + data.count(b"\n", 0, cut)
                        if number == 0:
                            header = first_record_bytes(path, self._label).removeprefix(BOM)
                        yield Piece(path, number, lines_before - copied, progress, owned=True)
                        lines_before += newlines - copied
                        copied = header.count(b"\n")
                        number += 1
                        path = self._piece_path(number)
                        out = _BackgroundWriter(path)
                        out.write(header)
                        data = data[cut:]
                        size, counted = 0, None
                out.write(data)
                size += len(data)
                if counted is not None:
                    counted[0] += data.count(b'"')
                    counted[1] += data.count(b"\n")
            out.close()
            if number == 0 or size:
                yield Piece(path, number, lines_before - copied, 1.0, owned=True)
            else:  # the text ended right after the last cut: nothing but the header copy
                path.unlink()
        finally:
            out.close()

    def _piece_path(self, number: int) -> Path:
        return self._work_dir / f"piece-{number:05d}.csv"


def unpack(source: Path, work_dir: Path, *, max_bytes: int, label: str) -> Unpacked:
    """The plain pieces of ``source``, to be used as ``with unpack(…) as unpacked:``."""
    return Unpacked(source, work_dir, max_bytes=max_bytes, label=label)


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

    def close(self) -> None:
        """Wait for the writes, close the file; raise a write error. Closing again is a no-op."""
        if self._file.closed:
            return
        self._queue.put(None)
        self._thread.join()
        self._file.close()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> _BackgroundWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.close()
        else:  # already failing: stop the thread, keep the first error
            with contextlib.suppress(BaseException):
                self.close()


def _count_quotes_and_newlines(path: Path) -> list[int]:
    quotes = newlines = 0
    with path.open("rb") as f:
        while block := f.read(16 << 20):
            quotes += block.count(b'"')
            newlines += block.count(b"\n")
    return [quotes, newlines]


def _record_end(data: bytes, quotes_before: int) -> int:
    """The index just after the last newline in ``data`` that ends a record, or 0 when there
    is none: the double quotes before it, ``quotes_before`` of them ahead of ``data``, are
    balanced. A newline inside a quoted value is rare; a few steps back find a record end."""
    end = data.rfind(b"\n")
    if end < 0:
        return 0
    quotes = quotes_before + data.count(b'"', 0, end)
    for _ in range(64):
        if quotes % 2 == 0:
            return end + 1
        previous = data.rfind(b"\n", 0, end)
        if previous < 0:
            return 0
        quotes -= data.count(b'"', previous, end)
        end = previous
    return 0


def _head(path: Path, n: int = 64) -> bytes:
    with path.open("rb") as f:
        return f.read(n)


def _sniff(path: Path, label: str) -> str:
    """'parquet', 'jsonl' or 'csv' of an uncompressed file."""
    kind = _kind_of(_head(path, SNIFF_BYTES), label)
    if kind == "parquet":
        _check_parquet_footer(path, label)
    return kind


def _kind_of(head: bytes, label: str, after: str = "") -> str:
    """'parquet', 'jsonl' or 'csv' from the first bytes of an uncompressed file."""
    if not head:
        raise InvalidBillFile(f"{label}: the file is empty" + (f" ({after})" if after else ""))
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    for magic, name in UNSUPPORTED.items():
        if head.startswith(magic):
            raise InvalidBillFile(f"{label}: {name} compression is not supported (use gzip or zip)")
    if head.startswith((GZIP_MAGIC, *ZIP_MAGIC)):
        raise InvalidBillFile(f"{label}: an archive inside an archive is not supported")
    text = head.removeprefix(BOM)
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


def _check_parquet_footer(path: Path, label: str) -> None:
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 4))
        if size < 12 or f.read(4) != PARQUET_MAGIC:
            raise InvalidBillFile(f"{label}: truncated Parquet file (no footer)")


def _gunzip(source: Path, *, max_bytes: int, label: str) -> Iterator[tuple[bytes, float]]:
    """Inflate every gzip member of ``source``: (text, share of the file read so far) pieces; a
    stream cut short is an error."""
    total = 0
    size = max(1, source.stat().st_size)
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
            _check_ratio(total, f.tell(), label)
            if piece:
                yield piece, min(1.0, f.tell() / size)
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


def _unzip(source: Path, *, max_bytes: int, label: str) -> Iterator[tuple[bytes, float]]:
    raw = source.open("rb")  # ours, so that its position tells the compressed bytes read
    try:
        archive = zipfile.ZipFile(raw)
    except (zipfile.BadZipFile, OSError) as exc:
        raw.close()
        raise InvalidBillFile(f"{label}: corrupt or truncated zip file ({exc})") from exc
    with raw, archive:
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
        claimed = max(1, members[0].file_size)  # the header's claim: only for the progress
        start = members[0].header_offset
        with member:
            yield from _read_limited(
                member,
                claimed,
                max_bytes=max_bytes,
                label=label,
                compressed_read=lambda: raw.tell() - start,
            )


def _read_limited(
    reader: IO[bytes],
    claimed: int,
    *,
    max_bytes: int,
    label: str,
    compressed_read: Callable[[], int],
) -> Iterator[tuple[bytes, float]]:
    """Decompressed bytes, counting what really comes out (headers' sizes are claims)."""
    total = 0
    while True:
        try:
            chunk = reader.read(CHUNK)
        except EOFError as exc:
            raise InvalidBillFile(
                f"{label}: truncated zip file (ends after {total} decompressed bytes)"
            ) from exc
        except (OSError, zlib.error, zipfile.BadZipFile) as exc:
            raise InvalidBillFile(f"{label}: corrupt zip data ({exc})") from exc
        if not chunk:
            return
        total += len(chunk)
        if total > max_bytes:
            raise _bomb(label, max_bytes)
        _check_ratio(total, compressed_read(), label)
        yield chunk, min(1.0, total / claimed)


def _bomb(label: str, max_bytes: int) -> InvalidBillFile:
    return InvalidBillFile(
        f"{label}: decompresses to more than {max_bytes} bytes; refused as a possible zip bomb"
    )


def _check_ratio(inflated: int, compressed: int, label: str) -> None:
    if inflated > RATIO_CHECKED_AFTER and inflated > MAX_RATIO * max(1, compressed):
        raise InvalidBillFile(
            f"{label}: decompresses more than {MAX_RATIO} times ({compressed} bytes into "
            f"{inflated} so far); refused as a possible zip bomb"
        )


def _bounded_lines(
    inflated: Iterable[tuple[bytes, float]], label: str
) -> Iterator[tuple[bytes, float]]:
    """The decompressed text, refused as soon as a line passes :data:`MAX_LINE_BYTES` (what
    DuckDB would refuse later, after the whole piece was on disk). A chunk is smaller than the
    limit, so only a line that spans chunks can be too long."""
    line_start = 0  # where the current line begins in the decompressed text
    offset = 0  # where this chunk begins
    for data, progress in inflated:
        end = offset + len(data)
        first = data.find(b"\n")
        if first >= 0:
            if offset + first - line_start > MAX_LINE_BYTES:
                raise _long_line(label, line_start)
            line_start = offset + data.rfind(b"\n") + 1
        if end - line_start > MAX_LINE_BYTES:
            raise _long_line(label, line_start)
        offset = end
        yield data, progress


def _long_line(label: str, line_start: int) -> InvalidBillFile:
    return InvalidBillFile(
        f"{label}: the line at decompressed byte {line_start} is longer than "
        f"{MAX_LINE_BYTES >> 20} MiB; refused: bill lines are short, so this is a damaged file "
        "or a compression bomb"
    )
