"""The demo: a small reseller's reference data and a month of AWS bills, run through the stack.

The bills are uploaded to the bucket like a cloud delivers them; the bucket notification runs
the ingest Lambda, and a report's manifest starts its ingest-report execution; then an invoice
run goes through the generate-invoices state machine.
"""

from __future__ import annotations

import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from chalicelib.vocabulary import PROVIDER_NAMES
from localaws.demo_data import DEMO_PERIOD, demo_reference, write_demo_bills


def load_reference(reference_data: dict[str, Any]) -> None:
    from chalicelib.store import reference

    reference.put_settings(reference_data["settings"])
    for doc in reference_data["price_lists"]:
        reference.put_document("price_list", doc)
    for doc in reference_data["plans"]:
        reference.put_document("plan", doc)
    for doc in reference_data["customers"]:
        reference.put_document("customer", doc)
    for doc in reference_data["accounts"]:
        account = {k: v for k, v in doc.items() if k != "customer_id"}
        reference.put_account(doc["customer_id"], account)
    for doc in reference_data["subscriptions"]:
        subscription = {k: v for k, v in doc.items() if k != "customer_id"}
        reference.put_subscription(doc["customer_id"], subscription)


def upload_bills(files: list[tuple[Path, str]]) -> None:
    """PUT each file under ``bills/``: parts first, manifests last, as AWS delivers a report."""
    from chalicelib.store import objects

    ordered = sorted(files, key=lambda f: f[1].endswith("-Manifest.json"))
    for path, key in ordered:
        objects.upload(path, objects.BILLS_PREFIX + key)
    wait_for_deliveries()


def wait_for_deliveries(timeout: float = 300) -> None:
    """Wait until no report delivery is still being taken in (its execution has ended)."""
    from chalicelib.config import get_config
    from chalicelib.store.aws import client
    from localaws.provision import wait_for_executions

    machine = get_config().ingest_report_state_machine_arn
    if wait_for_executions(client("stepfunctions"), [machine], timeout):
        raise TimeoutError(f"report deliveries still being taken in after {timeout} s")


def load_demo() -> str:
    """Load reference data and bills; return the demo period."""
    load_reference(demo_reference())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        upload_bills([(out / rel, str(rel)) for rel in write_demo_bills(out)])
    return DEMO_PERIOD


def run_invoices(period: str, mode: str = "issue", timeout: float = 300) -> dict[str, Any]:
    """Start an invoice run and wait for the state machine to finish it."""
    from chalicelib.service.runs import start_invoice_run
    from chalicelib.store import invoices

    run = start_invoice_run(period, mode, started_by={"subject": "demo", "name": "the demo loader"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = invoices.get_run(run["run_id"])
        if doc["status"] != "running":
            return doc
        time.sleep(0.2)
    raise TimeoutError(f"invoice run {run['run_id']} still running after {timeout} s")


def format_report(report: dict[str, Any]) -> str:
    header = ("customer", "provider cost", "price", "margin", "margin %", "invoice total", "status")
    rows = [header]
    for row in report["rows"]:
        invoice = row["invoice"] or {}
        rows.append(
            (
                row["customer_id"],
                row["cost"] or "-",
                row["price"] or "-",
                row["margin"] or "-",
                row["margin_percent"] or "-",
                f"{invoice.get('total', '-')} {row.get('currency') or ''}",
                invoice.get("number") or invoice.get("status") or "no invoice",
            )
        )
    for totals in report["totals"]:
        rows.append(
            (
                f"TOTAL {totals['currency']}",
                totals["cost"],
                totals["price"],
                totals["margin"],
                totals["margin_percent"] or "-",
                "",
                "",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - len(report["totals"]), "  ".join("-" * w for w in widths))
    for entry in report["unassigned"]:
        lines.append(
            f"unassigned: {PROVIDER_NAMES.get(entry['provider'], entry['provider'])} account "
            f"{entry['account_id']}, billed {entry['billed_cost_display']} {entry['currency']} "
            f"(effective cost {entry['cost_display']}): assign it to a customer"
        )
    lines.extend(_unassigned_check_lines(report.get("unassigned_check") or []))
    lines.extend(_reconciliation_lines(report.get("reconciliation")))
    return "\n".join(lines)


WHY_UNASSIGNED_DIFFERS = {
    "owned_part_of_period": "owned by {customer} for part of the period only",
    "changed_since_run": "assigned, or billed, since the run that reconciled",
}


def _unassigned_check_lines(checks: list[dict[str, Any]]) -> list[str]:
    """Where the unassigned accounts listed and the reconciliation's unassigned figure differ,
    the accounts that make the difference, and why."""
    lines = []
    for check in checks:
        if check["agrees"]:
            continue
        lines.append(
            f"unassigned {check['currency']}: {check['listed_display']} listed, "
            f"{check['reconciled_display']} in the reconciliation:"
        )
        for account in check["accounts"]:
            why = WHY_UNASSIGNED_DIFFERS[account["reason"]].format(customer=account["customer_id"])
            name = PROVIDER_NAMES.get(account["provider"], account["provider"])
            lines.append(
                f"  {name} account {account['account_id']}: {account['listed_display']} listed, "
                f"{account['reconciled_display']} reconciled ({why})"
            )
    return lines


def _reconciliation_lines(result: dict[str, Any] | None) -> list[str]:
    if not result or result.get("balanced") is None:
        return [] if not result else [f"reconciliation: {result.get('error')}"]
    lines = []
    for c in result["currencies"]:
        retained = sum((Decimal(v) for v in c["retained"].values()), Decimal(0))
        lines.append(
            f"reconciliation {c['currency']}: bill {c['bill_total']} = billed {c['billed']}"
            f" + retained {retained} + payer accounts {c.get('reseller_accounts', '0')}"
            f" + unassigned {c['unassigned']}"
            f" + not priced {c['unpriced']}"
            + ("" if Decimal(c["difference"]) == 0 else f"; DIFFERENCE {c['difference']}")
        )
    if result.get("duplicated_lines"):
        lines.append(f"reconciliation: {result['duplicated_lines']} line(s) counted twice")
    return lines
