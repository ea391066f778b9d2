"""The billing report of a period: provider cost against customer price, per customer.

Each row comes from the customer's live invoice (which carries its report figures); the report
adds the unassigned accounts, totals per currency (customers are invoiced in different currencies,
and money of two currencies is never added) and, when given, the reconciliation. Exact amounts
of many decimals (bill costs) have a ``*_display`` twin rounded to the currency's minor unit.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.billing.csvsafe import csv_writer, safe_cell
from chalicelib.billing.document import Invoice, margin_percent
from chalicelib.billing.money import ZERO, display, exact, plain, to_str
from chalicelib.billing.reconcile import Reconciliation, UnassignedAccount

FIGURES = (
    "cost",
    "price",
    "margin",
    "savings_retained",
    "subscriptions",
    "credit",
    "applied",
    "overage",
)
CSV_COLUMNS = (
    "customer_id",
    "name",
    "currency",
    *FIGURES[:3],
    "margin_percent",
    *FIGURES[3:],
    "invoice_id",
    "invoice_number",
    "invoice_status",
    "invoice_total",
)


@dataclass(frozen=True)
class ReportInput:
    customer_id: str
    name: str
    invoice: Invoice | None  # the live invoice of the period, if any


def _figures(invoice: Invoice) -> dict[str, Decimal]:
    f = invoice.figures
    return {
        "cost": f.cost,
        "price": invoice.price,
        "margin": invoice.margin,
        "savings_retained": f.savings_retained,
        "subscriptions": invoice.subscriptions_total,
        "credit": f.credit,
        "applied": f.applied,
        "overage": f.overage,
    }


@exact
def billing_report(
    period: str,
    rows: Sequence[ReportInput],
    unassigned: Sequence[UnassignedAccount],
    reconciliation: Reconciliation | None = None,
) -> dict[str, Any]:
    report_rows = []
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in sorted(rows, key=lambda r: r.customer_id):
        out: dict[str, Any] = {"customer_id": row.customer_id, "name": row.name}
        invoice = row.invoice
        if invoice is None:
            out.update({"currency": None, **dict.fromkeys(FIGURES), "margin_percent": None})
            out["invoice"] = None
        else:
            figures = _figures(invoice)
            out["currency"] = invoice.currency
            out.update({k: to_str(v, invoice.currency) for k, v in figures.items()})
            out["margin_percent"] = margin_percent(figures["price"], figures["margin"])
            out["invoice"] = {
                "id": invoice.id,
                "number": invoice.number,
                "status": invoice.status,
                "total": to_str(invoice.total, invoice.currency),
            }
            bucket = totals[invoice.currency]
            for name, value in figures.items():
                bucket[name] += value
            bucket["invoice_total"] += invoice.total
            bucket["customers"] += 1
        report_rows.append(out)
    for account in unassigned:
        totals[account.currency]["unassigned_cost"] += account.cost
    return {
        "period": period,
        "rows": report_rows,
        "unassigned": [
            account_entry(a)
            for a in sorted(unassigned, key=lambda a: (a.provider, a.account_id, a.currency))
        ],
        # One totals entry per currency, as a list so that clients keep its order.
        "totals": [
            {
                "currency": currency,
                "customers": int(bucket["customers"]),
                **{name: to_str(bucket[name], currency) for name in (*FIGURES, "invoice_total")},
                "margin_percent": margin_percent(bucket["price"], bucket["margin"]),
                "unassigned_cost": plain(bucket["unassigned_cost"]),
                "unassigned_cost_display": display(bucket["unassigned_cost"], currency),
            }
            for currency, bucket in sorted(totals.items())
        ],
        "reconciliation": None if reconciliation is None else reconciliation.to_dict(),
    }


def account_entry(account: UnassignedAccount) -> dict[str, Any]:
    """An account nobody owns as the report lists it: its EffectiveCost (``cost``, what the
    reseller pays for it, commitments spread over the hours they cover) and its BilledCost (what
    the provider charges for it, which the reconciliation counts), exact and for display."""
    return {
        "provider": account.provider,
        "account_id": account.account_id,
        "currency": account.currency,
        "cost": plain(account.cost),
        "billed_cost": plain(account.billed_cost),
        "cost_display": display(account.cost, account.currency),
        "billed_cost_display": display(account.billed_cost, account.currency),
    }


@exact
def unassigned_check(
    unassigned: Sequence[UnassignedAccount],
    reconciliation: dict[str, Any] | None,
    partly_owned: Mapping[tuple[str, str], str] | None = None,
) -> list[dict[str, Any]]:
    """Per bill currency, the unassigned accounts listed now against the reconciliation's
    unassigned figure (both BilledCost), and the accounts where they differ, each with why:

    * ``owned_part_of_period``: a customer owns the account for part of the period only
      (``partly_owned``: account → that customer); the lines of the other days are nobody's,
      which the reconciliation counts and a list of accounts nobody owns at all does not;
    * ``changed_since_run``: accounts were assigned, or bills came in, after the run that
      reconciled; a new run reconciles them.

    Empty without a reconciliation."""
    if not reconciliation or not reconciliation.get("currencies"):
        return []
    partly_owned = partly_owned or {}
    listed: dict[str, Decimal] = defaultdict(Decimal)
    listed_accounts: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for account in unassigned:
        listed[account.currency] += account.billed_cost
        listed_accounts[account.provider, account.account_id, account.currency] += (
            account.billed_cost
        )
    reconciled = {
        c["currency"]: Decimal(c.get("unassigned") or 0) for c in reconciliation["currencies"]
    }
    reconciled_accounts: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for entry in reconciliation.get("unassigned_accounts") or []:
        key = (entry["provider"], entry["account_id"], entry["currency"])
        reconciled_accounts[key] += Decimal(entry["billed_cost"])
    checks = []
    for currency in sorted(set(listed) | set(reconciled)):
        now, then = listed[currency], reconciled.get(currency, Decimal(0))
        accounts = []
        for key in sorted(set(listed_accounts) | set(reconciled_accounts)):
            provider, account_id, account_currency = key
            mine, run = listed_accounts.get(key, ZERO), reconciled_accounts.get(key, ZERO)
            if account_currency != currency or mine == run:
                continue
            owner = partly_owned.get((provider, account_id))
            accounts.append(
                {
                    "provider": provider,
                    "account_id": account_id,
                    "listed": plain(mine),
                    "reconciled": plain(run),
                    "listed_display": display(mine, currency),
                    "reconciled_display": display(run, currency),
                    "reason": "owned_part_of_period" if owner and not mine else "changed_since_run",
                    "customer_id": owner,
                }
            )
        if now != then and not accounts:  # a reconciliation stored without its accounts
            accounts.append(
                {
                    "provider": None,
                    "account_id": None,
                    "listed": plain(now),
                    "reconciled": plain(then),
                    "listed_display": display(now, currency),
                    "reconciled_display": display(then, currency),
                    "reason": "changed_since_run",
                    "customer_id": None,
                }
            )
        checks.append(
            {
                "currency": currency,
                "listed": plain(now),
                "reconciled": plain(then),
                "listed_display": display(now, currency),
                "reconciled_display": display(then, currency),
                "agrees": now == then,
                "accounts": accounts,
            }
        )
    return checks


def report_csv(report: dict[str, Any]) -> str:
    """The report's customer rows as CSV (``GET /reports/billing?format=csv``)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in report["rows"]:
        invoice = row["invoice"] or {}
        values = [
            *(row[c] for c in CSV_COLUMNS[:12]),
            invoice.get("id"),
            invoice.get("number"),
            invoice.get("status"),
            invoice.get("total"),
        ]
        # Money cells are plain numbers; every other cell is text a spreadsheet must not run.
        writer.writerow(
            [
                (v or "") if c in (*FIGURES, "margin_percent", "invoice_total") else safe_cell(v)
                for c, v in zip(CSV_COLUMNS, values, strict=True)
            ]
        )
    return buffer.getvalue()


__all__ = [
    "ReportInput",
    "UnassignedAccount",
    "account_entry",
    "billing_report",
    "report_csv",
    "unassigned_check",
]
