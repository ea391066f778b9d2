"""Which bill format a file is, from its column names (CSV header, Parquet schema, JSON keys).

Checked in this order, first match wins:

=====================  ==================================================================
family                 recognised by
=====================  ==================================================================
AWS CUR (legacy)       a column named ``lineItem/…`` or ``bill/…``
AWS CUR 2.0 / Athena   a column named ``line_item_…`` or ``bill_bill…``
FOCUS                  at least three FOCUS-only names (BilledCost, ChargePeriodStart, …)
GCP billing export     ``billing_account_id`` with ``cost``/``service.id``/``invoice.month``…
Azure cost details     ``SubscriptionId``/``SubscriptionGuid`` with a meter or charge column
=====================  ==================================================================

Recognition is deliberately looser than the required columns, so that a known format with a
column missing fails with "missing required column X" rather than "unknown format".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.bill_files import aws_cur, azure, focus, gcp
from chalicelib.bill_files.columns import Columns
from chalicelib.bill_files.mapping import Mapping
from chalicelib.errors import InvalidBillFile


@dataclass(frozen=True)
class Family:
    name: str  # 'aws' | 'focus' | 'gcp' | 'azure'
    build: Callable[[Columns], Mapping]
    null_literal: bool = False  # the literal unquoted NULL means null (FOCUS CSV)


AWS = Family("aws", aws_cur.build)
FOCUS = Family("focus", focus.build, null_literal=True)
GCP = Family("gcp", gcp.build)
AZURE = Family("azure", azure.build)


def detect(names: list[str], *, label: str, line: int | None) -> Family:
    if aws_cur.is_legacy_header(names) or aws_cur.is_snake_header(names):
        return AWS
    if focus.looks_like(names):
        return FOCUS
    if gcp.looks_like(names):
        return GCP
    if azure.looks_like(names):
        return AZURE
    raise InvalidBillFile(
        f"{label}: not a known bill format (AWS CUR, CUR 2.0, FOCUS, Google Cloud billing "
        f"export, Azure cost details); its columns start {', '.join(names[:5])}",
        line=line,
    )
