"""The invoice list a billing team works with (server-side sort and search, customer names,
drafts by their number and never summed as invoiced) and the portal on a phone: amounts and
totals in view without a sideways scroll, charts that draw their labels inside their box."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.portal.support import (
    DEMO_PERIOD,
    OPERATOR,
    Portal,
    expect,
    go,
    settle,
    shot,
    sign_in_with_password,
)

pytestmark = pytest.mark.browser

DRAFT_PERIOD = "2027-03"  # a period of this test's own customers only

ROW_IDS = (
    "() => [...document.querySelectorAll('tbody tr[data-invoice]')].map(r => r.dataset.invoice)"
)


def _hash_query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url.split("#", 1)[1]).query)


def test_invoice_list_sorts_and_searches_on_the_server(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    go(page, portal, f"/invoices?period={DEMO_PERIOD}")
    listed = portal.api("GET", f"/invoices?period={DEMO_PERIOD}&limit=100")["items"]
    # Each row names its customer as the customer is called, not by id.
    for invoice in listed:
        row = page.locator(f'tbody tr[data-invoice="{invoice["id"]}"]')
        expect(row.locator('[data-label="Customer"]')).to_have_text(invoice["customer_name"])
        assert invoice["customer_name"] and invoice["customer_name"] != invoice["customer_id"]

    # Sorting by a column asks the API, and the rows follow the API's order.
    page.get_by_role("button", name="Customer", exact=True).click()
    settle(page)
    assert _hash_query(page)["sort"] == ["customer"]
    expect(page.get_by_role("columnheader", name="Customer")).to_have_attribute(
        "aria-sort", "ascending"
    )
    by_name = portal.api("GET", f"/invoices?period={DEMO_PERIOD}&sort=customer&limit=100")
    assert page.evaluate(ROW_IDS) == [i["id"] for i in by_name["items"]]
    page.get_by_role("button", name="Total", exact=True).click()
    settle(page)
    page.get_by_role("button", name="Total", exact=True).click()
    settle(page)
    assert (_hash_query(page)["sort"], _hash_query(page)["order"]) == (["total"], ["desc"])
    by_total = portal.api("GET", f"/invoices?period={DEMO_PERIOD}&sort=total&order=desc&limit=100")
    assert page.evaluate(ROW_IDS) == [i["id"] for i in by_total["items"]]

    # Searching by a part of a customer's name, in any case, keeps the sort.
    name = listed[0]["customer_name"]
    part = name.split()[0][1:].upper()
    page.get_by_label("Search").fill(part)
    page.get_by_role("button", name="Apply filters").click()
    settle(page)
    query = _hash_query(page)
    assert (query["q"], query["sort"], query["order"]) == ([part], ["total"], ["desc"])
    expected = [i["id"] for i in by_total["items"] if part.lower() in i["customer_name"].lower()]
    assert expected and page.evaluate(ROW_IDS) == expected
    # A shared link shows the same list.
    go(page, portal, f"/invoices?period={DEMO_PERIOD}&q={part}&sort=total&order=desc")
    assert page.evaluate(ROW_IDS) == expected
    # An invoice number's beginning finds that invoice.
    number = by_total["items"][0]["number"]
    go(page, portal, f"/invoices?q={number}")
    assert page.evaluate(ROW_IDS) == [by_total["items"][0]["id"]]


PHONE = {"width": 390, "height": 844}

IN_VIEW = """(el) => {
  const box = el.getBoundingClientRect();
  return { left: box.left, right: box.right, width: box.width, inner: window.innerWidth };
}"""

LABELS_OUTSIDE = """() => [...document.querySelectorAll("figure.chart svg")].flatMap((svg) => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll("text")].map((t) => [t.textContent, t.getBoundingClientRect()])
    .filter(([, r]) => r.left < box.left - 0.5 || r.right > box.right + 0.5
      || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
    .map(([text]) => text);
})"""

OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def _assert_in_view(locator: Any, what: str) -> None:
    box = locator.evaluate(IN_VIEW)
    assert box["width"] > 0 and box["left"] >= 0 and box["right"] <= box["inner"], (what, box)


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_amounts_and_totals_stay_in_view_on_a_phone(page: Any, portal: Portal) -> None:
    page.goto(portal.portal_url + "#/signin")
    sign_in_with_password(page, portal, OPERATOR, here=True)
    settle(page)

    go(page, portal, f"/invoices?period={DEMO_PERIOD}&sort=total&order=desc")
    assert page.evaluate(OVERFLOW) <= 0
    rows = page.locator("tbody tr[data-invoice]")
    assert rows.count() > 1
    for index in range(rows.count()):
        _assert_in_view(rows.nth(index).locator('[data-label="Total"] [data-amount]'), "total")
    shot(page, "phone-invoices", doc=True)

    first = page.evaluate(ROW_IDS)[0]
    go(page, portal, f"/invoices/{first}")
    assert page.evaluate(OVERFLOW) <= 0
    amounts = page.locator('[data-label="Amount"] [data-amount]')
    assert amounts.count() > 0
    for index in range(amounts.count()):
        _assert_in_view(amounts.nth(index), "line amount")
    _assert_in_view(page.locator('[data-total="total"] [data-amount]'), "invoice total")
    shot(page, "phone-invoice", doc=True)

    go(page, portal, f"/report?period={DEMO_PERIOD}")
    assert page.evaluate(OVERFLOW) <= 0
    charts = page.locator("figure.chart svg")
    assert charts.count() > 0
    for index in range(charts.count()):
        _assert_in_view(charts.nth(index), "chart")
        figure = charts.nth(index).locator("xpath=..")
        assert figure.evaluate("f => f.scrollWidth - f.clientWidth") <= 0
    assert page.locator("figure.chart svg text").count() > 0
    assert page.evaluate(LABELS_OUTSIDE) == []
    shot(page, "phone-report", doc=True)

    for screen in ("/customers", f"/bills?period={DEMO_PERIOD}"):
        go(page, portal, screen)
        assert page.evaluate(OVERFLOW) <= 0, screen
        cells = page.locator("tbody td.num").filter(has_text=re.compile(r"\d"))
        assert cells.count() > 0, screen
        for cell in cells.all()[:20]:
            _assert_in_view(cell, screen)


# Last in the module: its customers would otherwise be in the screenshots above.
def _customer(portal: Portal, customer_id: str, subscribed: bool) -> None:
    portal.api(
        "POST",
        "/customers",
        {
            "id": customer_id,
            "name": f"{customer_id.title()} Ltd",
            "currency": "USD",
            "tax_profile": {"country": "US", "region": None, "tax_id": None, "exempt": False},
            "price_list_id": "standard",
            "email": f"billing@{customer_id}.example",
        },
    )
    if subscribed:
        portal.api(
            "POST",
            f"/customers/{customer_id}/subscriptions",
            {"plan_id": "managed", "quantity": 1, "start_date": f"{DRAFT_PERIOD}-01"},
        )


def _usd(amount: str) -> str:
    return f"${Decimal(amount):,.2f}"


def test_drafts_show_their_number_and_are_not_summed_as_invoiced(
    operator_page: Any, portal: Portal
) -> None:
    page = operator_page
    tag = secrets.token_hex(3)
    drafted, issued, idle = (f"lists-{name}-{tag}" for name in ("drafted", "issued", "idle"))
    _customer(portal, drafted, subscribed=True)
    _customer(portal, issued, subscribed=True)
    _customer(portal, idle, subscribed=False)
    run = portal.run_invoices(DRAFT_PERIOD, "draft", [drafted, issued, idle])
    # The customer with nothing to bill gets no $0.00 draft.
    assert (run["counts"]["saved"], run["counts"]["unchanged"]) == (2, 1), run
    listed = portal.api("GET", f"/invoices?period={DRAFT_PERIOD}&q=lists-&limit=100")["items"]
    mine = {i["customer_id"]: i for i in listed if i["customer_id"].endswith(tag)}
    assert set(mine) == {drafted, issued}
    portal.api("POST", f"/invoices/{mine[issued]['id']}/issue", {})

    go(page, portal, f"/invoices?period={DRAFT_PERIOD}&q={tag}")
    row = page.locator(f'tbody tr[data-invoice="{mine[drafted]["id"]}"]')
    expect(row.get_by_role("link")).to_have_text("Draft #1")
    expect(row.locator('[data-label="Customer"]')).to_have_text(f"{drafted.title()} Ltd")
    # Only the issued invoice is invoiced; the draft is counted apart, never added to it.
    expect(page.locator('[data-summary="invoiced"]')).to_have_text(
        f"Invoiced for {DRAFT_PERIOD} (issued or paid): {_usd(mine[issued]['total'])}"
    )
    expect(page.locator('[data-summary="drafts"]')).to_have_text(
        f"1 draft (not invoiced): {_usd(mine[drafted]['total'])}"
    )
