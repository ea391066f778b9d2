"""What normalizing one bill file produces: the summary handed back to the ingestion glue.

Money is ``Decimal`` (exact sums of ``DECIMAL(38,18)`` line amounts). The Parquet files
themselves are described by :mod:`chalicelib.bill_files.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path


class BillProcessingError(RuntimeError):
    """Normalizing failed for a reason that is not the file's (disk full, out of memory, a bug).

    Unlike :class:`chalicelib.errors.InvalidBillFile`, retrying may succeed: do not quarantine.
    """


@dataclass(frozen=True)
class PartitionSummary:
    """One written partition: the lines of one provider, billing period and sub-account."""

    provider: str  # provider code: aws | gcp | azure | oci | other
    period: str  # 'YYYY-MM' of BillingPeriodStart (UTC)
    account_id: str  # SubAccountId (string; leading zeros kept)
    billing_account_id: str | None  # BillingAccountId of those lines (the smallest if several)
    path: Path  # the Parquet file written (shared with other accounts' lines in a bill over many)
    location: str  # its directory under the output root: 'provider=…/period=…/account(s)=…'
    rows: int
    billed_cost: Decimal
    effective_cost: Decimal
    list_cost: Decimal
    savings_eligible_cost: Decimal  # ListCost of commitment-covered usage (status 'Used')
    currency: str


@dataclass(frozen=True)
class ReportIdentity:
    """Which provider report/export delivery a file belongs to, when the file or manifest says.

    A newer delivery of the same report and period replaces the older one (docs/design.md §4.1):
    ``assembly_id`` (legacy CUR manifest ``assemblyId``, Data Exports ``executionId``) changes
    with every delivery, ``report_name`` does not.
    """

    report_name: str | None = None
    assembly_id: str | None = None
    billing_period: str | None = None  # 'YYYY-MM' from the manifest, if given


@dataclass(frozen=True)
class Totals:
    billed_cost: Decimal
    effective_cost: Decimal
    list_cost: Decimal


@dataclass(frozen=True)
class NormalizedBill:
    """The result of :func:`chalicelib.bill_files.normalize.normalize_bill` for one source file."""

    source_file_id: str
    format: str  # e.g. 'aws-cur-legacy', 'aws-cur2', 'focus-1.0', 'gcp-billing-export', 'azure-ea'
    container: str  # how the bytes were packed: 'csv', 'csv.gz', 'csv.zip', 'jsonl', 'parquet', …
    provider: str  # provider code, or 'mixed' (a FOCUS file with several providers)
    currency: str
    periods: list[str]  # sorted 'YYYY-MM'
    rows: int
    totals: Totals
    final: bool  # the month is invoiced; rule per format in chalicelib.bill_files.normalize
    invoice_ids: list[str]  # sorted distinct non-empty invoice ids
    report: ReportIdentity
    partitions: list[PartitionSummary]  # sorted by (provider, period, account_id)
