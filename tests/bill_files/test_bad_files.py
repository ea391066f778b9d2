"""A corpus of broken bill files, generated here: each fails with InvalidBillFile naming the file
and, where it can be known, the line (header = 1) and column — never a bare DuckDB error —
and leaves nothing behind in the output directory."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import duckdb
import pytest

from chalicelib.bill_files.normalize import normalize_bill
from chalicelib.errors import InvalidBillFile
from tests.bill_files import bombs, curgen

COST = "lineItem/UnblendedCost"


def _cur(*rows: dict[str, str]) -> bytes:
    return curgen.render(rows or [curgen.line()] * 3)


def _replace_line(data: bytes, number: int, new: bytes) -> bytes:
    text = data.split(b"\n")
    text[number - 1] = new
    return b"\n".join(text)


def _bad_cost_line_4() -> bytes:
    return _cur(curgen.line(), curgen.line(), curgen.line(**{COST: "12,50"}))


def _crlf_bad_cost() -> bytes:
    return _bad_cost_line_4().replace(b"\n", b"\r\n")


def _multiline_before_bad_cost() -> bytes:
    # A quoted description spanning three physical lines moves the bad cost to line 6.
    return _cur(
        curgen.line(**{"lineItem/LineItemDescription": "one\ntwo\nthree"}),
        curgen.line(),
        curgen.line(**{COST: "abc"}),
    )


def _non_utf8() -> bytes:
    data = _cur(curgen.line(), curgen.line(**{"lineItem/LineItemDescription": "caf\u00e9"}))
    return data.replace("caf\u00e9".encode(), "caf\u00e9".encode("latin-1"))


def _header_only() -> bytes:
    return curgen.render([])


def _semicolons() -> bytes:
    return _cur().replace(b",", b";")


def _semicolon_row() -> bytes:
    data = _cur()
    row3 = data.split(b"\n")[2]
    return _replace_line(data, 3, row3.replace(b",", b";"))


def _missing_column() -> bytes:
    return curgen.render([curgen.line()], columns=[c for c in curgen.COLUMNS if c != COST])


def _empty_cost() -> bytes:
    return _cur(curgen.line(), curgen.line(**{COST: ""}))


def _bad_timestamp() -> bytes:
    return _cur(
        curgen.line(),
        curgen.line(),
        curgen.line(),
        curgen.line(**{"lineItem/UsageStartDate": "yesterday"}),
    )


def _mixed_currency() -> bytes:
    return _cur(curgen.line(), curgen.line(**{"lineItem/CurrencyCode": "EUR"}))


def _truncated_row() -> bytes:
    data = _cur()
    return data[: data.rindex(b",", 0, len(data) - 5)]


def _unterminated_quote() -> bytes:
    return _cur() + b'"unterminated,1,2\n'


def _long_value_then_bad_cost() -> bytes:
    # A 300 KB value (over the 128 KiB of Python's csv module) does not hide the bad cost.
    return _cur(
        curgen.line(**{"lineItem/LineItemDescription": "x" * 300_000}),
        curgen.line(**{COST: "abc"}),
    )


Case = tuple[str, Callable[[], bytes], int | None, str | None, str]

CASES: list[Case] = [
    # (file name, content, expected line, expected column, message fragment)
    ("empty.csv", lambda: b"", None, None, "empty"),
    ("blank.csv", lambda: b"\n\n  \n", None, None, "blank"),
    ("header-only.csv", _header_only, 2, None, "header but no line items"),
    ("semicolons.csv", _semicolons, 1, None, "wrong delimiter"),
    ("tabs.csv", lambda: _cur().replace(b",", b"\t"), 1, None, "TAB"),
    ("semicolon-row.csv", _semicolon_row, 3, None, "not comma-separated"),
    ("missing-column.csv", _missing_column, 1, COST, "missing required column"),
    ("bad-cost.csv", _bad_cost_line_4, 4, COST, "not a number: '12,50'"),
    ("bad-cost-crlf.csv", _crlf_bad_cost, 4, COST, "not a number"),
    ("bad-cost-after-multiline.csv", _multiline_before_bad_cost, 6, COST, "not a number: 'abc'"),
    ("empty-cost.csv", _empty_cost, 3, COST, "no value"),
    (
        "huge-cost.csv",
        lambda: _cur(curgen.line(**{COST: "1e21"})),
        2,
        COST,
        "out of range for DECIMAL(38,18): '1e21'",
    ),
    (
        "infinite-cost.csv",
        lambda: _cur(curgen.line(**{COST: "inf"})),
        2,
        COST,
        "not a number: 'inf'",
    ),
    ("bad-timestamp.csv", _bad_timestamp, 5, "lineItem/UsageStartDate", "not a date/time"),
    ("non-utf8.csv", _non_utf8, 3, "lineItem/LineItemDescription", "not UTF-8"),
    ("non-utf8-header.csv", lambda: b"lineItem/Unblended\xffCost,x\n1,2\n", 1, None, "UTF-8"),
    ("mixed-currency.csv", _mixed_currency, 3, "currency", "one currency"),
    ("truncated-row.csv", _truncated_row, 4, None, "Expected Number of Columns"),
    ("unterminated.csv", _unterminated_quote, 5, "identity/LineItemId", "unterminated quote"),
    ("unknown.csv", lambda: b"a,b,c\n1,2,3\n", 1, None, "not a known bill format"),
    ("truncated.csv.gz", lambda: gzip.compress(_cur())[:-40], None, None, "truncated gzip"),
    ("corrupt.csv.gz", lambda: gzip.compress(_cur())[:-8] + b"\0" * 8, None, None, "gzip"),
    ("truncated.csv.zip", lambda: curgen.zipped("a.csv", _cur())[:60], None, None, "zip"),
    ("two.csv.zip", lambda: _zip_two(), None, None, "exactly one file"),
    ("zstd.csv.zst", lambda: b"\x28\xb5\x2f\xfd" + b"\0" * 20, None, None, "zstd"),
    ("array.json", lambda: b'[{"cost": 1}]', 1, None, "JSON array"),
    ("not-gcp.jsonl", lambda: b'{"a": 1}\n', 1, None, "not a Google Cloud"),
    ("bad.jsonl", lambda: _gcp_jsonl(b'{"cost": oops}'), 3, None, "not valid JSON"),
    ("bad-blank.jsonl", lambda: _gcp_jsonl(b'\n\n{"cost": oops}'), 5, None, "not valid JSON"),
    ("truncated.parquet", lambda: b"PAR1" + b"\0" * 50, None, None, "truncated Parquet"),
    # Compression bombs and endless lines: refused as files, early, never as internal errors.
    ("zeros.csv.gz", bombs.gzip_of_zeros, None, None, "longer than 8 MiB"),
    ("blank-lines.csv.gz", bombs.gzip_of_blank_lines, None, None, "possible zip bomb"),
    ("blank-lines.csv.zip", bombs.zip_of_blank_lines, None, None, "possible zip bomb"),
    ("one-line.csv", lambda: b"x" * 5_000_000, 1, None, "header line is longer than 1 MiB"),
    (
        "one-line.csv.gz",
        lambda: gzip.compress(b"a," * 2_500_000),
        1,
        None,
        "header line is longer than 1 MiB",
    ),
    ("long-value.csv", _long_value_then_bad_cost, 3, COST, "not a number: 'abc'"),
    (
        "focus-no-billed-cost.csv",
        lambda: b"EffectiveCost,ListCost,ChargePeriodStart,BillingPeriodStart\n1,1,2026-10-01,x\n",
        1,
        "BilledCost",
        "missing required column BilledCost",
    ),
    (
        "gcp-no-cost.csv",
        lambda: b"billing_account_id,service.id,currency,usage_start_time\nA,S,USD,2026-10-01\n",
        1,
        "cost",
        "missing required column cost",
    ),
    (
        "azure-no-cost.csv",
        lambda: b"SubscriptionId,MeterCategory,Date,BillingCurrency\ns,VM,2026-10-01,USD\n",
        1,
        "CostInBillingCurrency",
        "(or Cost, PreTaxCost)",
    ),
]


def _zip_two() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.csv", _cur())
        archive.writestr("b.csv", _cur())
    return out.getvalue()


def _gcp_jsonl(third: bytes) -> bytes:
    record = {
        "billing_account_id": "A",
        "cost": 1.5,
        "currency": "USD",
        "usage_start_time": "2026-10-01 00:00:00 UTC",
        "invoice": {"month": "202610"},
    }
    good = json.dumps(record).encode()
    return good + b"\n" + good + b"\n" + third + b"\n"


@pytest.mark.parametrize(
    ("name", "content", "line", "column", "fragment"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_file(
    tmp_path: Path,
    out_dir: Path,
    name: str,
    content: Callable[[], bytes],
    line: int | None,
    column: str | None,
    fragment: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content())
    with pytest.raises(InvalidBillFile) as caught:
        normalize_bill(path, source_file_id="bad", out_dir=out_dir)
    error = caught.value
    assert name in error.message
    assert fragment in error.message
    assert (error.line, error.column) == (line, column), error.message
    assert str(tmp_path) not in error.message and str(out_dir) not in error.message
    assert list(out_dir.iterdir()) == []  # no partition, no work directory left behind


@pytest.mark.parametrize("packing", ["gz", "zip"])
def test_zip_bomb_is_stopped_at_the_limit(tmp_path: Path, out_dir: Path, packing: str) -> None:
    data = _cur() + b"\n" * 200_000  # compresses to almost nothing
    path = tmp_path / f"bomb.csv.{packing}"
    path.write_bytes(gzip.compress(data) if packing == "gz" else curgen.zipped("bomb.csv", data))
    with pytest.raises(InvalidBillFile, match="more than 100000 bytes") as caught:
        normalize_bill(path, source_file_id="b", out_dir=out_dir, max_decompressed_bytes=100_000)
    assert "zip bomb" in caught.value.message
    # The same file is fine under the default limit.
    assert normalize_bill(path, source_file_id="b", out_dir=out_dir).rows == 3


def test_error_record_shape(tmp_path: Path, out_dir: Path) -> None:
    path = tmp_path / "bad-cost.csv"
    path.write_bytes(_bad_cost_line_4())
    with pytest.raises(InvalidBillFile) as caught:
        normalize_bill(path, source_file_id="bad", out_dir=out_dir)
    assert caught.value.as_record() == {
        "message": "bad-cost.csv: line 4, column lineItem/UnblendedCost: not a number: '12,50'",
        "line": 4,
        "column": COST,
    }


def test_non_numeric_cost_in_parquet_names_the_row(tmp_path: Path, out_dir: Path) -> None:
    path = tmp_path / "focus.parquet"
    duckdb.execute(
        f"""COPY (SELECT * FROM (VALUES
             ('1.5', '1.5', '1.5', 'A', 'S1', 'USD', '2026-10-01', 'Usage', '2026-10-02', 'AWS'),
             ('n/a', '1', '1', 'A', 'S1', 'USD', '2026-10-01', 'Usage', '2026-10-02', 'AWS'))
           t(BilledCost, EffectiveCost, ListCost, BillingAccountId, SubAccountId, BillingCurrency,
             BillingPeriodStart, ChargeCategory, ChargePeriodStart, ProviderName))
           TO '{path}' (FORMAT parquet)"""
    )
    with pytest.raises(
        InvalidBillFile, match=r"row 2, column BilledCost: not a number: 'n/a'"
    ) as c:
        normalize_bill(path, source_file_id="p", out_dir=out_dir)
    assert (c.value.line, c.value.column) == (None, "BilledCost")


def test_gcp_credits_that_are_not_json(tmp_path: Path, out_dir: Path) -> None:
    header = "billing_account_id,service.id,cost,currency,usage_start_time,project.id,credits\n"
    body = (
        "A,S,1.0,USD,2026-10-01 00:00:00+00:00,p1,[]\n"
        "A,S,1.0,USD,2026-10-01 00:00:00+00:00,p1,\"[{'amount': -1}]\"\n"
    )
    path = tmp_path / "gcp.csv"
    path.write_text(header + body)
    with pytest.raises(InvalidBillFile, match="not a JSON list") as caught:
        normalize_bill(path, source_file_id="g", out_dir=out_dir)
    assert (caught.value.line, caught.value.column) == (3, "credits")


def test_messages_name_the_file_not_the_work_files(
    tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.bill_files import normalize

    def unreadable(con: object, kind: str, path: Path, label: str) -> NoReturn:
        raise InvalidBillFile(f'{label}: cannot read "{path}" (at {path.parent}/x.tmp)')

    monkeypatch.setattr(normalize, "open_source", unreadable)
    path = tmp_path / "cur.csv.gz"
    path.write_bytes(gzip.compress(_cur()))
    with pytest.raises(InvalidBillFile) as caught:
        normalize_bill(path, source_file_id="p", out_dir=out_dir)
    assert caught.value.message == 'cur.csv.gz: cannot read "cur.csv.gz" (at cur.csv.gz)'
    assert str(caught.value) == caught.value.message
