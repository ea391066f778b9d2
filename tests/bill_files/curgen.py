"""A tiny legacy-CUR writer for tests: one dict per line item, every cell a string.

Only what the tests need; the full synthetic generator lives in bench/ and is not used here.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

PAYER = "000011112222"
PERIOD_START = "2026-10-01T00:00:00Z"
PERIOD_END = "2026-11-01T00:00:00Z"

COLUMNS: tuple[str, ...] = (
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/InvoiceId",
    "bill/BillingEntity",
    "bill/BillType",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/Operation",
    "lineItem/AvailabilityZone",
    "lineItem/ResourceId",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedRate",
    "lineItem/UnblendedCost",
    "lineItem/BlendedCost",
    "lineItem/LineItemDescription",
    "product/ProductName",
    "product/region",
    "product/regionCode",
    "product/sku",
    "product/instanceType",
    "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate",
    "pricing/term",
    "pricing/unit",
    "reservation/AmortizedUpfrontCostForUsage",
    "reservation/EffectiveCost",
    "reservation/ReservationARN",
    "reservation/RecurringFeeForUsage",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanARN",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/SavingsPlanRate",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
    "resourceTags/user:team",
    "resourceTags/user:env",
)

DEFAULTS: dict[str, str] = {
    "bill/BillingEntity": "AWS",
    "bill/BillType": "Anniversary",
    "bill/PayerAccountId": PAYER,
    "bill/BillingPeriodStartDate": PERIOD_START,
    "bill/BillingPeriodEndDate": PERIOD_END,
    "lineItem/UsageAccountId": "012345678901",
    "lineItem/LineItemType": "Usage",
    "lineItem/UsageStartDate": "2026-10-05T10:00:00Z",
    "lineItem/UsageEndDate": "2026-10-05T11:00:00Z",
    "lineItem/ProductCode": "AmazonEC2",
    "lineItem/UsageType": "BoxUsage:m5.large",
    "lineItem/Operation": "RunInstances",
    "lineItem/UsageAmount": "1",
    "lineItem/CurrencyCode": "USD",
    "lineItem/UnblendedCost": "0.096",
    "lineItem/LineItemDescription": "$0.096 per On Demand Linux m5.large Instance Hour",
    "product/ProductName": "Amazon Elastic Compute Cloud",
    "product/regionCode": "us-east-1",
    "pricing/publicOnDemandCost": "0.096",
    "pricing/unit": "Hrs",
}

RI_ARN = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/abcd-1234"
SP_ARN = "arn:aws:savingsplans::011122223333:savingsplan/ef01-5678"


def line(**fields: str) -> dict[str, str]:
    """A line item: defaults overridden by ``fields`` (keys are column names with '/' → '__')."""
    row = dict(DEFAULTS)
    for key, value in fields.items():
        row[key.replace("__", "/")] = value
    return row


def render(lines: Iterable[Mapping[str, str]], columns: Iterable[str] = COLUMNS) -> bytes:
    names = list(columns)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in lines:
        writer.writerow([row.get(n, "") for n in names])
    return out.getvalue().encode("utf-8")


def zipped(name: str, data: bytes) -> bytes:
    """A zip archive holding ``data`` as its one member ``name``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def write(
    path: Path,
    lines: Iterable[Mapping[str, str]],
    *,
    columns: Iterable[str] = COLUMNS,
    compress: str | None = None,
) -> Path:
    data = render(lines, columns)
    if compress == "gz":
        path.write_bytes(gzip.compress(data))
    elif compress == "zip":
        path.write_bytes(zipped(path.name.removesuffix(".zip"), data))
    else:
        path.write_bytes(data)
    return path
