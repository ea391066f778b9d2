"""A billing clerk's month end in the operator console, end to end, in a real browser.

Report → the unassigned account gets an owner → generate (one customer fails: no FX rate) →
filter the invoices → open one → download its CSV, whose sums match the invoice's lines.
Every figure on screen is checked against what the API says at that moment.
"""

from __future__ import annotations

import csv
import re
import secrets
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.portal.support import DEMO_PERIOD, Portal, amounts, expect, go, settle, shot

pytestmark = pytest.mark.browser

CENT = Decimal("0.01")
SYMBOLS = {"USD": "$", "EUR": "€"}


def en_us(amount: str, currency: str) -> str:
    """What Intl.NumberFormat("en-US", {style: "currency"}) shows for USD and EUR."""
    value = Decimal(amount).quantize(CENT, ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}{SYMBOLS[currency]}{abs(value):,.2f}"


def cell(row: Any, column: str) -> Any:
    return row.locator(f"td[data-col='{column}'] [data-amount]").first


def read_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def query_of(url: str) -> dict[str, str]:
    fragment = urlparse(url).fragment
    return {k: v[0] for k, v in parse_qs(fragment.partition("?")[2]).items()}


def test_month_end(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    period = DEMO_PERIOD

    # --- the billing report of the period ---------------------------------------------------
    page.get_by_label("Billing period").fill(period)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Billing report {period}")
    settle(page)
    assert query_of(page.url)["period"] == period
    report = portal.api("GET", f"/reports/billing?period={period}")
    assert report["rows"], "the demo has customers"
    for row in report["rows"]:
        tr = page.locator(f"tr[data-customer='{row['customer_id']}']")
        for column in ("cost", "price", "margin", "savings_retained", "subscriptions", "overage"):
            expect(cell(tr, column)).to_have_attribute("data-amount", row[column] or "")
        expect(cell(tr, "applied")).to_have_attribute("data-amount", row["applied"] or "")
        if row["currency"] in SYMBOLS and row["price"]:
            expect(cell(tr, "price")).to_have_text(en_us(row["price"], row["currency"]))
        status = row["invoice"]["status"] if row["invoice"] else "no invoice"
        expect(tr.locator("td[data-col='invoice']")).to_contain_text(status, ignore_case=True)
    for total in report["totals"]:
        footer = page.locator(f"tfoot tr[data-currency='{total['currency']}']")
        expect(footer).to_contain_text(f"Total {total['currency']}")
        for column in ("cost", "price", "margin"):
            expect(cell(footer, column)).to_have_attribute("data-amount", total[column])
    unassigned = page.get_by_role("region", name=re.compile("Unassigned accounts"))
    for account in report["unassigned"]:
        expect(unassigned).to_contain_text(account["account_id"])
    assert report["final"]["aws"] is True
    expect(page.locator(".finality [data-provider='aws']")).to_contain_text("final")
    usd_rows = [r for r in report["rows"] if r["currency"] == "USD"]
    chart = page.locator("figure.chart[data-currency='USD']")
    expect(chart.locator("g[data-customer]")).to_have_count(len(usd_rows))
    shot(page, "report", doc=True)

    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert download.value.suggested_filename == f"billing-report-{period}.csv"
    exported = read_csv(download.value.path())
    assert {r["customer_id"]: r["price"] for r in exported} == {
        r["customer_id"]: r["price"] or "" for r in report["rows"]
    }

    # --- the unassigned account gets an owner: a new customer, billed in yen ----------------
    account_id = report["unassigned"][0]["account_id"]
    customer_id = f"kaiju-{secrets.token_hex(3)}"
    page.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="New customer").click()
    page.get_by_label("Customer id").fill(customer_id)
    page.get_by_label("Name").fill("Kaiju KK")
    page.get_by_label("Currency").fill("JPY")
    page.get_by_label("Country").fill("JP")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kaiju KK")
    page.get_by_label("Account id").fill(account_id)
    page.get_by_role("button", name="Link account").click()
    expect(page.locator(f"tr[data-account='{account_id}']")).to_be_visible()
    accounts = portal.api("GET", f"/customers/{customer_id}/accounts")["items"]
    assert [(a["provider"], a["account_id"]) for a in accounts] == [("aws", account_id)]

    go(page, portal, f"/report?period={period}")
    expect(page.get_by_role("region", name=re.compile("Unassigned accounts"))).to_have_count(0)
    expect(page.locator(f"tr[data-customer='{customer_id}']")).to_contain_text("no invoice")

    # --- generate the invoices: the confirmation says exactly what will happen ---------------
    report = portal.api("GET", f"/reports/billing?period={period}")
    issued = sum(
        1 for r in report["rows"] if (r["invoice"] or {}).get("status") in ("issued", "paid")
    )
    page.get_by_role("button", name="Generate invoices…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Prices the {period} usage of {len(report['rows'])} customers")
    expect(dialog).to_contain_text("Issues them at once")
    expect(dialog).to_contain_text(f"{issued} invoices already issued are left unchanged")
    dialog.get_by_label(re.compile("Drafts for review")).check()
    expect(dialog).to_contain_text("Saves them as drafts for review")
    expect(dialog.get_by_role("button", name=f"Create drafts for {period}")).to_be_visible()
    dialog.get_by_label(re.compile("Issue invoices")).check()
    shot(page, "generate-confirm", doc=True)
    dialog.get_by_role("button", name=f"Issue invoices for {period}").click()
    expect(page.get_by_role("progressbar")).to_be_visible()
    summary = page.locator(".run-area")
    expect(summary).to_contain_text("Run Partial", timeout=90_000)
    run_id = summary.locator("p.mono").inner_text().removeprefix("Run ").strip()
    run = portal.api("GET", f"/invoice-runs/{run_id}")
    assert run["status"] == "partial", run
    assert [e["customer_id"] for e in run["errors"]] == [customer_id], run["errors"]
    failure = summary.locator(f"tr[data-customer='{customer_id}']")
    expect(failure).to_contain_text(run["errors"][0]["message"])
    expect(summary).to_contain_text(f"{run['progress']['unchanged']} unchanged, 1 failed")
    shot(page, "generate-result", doc=True)

    # --- customer invoices: combinable filters, kept in the URL ------------------------------
    page.get_by_role("link", name="Invoices", exact=True).click()
    settle(page)
    filters = page.get_by_role("search", name="Filter invoices")
    filters.get_by_label("Customer").select_option("globex")
    filters.get_by_label("Billing period").fill(period)
    filters.get_by_label("Status").select_option("issued")
    filters.get_by_role("button", name="Apply filters").click()
    settle(page)
    assert query_of(page.url) == {"customer_id": "globex", "period": period, "status": "issued"}
    expect(page.locator("tbody tr[data-invoice]")).to_have_count(1)
    expect(page.locator("tbody tr[data-invoice]")).to_have_attribute("data-customer", "globex")

    combined = {"period": period, "has_discount": "true", "min_total": "400"}
    go(page, portal, "/invoices?" + "&".join(f"{k}={v}" for k, v in combined.items()))
    expected = portal.api("GET", "/invoices?" + "&".join(f"{k}={v}" for k, v in combined.items()))
    page.reload()
    settle(page)
    expect(filters.get_by_label("Discount")).to_have_value("true")
    expect(filters.get_by_label("Total at least")).to_have_value("400")
    rows = page.locator("tbody tr[data-invoice]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.invoice)")) == sorted(
        i["id"] for i in expected["items"]
    )
    assert expected["items"], "the demo has a discounted invoice above 400"
    shot(page, "invoices-filtered", doc=True)

    filters.get_by_label("Discount").select_option("")
    filters.get_by_label("Total at least").fill("")
    filters.get_by_role("button", name="Apply filters").click()
    settle(page)
    assert query_of(page.url) == {"period": period}
    page.get_by_role("button", name="Total", exact=True).click()
    settle(page)
    ascending = [Decimal(a) for a in amounts(page.locator("tbody td [data-amount]"))]
    assert ascending == sorted(ascending) and len(ascending) >= 4
    expect(page.get_by_role("columnheader", name="Total")).to_have_attribute(
        "aria-sort", "ascending"
    )
    page.get_by_role("button", name="Total", exact=True).click()
    settle(page)
    descending = [Decimal(a) for a in amounts(page.locator("tbody td [data-amount]"))]
    assert descending == sorted(ascending, reverse=True)
    assert query_of(page.url) == {"period": period, "sort": "total", "order": "desc"}

    # Pages of two, in the same order: the pages put together are the whole sorted list.
    go(page, portal, f"/invoices?period={period}&sort=total&order=desc&size=2")
    pages = -(-len(descending) // 2)
    pager = page.get_by_role("navigation", name="Pages")
    paged: list[Decimal] = []
    for number in range(1, pages + 1):
        expect(pager).to_contain_text(f"Page {number} of {pages}")
        paged += [Decimal(a) for a in amounts(page.locator("tbody td [data-amount]"))]
        if number < pages:
            pager.get_by_role("link", name="Next page").click()
            settle(page)
    assert paged == descending
    assert query_of(page.url)["page"] == str(pages)
    go(page, portal, f"/invoices?period={period}")

    # --- one invoice, and its CSV ------------------------------------------------------------
    invoice = next(
        i
        for i in portal.api("GET", f"/invoices?customer_id=acme&period={period}")["items"]
        if i["status"] != "void" and i.get("kind", "invoice") == "invoice"
    )
    page.locator(f"tr[data-invoice='{invoice['id']}'] a").click()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice['number']}")
    check_invoice_page(page, invoice)
    shot(page, "invoice", doc=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename == f"{invoice['number']}.csv"
    check_csv_against_invoice(read_csv(download.value.path()), invoice)

    # A euro invoice converted from the dollar bill, with reverse charge: the rate and the note.
    (euro,) = portal.api("GET", f"/invoices?customer_id=initech&period={period}&status=issued")[
        "items"
    ]
    go(page, portal, f"/invoices/{euro['id']}")
    check_invoice_page(page, euro)
    for fx in euro["fx_rates"]:
        expect(page.locator(".invoice-summary")).to_contain_text(
            f"1 {fx['from']} = {fx['rate']} {fx['to']}"
        )


def check_invoice_page(page: Any, invoice: dict[str, Any]) -> None:
    """Lines, taxes and totals on screen are the invoice's, in its currency."""
    shown = page.locator("table tbody tr[data-kind]")
    lines = [line for line in invoice["lines"] if line["kind"] != "tax_note"]
    expect(shown).to_have_count(len(lines))
    assert amounts(shown.locator("[data-amount]")) == [line["amount"] for line in lines]
    totals = page.get_by_role("table", name="Totals")
    expect(totals.locator("tr[data-total='total'] [data-amount]")).to_have_attribute(
        "data-amount", invoice["total"]
    )
    expect(totals.locator("tr.grand")).to_contain_text(en_us(invoice["total"], invoice["currency"]))
    for tax in invoice["taxes"]:
        expect(totals).to_contain_text(tax["name"])
        if tax.get("note"):
            expect(totals).to_contain_text(tax["note"])
    applied = [line for line in lines if line["kind"] == "prepurchased_credit"]
    for line in applied:
        expect(page.locator("tr[data-kind='prepurchased_credit']")).to_contain_text(
            en_us(line["amount"], invoice["currency"])
        )


def check_csv_against_invoice(rows: list[dict[str, str]], invoice: dict[str, Any]) -> None:
    """For every provider + service, the rounded Σ of the CSV's price column is that line."""
    assert rows, "the detailed CSV has rows"
    assert {r["currency"] for r in rows} == {invoice["currency"]}
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[(row["provider"], row["service"])] += Decimal(row["price"])
    cloud = {
        (line["provider"], line["service"]): Decimal(line["amount"])
        for line in invoice["lines"]
        if line["kind"] == "cloud_usage"
    }
    assert cloud, "the invoice has cloud usage lines"
    rounded = {key: value.quantize(CENT, ROUND_HALF_UP) for key, value in sums.items()}
    assert rounded == cloud
    usage = sum(cloud.values(), Decimal(0))
    assert usage == Decimal(invoice["cloud_usage_total"])
