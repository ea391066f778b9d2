"""The billing report of a period: provider cost against customer price, per customer.

Each row comes from the customer's live invoice (which carries its report figures); the report
adds the unassigned accounts, totals per currency (customers are invoiced in different currencies,
and money of two currencies is never added) and, when given, the reconciliation.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.billing.csvsafe import csv_writer, safe_cell
from chalicelib.billing.document import Invoice, margin_percent
from chalicelib.billing.money import exact, plain, to_str
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
            {
                "provider": a.provider,
                "account_id": a.account_id,
                "currency": a.currency,
                "cost": plain(a.cost),
            }
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
            }
            for currency, bucket in sorted(totals.items())
        ],
        "reconciliation": None if reconciliation is None else reconciliation.to_dict(),
    }


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


__all__ = ["ReportInput", "UnassignedAccount", "billing_report", "report_csv"]
