"""Compression bombs for tests: gigabytes of decompressed text from a few megabytes, built in
well under a second (one gzip member of 64 MiB, repeated: gzip readers inflate every member)."""

from __future__ import annotations

import io
import zipfile
import zlib
from functools import cache

from tests.bill_files import curgen

_BLOCK = 1 << 20
_MEMBER_BLOCKS = 64  # a member inflates to 64 MiB


@cache
def _member(byte: bytes, head: bytes = b"") -> bytes:
    deflate = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip member
    block = byte * _BLOCK
    parts = [deflate.compress(head)]
    parts += (deflate.compress(block) for _ in range(_MEMBER_BLOCKS))
    parts.append(deflate.flush())
    return b"".join(parts)


def gzip_of_zeros(gib: int = 10) -> bytes:
    """``gib`` GiB of zero bytes, gzipped (about 1 MB per GiB)."""
    return _member(b"\0") * (gib * 1024 // _MEMBER_BLOCKS)


def gzip_of_blank_lines(gib: int = 10) -> bytes:
    """A CUR header and line, then ``gib`` GiB of line breaks, gzipped: every line is short."""
    first = _member(b"\n", curgen.render([curgen.line()]))
    return first + _member(b"\n") * (gib * 1024 // _MEMBER_BLOCKS - 1)


def zip_of_blank_lines(mib: int = 128) -> bytes:
    """A CUR header and line, then ``mib`` MiB of line breaks, as one zip member."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("bomb.csv", "w", force_zip64=True) as member,
    ):
        member.write(curgen.render([curgen.line()]))
        block = b"\n" * _BLOCK
        for _ in range(mib):
            member.write(block)
    return out.getvalue()
