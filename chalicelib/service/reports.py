"""The billing report of a period, read from storage: live invoices and current bill data.

The figures and totals come from the pure :mod:`chalicelib.billing.report`; this module only
gathers its inputs — each customer's live invoice, the accounts in the period's current bills
that no customer owns, and the reconciliation of the latest invoice run over every customer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.billing.document import Invoice
from chalicelib.billing.payments import OpenInvoice, outstanding
from chalicelib.billing.periods import Period
from chalicelib.billing.reconcile import UnassignedAccount
from chalicelib.billing.report import ReportInput, account_entry, unassigned_check
from chalicelib.billing.report import billing_report as build_report
from chalicelib.billing.report import report_csv as report_csv
from chalicelib.service.reconciliation import period_reconciliation
from chalicelib.store import bills, invoices, reference
from chalicelib.vocabulary import CLOUD_PROVIDERS


def latest_period(today: date | None = None) -> str:
    """The period a report opens on: the later of the latest period with an invoice and the
    latest period of the bill file processed last; the previous month when there is neither.
    Two one-item index queries."""
    found = [
        p for p in (invoices.latest_invoice_period(), bills.latest_processed_bill_period()) if p
    ]
    if found:
        return max(found)
    day = today or datetime.now(UTC).date()
    return str(Period(day.year, day.month).previous())


def billing_report(period: str) -> dict[str, Any]:
    customers = reference.list_documents("customer")
    live = {
        doc["customer_id"]: doc
        for doc in invoices.invoices_of_period(period)
        if doc["status"] != "void" and doc.get("kind", "invoice") == "invoice"
    }
    rows = [
        ReportInput(
            customer_id=c["id"],
            name=c.get("name") or c["id"],
            invoice=Invoice.from_dict(live[c["id"]]) if c["id"] in live else None,
        )
        for c in customers
    ]
    listed = {c["id"] for c in customers}
    links = [(c, a) for c, a in reference.all_accounts() if c in listed]
    owned = {(a["provider"], a["account_id"]) for _customer, a in links}
    unassigned, reseller = _accounts_nobody_owns(period, owned)
    report = build_report(period, rows, unassigned)
    report["reseller_accounts"] = [account_entry(a) for a in reseller]
    # The latest run over every customer checked every cent of the bills it priced; the
    # accounts listed now may differ from those it found unassigned (assigned since).
    report["reconciliation"] = period_reconciliation(period)
    report["unassigned_check"] = unassigned_check(
        unassigned, report["reconciliation"], _owned_part_of_period(period, links)
    )
    report["final"] = {provider: bills.is_final(period, provider) for provider in CLOUD_PROVIDERS}
    report["outstanding"] = outstanding_now({c["id"]: c.get("name") or c["id"] for c in customers})
    return report


def _owned_part_of_period(
    period: str, links: Sequence[tuple[str, Mapping[str, Any]]]
) -> dict[tuple[str, str], str]:
    """Accounts a customer owns for part of the period only → that customer."""
    month = Period.parse(period)
    first, end = month.start_at.date().isoformat(), month.end_at.date().isoformat()
    return {
        (a["provider"], a["account_id"]): customer_id
        for customer_id, a in links
        if (a.get("valid_from") or first) > first or (a.get("valid_to") or end) < end
    }


def _today() -> date:
    return datetime.now(UTC).date()


def outstanding_now(names: dict[str, str]) -> list[dict[str, Any]]:
    """What each customer owes today over every period, and how much of it is overdue (one
    query of the open invoices' sparse index)."""
    return outstanding(
        [
            OpenInvoice(doc["customer_id"], doc["currency"], balance, doc.get("due_date"))
            for doc, balance in invoices.open_invoices()
        ],
        names,
        _today(),
    )


def _accounts_nobody_owns(
    period: str, owned: set[tuple[str, str]]
) -> tuple[list[UnassignedAccount], list[UnassignedAccount]]:
    """Accounts in the bills that no customer owns, split in two: the payer's own lines
    (commitment fees, support — the account is its own billing account) stay with the
    reseller; any other account is unassigned and wants an owner."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for aggregate in bills.current_aggregates(period):
        account = (aggregate["provider"], aggregate["account_id"])
        if account in owned:
            continue
        key = (*account, aggregate.get("currency") or "")
        entry = found.setdefault(
            key,
            {
                "cost": Decimal(0),
                "billed": Decimal(0),
                "lines": 0,
                "payer": aggregate["account_id"] == aggregate.get("billing_account_id"),
            },
        )
        entry["cost"] += Decimal(aggregate["effective_cost"])
        entry["billed"] += Decimal(aggregate["billed_cost"])
        entry["lines"] += int(aggregate["rows"])
    unassigned: list[UnassignedAccount] = []
    reseller: list[UnassignedAccount] = []
    for (provider, account_id, currency), entry in sorted(found.items()):
        nobodys = UnassignedAccount(
            provider,
            account_id,
            currency,
            entry["cost"],
            entry["billed"],
            entry["lines"],
            entry["payer"],
        )
        (reseller if entry["payer"] else unassigned).append(nobodys)
    return unassigned, reseller
