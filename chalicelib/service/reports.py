"""The billing report of a period, read from storage: live invoices and current bill data.

The figures and totals come from the pure :mod:`chalicelib.billing.report`; this module only
gathers its inputs — each customer's live invoice, the accounts in the period's current bills
that no customer owns, and the reconciliation of the latest invoice run over every customer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.billing.document import Invoice
from chalicelib.billing.money import plain
from chalicelib.billing.payments import OpenInvoice, outstanding
from chalicelib.billing.reconcile import UnassignedAccount
from chalicelib.billing.report import ReportInput
from chalicelib.billing.report import billing_report as build_report
from chalicelib.billing.report import report_csv as report_csv
from chalicelib.service.reconciliation import period_reconciliation
from chalicelib.store import bills, invoices, reference
from chalicelib.vocabulary import CLOUD_PROVIDERS


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
    owned = {
        (a["provider"], a["account_id"])
        for c in customers
        for a in reference.list_accounts(c["id"])
    }
    unassigned, reseller = _accounts_nobody_owns(period, owned)
    report = build_report(period, rows, unassigned)
    report["reseller_accounts"] = [
        {
            "provider": a.provider,
            "account_id": a.account_id,
            "currency": a.currency,
            "cost": plain(a.cost),
        }
        for a in reseller
    ]
    # The latest run over every customer checked every cent of the bills it priced.
    report["reconciliation"] = period_reconciliation(period)
    report["final"] = {provider: bills.is_final(period, provider) for provider in CLOUD_PROVIDERS}
    report["outstanding"] = outstanding_now({c["id"]: c.get("name") or c["id"] for c in customers})
    return report


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
            provider, account_id, currency, entry["cost"], entry["billed"], entry["lines"]
        )
        (reseller if entry["payer"] else unassigned).append(nobodys)
    return unassigned, reseller
