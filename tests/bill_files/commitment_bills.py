"""Tiny hand-written bills with one reserved instance or savings plan, in the three AWS layouts:
legacy CUR, CUR 2.0 and FOCUS 1.0 (CommitmentDiscount* columns).

Every bill tells the same story, in round numbers, so that the expected figures are the same in
every layout (tests/billing/test_commitments.py writes them out):

- a reserved instance: one covered hour in the user's account, on demand 10.00, amortized
  6.00, billed 0.00; the RI's fee of the month, 7.00, in the buyer's account, 1.00 of it for
  hours nobody used;
- a savings plan: one covered hour in the user's account, on demand 10.00, at the plan's rate
  7.00; the plan's fee of the month, 8.00, in the buyer's account, 1.00 of it unused. Legacy CUR
  and CUR 2.0 bill the covered hour at 10.00 and take it back with a SavingsPlanNegation of
  −10.00; FOCUS bills the covered hour at 0.00 and has no negation;
- one ordinary usage line of 20.00 in the user's account.

The fee's unused part is its own line in FOCUS (CommitmentDiscountStatus ``Unused``) and the
fee line's unused-part columns in CUR (``reservation/UnusedRecurringFee``,
``savingsPlan/TotalCommitmentToDate − savingsPlan/UsedCommitment``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.bill_files.aws_cur import FIELDS
from tests.bill_files import curgen

PAYER = curgen.PAYER  # the reseller's payer account: no customer owns it
FORMATS = ("aws-cur-legacy", "aws-cur2", "focus-1.0")


@dataclass(frozen=True)
class Commitment:
    kind: str  # "ri" | "sp"
    buyer: str  # the account that bought it (named in its ARN), or "" for an id without one
    user: str  # the account whose hour it covers
    name: str = "c1"

    @property
    def id(self) -> str:
        if not self.buyer:
            return f"{self.kind}-{self.name}"  # an id that names no buyer (FOCUS only)
        if self.kind == "ri":
            return f"arn:aws:ec2:us-east-1:{self.buyer}:reserved-instances/{self.name}"
        return f"arn:aws:savingsplans::{self.buyer}:savingsplan/{self.name}"

    @property
    def fee_account(self) -> str:
        return self.buyer or self.user


def bill(
    fmt: str,
    commitments: Sequence[Commitment],
    usage_accounts: Iterable[str],
    *,
    without: Iterable[str] = (),
) -> bytes:
    """A bill of ``fmt`` with ``commitments`` and an ordinary 20.00 line per usage account.
    ``without``: legacy CUR column names the report leaves out (CUR layouts only)."""
    if fmt == "focus-1.0":
        return _focus(commitments, usage_accounts)
    rows = [row for c in commitments for row in _cur_rows(c)]
    rows += [_cur_usage(account) for account in usage_accounts]
    columns = [c for c in curgen.COLUMNS if c not in set(without)]
    return curgen.render(rows, columns) if fmt == "aws-cur-legacy" else _cur2(rows, columns)


# --- legacy CUR and CUR 2.0 ---------------------------------------------------------------------


def _cur_usage(account: str) -> dict[str, str]:
    return curgen.line(
        lineItem__UsageAccountId=account,
        lineItem__UnblendedCost="20.00",
        pricing__publicOnDemandCost="20.00",
        lineItem__ResourceId=f"i-plain-{account}",
    )


def _cur_rows(c: Commitment) -> list[dict[str, str]]:
    L = curgen.line
    if c.kind == "ri":
        return [
            L(
                lineItem__UsageAccountId=c.user,
                lineItem__LineItemType="DiscountedUsage",
                lineItem__UnblendedCost="0",
                lineItem__ResourceId=f"i-{c.name}",
                pricing__publicOnDemandCost="10.00",
                reservation__ReservationARN=c.id,
                reservation__EffectiveCost="6.00",
            ),
            L(
                lineItem__UsageAccountId=c.fee_account,
                lineItem__LineItemType="RIFee",
                lineItem__UnblendedCost="7.00",
                lineItem__UsageType="HeavyUsage:m5.large",
                lineItem__ResourceId="",
                pricing__publicOnDemandCost="",
                reservation__ReservationARN=c.id,
                reservation__UnusedAmortizedUpfrontFeeForBillingPeriod="0",
                reservation__UnusedRecurringFee="1.00",
            ),
        ]
    return [
        L(
            lineItem__UsageAccountId=c.user,
            lineItem__LineItemType="SavingsPlanCoveredUsage",
            lineItem__UnblendedCost="10.00",
            lineItem__ResourceId=f"i-{c.name}",
            pricing__publicOnDemandCost="10.00",
            savingsPlan__SavingsPlanARN=c.id,
            savingsPlan__SavingsPlanEffectiveCost="7.00",
        ),
        L(
            lineItem__UsageAccountId=c.user,
            lineItem__LineItemType="SavingsPlanNegation",
            lineItem__UnblendedCost="-10.00",
            lineItem__ResourceId=f"i-{c.name}",
            pricing__publicOnDemandCost="",
            savingsPlan__SavingsPlanARN=c.id,
        ),
        L(
            lineItem__UsageAccountId=c.fee_account,
            lineItem__LineItemType="SavingsPlanRecurringFee",
            lineItem__UnblendedCost="8.00",
            lineItem__ProductCode="ComputeSavingsPlans",
            lineItem__UsageType="ComputeSP:1yrNoUpfront",
            lineItem__ResourceId="",
            pricing__publicOnDemandCost="",
            savingsPlan__SavingsPlanARN=c.id,
            savingsPlan__TotalCommitmentToDate="8.00",
            savingsPlan__UsedCommitment="7.00",
        ),
    ]


def _cur2(rows: list[dict[str, str]], legacy_columns: Sequence[str]) -> bytes:
    """The same lines as CUR 2.0 writes them: snake_case names, product attributes in one
    ``product`` map (JSON text in CSV), and the account-name columns CUR 2.0 adds."""
    in_product = {"product/ProductName": "product_name", "product/regionCode": "region_code"}
    columns = [
        (legacy, snake)
        for legacy, snake in FIELDS.values()
        if legacy in legacy_columns and legacy not in in_product
    ]
    names = [snake for _, snake in columns] + ["product", "bill_payer_account_name"]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        product = {key: row[legacy] for legacy, key in in_product.items() if row.get(legacy)}
        writer.writerow(
            [row.get(legacy, "") for legacy, _ in columns] + [json.dumps(product), "Reseller"]
        )
    return out.getvalue().encode()


# --- FOCUS 1.0 ------------------------------------------------------------------------------

FOCUS_COLUMNS = (
    "BillingAccountId",
    "SubAccountId",
    "ProviderName",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeDescription",
    "ServiceCategory",
    "ServiceName",
    "x_ServiceCode",
    "x_UsageType",
    "RegionId",
    "ResourceId",
    "PricingQuantity",
    "PricingUnit",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountType",
    "CommitmentDiscountStatus",
)


def _focus_line(
    account: str, category: str, billed: str, effective: str, listed: str, **more: str
) -> dict[str, str]:
    return {
        "BillingAccountId": PAYER,
        "SubAccountId": account,
        "ProviderName": "AWS",
        "BillingPeriodStart": "2026-10-01T00:00:00Z",
        "BillingPeriodEnd": "2026-11-01T00:00:00Z",
        "ChargePeriodStart": "2026-10-05T10:00:00Z",
        "ChargePeriodEnd": "2026-10-05T11:00:00Z",
        "ChargeCategory": category,
        "ServiceCategory": "Compute",
        "ServiceName": "Amazon Elastic Compute Cloud",
        "x_ServiceCode": "AmazonEC2",
        "x_UsageType": "BoxUsage:m5.large",
        "RegionId": "us-east-1",
        "PricingQuantity": "1",
        "PricingUnit": "Hours",
        "BilledCost": billed,
        "EffectiveCost": effective,
        "ListCost": listed,
        "ContractedCost": billed,
        "BillingCurrency": "USD",
        **more,
    }


def _focus(commitments: Sequence[Commitment], usage_accounts: Iterable[str]) -> bytes:
    rows = []
    for c in commitments:
        kind = {"ri": "Reservation", "sp": "Savings Plan"}[c.kind]
        used, fee = ("6.00", "7.00") if c.kind == "ri" else ("7.00", "8.00")
        ids = {"CommitmentDiscountId": c.id, "CommitmentDiscountType": kind}
        category = {"CommitmentDiscountCategory": "Usage" if c.kind == "ri" else "Spend"}
        rows += [
            _focus_line(
                c.user,
                "Usage",
                "0",
                used,
                "10.00",
                ResourceId=f"i-{c.name}",
                CommitmentDiscountStatus="Used",
                **ids,
                **category,
            ),
            _focus_line(
                c.fee_account,
                "Usage",
                "0",
                "1.00",
                "0",
                CommitmentDiscountStatus="Unused",
                ChargeDescription="unused commitment",
                **ids,
                **category,
            ),
            _focus_line(
                c.fee_account,
                "Purchase",
                fee,
                "0",
                fee,
                ChargeDescription="commitment fee",
                **ids,
                **category,
            ),
        ]
    rows += [
        _focus_line(a, "Usage", "20.00", "20.00", "20.00", ResourceId=f"i-plain-{a}")
        for a in usage_accounts
    ]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FOCUS_COLUMNS)
    for row in rows:
        writer.writerow([row.get(name, "") for name in FOCUS_COLUMNS])
    return out.getvalue().encode()
