"""The billing report of a period: provider cost against customer price, per customer.

Reads the live invoices of the period (each carries its report figures) and the period's
current bill aggregates, so accounts in the bills that no customer owns show as unassigned.
"""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chalicelib.store import bills, invoices, reference

CENT = Decimal("0.01")

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


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _margin_percent(price: Decimal, margin: Decimal) -> str | None:
    if price == 0:
        return None
    return str((margin / price * 100).quantize(Decimal("0.01")))


def billing_report(period: str) -> dict[str, Any]:
    customers = reference.list_documents("customer")
    live = {
        doc["customer_id"]: doc
        for doc in invoices.invoices_of_period(period)
        if doc["status"] != "void"
    }
    rows = []
    for customer in sorted(customers, key=lambda c: c["id"]):
        invoice = live.get(customer["id"])
        figures = (invoice or {}).get("report") or {}
        row: dict[str, Any] = {
            "customer_id": customer["id"],
            "name": customer.get("name", customer["id"]),
            "currency": (invoice or {}).get("currency") or customer.get("currency"),
        }
        for name in FIGURES:
            row[name] = str(_money(figures.get(name)))
        row["margin_percent"] = _margin_percent(_money(row["price"]), _money(row["margin"]))
        row["invoice"] = (
            None
            if invoice is None
            else {
                "id": invoice["id"],
                "status": invoice["status"],
                "total": invoice.get("total"),
                "number": invoice.get("number"),
            }
        )
        rows.append(row)
    owned = {
        (a["provider"], a["account_id"])
        for c in customers
        for a in reference.list_accounts(c["id"])
    }
    # Accounts in the bill that no customer owns: the payer's own lines (commitment fees,
    # support — the account is its own billing account) stay with the reseller; any other
    # account is unassigned and wants an owner.
    unassigned: dict[tuple[str, str], Decimal] = {}
    reseller: dict[tuple[str, str], Decimal] = {}
    for aggregate in bills.current_aggregates(period):
        account = (aggregate["provider"], aggregate["account_id"])
        if account in owned:
            continue
        payer = aggregate["account_id"] == aggregate.get("billing_account_id")
        bucket = reseller if payer else unassigned
        bucket[account] = bucket.get(account, Decimal(0)) + _money(aggregate["effective_cost"])
    return {
        "period": period,
        "final": {p: bills.is_final(period, p) for p in ("aws", "gcp", "azure", "oci")},
        "rows": rows,
        "unassigned": _accounts(unassigned),
        "reseller_accounts": _accounts(reseller),
        "totals": _totals(rows),
    }


def _accounts(costs: dict[tuple[str, str], Decimal]) -> list[dict[str, str]]:
    """Bill accounts with their cost, in the bills' currency, to the cent."""
    return [
        {"provider": p, "account_id": a, "cost": str(cost.quantize(CENT, ROUND_HALF_UP))}
        for (p, a), cost in sorted(costs.items())
    ]


def _totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One totals row per invoice currency: amounts in different currencies never add up."""
    totals = []
    for currency in sorted({str(r["currency"]) for r in rows}):
        same = [r for r in rows if r["currency"] == currency]
        total: dict[str, Any] = {"currency": currency, "customers": len(same)}
        for name in FIGURES:
            total[name] = str(sum((_money(r[name]) for r in same), Decimal(0)))
        total["margin_percent"] = _margin_percent(_money(total["price"]), _money(total["margin"]))
        totals.append(total)
    return totals


def _safe_cell(value: Any) -> Any:
    """Protect text cells against formula injection in spreadsheet programs."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            Decimal(value)
            return value
        except ArithmeticError:
            return "'" + value
    return value


def report_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header = [
        "customer_id",
        "name",
        "currency",
        *FIGURES,
        "margin_percent",
        "invoice_status",
        "invoice_total",
    ]
    writer.writerow(header)
    for row in report["rows"]:
        invoice = row["invoice"] or {}
        writer.writerow(
            [_safe_cell(row.get(h)) for h in header[:-2]]
            + [invoice.get("status"), invoice.get("total")]
        )
    return out.getvalue()
