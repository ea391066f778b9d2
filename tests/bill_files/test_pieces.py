"""A compressed CSV bill is parsed in pieces of whole records (chalicelib.bill_files.container).

The pieces are made tiny here (a few KiB) so that a small bill spans dozens of them. A bill cut
into pieces normalizes to exactly the lines of the same bill read whole, and a bad line in a
later piece is reported with the same line and column as when the bill is read whole.
"""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from chalicelib.bill_files import container, normalize
from chalicelib.bill_files.container import Piece
from chalicelib.bill_files.model import NormalizedBill
from chalicelib.bill_files.normalize import normalize_bill
from chalicelib.errors import InvalidBillFile
from tests.bill_files import curgen

COST = "lineItem/UnblendedCost"
DESCRIPTION = "lineItem/LineItemDescription"
PIECE_BYTES = 4096


@pytest.fixture(autouse=True)
def tiny_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(container, "PIECE_BYTES", PIECE_BYTES)
    monkeypatch.setattr(container, "OUT_CHUNK", 1000)  # inflate a little at a time
    monkeypatch.setattr(container, "CHUNK", 300)


@pytest.fixture
def pieces_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Piece, int]]:
    """Every piece staged, with the number of piece files on disk while it was checked."""
    seen: list[tuple[Piece, int]] = []
    check = normalize._check_piece

    def spy(con: duckdb.DuckDBPyConnection, src: normalize.Source, piece: Piece, *a: object):  # type: ignore[no-untyped-def]
        seen.append((piece, len(list(piece.path.parent.glob("piece-*.csv")))))
        return check(con, src, piece, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(normalize, "_check_piece", spy)
    return seen


def _bill(n: int = 400, accounts: int = 3, **changes: dict[str, str]) -> bytes:
    """n lines over ``accounts`` accounts; every 7th description is quoted with commas, quotes and
    newlines (a record over several physical lines); ``changes`` replaces line i's fields
    (``changes["i"]``; i counts data lines from 1)."""
    rows = []
    for i in range(1, n + 1):
        fields = {
            "lineItem/UsageAccountId": f"{i % accounts + 1:012d}",
            COST: f"{i}.{i % 97:02d}",
            "identity/LineItemId": f"line-{i}",
        }
        if i % 7 == 0:
            fields[DESCRIPTION] = f'a "quoted"\nvalue, over\n{i % 3 + 1} lines'
        fields.update(changes.get(str(i), {}))
        rows.append(curgen.line(**fields))
    return curgen.render(rows)


def _lines(bill: NormalizedBill) -> list[tuple[object, ...]]:
    files = [str(p.path) for p in bill.partitions]
    return duckdb.execute(
        "SELECT * EXCLUDE (SourceFileId) FROM read_parquet($files) ORDER BY ALL",
        {"files": files},
    ).fetchall()


def _error(path: Path, out: Path) -> InvalidBillFile:
    with pytest.raises(InvalidBillFile) as caught:
        normalize_bill(path, source_file_id="bad", out_dir=out)
    return caught.value


@pytest.mark.parametrize(
    ("packing", "accounts"),
    [
        ("gz", 3),
        ("zip", 3),
        ("gz-crlf", 3),
        # 20 and 200 partitions: the partitioned and the sorted writers read the pieces' tables
        ("gz", 20),
        ("gz", 200),
    ],
)
def test_a_bill_in_pieces_is_the_bill_read_whole(
    tmp_path: Path, packing: str, accounts: int, pieces_seen: list[tuple[Piece, int]]
) -> None:
    data = _bill(accounts=accounts)
    if packing == "gz-crlf":
        data = data.replace(b"\n", b"\r\n")
    whole = tmp_path / "whole.csv"
    whole.write_bytes(data)
    packed = tmp_path / "packed.csv.gz"
    packed.write_bytes(
        curgen.zipped("packed.csv", data) if packing == "zip" else gzip.compress(data)
    )

    expected = normalize_bill(whole, source_file_id="w", out_dir=tmp_path / "whole")
    pieces_seen.clear()
    got = normalize_bill(packed, source_file_id="p", out_dir=tmp_path / "packed")

    pieces = [piece for piece, _ in pieces_seen]
    assert len(pieces) >= 20  # of 4-5 KiB each: a piece ends in the chunk that fills it
    assert [p.number for p in pieces] == list(range(len(pieces)))
    # Each piece holds whole records: its lines start where the previous piece's ended.
    assert pieces[0].line_offset == 0
    assert all(a.line_offset <= b.line_offset for a, b in itertools.pairwise(pieces))
    # A piece is removed once staged, before the next one is inflated: one on disk at a time.
    assert {on_disk for _, on_disk in pieces_seen} == {1}
    assert got.rows == expected.rows == 400
    assert got.totals == expected.totals
    assert [(p.account_id, p.rows, p.billed_cost) for p in got.partitions] == [
        (p.account_id, p.rows, p.billed_cost) for p in expected.partitions
    ]
    assert _lines(got) == _lines(expected)


BAD_LINES: list[tuple[str, Callable[[], bytes]]] = [
    ("bad cost", lambda: _bill(**{"301": {COST: "12,50"}})),
    ("bad date", lambda: _bill(**{"250": {"lineItem/UsageStartDate": "yesterday"}})),
    ("other currency", lambda: _bill(**{"333": {"lineItem/CurrencyCode": "EUR"}})),
    (
        "no account",
        lambda: _bill(**{"390": {"lineItem/UsageAccountId": "", "bill/PayerAccountId": ""}}),
    ),
    ("short line", lambda: _cut_line(_bill(), 281)),
    (
        "not UTF-8",
        lambda: _bill(**{"222": {DESCRIPTION: "caf\u00e9"}}).replace(
            "caf\u00e9".encode(), "caf\u00e9".encode("latin-1")
        ),
    ),
    ("bad cost, CRLF", lambda: _bill(**{"301": {COST: "abc"}}).replace(b"\n", b"\r\n")),
]


def _cut_line(data: bytes, record: int) -> bytes:
    """The data line ``record`` (1-based, counted as records) loses its last cells."""
    lines = data.split(b"\n")
    # Records 7, 14, … span 3 physical lines (see _bill): find the record's physical line.
    physical, seen = 1, 0
    while seen < record:
        seen += 1
        physical += 3 if seen % 7 == 0 else 1
    index = physical - (3 if record % 7 == 0 else 1)
    lines[index] = lines[index][: lines[index].rindex(b",", 0, len(lines[index]) - 30)]
    return b"\n".join(lines)


@pytest.mark.parametrize(("case", "content"), BAD_LINES, ids=[c for c, _ in BAD_LINES])
def test_a_bad_line_in_a_later_piece_is_named_as_in_the_whole_bill(
    tmp_path: Path, case: str, content: Callable[[], bytes], pieces_seen: list[tuple[Piece, int]]
) -> None:
    data = content()
    whole = tmp_path / "bill.csv"
    whole.write_bytes(data)
    packed = tmp_path / "bill.csv.gz"
    packed.write_bytes(gzip.compress(data))

    expected = _error(whole, tmp_path / "whole")
    assert expected.line is not None and expected.line > 100, expected.message
    pieces_seen.clear()
    got = _error(packed, tmp_path / "packed")

    assert got.message == expected.message.replace("bill.csv", "bill.csv.gz"), case
    assert (got.line, got.column) == (expected.line, expected.column)
    assert pieces_seen[-1][0].number > 0  # the bad line lies beyond the first piece
    assert list((tmp_path / "packed").iterdir()) == []  # nothing left behind


def test_a_gzip_cut_short_after_many_pieces_fails(tmp_path: Path) -> None:
    packed = tmp_path / "cut.csv.gz"
    packed.write_bytes(gzip.compress(_bill(2000))[:-5000])
    error = _error(packed, tmp_path / "out")
    assert "truncated gzip file" in error.message
    assert list((tmp_path / "out").iterdir()) == []


def test_a_header_only_bill_is_one_piece(tmp_path: Path) -> None:
    packed = tmp_path / "header.csv.gz"
    packed.write_bytes(gzip.compress(curgen.render([])))
    error = _error(packed, tmp_path / "out")
    assert "header but no line items" in error.message and error.line == 2


@pytest.mark.parametrize(
    ("data", "quotes_before", "end"),
    [
        (b"a,b\nc,d\ne", 0, 8),  # the last newline ends a record
        (b'a,"b\nc",d\ne,"f\ng', 0, 10),  # the last newline is inside "f…: one back
        (b'x\ny"\nz', 1, 5),  # a quote before the data opened a value that closes here
        (b"x\ny\nz", 1, 0),  # still inside a value opened before: no record ends here
        (b"no newline", 0, 0),
        (b'a,"b ""q"" c"\nd', 0, 14),  # doubled quotes inside a value keep the balance
    ],
)
def test_record_end(data: bytes, quotes_before: int, end: int) -> None:
    assert container._record_end(data, quotes_before) == end


def test_pieces_hold_whole_records(tmp_path: Path) -> None:
    data = _bill(300)
    source = tmp_path / "bill.csv.gz"
    source.write_bytes(gzip.compress(data))
    work = tmp_path / "work"
    work.mkdir()
    records: list[bytes] = []
    with container.unpack(source, work, max_bytes=10**9, label="bill.csv.gz") as unpacked:
        assert (unpacked.kind, unpacked.container) == ("csv", "csv.gz")
        header = b""
        for piece in unpacked.pieces():
            text = piece.path.read_bytes()
            if piece.number == 0:
                header = text[: text.index(b"\n") + 1]
                records.append(text[len(header) :])
            else:
                assert text.startswith(header)
                records.append(text[len(header) :])
            assert text.endswith(b"\n")
            assert text.count(b'"') % 2 == 0
            piece.path.unlink()
    assert header + b"".join(records) == data
