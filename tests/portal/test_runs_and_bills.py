"""Runs and bills an operator can follow, and a report that opens on something, in a real browser.

* A file that failed to be taken in, filed under the month it arrived (its period could not be
  read), is the first thing the bills screen of another month shows, with its error; its page
  says what became of it.
* The report opens on the latest period with bills, without a period in the URL; an account in
  that bill that nobody owns is assigned to a customer from the report itself.
* The runs screen lists the period's runs with who started them; a run that found nothing to do
  says so.
"""

from __future__ import annotations

import re
import secrets
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.bill_files import curgen
from tests.portal.support import DEMO_PERIOD, OPERATOR, Portal, expect, go, settle, shot

pytestmark = pytest.mark.browser

# A period after every other test's bills and invoices, so that it is the latest one.
LATE_PERIOD = "2029-02"  # later than any period another portal test bills or invoices


def _upload(portal: Portal, filename: str, body: bytes) -> str:
    link = portal.api("POST", "/bills/upload-url", {"filename": filename})
    response = requests.put(link["upload_url"], data=body, timeout=60)
    assert response.status_code == 200, response.text
    return str(link["key"])


def _bill(portal: Portal, query: str, key: str) -> dict[str, Any]:
    """The record of the file at ``key`` once it has left "processing"."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for bill in portal.api("GET", f"/bills?{query}&limit=100")["items"]:
            if bill["key"] == key and bill["status"] != "processing":
                return dict(bill)
        time.sleep(0.5)
    raise TimeoutError(key)


def test_a_failed_file_of_another_month_comes_first_with_its_error(
    operator_page: Any, portal: Portal
) -> None:
    page = operator_page
    key = _upload(portal, f"misc/scan-{secrets.token_hex(3)}.csv", b"invoice,scan\n1,2\n")
    bill = _bill(portal, "status=failed", key)
    arrived = bill["received_at"][:7]
    assert not bill.get("periods") and arrived != DEMO_PERIOD

    go(page, portal, f"/bills?period={DEMO_PERIOD}")
    attention = page.get_by_role("region", name=re.compile("Needs attention"))
    # Before the period's own files, and this file first: the newest of every month.
    first_table = page.locator("main table").first
    expect(first_table.locator("caption")).to_have_text("Failed, refused and waiting bill files")
    row = attention.locator("tbody tr").first
    expect(row).to_have_attribute("data-attention-key", key)
    expect(row).to_have_attribute("data-status", "failed")
    expect(row.locator(".bill-error")).to_contain_text(bill["error"]["message"])
    filed = row.locator("td[data-col='filed-under']")
    expect(filed).to_contain_text(arrived)
    expect(filed).to_contain_text("the month it arrived: its period could not be read")
    shot(page, "bills-attention", doc=True)

    row.get_by_role("link", name=key).click()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bill file")
    expect(page.get_by_role("alert")).to_contain_text(bill["error"]["message"])
    facts = page.locator("dl.bill-facts")
    expect(facts).to_contain_text("Failed")
    expect(facts).to_contain_text(f"{arrived} — the month it arrived")
    expect(facts).to_contain_text("no period (not current)")


def test_the_report_opens_on_the_latest_period_and_assigns_an_account(
    operator_page: Any, portal: Portal, tmp_path: Path
) -> None:
    page = operator_page
    account = f"7{secrets.randbelow(10**11):011d}"
    start, end = f"{LATE_PERIOD}-01T00:00:00Z", "2029-03-01T00:00:00Z"
    lines = [
        curgen.line(
            identity__LineItemId=f"late-{n}",
            identity__TimeInterval=f"{start}/{end}",
            bill__BillingPeriodStartDate=start,
            bill__BillingPeriodEndDate=end,
            lineItem__UsageAccountId=account,
            lineItem__UsageStartDate=f"{LATE_PERIOD}-0{n + 1}T10:00:00Z",
            lineItem__UsageEndDate=f"{LATE_PERIOD}-0{n + 1}T11:00:00Z",
            lineItem__UnblendedCost="12.3456789",
            lineItem__BlendedCost="12.3456789",
        )
        for n in range(3)
    ]
    name = f"late-{secrets.token_hex(3)}"
    key = _upload(portal, f"cur/{name}/20290201-20290301/{name}.csv", curgen.render(lines))
    assert _bill(portal, f"period={LATE_PERIOD}", key)["status"] == "processed"

    # Signing in opened the report already (on the demo month): load it afresh.
    go(page, portal, "/report")
    page.reload()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Billing report {LATE_PERIOD}")
    assert "period=" not in page.url
    unassigned = page.get_by_role("region", name=re.compile("Unassigned accounts"))
    item = unassigned.locator(f"li[data-account='{account}']")
    # 3 × 12.3456789 = 37.0370367: rounded to the cent on screen and in the API's display
    # field, exact behind it.
    report = portal.api("GET", f"/reports/billing?period={LATE_PERIOD}")
    [entry] = [a for a in report["unassigned"] if a["account_id"] == account]
    assert Decimal(entry["billed_cost"]) == Decimal("37.0370367")
    assert entry["billed_cost_display"] == "37.04"
    expect(item).to_contain_text("billed $37.04")
    expect(item.locator("[data-amount]").first).to_have_attribute(
        "data-amount", entry["billed_cost"]
    )
    shot(page, "report-assign", doc=True)

    item.get_by_label(f"Customer for account {account}").select_option("acme")
    item.get_by_role("button", name="Assign to customer").click()
    expect(page.get_by_role("status").filter(has_text="assigned to acme")).to_be_visible()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Billing report {LATE_PERIOD}")
    expect(page.locator(f"li[data-account='{account}']")).to_have_count(0)
    linked = portal.api("GET", "/customers/acme/accounts?limit=100")["items"]
    assert ("aws", account) in {(a["provider"], a["account_id"]) for a in linked}


def test_the_runs_screen_lists_runs_and_a_run_that_changed_nothing_says_so(
    operator_page: Any, portal: Portal
) -> None:
    page = operator_page
    period = LATE_PERIOD
    first = portal.run_invoices(period, "issue", ["globex"])
    again = portal.run_invoices(period, "issue", ["globex"])
    assert first["status"] == again["status"] == "succeeded", (first, again)
    assert again["progress"]["unchanged"] == 1

    go(page, portal, "/runs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice runs")
    rows = page.locator("tbody tr[data-run]")
    expect(rows.first).to_have_attribute("data-run", again["run_id"])
    go(page, portal, f"/runs?period={period}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice runs {period}")
    newest, older = rows.nth(0), rows.nth(1)
    expect(newest).to_have_attribute("data-run", again["run_id"])
    expect(older).to_have_attribute("data-run", first["run_id"])
    expect(newest).to_have_attribute("data-status", "succeeded")
    expect(newest).to_contain_text(OPERATOR)  # who started it: the clerk
    expect(newest.locator("td[data-col='counts']")).to_have_text("1: 0 saved, 1 unchanged")
    expect(older.locator("td[data-col='counts']")).to_have_text("1: 1 saved, 0 unchanged")
    expect(newest.locator("td[data-col='reconciliation']")).to_contain_text("balanced")
    shot(page, "runs", doc=True)

    newest.get_by_role("link", name=again["run_id"]).click()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice run {period}")
    expect(page.locator(".nothing-changed")).to_contain_text("Nothing changed.")
    expect(page.locator("dl.run-facts")).to_contain_text(OPERATOR)
