"""The customer portal: a customer's user sees only their own invoices, opens one, downloads
its CSV; another customer's invoice is "not found"; operator screens do not exist for them."""

from __future__ import annotations

import csv
import secrets
from typing import Any

import pytest

from chalicelib.billing.invoice_csv import CSV_COLUMNS, CUSTOMER_CSV_COLUMNS
from tests.portal.support import (
    DEMO_PERIOD,
    OPERATOR,
    Portal,
    expect,
    go,
    settle,
    shot,
    sign_in_with_password,
    sign_in_with_token,
)

pytestmark = pytest.mark.browser


def own_invoices(portal: Portal, customer_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = portal.api("GET", f"/invoices?customer_id={customer_id}")["items"]
    return items


def test_customer_sees_only_their_invoices(page: Any, portal: Portal) -> None:
    user = portal.create_user(f"acme-{secrets.token_hex(3)}", customer_id="acme")
    sign_in_with_password(page, portal, user)
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("My invoices")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["My invoices"])
    rows = page.locator("tbody tr[data-invoice]")
    expected = own_invoices(portal, "acme")
    expect(rows).to_have_count(len(expected))
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.customer)")) == {"acme"}
    # No operator filters: a customer filters by period and status only.
    filters = page.get_by_role("search", name="Filter invoices")
    expect(filters.get_by_label("Customer")).to_have_count(0)
    shot(page, "customer-invoices", doc=True)

    invoice = next(i for i in expected if i["period"] == DEMO_PERIOD and i["status"] != "void")
    page.locator(f"tr[data-invoice='{invoice['id']}'] a").click()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice['number']}")
    expect(page.locator("tr[data-total='total'] [data-amount]")).to_have_attribute(
        "data-amount", invoice["total"]
    )
    # The reseller's own figures and the lifecycle actions are not the customer's to see.
    expect(page.get_by_text("Reseller figures")).to_have_count(0)
    expect(page.get_by_role("button", name="Void…")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark paid…")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    with open(download.value.path(), newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert lines and {line["currency"] for line in lines} == {invoice["currency"]}
    # The customer CSV: what the customer is billed, none of the reseller's columns.
    assert tuple(lines[0]) == CUSTOMER_CSV_COLUMNS
    # The PDF the reseller sends: the invoice itself.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    assert download.value.suggested_filename == f"{invoice['number']}.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    shot(page, "customer-invoice")

    # Another customer's invoice, by its URL: not found, exactly like one that does not exist.
    (other,) = [i for i in own_invoices(portal, "globex") if i["period"] == DEMO_PERIOD][:1]
    go(page, portal, f"/invoices/{other['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice not found")
    expect(page.locator("main")).not_to_contain_text(other["number"])
    shot(page, "customer-not-found", doc=True)
    go(page, portal, "/invoices/inv-does-not-exist")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice not found")
    # Operator screens do not exist for a customer.
    go(page, portal, "/report?period=" + DEMO_PERIOD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def test_customer_signs_in_with_an_api_token(page: Any, portal: Portal) -> None:
    token = portal.api_token("customer", "globex")["token"]
    sign_in_with_token(page, portal, token)
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("My invoices")
    expected = own_invoices(portal, "globex")
    rows = page.locator("tbody tr[data-invoice]")
    expect(rows).to_have_count(len(expected))
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.customer)")) == {"globex"}
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Rebill")
    go(page, portal, "/invoices")  # signed out: back to signing in
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Rebill")


def test_first_sign_in_chooses_a_new_password(page: Any, portal: Portal) -> None:
    """A user created with a temporary password (Cognito: NEW_PASSWORD_REQUIRED) picks one."""
    username = f"initech-{secrets.token_hex(3)}"
    portal.idp().admin_create_user(
        UserPoolId=portal.config["cognito_user_pool_id"],
        Username=username,
        TemporaryPassword="Temporary-password-1",
        UserAttributes=[{"Name": "custom:customer_id", "Value": "initech"}],
        MessageAction="SUPPRESS",
    )
    page.goto(portal.portal_url + "#/signin")
    page.get_by_label("Email or user name").fill(username)
    page.get_by_label("Password", exact=True).fill("Temporary-password-1")
    page.get_by_role("button", name="Sign in", exact=True).click()
    form = page.get_by_role("form", name="Choose a new password")
    expect(form.get_by_label("New password", exact=True)).to_be_focused()
    form.get_by_label("New password", exact=True).fill("Chosen-password-2")
    form.get_by_label("New password again").fill("Chosen-password-2")
    form.get_by_role("button", name="Set password and sign in").click()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("My invoices")
    rows = page.locator("tbody tr[data-invoice]")
    expect(rows.first).to_be_visible()
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.customer)")) == {"initech"}
    # The reverse-charge note of an EU business customer, once, in the invoice's currency.
    invoice = next(i for i in own_invoices(portal, "initech") if i["period"] == DEMO_PERIOD)
    go(page, portal, f"/invoices/{invoice['id']}")
    expect(page.get_by_text("Reverse charge", exact=False)).to_have_count(1)
    expect(page.locator("tr.grand")).to_contain_text("€")


def test_a_customer_has_no_drafts_to_see_or_filter_by(page: Any, portal: Portal) -> None:
    customer_id = f"drafts-{secrets.token_hex(3)}"
    portal.api(
        "POST",
        "/customers",
        {
            "id": customer_id,
            "name": "Drafts Only Ltd",
            "currency": "USD",
            "tax_profile": {"country": "US", "region": None, "tax_id": None, "exempt": False},
        },
    )
    portal.api(
        "POST",
        f"/customers/{customer_id}/subscriptions",
        {"plan_id": "managed", "quantity": 1, "start_date": f"{DEMO_PERIOD}-01"},
    )
    assert portal.run_invoices(DEMO_PERIOD, "draft", [customer_id])["status"] == "succeeded"
    (draft,) = own_invoices(portal, customer_id)
    assert draft["status"] == "draft"

    sign_in_with_token(page, portal, portal.api_token("customer", customer_id)["token"])
    settle(page)
    status = page.get_by_role("search", name="Filter invoices").get_by_label("Status")
    expect(status.locator("option")).to_have_text(["Any status", "Issued", "Paid", "Void"])
    rows = page.locator("tbody tr[data-invoice]")
    expect(rows).to_have_count(0)
    # A link asking for drafts (an operator's, say) filters by nothing and shows none.
    go(page, portal, "/invoices?status=draft")
    expect(status).to_have_value("")
    expect(rows).to_have_count(0)
    go(page, portal, f"/invoices/{draft['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice not found")
    shot(page, "customer-no-drafts")

    # The operator filters by drafts, finds this one, and downloads either CSV.
    page.get_by_role("button", name="Sign out").click()
    sign_in_with_password(page, portal, OPERATOR)
    go(page, portal, f"/invoices?status=draft&customer_id={customer_id}")
    expect(status.locator("option")).to_have_text(["Any status", "Draft", "Issued", "Paid", "Void"])
    expect(status).to_have_value("draft")
    expect(rows).to_have_count(1)
    go(page, portal, f"/invoices/{draft['id']}")
    for button, columns, suffix in (
        ("Download CSV", CSV_COLUMNS, ""),
        ("Download customer CSV", CUSTOMER_CSV_COLUMNS, "-customer"),
    ):
        with page.expect_download() as download:
            page.get_by_role("button", name=button, exact=True).click()
        assert download.value.suggested_filename == f"{draft['id']}{suffix}.csv"
        with open(download.value.path(), newline="", encoding="utf-8") as handle:
            assert tuple(next(csv.reader(handle))) == columns, button
    # and the draft's PDF, rendered now with its DRAFT mark
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    assert download.value.suggested_filename == f"{draft['id']}-draft.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
