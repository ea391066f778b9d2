"""Usable by keyboard, every control labelled, readable at phone width."""

from __future__ import annotations

from typing import Any

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

UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter((el) => el.type !== "hidden" && el.getClientRects().length)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
    && !el.getAttribute("aria-labelledby") && !(el.tagName === "BUTTON" && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 120))"""

OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def invoice_id(portal: Portal, customer_id: str) -> str:
    items = portal.api("GET", f"/invoices?customer_id={customer_id}&period={DEMO_PERIOD}")["items"]
    return str(next(i["id"] for i in items if i["status"] != "void"))


def test_every_control_is_labelled(page: Any, portal: Portal) -> None:
    page.goto(portal.portal_url + "#/signin")
    page.get_by_text("Sign in with an API token").click()
    assert page.evaluate(UNLABELLED) == []
    shot(page, "signin", doc=True)
    sign_in_with_password(page, portal, OPERATOR, here=True)
    settle(page)
    screens = [
        f"/report?period={DEMO_PERIOD}",
        f"/invoices?period={DEMO_PERIOD}",
        f"/invoices/{invoice_id(portal, 'initech')}",
        f"/bills?period={DEMO_PERIOD}",
        "/customers",
        "/customers/acme",
        "/customers/acme/edit",
        "/plans/new",
        "/price-lists/standard",
    ]
    for screen in screens:
        go(page, portal, screen)
        assert page.evaluate(UNLABELLED) == [], screen
        assert page.locator("h1").count() == 1, screen
    go(page, portal, f"/report?period={DEMO_PERIOD}")
    page.get_by_role("button", name="Generate invoices…").click()
    assert page.evaluate(UNLABELLED) == []
    page.keyboard.press("Escape")


def test_keyboard_only(page: Any, portal: Portal) -> None:
    page.goto(portal.portal_url + "#/signin")
    expect(page.get_by_label("Email or user name")).to_be_focused()
    page.keyboard.type(OPERATOR)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(portal.users[OPERATOR])
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Sign out").wait_for()
    go(page, portal, f"/report?period={DEMO_PERIOD}")
    page.reload()
    settle(page)

    # On a page load, the first Tab reaches "Skip to content", which focuses the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # Tab on to "Generate invoices…"; Enter opens the confirmation, Escape cancels it.
    generate = page.get_by_role("button", name="Generate invoices…")
    for _ in range(10):
        page.keyboard.press("Tab")
        if generate.evaluate("el => el === document.activeElement"):
            break
    expect(generate).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name=f"Issue invoices for {DEMO_PERIOD}")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.locator(".run-panel")).to_have_count(0)

    # Sorting the invoices by keyboard.
    go(page, portal, f"/invoices?period={DEMO_PERIOD}")
    page.get_by_role("button", name="Total", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("columnheader", name="Total")).to_have_attribute(
        "aria-sort", "ascending"
    )


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}], ids=["phone"])
def test_readable_at_phone_width(page: Any, portal: Portal) -> None:
    page.goto(portal.portal_url + "#/signin")
    assert page.evaluate(OVERFLOW) <= 0
    sign_in_with_password(page, portal, OPERATOR, here=True)
    settle(page)
    for screen, name in (
        (f"/report?period={DEMO_PERIOD}", "phone-report"),
        (f"/invoices/{invoice_id(portal, 'acme')}", "phone-invoice"),
        (f"/invoices?period={DEMO_PERIOD}", None),
        ("/customers/acme", None),
    ):
        go(page, portal, screen)
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        assert page.evaluate(OVERFLOW) <= 0, screen
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        if name:
            shot(page, name, doc=name == "phone-report")


@pytest.mark.parametrize("locale", ["de-DE"])
def test_money_follows_the_readers_locale(page: Any, portal: Portal) -> None:
    """The same amounts, formatted the German way: 1.054,71 $ and 237,42 €; dates stay ISO."""
    page.goto(portal.portal_url + "#/signin")
    sign_in_with_password(page, portal, OPERATOR, here=True)
    settle(page)
    report = portal.api("GET", f"/reports/billing?period={DEMO_PERIOD}")
    go(page, portal, f"/report?period={DEMO_PERIOD}")
    for row in report["rows"]:
        if row["currency"] not in ("USD", "EUR"):
            continue
        whole, cents = row["price"].split(".")
        grouped = f"{int(whole):,}".replace(",", ".")
        symbol = "$" if row["currency"] == "USD" else "€"
        price = page.locator(f"tr[data-customer='{row['customer_id']}'] td[data-col='price']")
        expect(price).to_have_text(f"{grouped},{cents}\u00a0{symbol}")
    go(page, portal, f"/invoices/{invoice_id(portal, 'acme')}")
    issued = portal.api("GET", f"/invoices/{invoice_id(portal, 'acme')}")["issued_at"]
    expect(page.locator(".invoice-header")).to_contain_text(issued[:10])
