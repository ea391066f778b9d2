"""Make a delivery part of its period's bill, or say why not: the rules of
:mod:`chalicelib.bill_files.current` applied to the period's current set in DynamoDB.

Both routes a bill takes in call :func:`publish`: a single file
(:mod:`chalicelib.service.bill_intake`) and a multi-part report delivery
(:mod:`chalicelib.service.report_deliveries`). Every period of the delivery is checked before any
is switched, so a refused delivery changes nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.bill_files.current import Outcome, Version, decide
from chalicelib.bill_files.line_keys import overlapping_lines
from chalicelib.config import get_config
from chalicelib.observability import logger
from chalicelib.store import bills, objects
from chalicelib.store.records import AccountAggregate, BillRecord


@dataclass(frozen=True)
class Delivery:
    """What is being published: one report's delivery, made of bill files."""

    provider: str
    report: str
    version: str
    delivered_at: str
    records: list[BillRecord]  # the bill records of its files


@dataclass(frozen=True)
class Published:
    status: str  # current | superseded | refused
    outcomes: dict[str, Outcome]  # by period
    refusal: Outcome | None = None

    @property
    def replaced_bills(self) -> set[str]:
        return {b for o in self.outcomes.values() for v in o.replaced for b in v.bill_ids}


def versions_of(delivery: Delivery) -> dict[str, Version]:
    """The delivery's version in each period it has lines of."""
    versions = {}
    periods = sorted({p for r in delivery.records for p in r.get("periods") or []})
    for period in periods:
        records = [r for r in delivery.records if period in (r.get("periods") or [])]
        aggregates = bills.aggregates_of(period, (r["id"] for r in records))
        payers = {str(a["billing_account_id"]) for a in aggregates if a["billing_account_id"]}
        versions[period] = Version(
            provider=delivery.provider,
            report=delivery.report,
            version=delivery.version,
            delivered_at=delivery.delivered_at,
            bill_ids=tuple(sorted(r["id"] for r in records)),
            billing_accounts=tuple(sorted(payers)),
            accounts=tuple(sorted({_account(a) for a in aggregates})),
            keys=tuple(sorted(r["key"] for r in records)),
        )
    return versions


def publish(delivery: Delivery) -> Published:
    """Make the delivery current in each of its periods, or refuse it in all of them."""
    versions = versions_of(delivery)
    overlaps: dict[tuple[str, str, str], int] = {}

    def overlap_in(period: str, new: Version) -> Any:
        def count(other: Version) -> int:
            key = (period, other.slot, other.version)
            if key not in overlaps:
                overlaps[key] = _overlap(period, new, other)
            return overlaps[key]

        return count

    # Every period first, nothing written: a refusal in one period keeps the delivery out of all.
    for period, new in versions.items():
        outcome = decide(bills.current_set(period).versions, new, overlap_in(period, new))
        if outcome.status == "refused":
            return Published("refused", {period: outcome}, outcome)
    outcomes: dict[str, Outcome] = {}
    for period, new in versions.items():
        while True:
            current = bills.current_set(period)
            outcome = decide(current.versions, new, overlap_in(period, new))
            if outcome.status != "current" or outcome.already:
                break
            if bills.switch_current(period, current, current.after(outcome, new)):
                break
        outcomes[period] = outcome
        if outcome.status == "refused":  # a file that landed meanwhile: take this one out again
            for done_period in outcomes:
                _withdraw(done_period, versions[done_period])
            return Published("refused", {period: outcome}, outcome)
    made_current = any(o.status == "current" for o in outcomes.values())
    return Published("current" if made_current else "superseded", outcomes)


def _account(aggregate: AccountAggregate) -> str:
    return f"{aggregate['provider']}/{aggregate['account_id']}"


def _overlap(period: str, new: Version, other: Version) -> int:
    """Lines of ``new`` already current in ``other``, read from their shared accounts' files."""
    shared = set(new.accounts) & set(other.accounts)

    def files(version: Version) -> list[str]:
        # Each file once: small accounts of a bill over many share one (the count below takes
        # the shared accounts' lines only).
        return sorted(
            {
                a["parquet_key"]
                for a in bills.aggregates_of(period, version.bill_ids)
                if _account(a) in shared
            }
        )

    with tempfile.TemporaryDirectory(dir=get_config().tmp_dir) as tmp:
        new_files = [
            objects.download(k, Path(tmp) / "new" / f"{i}.parquet")
            for i, k in enumerate(files(new))
        ]
        other_files = [
            objects.download(k, Path(tmp) / "current" / f"{i}.parquet")
            for i, k in enumerate(files(other))
        ]
        lines = overlapping_lines(new_files, other_files, shared)
    logger.info(
        "lines shared with a current file",
        extra={"period": period, "other": other.describe(), "lines": lines},
    )
    return lines


def _withdraw(period: str, new: Version) -> None:
    while True:
        current = bills.current_set(period)
        if current.versions.get(new.slot) != new:
            return
        versions = {slot: v for slot, v in current.versions.items() if slot != new.slot}
        if bills.switch_current(period, current, versions):
            return
