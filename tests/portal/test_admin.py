"""Administering Rebill from the portal: FX and tax rates, the seller's profile and invoice
settings (partial updates that keep what a form does not show), API tokens whose secret is shown
once, and the portal's users."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.portal.support import OPERATOR, Portal, expect, go, settle, shot
from tests.portal.test_accessibility import UNLABELLED

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_kept(portal: Portal) -> Iterator[dict[str, Any]]:
    """The demo's settings, put back after the test (other tests bill with them)."""
    before: dict[str, Any] = portal.api("GET", "/settings")
    yield before
    portal.api("PUT", "/settings", before)


def accessible(page: Any) -> None:
    assert page.evaluate(UNLABELLED) == []
    assert page.locator("h1").count() == 1


def test_fx_and_tax_rates(operator_page: Any, portal: Portal, settings_kept: Any) -> None:
    page = operator_page
    # A missing rate links here with the period and the pair filled in.
    link = page.evaluate(
        """async () => {
          const { fxRateLink } = await import("./js/fxlink.js");
          return fxRateLink("no FX rate from GBP to USD for 2026-11: add one").getAttribute("href");
        }"""
    )
    assert link == "#/fx?period=2026-11&from=GBP&to=USD"
    go(page, portal, link.removeprefix("#"))
    accessible(page)
    form = page.get_by_role("form", name="Add an FX rate")
    expect(form.get_by_label("From currency")).to_have_value("GBP")
    expect(form.get_by_label("To currency")).to_have_value("USD")
    expect(form.get_by_label("Period")).to_have_value("2026-11")
    expect(form.get_by_label("Rate", exact=True)).to_be_focused()
    form.get_by_label("Rate", exact=True).fill("1.2745")
    form.get_by_role("button", name="Add rate").click()
    row = page.locator("tr[data-fx='2026-11 GBP USD']")
    expect(row).to_contain_text("1.2745")
    rates = portal.api("GET", "/settings")["fx_rates"]
    assert {"period": "2026-11", "from": "GBP", "to": "USD", "rate": "1.2745"} in rates
    assert all(r in rates for r in settings_kept["fx_rates"])  # the others are still there
    shot(page, "fx-rates", doc=True)
    row.get_by_role("button", name="Remove").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove rate").click()
    expect(row).to_have_count(0)
    assert portal.api("GET", "/settings")["fx_rates"] == settings_kept["fx_rates"]

    go(page, portal, "/tax")
    accessible(page)
    page.get_by_label("Charge tax on invoices").check()
    page.get_by_role("form", name="Charge tax").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Tax is charged")).to_be_visible()
    form = page.get_by_role("form", name="Add a tax rate")
    form.get_by_label("Country").fill("at")
    form.get_by_label("Rate %").fill("20")
    form.get_by_label("Tax name").fill("USt")
    form.get_by_role("button", name="Add rate").click()
    expect(page.locator("tr[data-rate='AT']")).to_contain_text("20%")
    page.get_by_role("button", name="Edit tax rate AT").click()
    page.get_by_label("Rate %").fill("21")
    page.get_by_role("button", name="Save rate").click()
    expect(page.locator("tr[data-rate='AT']")).to_contain_text("21%")
    tax = portal.api("GET", "/settings")["tax"]
    assert tax["enabled"] is True
    assert {"country": "AT", "region": None, "rate": "21", "name": "USt"} in tax["rates"]
    assert len(tax["rates"]) == len(settings_kept["tax"]["rates"]) + 1
    shot(page, "tax-rates", doc=True)


def test_the_seller_profile_keeps_what_the_form_does_not_show(
    operator_page: Any, portal: Portal, settings_kept: Any
) -> None:
    page = operator_page
    # Settings no screen shows: a commitment assigned to a customer, the billable categories.
    hidden = {
        "commitment_assignments": [{"commitment_id": "arn:aws:ri:demo-1", "customer_id": "acme"}],
        "billable_categories": ["Usage", "Purchase"],
    }
    portal.api("PATCH", "/settings", hidden)
    go(page, portal, "/settings")
    accessible(page)
    seller = page.get_by_role("form", name="Seller profile")
    seller.get_by_label("Trading name").fill("Example Cloud Europe GmbH")
    seller.get_by_label("Tax id (VAT number)").fill("DE811907980")
    seller.get_by_role("button", name="Save seller profile").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved")).to_be_visible()
    stored = portal.api("GET", "/settings")
    assert stored["seller"]["name"] == "Example Cloud Europe GmbH"
    assert stored["seller"]["tax_id"] == "DE811907980"
    for key, value in hidden.items():
        assert stored[key] == value, key
    assert stored["fx_rates"] == settings_kept["fx_rates"]
    # Kept, in the normalized form the API stores (an absent region is null).
    assert stored["tax"]["rates"] == [{"region": None, **r} for r in settings_kept["tax"]["rates"]]
    expect(seller.get_by_label("Trading name")).to_have_value("Example Cloud Europe GmbH")
    shot(page, "settings", doc=True)

    # A refused value is said under its field, and nothing is saved.
    invoice = page.get_by_role("form", name="Invoice settings")
    invoice.get_by_label("Invoice number prefix").fill("NO SPACES")
    invoice.get_by_role("button", name="Save invoice settings").click()
    prefix = invoice.get_by_label("Invoice number prefix")
    expect(prefix).to_have_attribute("aria-invalid", "true")
    expect(invoice.locator(".field-error")).to_contain_text("invoice_number_prefix")
    assert (
        portal.api("GET", "/settings")["invoice_number_prefix"] == stored["invoice_number_prefix"]
    )

    # Someone else saves meanwhile: this screen's change is not written over theirs.
    portal.api("PATCH", "/settings", {"invoice_number_prefix": "OTHER-"})
    prefix.fill("MINE-")
    invoice.get_by_label("Process bill files automatically as they arrive").check()
    invoice.get_by_role("button", name="Save invoice settings").click()
    expect(page.get_by_text("The settings changed since this screen was opened.")).to_be_visible()
    after = portal.api("GET", "/settings")
    assert after["invoice_number_prefix"] == "OTHER-"
    assert after["automated_bill_processing"] == stored["automated_bill_processing"]
    page.get_by_role("button", name="Reload").click()
    settle(page)
    expect(page.get_by_label("Invoice number prefix")).to_have_value("OTHER-")


def test_the_customer_form_keeps_what_it_does_not_show(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    customer_id = f"keep-{secrets.token_hex(3)}"
    portal.api(
        "POST",
        "/customers",
        {
            "id": customer_id,
            "name": "Keep Ltd",
            "currency": "EUR",
            "custom_items": [
                {
                    "id": "support",
                    "description": "Support",
                    "type": "fee",
                    "amount": "99.00",
                    "recurring": True,
                }
            ],
        },
    )
    go(page, portal, f"/customers/{customer_id}/edit")
    page.get_by_label("Billing email").fill("ap@keep.example")
    page.get_by_role("button", name="Save customer").click()
    expect(page.get_by_role("status").filter(has_text="Customer Keep Ltd saved")).to_be_visible()
    stored = portal.api("GET", f"/customers/{customer_id}")
    assert stored["email"] == "ap@keep.example" and stored["name"] == "Keep Ltd"
    assert [item["id"] for item in stored["custom_items"]] == ["support"]


def test_an_api_token_for_a_customer_shows_its_secret_once(
    operator_page: Any, portal: Portal
) -> None:
    page = operator_page
    go(page, portal, "/customers/acme")
    page.get_by_role("link", name="API token…").click()
    settle(page)
    accessible(page)
    form = page.get_by_role("form", name="Create a token")
    expect(form.get_by_label("Customer")).to_have_value("acme")
    name = f"Acme ERP {secrets.token_hex(2)}"
    form.get_by_label("Name").fill(name)
    form.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("API token", exact=True)
    expect(secret).to_be_focused()
    token = secret.input_value()
    assert token.startswith("rbl_")
    expect(page.get_by_text("this is the only time it is shown")).to_be_visible()
    expect(page.get_by_role("button", name="Copy token")).to_be_visible()
    shot(page, "api-token-created", doc=True)
    reply = requests.get(
        portal.api_url + "/invoices", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    listed = [t for t in portal.api("GET", "/api-tokens")["items"] if t["name"] == name]
    assert [(t["role"], t["customer_id"]) for t in listed] == [("customer", "acme")]
    assert "token" not in listed[0]

    # Shown once: the screen drawn again lists the token, never its secret.
    go(page, portal, "/tokens")
    row = page.locator(f"tr[data-token='{listed[0]['id']}']")
    expect(row).to_contain_text(name)
    assert token not in page.content()
    expect(page.get_by_label("API token", exact=True)).to_have_count(0)
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke token").click()
    expect(row).to_have_count(0)
    reply = requests.get(
        portal.api_url + "/invoices", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert reply.status_code == 401


def test_inviting_a_customer_user(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    go(page, portal, "/customers/acme")
    page.get_by_role("link", name="Invite user…").click()
    settle(page)
    accessible(page)
    email = f"ap-{secrets.token_hex(3)}@acme.example"
    form = page.get_by_role("form", name="Invite a user")
    form.get_by_label("Email").fill(email)
    expect(form.get_by_label("Customer")).to_have_value("acme")
    form.get_by_role("button", name="Invite user").click()
    row = page.locator(f"tr[data-email='{email}']")
    expect(row).to_contain_text("invited")
    expect(row).to_contain_text("customer")
    [user] = [u for u in portal.api("GET", "/users?limit=100")["items"] if u["email"] == email]
    idp = portal.idp()
    stored = idp.admin_get_user(
        UserPoolId=portal.config["cognito_user_pool_id"], Username=user["username"]
    )
    attributes = {a["Name"]: a["Value"] for a in stored["UserAttributes"]}
    assert attributes["custom:customer_id"] == "acme"
    shot(page, "users", doc=True)

    # Disabled, then enabled again.
    row.get_by_role("button", name=f"Disable {email}").click()
    page.get_by_role("dialog").get_by_role("button", name="Disable user").click()
    expect(row).to_contain_text("disabled")
    row.get_by_role("button", name=f"Enable {email}").click()
    page.get_by_role("dialog").get_by_role("button", name="Enable user").click()
    expect(row).to_contain_text("invited")

    # A customer's user needs its customer; an operator cannot disable themself.
    form = page.get_by_role("form", name="Invite a user")
    form.get_by_label("Email").fill(f"nobody-{secrets.token_hex(3)}@acme.example")
    form.get_by_label("Customer").select_option("")
    form.get_by_role("button", name="Invite user").click()
    expect(form.get_by_label("Customer")).to_have_attribute("aria-invalid", "true")
    me = page.locator(f"tr[data-user='{OPERATOR}']")
    me.get_by_role("button", name="Disable").click()
    page.get_by_role("dialog").get_by_role("button", name="Disable user").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot disable yourself")
    assert idp.admin_get_user(UserPoolId=portal.config["cognito_user_pool_id"], Username=OPERATOR)[
        "Enabled"
    ]
