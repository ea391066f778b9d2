"""Shared helpers: run the billing pipeline over a small normalized Parquet file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.invoice import Invoice, compose_invoice, compute_tax
from chalicelib.billing.pricing import PricedUsage, price_usage
from tests.billing.fixtures import write_lines


@dataclass
class Run:
    priced: PricedUsage
    invoice: Invoice
    priced_path: Path


class Pipeline:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.count = 0

    def bill(self, rows: Iterable[Mapping[str, Any]]) -> Path:
        self.count += 1
        return write_lines(self.tmp_path / f"bill-{self.count}.parquet", rows)

    def run(self, cp: CustomerPeriod, rows: Iterable[Mapping[str, Any]]) -> Run:
        bill = self.bill(rows)
        out = self.tmp_path / f"priced-{self.count}.parquet"
        priced = price_usage(cp, [bill], out)
        invoice = compute_tax(cp, compose_invoice(cp, out))
        return Run(priced, invoice, out)


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    return Pipeline(tmp_path)
