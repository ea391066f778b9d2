"""Deterministic synthetic AWS Cost and Usage Reports: legacy CSV and CUR 2.0 Parquet.

One job: write bill files that look and add up like real AWS CURs (line types, commitment ARNs,
savings plan negations, RI and savings plan fees, tax, credits, EDP discounts, support fees) at any
size, byte-identical for the same arguments. The demo data set, the tests and the 1M/10M-row
benchmarks all use it.

How it stays fast and exact: every usage row is a *variant* (line type x product template x
commitment x one of a fixed pool of usage amounts) whose cells are computed once, with integer
arithmetic at scale 10, and formatted as decimal strings. A row is then five small integers (line
id, hour, account, variant, resource) and rendering is an Arrow ``take`` plus a join over
pre-escaped CSV fragments (or typed Arrow columns for Parquet). The summary lines (fees, tax,
credits, discounts) close the file and are derived from exact per-variant row counts.
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import json
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from isal import igzip_threaded

Compression = Literal["gzip", "none", "zip"]

SCALE = 10
ONE: int = 10**SCALE  # every amount below is an int in units of 1e-10
DEFAULT_PERIOD = "2026-10"
DEFAULT_PAYER = "999999999999"
DEFAULT_ACCOUNTS = ("111111111111", "222222222222", "012345678901", "333333333333", "444444444444")

# Rows generated and rendered at once: peak memory ~250 MB at ~900 bytes a row. Each chunk has its
# own random stream, so changing this changes the bytes of every file.
CHUNK_ROWS = 1 << 15
ROW_GROUP_ROWS = 1 << 17  # Parquet row group size (several chunks)
AMOUNT_POOL = 128  # distinct usage amounts per product template
SP_PAIR_PERMILLE = 80  # share of usage rows that are savings-plan-covered (each with a negation)
RI_PERMILLE = 170  # share of the remaining usage rows that a reserved instance covers
VAT_PERCENT = 19
EDP_PERCENT = 3
CREDIT_PERCENT = 5
SUPPORT_PERCENT = 10
SUPPORT_MINIMUM = 100 * ONE
LEGAL_ENTITY = "Amazon Web Services EMEA SARL"

# --- the legacy CUR header --------------------------------------------------------------------

_PRODUCT_ATTRIBUTES = (
    "ProductName", "availabilityZone", "capacitystatus", "clockSpeed", "currentGeneration",
    "databaseEngine", "deploymentOption", "durability", "fromLocation", "fromLocationType",
    "fromRegionCode", "group", "groupDescription", "instanceFamily", "instanceType",
    "licenseModel", "location", "locationType", "marketoption", "memory", "networkPerformance",
    "normalizationSizeFactor", "operatingSystem", "operation", "physicalProcessor",
    "preInstalledSw", "processorArchitecture", "productFamily", "region", "regionCode",
    "servicecode", "servicename", "sku", "storage", "storageClass", "storageMedia", "tenancy",
    "toLocation", "toLocationType", "toRegionCode", "transferType", "usagetype", "vcpu",
    "volumeApiName", "volumeType",
)  # fmt: skip

LEGACY_CUR_COLUMNS: tuple[str, ...] = (
    "identity/LineItemId", "identity/TimeInterval",
    "bill/InvoiceId", "bill/InvoicingEntity", "bill/BillingEntity", "bill/BillType",
    "bill/PayerAccountId", "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId", "lineItem/LineItemType", "lineItem/UsageStartDate",
    "lineItem/UsageEndDate", "lineItem/ProductCode", "lineItem/UsageType", "lineItem/Operation",
    "lineItem/AvailabilityZone", "lineItem/ResourceId", "lineItem/UsageAmount",
    "lineItem/NormalizationFactor", "lineItem/NormalizedUsageAmount", "lineItem/CurrencyCode",
    "lineItem/UnblendedRate", "lineItem/UnblendedCost", "lineItem/BlendedRate",
    "lineItem/BlendedCost", "lineItem/LineItemDescription", "lineItem/TaxType",
    "lineItem/LegalEntity",
    *(f"product/{name}" for name in _PRODUCT_ATTRIBUTES),
    "pricing/LeaseContractLength", "pricing/OfferingClass", "pricing/PurchaseOption",
    "pricing/RateCode", "pricing/RateId", "pricing/currency", "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate", "pricing/term", "pricing/unit",
    "reservation/AmortizedUpfrontCostForUsage", "reservation/AmortizedUpfrontFeeForBillingPeriod",
    "reservation/AvailabilityZone", "reservation/EffectiveCost", "reservation/EndTime",
    "reservation/ModificationStatus", "reservation/NormalizedUnitsPerReservation",
    "reservation/NumberOfReservations", "reservation/RecurringFeeForUsage",
    "reservation/ReservationARN", "reservation/StartTime", "reservation/SubscriptionId",
    "reservation/TotalReservedNormalizedUnits", "reservation/TotalReservedUnits",
    "reservation/UnitsPerReservation", "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedNormalizedUnitQuantity", "reservation/UnusedQuantity",
    "reservation/UnusedRecurringFee", "reservation/UpfrontValue",
    "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod", "savingsPlan/EndTime",
    "savingsPlan/InstanceTypeFamily", "savingsPlan/OfferingType", "savingsPlan/PaymentOption",
    "savingsPlan/PurchaseTerm", "savingsPlan/RecurringCommitmentForBillingPeriod",
    "savingsPlan/Region", "savingsPlan/SavingsPlanARN", "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/SavingsPlanRate", "savingsPlan/StartTime", "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
    "resourceTags/user:Name", "resourceTags/user:Environment", "resourceTags/user:CostCenter",
    "resourceTags/user:Project",
)  # fmt: skip

# Numeric cells (amounts, rates, costs, unit counts): decimal strings, DECIMAL(38,10) in CUR 2.0.
NUMERIC_COLUMNS: frozenset[str] = frozenset(
    {
        "lineItem/UsageAmount", "lineItem/NormalizationFactor", "lineItem/NormalizedUsageAmount",
        "lineItem/UnblendedRate", "lineItem/UnblendedCost", "lineItem/BlendedRate",
        "lineItem/BlendedCost", "pricing/publicOnDemandCost", "pricing/publicOnDemandRate",
        "reservation/AmortizedUpfrontCostForUsage",
        "reservation/AmortizedUpfrontFeeForBillingPeriod", "reservation/EffectiveCost",
        "reservation/NormalizedUnitsPerReservation", "reservation/NumberOfReservations",
        "reservation/RecurringFeeForUsage", "reservation/TotalReservedNormalizedUnits",
        "reservation/TotalReservedUnits", "reservation/UnitsPerReservation",
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation/UnusedNormalizedUnitQuantity", "reservation/UnusedQuantity",
        "reservation/UnusedRecurringFee", "reservation/UpfrontValue",
        "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod",
        "savingsPlan/RecurringCommitmentForBillingPeriod", "savingsPlan/SavingsPlanEffectiveCost",
        "savingsPlan/SavingsPlanRate", "savingsPlan/TotalCommitmentToDate",
        "savingsPlan/UsedCommitment",
    }
)  # fmt: skip
TIMESTAMP_COLUMNS: frozenset[str] = frozenset(
    {
        "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate",
        "lineItem/UsageStartDate", "lineItem/UsageEndDate",
    }
)  # fmt: skip

# CUR 2.0 keeps these product attributes as columns; every other one goes into the `product` map.
_CUR2_STATIC_PRODUCT = frozenset(
    {
        "fromLocation", "fromLocationType", "fromRegionCode", "instanceFamily", "instanceType",
        "location", "locationType", "operation", "productFamily", "regionCode", "servicecode",
        "sku", "toLocation", "toLocationType", "toRegionCode", "usagetype",
    }
)  # fmt: skip

LINE_ITEM_TYPES = (
    "Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation", "RIFee",
    "SavingsPlanRecurringFee", "Fee", "Credit", "EdpDiscount", "Tax",
)  # fmt: skip

# --- decimal helpers ---------------------------------------------------------------------------


def _dec(text: str) -> int:
    """'0.096' -> 960000000 (units of 1e-10); rejects more than 10 decimals."""
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    if len(frac) > SCALE:
        raise ValueError(f"{text!r} has more than {SCALE} decimals")
    return sign * (int(whole or "0") * ONE + int((frac or "0").ljust(SCALE, "0")))


def _fmt(value: int) -> str:
    """960000000 -> '0.096': plain notation, no trailing zeros, never scientific."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), ONE)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{f'{frac:010d}'.rstrip('0')}"


def _mul(a: int, b: int) -> int:
    """Exact product of two scaled amounts; the generator only multiplies where it is exact."""
    product, rest = divmod(a * b, ONE)
    if rest:
        raise ArithmeticError("product needs more than 10 decimals")
    return product


def _round_half_up(value: int, unit: int) -> int:
    sign = -1 if value < 0 else 1
    return sign * ((abs(value) + unit // 2) // unit) * unit


def _floor_to(value: int, unit: int) -> int:
    return value // unit * unit


CENT = ONE // 100

# --- the catalogue ------------------------------------------------------------------------------

_REGIONS = {
    "us-east-1": "US East (N. Virginia)",
    "us-west-2": "US West (Oregon)",
    "eu-central-1": "EU (Frankfurt)",
    "global": "Global",
}
_SERVICES = {
    "AmazonEC2": "Amazon Elastic Compute Cloud",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonRDS": "Amazon Relational Database Service",
    "AWSLambda": "AWS Lambda",
    "AmazonCloudFront": "Amazon CloudFront",
    "AWSDataTransfer": "AWS Data Transfer",
}
USAGE_PRODUCT_CODES: tuple[str, ...] = tuple(_SERVICES)


@dataclass(frozen=True)
class _Template:
    """One kind of usage line: a product, usage type and on-demand rate."""

    key: str
    product_code: str
    usage_type: str
    operation: str
    region: str
    rate: str  # on-demand rate; decimals(rate) + amount_scale <= 10 keeps costs exact
    amount_scale: int
    amount_max: str  # "hours" templates use 1 hour most of the time instead
    unit: str
    description: str
    resource_kind: str  # instance | volume | bucket | function | db | distribution | nat
    weight: int
    hours: bool = False
    normalization: str | None = None
    attrs: tuple[tuple[str, str], ...] = ()

    def product(self) -> dict[str, str]:
        region_code = self.region if self.region != "global" else ""
        out = {
            "ProductName": _SERVICES[self.product_code],
            "servicecode": self.product_code,
            "servicename": _SERVICES[self.product_code],
            "location": _REGIONS[self.region],
            "locationType": "AWS Region",
            "region": region_code,
            "regionCode": region_code,
            "usagetype": self.usage_type,
            "operation": self.operation,
            "sku": _sku(self.key),
        }
        out.update(self.attrs)
        return {k: v for k, v in out.items() if v}


def _sku(key: str) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    digest = hashlib.sha256(key.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:16])


def _ec2(
    size: str,
    prefix: str,
    region: str,
    az: str,
    rate: str,
    nf: str,
    family: str,
    vcpu: str,
    memory: str,
    weight: int,
) -> _Template:
    return _Template(
        key=f"ec2-{prefix}{size}",
        product_code="AmazonEC2",
        usage_type=f"{prefix}BoxUsage:{size}",
        operation="RunInstances",
        region=region,
        rate=rate,
        amount_scale=4,
        amount_max="1",
        unit="Hrs",
        description=f"${rate} per On Demand Linux {size} Instance Hour",
        resource_kind="instance",
        weight=weight,
        hours=True,
        normalization=nf,
        attrs=(
            ("availabilityZone", az),
            ("capacitystatus", "Used"),
            ("currentGeneration", "Yes"),
            ("instanceFamily", family),
            ("instanceType", size),
            ("licenseModel", "No License required"),
            ("marketoption", "OnDemand"),
            ("memory", memory),
            ("networkPerformance", "Up to 10 Gigabit"),
            ("normalizationSizeFactor", nf),
            ("operatingSystem", "Linux"),
            ("physicalProcessor", "Intel Xeon Platinum 8175"),
            ("preInstalledSw", "NA"),
            ("processorArchitecture", "64-bit"),
            ("productFamily", "Compute Instance"),
            ("storage", "EBS only"),
            ("tenancy", "Shared"),
            ("vcpu", vcpu),
            ("clockSpeed", "3.1 GHz"),
        ),
    )


def _transfer(
    key: str,
    code: str,
    usage_type: str,
    operation: str,
    region: str,
    rate: str,
    desc: str,
    to: str,
    kind: str,
    weight: int,
    resource: str,
) -> _Template:
    return _Template(
        key=key,
        product_code=code,
        usage_type=usage_type,
        operation=operation,
        region=region,
        rate=rate,
        amount_scale=6,
        amount_max="40",
        unit="GB",
        description=desc,
        resource_kind=resource,
        weight=weight,
        attrs=(
            ("fromLocation", _REGIONS[region] if region != "global" else "United States"),
            ("fromLocationType", "AWS Region" if region != "global" else "AWS Edge Location"),
            ("fromRegionCode", region if region != "global" else ""),
            ("toLocation", to),
            ("toLocationType", "Other" if to == "External" else "AWS Region"),
            ("transferType", kind),
            ("productFamily", "Data Transfer"),
        ),
    )


TEMPLATES: tuple[_Template, ...] = (
    _ec2("m5.large", "", "us-east-1", "us-east-1a", "0.096", "4", "General purpose", "2",
         "8 GiB", 30),
    _ec2("t3.medium", "", "us-east-1", "us-east-1b", "0.0416", "2", "General purpose", "2",
         "4 GiB", 20),
    _ec2("c5.xlarge", "EUC1-", "eu-central-1", "eu-central-1a", "0.194", "8", "Compute optimized",
         "4", "8 GiB", 12),
    _ec2("r5.2xlarge", "USW2-", "us-west-2", "us-west-2c", "0.504", "16", "Memory optimized",
         "8", "64 GiB", 6),
    _Template("ebs-gp3", "AmazonEC2", "EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "us-east-1",
              "0.08", 6, "2", "GB-Mo",
              "$0.08 per GB-month of General Purpose (gp3) provisioned storage - US East "
              "(Northern Virginia)", "volume", 10,
              attrs=(("productFamily", "Storage"), ("storageMedia", "SSD-backed"),
                     ("volumeApiName", "gp3"), ("volumeType", "General Purpose"))),
    _Template("ec2-nat", "AmazonEC2", "NatGateway-Hours", "NatGateway", "us-east-1", "0.045", 4,
              "1", "Hrs", "$0.045 per NAT Gateway Hour", "nat", 4, hours=True,
              attrs=(("productFamily", "NAT Gateway"), ("group", "NGW:NatGateway"),
                     ("groupDescription", "Hourly charge for NAT Gateways"))),
    _Template("s3-storage", "AmazonS3", "TimedStorage-ByteHrs", "StandardStorage", "us-east-1",
              "0.023", 6, "5", "GB-Mo", "$0.023 per GB - first 50 TB / month of storage used",
              "bucket", 14,
              attrs=(("productFamily", "Storage"), ("storageClass", "General Purpose"),
                     ("durability", "99.999999999%"), ("volumeType", "Standard"))),
    _Template("s3-put", "AmazonS3", "Requests-Tier1", "PutObject", "us-east-1", "0.000005", 0,
              "20000", "Requests", "$0.005 per 1,000 PUT, COPY, POST, or LIST requests",
              "bucket", 8,
              attrs=(("productFamily", "API Request"), ("group", "S3-API-Tier1"),
                     ("groupDescription", "PUT/COPY/POST or LIST requests"))),
    _Template("s3-get", "AmazonS3", "Requests-Tier2", "GetObject", "us-east-1", "0.0000004", 0,
              "200000", "Requests", "$0.0004 per 1,000 GET and all other requests", "bucket", 8,
              attrs=(("productFamily", "API Request"), ("group", "S3-API-Tier2"),
                     ("groupDescription", "GET and all other requests"))),
    _Template("rds-m5.large", "AmazonRDS", "InstanceUsage:db.m5.large", "CreateDBInstance:0002",
              "us-east-1", "0.171", 4, "1", "Hrs",
              "$0.171 per RDS db.m5.large Single-AZ instance hour (or partial hour) running MySQL",
              "db", 10, hours=True, normalization="4",
              attrs=(("databaseEngine", "MySQL"), ("deploymentOption", "Single-AZ"),
                     ("instanceFamily", "General purpose"), ("instanceType", "db.m5.large"),
                     ("licenseModel", "No license required"), ("memory", "8 GiB"),
                     ("productFamily", "Database Instance"), ("vcpu", "2"))),
    _Template("rds-storage", "AmazonRDS", "RDS:GP2-Storage", "CreateDBInstance:0002", "us-east-1",
              "0.115", 6, "1", "GB-Mo",
              "$0.115 per GB-month of provisioned gp2 storage running MySQL", "db", 5,
              attrs=(("databaseEngine", "MySQL"), ("deploymentOption", "Single-AZ"),
                     ("productFamily", "Database Storage"), ("volumeType", "General Purpose"))),
    _Template("lambda-gbs", "AWSLambda", "Lambda-GB-Second", "Invoke", "us-east-1",
              "0.0000166667", 0, "50000", "Lambda-GB-Second",
              "AWS Lambda - Total Compute - US East (Northern Virginia)", "function", 12,
              attrs=(("productFamily", "Serverless"), ("group", "AWS-Lambda-Duration"),
                     ("groupDescription", "Invocation duration in GB-seconds"))),
    _Template("lambda-req", "AWSLambda", "Request", "Invoke", "us-east-1", "0.0000002", 0,
              "500000", "Requests", "AWS Lambda - Total Requests - US East (Northern Virginia)",
              "function", 8,
              attrs=(("productFamily", "Serverless"), ("group", "AWS-Lambda-Requests"),
                     ("groupDescription", "Invocation call for a Lambda function"))),
    _transfer("cf-out", "AmazonCloudFront", "US-DataTransfer-Out-Bytes", "GET", "global", "0.085",
              "$0.085 per GB - first 10 TB / month data transfer out (United States)", "External",
              "CloudFront Outbound", 6, "distribution"),
    _Template("cf-req", "AmazonCloudFront", "US-Requests-Tier1", "GET", "global", "0.00000075", 0,
              "300000", "Requests", "$0.0075 per 10,000 HTTP requests", "distribution", 4,
              attrs=(("productFamily", "Request"), ("locationType", "AWS Edge Location"))),
    _transfer("dt-out", "AWSDataTransfer", "DataTransfer-Out-Bytes", "RunInstances", "us-east-1",
              "0.09", "$0.09 per GB - first 10 TB / month data transfer out beyond the global "
              "free tier", "External", "AWS Outbound", 8, "instance"),
    _transfer("dt-regional", "AWSDataTransfer", "DataTransfer-Regional-Bytes", "InterZone-In",
              "us-east-1", "0.01",
              "$0.010 per GB - regional data transfer - in/out/between EC2 AZs or using "
              "elastic IPs or ELB",
              "US East (N. Virginia)", "IntraRegion", 6, "instance"),
    _transfer("dt-euc1-out", "AWSDataTransfer", "EUC1-DataTransfer-Out-Bytes", "RunInstances",
              "eu-central-1", "0.09", "$0.09 per GB - first 10 TB / month data transfer out beyond "
              "the global free tier", "External", "AWS Outbound", 3, "instance"),
)  # fmt: skip
_TEMPLATE_INDEX = {t.key: i for i, t in enumerate(TEMPLATES)}
_RESOURCES_PER_KIND = {
    "instance": 6,
    "volume": 6,
    "bucket": 3,
    "function": 8,
    "db": 2,
    "distribution": 2,
    "nat": 1,
}


@dataclass(frozen=True)
class Commitment:
    """A reserved instance or savings plan: who bought it, what it covers and at what rate."""

    kind: Literal["ri", "sp"]
    arn: str
    owner: str
    templates: tuple[str, ...]
    owner_only: bool  # True: covers only its owner's usage (a customer's own commitment)
    percent_of_on_demand: int
    weight: int
    offering: str


def commitments(
    payer: str, accounts: Sequence[str], commitment_owner: str | None, seed: int
) -> tuple[Commitment, ...]:
    """The RIs and savings plans of a bill: the payer bought most, one customer the rest."""
    owner = commitment_owner or accounts[0]

    def ident(name: str) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"rebill-synthetic/{seed}/{payer}/{owner}/{name}")

    def ri(region: str, account: str, name: str) -> str:
        return f"arn:aws:ec2:{region}:{account}:reserved-instances/{ident(account + name)}"

    def sp(account: str, name: str) -> str:
        return f"arn:aws:savingsplans::{account}:savingsplan/{ident(account + name)}"

    rds_arn = f"arn:aws:rds:us-east-1:{payer}:ri:reseller-mysql-{ident('rds').hex[:8]}"
    compute = ("ec2-EUC1-c5.xlarge", "ec2-USW2-r5.2xlarge", "lambda-gbs")
    return (
        Commitment(kind="ri", arn=ri("us-east-1", payer, "m5"), owner=payer,
                   templates=("ec2-m5.large",), owner_only=False, percent_of_on_demand=62,
                   weight=5, offering="Partial Upfront"),
        Commitment(kind="ri", arn=rds_arn, owner=payer, templates=("rds-m5.large",),
                   owner_only=False, percent_of_on_demand=66, weight=3, offering="No Upfront"),
        Commitment(kind="ri", arn=ri("us-east-1", owner, "t3"), owner=owner,
                   templates=("ec2-t3.medium",), owner_only=True, percent_of_on_demand=60,
                   weight=2, offering="No Upfront"),
        Commitment(kind="sp", arn=sp(payer, "compute"), owner=payer, templates=compute,
                   owner_only=False, percent_of_on_demand=72, weight=3,
                   offering="ComputeSavingsPlans"),
        Commitment(kind="sp", arn=sp(owner, "compute"), owner=owner, templates=compute[1:],
                   owner_only=True, percent_of_on_demand=70, weight=1,
                   offering="ComputeSavingsPlans"),
    )  # fmt: skip


# --- per-bill tables ---------------------------------------------------------------------------


def _csv_cell(value: str | None) -> str:
    if not value:
        return ""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """'2026-10' -> (2026-10-01T00:00Z, 2026-11-01T00:00Z)."""
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    days = calendar.monthrange(year, month)[1]
    return start, start + timedelta(days=days)


@dataclass
class _Bill:
    """Everything about one synthetic bill that does not depend on the row count."""

    period: str
    payer: str
    linked: tuple[str, ...]
    accounts: tuple[str, ...]  # payer first, then the linked accounts
    account_weights: np.ndarray  # cumulative, over linked accounts
    final: bool
    seed: int
    hours: int
    intervals: list[tuple[str, str]]  # index `hours` is the whole period
    const: dict[str, str]
    resources: list[dict[str, str]]  # index 0 is "no resource"
    resource_base: np.ndarray  # [template, account] -> first resource index
    resource_count: np.ndarray  # [template] -> resources per account
    amounts: np.ndarray  # [template, AMOUNT_POOL] -> amount (python ints, object array)
    commitments: tuple[Commitment, ...]
    variants: list[dict[str, str]]
    meta: list[_VariantMeta]
    usage_base: np.ndarray  # [template] -> first Usage variant
    ri_base: np.ndarray  # [ri] -> first DiscountedUsage variant
    sp_base: list[list[int]]  # [sp][template position] -> first covered variant; negation +POOL
    summary_rows: int

    @property
    def line_id_key(self) -> int:
        digest = hashlib.sha256(f"{self.seed}/{self.period}/{self.payer}".encode()).digest()
        return int.from_bytes(digest[:8], "little")


@dataclass(frozen=True)
class _VariantMeta:
    kind: str
    product_code: str
    amount: int
    cost: int  # lineItem/UnblendedCost
    effective: int  # reservation/EffectiveCost or savingsPlan/SavingsPlanEffectiveCost
    commitment: int  # index into commitments, or -1


def _build_bill(
    period: str,
    payer: str,
    accounts: Sequence[str],
    final: bool,
    seed: int,
    commitment_owner: str | None,
) -> _Bill:
    linked = tuple(dict.fromkeys(a for a in accounts if a != payer))
    for account in (payer, *linked):
        if len(account) != 12 or not account.isdigit():
            raise ValueError(f"AWS account ids are 12-digit strings, got {account!r}")
    if not linked:
        raise ValueError("at least one linked account is needed")
    if commitment_owner is not None and commitment_owner not in linked:
        raise ValueError(f"commitment_owner {commitment_owner!r} is not a linked account")
    all_accounts = (payer, *linked)
    start, end = period_bounds(period)
    hours = int((end - start).total_seconds()) // 3600
    intervals = [
        (_iso(start + timedelta(hours=h)), _iso(start + timedelta(hours=h + 1)))
        for h in range(hours)
    ]
    intervals.append((_iso(start), _iso(end)))
    rng = np.random.default_rng([seed, 0x5EED])
    weights = np.array([len(linked) - i + 1 for i in range(len(linked))], dtype=np.float64)
    bill = _Bill(
        period=period,
        payer=payer,
        linked=linked,
        accounts=all_accounts,
        account_weights=np.cumsum(weights / weights.sum()),
        final=final,
        seed=seed,
        hours=hours,
        intervals=intervals,
        const=_bill_columns(period, payer, final, seed, start, end),
        resources=[],
        resource_base=np.zeros((len(TEMPLATES), len(all_accounts)), dtype=np.int64),
        resource_count=np.zeros(len(TEMPLATES), dtype=np.int64),
        amounts=_amount_pools(rng),
        commitments=commitments(payer, linked, commitment_owner, seed),
        variants=[],
        meta=[],
        usage_base=np.zeros(len(TEMPLATES), dtype=np.int64),
        ri_base=np.zeros(0, dtype=np.int64),
        sp_base=[],
        summary_rows=0,
    )
    _build_resources(bill)
    _build_usage_variants(bill)
    no_usage = np.zeros((len(all_accounts), len(bill.meta)), dtype=np.int64)
    bill.summary_rows = len(_summary_specs(bill, no_usage))
    return bill


def _bill_columns(
    period: str, payer: str, final: bool, seed: int, start: datetime, end: datetime
) -> dict[str, str]:
    invoice = ""
    if final:
        number = int(hashlib.sha256(f"{seed}/{period}/{payer}".encode()).hexdigest()[:8], 16)
        invoice = f"EUINDE{period[2:4]}-{number % 1_000_000:06d}"
    return {
        "bill/InvoiceId": invoice,
        "bill/InvoicingEntity": LEGAL_ENTITY,
        "bill/BillingEntity": "AWS",
        "bill/BillType": "Anniversary",
        "bill/PayerAccountId": payer,
        "bill/BillingPeriodStartDate": _iso(start),
        "bill/BillingPeriodEndDate": _iso(end),
    }


def _amount_pools(rng: np.random.Generator) -> np.ndarray:
    pools = np.empty((len(TEMPLATES), AMOUNT_POOL), dtype=object)
    for t, template in enumerate(TEMPLATES):
        unit = 10 ** (SCALE - template.amount_scale)
        top = _dec(template.amount_max) // unit
        if template.hours:
            # Most instance-hours are whole hours; per-second billing leaves some fractions.
            fractions = rng.integers(1, top, AMOUNT_POOL)
            whole = rng.random(AMOUNT_POOL) < 0.85
            values = np.where(whole, top, fractions)
        else:
            low = np.log(max(1.0, top / 10_000))
            values = np.exp(rng.uniform(low, np.log(float(top)), AMOUNT_POOL)).astype(np.int64)
        pools[t] = [max(1, int(v)) * unit for v in values]
    return pools


_FUNCTION_NAMES = ("checkout", "thumbnails", "etl", "auth", "search", "mailer", "cron", "webhooks")


def _resource_id(kind: str, template: _Template, account: str, k: int, seed: int) -> str:
    digest = hashlib.sha256(f"{seed}/{template.key}/{account}/{k}".encode()).hexdigest()
    region = template.region
    if kind in ("instance", "nat"):
        return f"{'i' if kind == 'instance' else 'nat'}-{digest[:17]}"
    if kind == "volume":
        return f"vol-{digest[:17]}"
    if kind == "bucket":
        return f"{('assets', 'logs', 'backups')[k % 3]}-{account}-{digest[:6]}"
    if kind == "function":
        name = _FUNCTION_NAMES[k % len(_FUNCTION_NAMES)]
        return f"arn:aws:lambda:{region}:{account}:function:{name}-{digest[:6]}"
    if kind == "db":
        return f"arn:aws:rds:{region}:{account}:db:{('orders', 'analytics')[k % 2]}-{digest[:6]}"
    return f"arn:aws:cloudfront::{account}:distribution/E{digest[:13].upper()}"


def _tags(kind: str, k: int, a: int) -> dict[str, str]:
    env = ("prod", "prod", "staging", "dev", "")[k % 5]
    if not env:
        return {}  # some resources are untagged
    name = f"{kind}-{k:02d}"
    if kind == "bucket" and k == 1:
        name = 'logs, "archive"'  # tag values may hold delimiters and quotes
    project = ("checkout", "search", "data-lake", "")[(k + a) % 4]
    tags = {
        "resourceTags/user:Name": name,
        "resourceTags/user:Environment": env,
        "resourceTags/user:CostCenter": f"CC-{100 + (a * 7 + k) % 5}",
    }
    if project:
        tags["resourceTags/user:Project"] = project
    return tags


def _build_resources(bill: _Bill) -> None:
    bill.resources.append({})
    for t, template in enumerate(TEMPLATES):
        count = _RESOURCES_PER_KIND[template.resource_kind]
        bill.resource_count[t] = count
        for a, account in enumerate(bill.accounts):
            bill.resource_base[t, a] = len(bill.resources)
            for k in range(count):
                rid = _resource_id(template.resource_kind, template, account, k, bill.seed)
                bill.resources.append(
                    {"lineItem/ResourceId": rid, **_tags(template.resource_kind, k, a)}
                )


# --- variants ----------------------------------------------------------------------------------


def _base_cells(template: _Template, kind: str, amount: int) -> dict[str, str]:
    cells = {
        "lineItem/LineItemType": kind,
        "lineItem/ProductCode": template.product_code,
        "lineItem/UsageType": template.usage_type,
        "lineItem/Operation": template.operation,
        "lineItem/AvailabilityZone": dict(template.attrs).get("availabilityZone", ""),
        "lineItem/UsageAmount": _fmt(amount),
        "lineItem/CurrencyCode": "USD",
        "lineItem/LineItemDescription": template.description,
        "lineItem/LegalEntity": LEGAL_ENTITY,
        "pricing/currency": "USD",
        "pricing/unit": template.unit,
        "pricing/RateCode": f"{_sku(template.key)}.JRTCKXETXF.6YS6EN2CT7",
        "pricing/RateId": str(int(hashlib.sha256(template.key.encode()).hexdigest()[:8], 16)),
    }
    if template.normalization:
        factor = _dec(template.normalization)
        cells["lineItem/NormalizationFactor"] = template.normalization
        cells["lineItem/NormalizedUsageAmount"] = _fmt(_mul(amount, factor))
    cells.update({f"product/{k}": v for k, v in template.product().items()})
    return cells


def _commitment_rate(template: _Template, commitment: Commitment) -> int:
    granularity: int = 10**template.amount_scale  # keeps amount x rate within 10 decimals
    rate = _dec(template.rate) * commitment.percent_of_on_demand // 100
    return max(granularity, _floor_to(rate, granularity))


def _ri_parts(template: _Template, commitment: Commitment) -> tuple[int, int]:
    """(amortized upfront, recurring) hourly rates of a reserved instance."""
    granularity: int = 10**template.amount_scale
    effective = _commitment_rate(template, commitment)
    upfront_share = {"All Upfront": 100, "Partial Upfront": 50, "No Upfront": 0}[
        commitment.offering
    ]
    amortized = _floor_to(effective * upfront_share // 100, granularity)
    return amortized, effective - amortized


def _term_cells(prefix: str) -> dict[str, str]:
    return {
        f"{prefix}/StartTime": "2026-03-15T00:00:00Z",
        f"{prefix}/EndTime": "2027-03-15T00:00:00Z",
    }


def _usage_variant(template: _Template, amount: int) -> tuple[dict[str, str], _VariantMeta]:
    rate = _dec(template.rate)
    cost = _mul(amount, rate)
    cells = _base_cells(template, "Usage", amount)
    cells.update(_money_cells(rate, cost))
    cells.update(
        {
            "pricing/publicOnDemandCost": _fmt(cost),
            "pricing/publicOnDemandRate": _fmt(rate),
            "pricing/term": "OnDemand",
        }
    )
    return cells, _VariantMeta("Usage", template.product_code, amount, cost, cost, -1)


def _money_cells(rate: int, cost: int) -> dict[str, str]:
    return {
        "lineItem/UnblendedRate": _fmt(rate),
        "lineItem/UnblendedCost": _fmt(cost),
        "lineItem/BlendedRate": _fmt(rate),
        "lineItem/BlendedCost": _fmt(cost),
    }


def _ri_variant(
    template: _Template, c: int, commitment: Commitment, amount: int
) -> tuple[dict[str, str], _VariantMeta]:
    rate = _dec(template.rate)
    amortized, recurring = _ri_parts(template, commitment)
    effective = _mul(amount, amortized + recurring)
    cells = _base_cells(template, "DiscountedUsage", amount)
    size = template.usage_type.split(":")[-1]
    cells["lineItem/LineItemDescription"] = (
        f"USD 0.0 hourly fee per Linux/UNIX (Amazon VPC), {size} reserved instance applied"
    )
    # The RI's real cost is on its RIFee line; the covered hours show 0 unblended cost.
    cells.update(_money_cells(0, 0))
    cells.update(
        {
            "pricing/publicOnDemandCost": _fmt(_mul(amount, rate)),
            "pricing/publicOnDemandRate": _fmt(rate),
            "pricing/term": "Reserved",
            "pricing/LeaseContractLength": "1yr",
            "pricing/OfferingClass": "standard",
            "pricing/PurchaseOption": commitment.offering,
            "reservation/ReservationARN": commitment.arn,
            "reservation/EffectiveCost": _fmt(effective),
            "reservation/AmortizedUpfrontCostForUsage": _fmt(_mul(amount, amortized)),
            "reservation/RecurringFeeForUsage": _fmt(_mul(amount, recurring)),
            "reservation/AvailabilityZone": cells["lineItem/AvailabilityZone"],
            **_term_cells("reservation"),
        }
    )
    return cells, _VariantMeta("DiscountedUsage", template.product_code, amount, 0, effective, c)


def _sp_variants(
    template: _Template, c: int, commitment: Commitment, amount: int
) -> list[tuple[dict[str, str], _VariantMeta]]:
    rate = _dec(template.rate)
    cost = _mul(amount, rate)
    sp_rate = _commitment_rate(template, commitment)
    effective = _mul(amount, sp_rate)
    sp_cells = {
        "savingsPlan/SavingsPlanARN": commitment.arn,
        "savingsPlan/SavingsPlanRate": _fmt(sp_rate),
        "savingsPlan/OfferingType": commitment.offering,
        "savingsPlan/PaymentOption": "No Upfront",
        "savingsPlan/PurchaseTerm": "1yr",
        **_term_cells("savingsPlan"),
    }
    covered = _base_cells(template, "SavingsPlanCoveredUsage", amount)
    covered.update(_money_cells(rate, cost))
    covered.update(
        {
            "pricing/publicOnDemandCost": _fmt(cost),
            "pricing/publicOnDemandRate": _fmt(rate),
            "pricing/term": "OnDemand",
            "savingsPlan/SavingsPlanEffectiveCost": _fmt(effective),
            **sp_cells,
        }
    )
    negation = _base_cells(template, "SavingsPlanNegation", amount)
    negation.update(_money_cells(-rate, -cost))
    negation.update(
        {
            "pricing/publicOnDemandCost": "0",
            "pricing/publicOnDemandRate": _fmt(rate),
            "pricing/term": "OnDemand",
            "savingsPlan/SavingsPlanEffectiveCost": "0",
            **sp_cells,
        }
    )
    negation["lineItem/LineItemDescription"] = (
        f"SavingsPlanNegation used by UsageSku : {_sku(template.key)}"
    )
    code = template.product_code
    return [
        (covered, _VariantMeta("SavingsPlanCoveredUsage", code, amount, cost, effective, c)),
        (negation, _VariantMeta("SavingsPlanNegation", code, amount, -cost, 0, c)),
    ]


def _add(bill: _Bill, made: list[tuple[dict[str, str], _VariantMeta]]) -> int:
    first = len(bill.variants)
    for cells, meta in made:
        bill.variants.append(cells)
        bill.meta.append(meta)
    return first


def _build_usage_variants(bill: _Bill) -> None:
    for t, template in enumerate(TEMPLATES):
        bill.usage_base[t] = _add(bill, [_usage_variant(template, a) for a in bill.amounts[t]])
    ri_base = []
    for c, commitment in enumerate(bill.commitments):
        if commitment.kind == "ri":
            t = _TEMPLATE_INDEX[commitment.templates[0]]
            made = [_ri_variant(TEMPLATES[t], c, commitment, a) for a in bill.amounts[t]]
            ri_base.append(_add(bill, made))
            continue
        bases = []
        for key in commitment.templates:
            t = _TEMPLATE_INDEX[key]
            pairs = [_sp_variants(TEMPLATES[t], c, commitment, a) for a in bill.amounts[t]]
            # All covered variants of the template first, then all negations: negation = +POOL.
            bases.append(_add(bill, [p[0] for p in pairs] + [p[1] for p in pairs]))
        bill.sp_base.append(bases)
    bill.ri_base = np.array(ri_base, dtype=np.int64)


# --- usage rows --------------------------------------------------------------------------------


@dataclass
class _Batch:
    """Rows as integers into the bill's tables; `first` is the global index of the first row."""

    first: int
    interval: np.ndarray
    account: np.ndarray
    variant: np.ndarray
    resource: np.ndarray


def _pick_accounts(bill: _Bill, rng: np.random.Generator, n: int) -> np.ndarray:
    # Linked accounts sit after the payer in bill.accounts.
    return (
        np.searchsorted(bill.account_weights, rng.random(n), side="right").clip(
            0, len(bill.linked) - 1
        )
        + 1
    )


def _cumulative(weights: Sequence[int]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return np.cumsum(w / w.sum())


def _covered_accounts(
    bill: _Bill, rng: np.random.Generator, chosen: np.ndarray, pool: Sequence[Commitment]
) -> np.ndarray:
    """Usage accounts for rows covered by pool[chosen]: its owner, or any linked account."""
    owner_index = {a: i for i, a in enumerate(bill.accounts)}
    owners = np.array([owner_index[c.owner] for c in pool])[chosen]
    owner_only = np.array([c.owner_only for c in pool])[chosen]
    return np.where(owner_only, owners, _pick_accounts(bill, rng, len(chosen)))


_Rows = tuple[np.ndarray, np.ndarray, np.ndarray]  # (template, account, variant) per row


def _single_rows(bill: _Bill, rng: np.random.Generator, n: int) -> _Rows:
    """On-demand rows, some of which a reserved instance covers (DiscountedUsage)."""
    ris = [c for c in bill.commitments if c.kind == "ri"]
    template = np.searchsorted(
        _cumulative([t.weight for t in TEMPLATES]), rng.random(n), side="right"
    ).clip(0, len(TEMPLATES) - 1)
    account = _pick_accounts(bill, rng, n)
    pool = rng.integers(0, AMOUNT_POOL, n)
    variant = bill.usage_base[template] + pool
    discounted = rng.random(n) < RI_PERMILLE / 1000
    ri = np.searchsorted(_cumulative([c.weight for c in ris]), rng.random(n), side="right")
    ri = ri.clip(0, len(ris) - 1)
    ri_template = np.array([_TEMPLATE_INDEX[c.templates[0]] for c in ris])[ri]
    return (
        np.where(discounted, ri_template, template),
        np.where(discounted, _covered_accounts(bill, rng, ri, ris), account),
        np.where(discounted, bill.ri_base[ri] + pool, variant),
    )


def _covered_rows(bill: _Bill, rng: np.random.Generator, n: int) -> _Rows:
    """Savings-plan-covered rows; each one's negation is its variant + AMOUNT_POOL."""
    sps = [c for c in bill.commitments if c.kind == "sp"]
    sp = np.searchsorted(_cumulative([c.weight for c in sps]), rng.random(n), side="right")
    sp = sp.clip(0, len(sps) - 1)
    position = rng.integers(0, 1 << 30, n)
    pool = rng.integers(0, AMOUNT_POOL, n)
    template = np.zeros(n, dtype=np.int64)
    variant = np.zeros(n, dtype=np.int64)
    for s, commitment in enumerate(sps):
        mask = sp == s
        j = position[mask] % len(commitment.templates)
        template[mask] = np.array([_TEMPLATE_INDEX[k] for k in commitment.templates])[j]
        variant[mask] = np.array(bill.sp_base[s])[j] + pool[mask]
    return template, _covered_accounts(bill, rng, sp, sps), variant


def _usage_chunk(bill: _Bill, first: int, size: int) -> _Batch:
    rng = np.random.default_rng([bill.seed, 0xC0DE, first])
    pairs = size * SP_PAIR_PERMILLE // 1000
    singles = size - 2 * pairs
    template, account, variant = (
        np.concatenate(parts)
        for parts in zip(
            _single_rows(bill, rng, singles), _covered_rows(bill, rng, pairs), strict=True
        )
    )
    hour = rng.integers(0, bill.hours, singles + pairs)
    slot = rng.random(singles + pairs)
    resource = bill.resource_base[template, account] + (
        slot * bill.resource_count[template]
    ).astype(np.int64)

    def expand(values: np.ndarray, negation_offset: int = 0) -> np.ndarray:
        # Covered rows are each followed by their negation: same hour, account and resource.
        out = np.empty(size, dtype=np.int64)
        out[:singles] = values[:singles]
        out[singles::2] = values[singles:]
        out[singles + 1 :: 2] = values[singles:] + negation_offset
        return out

    return _Batch(
        first=first,
        interval=expand(hour),
        account=expand(account),
        variant=expand(variant, AMOUNT_POOL),
        resource=expand(resource),
    )


def _usage_batches(bill: _Bill, rows: int, counts: np.ndarray) -> Iterator[_Batch]:
    """Yield the usage rows chunk by chunk, adding each row to counts[account, variant]."""
    variants = counts.shape[1]
    for first in range(0, rows, CHUNK_ROWS):
        batch = _usage_chunk(bill, first, min(CHUNK_ROWS, rows - first))
        flat = np.bincount(batch.account * variants + batch.variant, minlength=counts.size)
        counts += flat.reshape(counts.shape)
        yield batch


# --- summary rows (fees, credits, discounts, tax) ---------------------------------------------


def _group_sums(bill: _Bill, counts: np.ndarray) -> dict[tuple[int, str], int]:
    """Exact Σ UnblendedCost of the usage rows per (account index, product code)."""
    sums: dict[tuple[int, str], int] = {}
    for a, v in zip(*np.nonzero(counts), strict=True):
        meta = bill.meta[v]
        key = (int(a), meta.product_code)
        sums[key] = sums.get(key, 0) + int(counts[a, v]) * meta.cost
    return sums


def _commitment_usage(bill: _Bill, counts: np.ndarray) -> tuple[list[int], list[int]]:
    """Per commitment: (Σ covered amount, Σ effective cost) over the usage rows."""
    per_variant = counts.sum(axis=0)
    amount = [0] * len(bill.commitments)
    effective = [0] * len(bill.commitments)
    for v in np.nonzero(per_variant)[0]:
        meta = bill.meta[v]
        if meta.commitment >= 0 and meta.kind != "SavingsPlanNegation":
            amount[meta.commitment] += int(per_variant[v]) * meta.amount
            effective[meta.commitment] += int(per_variant[v]) * meta.effective
    return amount, effective


def _summary_cells(
    kind: str,
    code: str,
    *,
    cost: int,
    description: str,
    usage_type: str = "",
    amount: int = 0,
    rate: int | None = None,
    list_cost: int = 0,
) -> dict[str, str]:
    cells = {
        "lineItem/LineItemType": kind,
        "lineItem/ProductCode": code,
        "lineItem/UsageType": usage_type,
        "lineItem/UsageAmount": _fmt(amount),
        "lineItem/CurrencyCode": "USD",
        "lineItem/UnblendedCost": _fmt(cost),
        "lineItem/BlendedCost": _fmt(cost),
        "lineItem/LineItemDescription": description,
        "lineItem/LegalEntity": LEGAL_ENTITY,
        "product/ProductName": _SERVICES.get(code, code),
        "product/servicecode": code,
        "pricing/publicOnDemandCost": _fmt(list_cost),
        "pricing/currency": "USD",
    }
    if rate is not None:
        cells["lineItem/UnblendedRate"] = _fmt(rate)
        cells["lineItem/BlendedRate"] = _fmt(rate)
    return cells


_SummarySpec = tuple[int, dict[str, str], _VariantMeta]  # (account index, cells, meta)


def _ri_fee(bill: _Bill, c: int, used: int) -> _SummarySpec:
    commitment = bill.commitments[c]
    template = TEMPLATES[_TEMPLATE_INDEX[commitment.templates[0]]]
    amortized, recurring = _ri_parts(template, commitment)
    hour = ONE
    quantity = max(1, -(-used * 115 // (100 * bill.hours * hour)))  # ~15 % headroom
    reserved = quantity * bill.hours * hour
    unused = reserved - used
    fee = _mul(reserved, recurring)
    size = template.usage_type.split(":")[-1]
    platform = "MySQL" if template.product_code == "AmazonRDS" else "Linux/UNIX (Amazon VPC)"
    cells = _summary_cells(
        "RIFee",
        template.product_code,
        cost=fee,
        description=f"USD {_fmt(recurring)} hourly fee per {platform}, {size} instance",
        usage_type=f"HeavyUsage:{size}",
        amount=reserved,
        rate=recurring,
        list_cost=fee,
    )
    cells.update(
        {
            "lineItem/Operation": template.operation,
            "pricing/term": "Reserved",
            "pricing/PurchaseOption": commitment.offering,
            "pricing/LeaseContractLength": "1yr",
            "reservation/ReservationARN": commitment.arn,
            "reservation/NumberOfReservations": str(quantity),
            "reservation/UnitsPerReservation": _fmt(reserved),
            "reservation/TotalReservedUnits": _fmt(reserved),
            "reservation/AmortizedUpfrontFeeForBillingPeriod": _fmt(_mul(reserved, amortized)),
            "reservation/UnusedQuantity": _fmt(unused),
            "reservation/UnusedRecurringFee": _fmt(_mul(unused, recurring)),
            "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": _fmt(_mul(unused, amortized)),
            "reservation/EffectiveCost": _fmt(_mul(unused, amortized + recurring)),
            "reservation/UpfrontValue": _fmt(amortized * 8760),
            "reservation/SubscriptionId": str(
                int(hashlib.sha256(commitment.arn.encode()).hexdigest()[:9], 16)
            ),
            **_term_cells("reservation"),
        }
    )
    meta = _VariantMeta("RIFee", template.product_code, reserved, fee, 0, c)
    return bill.accounts.index(commitment.owner), cells, meta


def _sp_fee(bill: _Bill, c: int, used: int) -> _SummarySpec:
    commitment = bill.commitments[c]
    step = ONE // 1000  # commitments are bought in $0.001 per hour
    hourly = max(step, -(-used * 110 // (100 * bill.hours * step)) * step)
    total = hourly * bill.hours
    cells = _summary_cells(
        "SavingsPlanRecurringFee",
        "ComputeSavingsPlans",
        cost=total,
        description="1 year No Upfront Compute Savings Plan",
        usage_type="ComputeSP:1yrNoUpfront",
        amount=bill.hours * ONE,
        rate=hourly,
        list_cost=total,
    )
    cells.update(
        {
            "product/ProductName": "Savings Plans for AWS Compute usage",
            "savingsPlan/SavingsPlanARN": commitment.arn,
            "savingsPlan/SavingsPlanRate": _fmt(hourly),
            "savingsPlan/OfferingType": commitment.offering,
            "savingsPlan/PaymentOption": "No Upfront",
            "savingsPlan/PurchaseTerm": "1yr",
            "savingsPlan/TotalCommitmentToDate": _fmt(total),
            "savingsPlan/RecurringCommitmentForBillingPeriod": _fmt(total),
            "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod": "0",
            "savingsPlan/UsedCommitment": _fmt(used),
            **_term_cells("savingsPlan"),
        }
    )
    meta = _VariantMeta("SavingsPlanRecurringFee", "ComputeSavingsPlans", 0, total, 0, c)
    return bill.accounts.index(commitment.owner), cells, meta


def _summary_specs(bill: _Bill, counts: np.ndarray) -> list[_SummarySpec]:
    """The month's non-usage lines. Their number never depends on counts (row totals are exact)."""
    sums = _group_sums(bill, counts)
    used_amount, used_effective = _commitment_usage(bill, counts)
    specs: list[_SummarySpec] = []
    for c, commitment in enumerate(bill.commitments):
        if commitment.kind == "ri":
            specs.append(_ri_fee(bill, c, used_amount[c]))
        else:
            specs.append(_sp_fee(bill, c, used_effective[c]))

    total_usage = sum(sums.values())
    support = max(SUPPORT_MINIMUM, _round_half_up(total_usage * SUPPORT_PERCENT // 100, CENT))
    cells = _summary_cells(
        "Fee",
        "AWSSupportBusiness",
        cost=support,
        description="AWS Support (Business)",
        usage_type="Dollar",
        amount=ONE,
        rate=support,
        list_cost=support,
    )
    cells["product/ProductName"] = "AWS Support (Business)"
    specs.append((0, cells, _VariantMeta("Fee", "AWSSupportBusiness", ONE, support, 0, -1)))

    first_linked = sum(v for (a, _), v in sums.items() if a == 1)
    credit = -_round_half_up(first_linked * CREDIT_PERCENT // 100, CENT)
    cells = _summary_cells(
        "Credit", "AmazonEC2", cost=credit, description="AWS Activate credits, Portfolio Package"
    )
    specs.append((1, cells, _VariantMeta("Credit", "AmazonEC2", 0, credit, 0, -1)))

    for a in range(1, len(bill.accounts)):
        for code in USAGE_PRODUCT_CODES:
            usage = sums.get((a, code), 0)
            edp = -(usage * EDP_PERCENT // 100)
            cells = _summary_cells(
                "EdpDiscount", code, cost=edp, description="Enterprise Program Discount"
            )
            specs.append((a, cells, _VariantMeta("EdpDiscount", code, 0, edp, 0, -1)))
            tax = _round_half_up((usage + edp) * VAT_PERCENT // 100, CENT)
            # Tax has no list price of its own: FOCUS sets its ListCost to the billed amount.
            cells = _summary_cells(
                "Tax", code, cost=tax, description=f"Tax for product code {code}", list_cost=tax
            )
            cells["lineItem/TaxType"] = "VAT"
            specs.append((a, cells, _VariantMeta("Tax", code, 0, tax, 0, -1)))
    return specs


# --- rendering ---------------------------------------------------------------------------------


def _source(column: str) -> str:
    if column == "identity/LineItemId":
        return "line_id"
    if column in ("identity/TimeInterval", "lineItem/UsageStartDate", "lineItem/UsageEndDate"):
        return "interval"
    if column.startswith("bill/"):
        return "const"
    if column == "lineItem/UsageAccountId":
        return "account"
    if column == "lineItem/ResourceId" or column.startswith("resourceTags/"):
        return "resource"
    return "variant"


def _interval_cell(column: str, interval: tuple[str, str]) -> str:
    if column == "identity/TimeInterval":
        return f"{interval[0]}/{interval[1]}"
    return interval[0] if column == "lineItem/UsageStartDate" else interval[1]


def _lookup(
    bill: _Bill, variants: Sequence[Mapping[str, str]], source: str, column: str
) -> list[str]:
    """The cell of `column` for every entry of the table that `source` indexes."""
    if source == "interval":
        return [_interval_cell(column, i) for i in bill.intervals]
    if source == "account":
        return list(bill.accounts)
    if source == "resource":
        return [r.get(column, "") for r in bill.resources]
    if source == "const":
        return [bill.const[column]]
    return [v.get(column, "") for v in variants]


_B32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _line_ids(key: int, first: int, n: int) -> pa.Array:
    """26-character lowercase base32 ids, like the 52-character ones AWS writes, from a hash."""
    index = np.arange(first, first + n, dtype=np.uint64) ^ np.uint64(key)
    high = _splitmix64(index)
    low = _splitmix64(high ^ np.uint64(key))
    shifts = np.arange(0, 65, 5, dtype=np.uint64)[:13]
    chars = np.concatenate(
        [(high[:, None] >> shifts) & np.uint64(31), (low[:, None] >> shifts) & np.uint64(31)],
        axis=1,
    )
    data = _B32[chars.astype(np.intp)].tobytes()
    offsets = np.arange(0, 26 * (n + 1), 26, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _indices(batch: _Batch, source: str) -> pa.Array:
    values = {
        "interval": batch.interval,
        "account": batch.account,
        "variant": batch.variant,
        "resource": batch.resource,
    }[source]
    return pa.array(values.astype(np.int32))


def _runs() -> list[tuple[str, list[str]]]:
    """LEGACY_CUR_COLUMNS cut into runs of neighbouring columns with the same source."""
    runs: list[tuple[str, list[str]]] = []
    for column in LEGACY_CUR_COLUMNS:
        source = _source(column)
        if runs and runs[-1][0] == source:
            runs[-1][1].append(column)
        else:
            runs.append((source, [column]))
    return runs


class _CsvRenderer:
    """Turns batches into CSV bytes: one Arrow take per run of same-source columns, one join."""

    def __init__(self, bill: _Bill, variants: Sequence[Mapping[str, str]]) -> None:
        self._key = bill.line_id_key
        plan: list[tuple[str, list[str]]] = []  # (source, the run's CSV text per table entry)
        prefix = ""
        for source, columns in _runs():
            cells = [_lookup(bill, variants, source, c) for c in columns]
            fragments = [",".join(_csv_cell(v) for v in row) for row in zip(*cells, strict=True)]
            if source == "const":
                # A constant run rides on its neighbour instead of costing a take of its own.
                if plan and plan[-1][0] != "line_id":
                    plan[-1] = (plan[-1][0], [f + "," + fragments[0] for f in plan[-1][1]])
                else:
                    prefix = fragments[0] + ","
                continue
            plan.append((source, [prefix + f for f in fragments]))
            prefix = ""
        source, fragments = plan[-1]
        plan[-1] = (source, [f + "\n" for f in fragments])
        self._plan = [(s, pa.array(f, type=pa.string())) for s, f in plan]

    def render(self, batch: _Batch) -> pa.Buffer:
        n = len(batch.variant)
        parts = []
        for source, fragments in self._plan:
            if source == "line_id":
                parts.append(_line_ids(self._key, batch.first, n))
            else:
                parts.append(pc.take(fragments, _indices(batch, source)))
        joined = pc.binary_join_element_wise(*parts, ",")
        offsets = np.frombuffer(
            joined.buffers()[1], dtype=np.int32, count=n + 1, offset=joined.offset * 4
        )
        return joined.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def csv_header() -> bytes:
    return (",".join(LEGACY_CUR_COLUMNS) + "\n").encode()


# --- CUR 2.0 ---------------------------------------------------------------------------------


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def cur2_name(legacy: str) -> str | None:
    """CUR 2.0 column of a legacy column; None where CUR 2.0 nests it in a map column."""
    category, _, name = legacy.partition("/")
    if category == "resourceTags":
        return None
    if category == "product" and name not in _CUR2_STATIC_PRODUCT:
        return None
    return f"{_snake(category)}_{_snake(name)}"


def _tag_key(legacy: str) -> str:
    return "user_" + _snake(legacy.split(":", 1)[1])


_MAP = pa.map_(pa.string(), pa.string())


def _typed(column: str, cells: list[str]) -> pa.Array:
    strings = pa.array([c if c != "" else None for c in cells], type=pa.string())
    if column in NUMERIC_COLUMNS:
        return strings.cast(pa.decimal128(38, SCALE))
    if column in TIMESTAMP_COLUMNS:
        return pc.strptime(strings, format="%Y-%m-%dT%H:%M:%SZ", unit="ms")
    return strings


def _account_name(bill: _Bill, account: str) -> str:
    return "reseller-payer" if account == bill.payer else f"linked-{account}"


def _product_map(variants: Sequence[Mapping[str, str]], keys: list[str]) -> pa.Array:
    entries = [[(_snake(k.split("/", 1)[1]), v[k]) for k in keys if v.get(k)] for v in variants]
    return pa.array(entries, type=_MAP)


def _tag_map(bill: _Bill, columns: list[str]) -> pa.Array:
    entries = [[(_tag_key(c), r[c]) for c in columns if r.get(c)] for r in bill.resources]
    return pa.array(entries, type=_MAP)


_Cur2Column = tuple[str, str, pa.Array | None]  # (name, source, typed values of the source table)


def _cur2_columns(bill: _Bill, variants: Sequence[Mapping[str, str]]) -> list[_Cur2Column]:
    products = [c for c in LEGACY_CUR_COLUMNS if c.startswith("product/") and not cur2_name(c)]
    tags = [c for c in LEGACY_CUR_COLUMNS if c.startswith("resourceTags/")]
    names = [_account_name(bill, a) for a in bill.accounts]
    added_after = {  # CUR 2.0 only columns
        "bill/PayerAccountId": ("bill_payer_account_name", "const", pa.array(names[:1])),
        "lineItem/UsageAccountId": ("line_item_usage_account_name", "account", pa.array(names)),
    }
    columns: list[_Cur2Column] = []
    for legacy in LEGACY_CUR_COLUMNS:
        if legacy == products[0]:
            columns.append(("product", "variant", _product_map(variants, products)))
        if legacy == tags[0]:
            columns.append(("resource_tags", "resource", _tag_map(bill, tags)))
        name = cur2_name(legacy)
        if name is None:
            continue
        source = _source(legacy)
        values = None
        if source != "line_id":
            values = _typed(legacy, _lookup(bill, variants, source, legacy))
        columns.append((name, source, values))
        if legacy in added_after:
            columns.append(added_after[legacy])
    return columns


class _ParquetRenderer:
    """Turns batches into CUR 2.0 Arrow tables (snake_case, decimals, timestamps, map columns)."""

    def __init__(self, bill: _Bill, variants: Sequence[Mapping[str, str]]) -> None:
        self._key = bill.line_id_key
        self._columns = _cur2_columns(bill, variants)
        self.schema = pa.schema(
            [(name, pa.string() if v is None else v.type) for name, _, v in self._columns]
        )

    def render(self, batch: _Batch) -> pa.Table:
        n = len(batch.variant)
        arrays = []
        for _, source, values in self._columns:
            if source == "line_id":
                arrays.append(_line_ids(self._key, batch.first, n))
            elif source == "const":
                arrays.append(pc.take(values, pa.array(np.zeros(n, dtype=np.int32))))
            else:
                arrays.append(pc.take(values, _indices(batch, source)))
        return pa.Table.from_arrays(arrays, schema=self.schema)


# --- writing -----------------------------------------------------------------------------------


@contextmanager
def _byte_sink(path: Path, compression: Compression) -> Iterator[BinaryIO]:
    if compression == "gzip":
        # ISA-L writes a fixed header (mtime 0) and splits blocks by size, not by thread timing,
        # so the output is the same for the same input.
        with igzip_threaded.open(  # type: ignore[no-untyped-call]
            path, "wb", compresslevel=1, threads=2
        ) as sink:
            yield sink
    elif compression == "none":
        with open(path, "wb") as sink:
            yield sink
    elif compression == "zip":
        member = path.name.removesuffix(".zip")
        info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with (
            zipfile.ZipFile(path, "w") as archive,
            archive.open(info, "w", force_zip64=True) as sink,
        ):
            yield sink  # type: ignore[misc]
    else:
        raise ValueError(f"unknown compression {compression!r}")


def _summary_batch(
    bill: _Bill, counts: np.ndarray, first: int
) -> tuple[list[dict[str, str]], _Batch]:
    specs = _summary_specs(bill, counts)
    n = len(specs)
    batch = _Batch(
        first=first,
        interval=np.full(n, bill.hours, dtype=np.int64),
        account=np.array([a for a, _, _ in specs], dtype=np.int64),
        variant=np.arange(n, dtype=np.int64),
        resource=np.zeros(n, dtype=np.int64),
    )
    return [cells for _, cells, _ in specs], batch


def _usage_rows(bill: _Bill, rows: int) -> int:
    if rows < bill.summary_rows + 10:
        raise ValueError(f"rows must be at least {bill.summary_rows + 10} for this bill")
    return rows - bill.summary_rows


def _batches(
    bill: _Bill, rows: int, render: Callable[[Sequence[Mapping[str, str]], _Batch], None]
) -> None:
    usage = _usage_rows(bill, rows)
    counts = np.zeros((len(bill.accounts), len(bill.variants)), dtype=np.int64)
    for batch in _usage_batches(bill, usage, counts):
        render(bill.variants, batch)
    variants, batch = _summary_batch(bill, counts, usage)
    render(variants, batch)


class _RowGroupWriter:
    """Collects chunk tables into row groups of ROW_GROUP_ROWS rows."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self._rows = 0

    def __enter__(self) -> _RowGroupWriter:
        return self

    def add(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._rows += table.num_rows
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._path, table.schema, compression="zstd")
        self._writer.write_table(table, row_group_size=max(ROW_GROUP_ROWS, table.num_rows))
        self._pending, self._rows = [], 0

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self._flush()
        finally:
            if self._writer is not None:
                self._writer.close()


def generate_legacy_cur(
    path: str | Path,
    *,
    rows: int,
    period: str = DEFAULT_PERIOD,
    payer: str = DEFAULT_PAYER,
    accounts: Sequence[str] = DEFAULT_ACCOUNTS,
    final: bool = True,
    seed: int = 0,
    compression: Compression = "gzip",
    commitment_owner: str | None = None,
) -> int:
    """Write a legacy CUR CSV of exactly `rows` data lines (plus header); returns `rows`.

    `commitment_owner` is the linked account that bought its own RI and savings plan
    (default: the first linked account); the payer owns the others.
    """
    path = Path(path)
    bill = _build_bill(period, payer, accounts, final, seed, commitment_owner)
    renderers: dict[int, _CsvRenderer] = {}
    with _byte_sink(path, compression) as sink:
        sink.write(csv_header())

        def render(variants: Sequence[Mapping[str, str]], batch: _Batch) -> None:
            if id(variants) not in renderers:
                renderers[id(variants)] = _CsvRenderer(bill, variants)
            sink.write(memoryview(renderers[id(variants)].render(batch)))

        _batches(bill, rows, render)
    return rows


def generate_cur2_parquet(
    path: str | Path,
    *,
    rows: int,
    period: str = DEFAULT_PERIOD,
    payer: str = DEFAULT_PAYER,
    accounts: Sequence[str] = DEFAULT_ACCOUNTS,
    final: bool = True,
    seed: int = 0,
    commitment_owner: str | None = None,
) -> int:
    """Write the same bill as `generate_legacy_cur` as CUR 2.0 Parquet; returns `rows`."""
    path = Path(path)
    bill = _build_bill(period, payer, accounts, final, seed, commitment_owner)
    renderers: dict[int, _ParquetRenderer] = {}
    with _RowGroupWriter(path) as writer:

        def render(variants: Sequence[Mapping[str, str]], batch: _Batch) -> None:
            if id(variants) not in renderers:
                renderers[id(variants)] = _ParquetRenderer(bill, variants)
            writer.add(renderers[id(variants)].render(batch))

        _batches(bill, rows, render)
    return rows


def _manifest_type(column: str) -> str:
    if column in NUMERIC_COLUMNS:
        return "OptionalBigDecimal"
    if column == "identity/TimeInterval":
        return "Interval"
    if column in TIMESTAMP_COLUMNS:
        return "DateTime"
    return "String" if column.startswith("identity/") else "OptionalString"


def write_manifest(
    path: str | Path,
    *,
    report_name: str,
    period: str,
    assembly_id: str,
    report_keys: Sequence[str],
    columns: Sequence[str] = LEGACY_CUR_COLUMNS,
    account: str = DEFAULT_PAYER,
    bucket: str = "",
    compression: str = "GZIP",
) -> None:
    """Write a legacy CUR `<report>-Manifest.json` describing one delivery (assembly)."""
    start, end = period_bounds(period)
    manifest = {
        "assemblyId": assembly_id,
        "account": account,
        "columns": [
            {"category": c.split("/", 1)[0], "name": c.split("/", 1)[1], "type": _manifest_type(c)}
            for c in columns
        ],
        "charset": "UTF-8",
        "compression": compression,
        "contentType": "text/csv",
        "reportId": hashlib.sha256(f"{account}/{report_name}".encode()).hexdigest(),
        "reportName": report_name,
        "billingPeriod": {
            "start": start.strftime("%Y%m%dT%H%M%S.000Z"),
            "end": end.strftime("%Y%m%dT%H%M%S.000Z"),
        },
        "bucket": bucket,
        "reportKeys": list(report_keys),
        "additionalArtifactKeys": [],
    }
    Path(path).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


# --- CLI ---------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localaws.synthetic_cur", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--format", choices=("legacy", "cur2"), default="legacy")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--period", default=DEFAULT_PERIOD)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--payer", default=DEFAULT_PAYER)
    parser.add_argument("--accounts", nargs="+", default=list(DEFAULT_ACCOUNTS))
    parser.add_argument(
        "--compression",
        choices=("gzip", "none", "zip"),
        default=None,
        help="legacy only; default from the file name (.gz, .zip, else none)",
    )
    parser.add_argument("--not-final", action="store_true", help="leave bill/InvoiceId empty")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    common = dict(
        rows=args.rows,
        period=args.period,
        payer=args.payer,
        accounts=args.accounts,
        final=not args.not_final,
        seed=args.seed,
    )
    if args.format == "legacy":
        compression = args.compression or (
            "gzip" if args.out.suffix == ".gz" else "zip" if args.out.suffix == ".zip" else "none"
        )
        generate_legacy_cur(args.out, compression=compression, **common)  # type: ignore[arg-type]
    else:
        generate_cur2_parquet(args.out, **common)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    size = args.out.stat().st_size
    print(
        f"{args.out}: {args.rows:,} rows, {size / 1e6:,.1f} MB in {elapsed:.1f} s", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
