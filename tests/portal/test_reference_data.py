"""Reference data and bills from the operator console: price lists, plans, customers with their
accounts and subscriptions, and bill files uploaded from the browser."""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.portal.support import Portal, expect, go, settle, shot

pytestmark = pytest.mark.browser


def test_price_list_plan_and_customer(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    suffix = secrets.token_hex(3)

    # A price list with a default markup and one rule; then its markup is edited.
    list_id = f"pl-{suffix}"
    go(page, portal, "/price-lists/new")
    page.get_by_label("Price list id").fill(list_id)
    page.get_by_label("Name").fill("Enterprise")
    page.get_by_label("Default pricing").select_option("markup")
    page.get_by_label("Default percent").fill("12.5")
    page.get_by_role("button", name="Add rule").click()
    rule = page.get_by_role("group", name="Rule 1")
    rule.get_by_label("Rule id").fill("ec2")
    rule.get_by_label("Type", exact=True).select_option("discount")
    rule.get_by_label("Percent", exact=True).fill("3")
    rule.get_by_label("Match service").fill("AmazonEC2")
    rule.get_by_label("Match region").fill("eu-central-1")
    page.get_by_role("button", name="Create price list").click()
    expect(page.locator(f"tr[data-price-list='{list_id}']")).to_contain_text("markup 12.5%")
    stored = portal.api("GET", f"/price-lists/{list_id}")
    assert stored["default"] == {"type": "markup", "percent": "12.5"}
    assert stored["rules"] == [
        {
            "id": "ec2",
            "type": "discount",
            "percent": "3",
            "match": {"service": "amazonec2", "region": "eu-central-1"},  # matching ignores case
        }
    ]
    page.locator(f"tr[data-price-list='{list_id}'] a").click()
    settle(page)
    page.get_by_label("Default percent").fill("15")
    page.get_by_role("button", name="Save price list").click()
    expect(page.locator(f"tr[data-price-list='{list_id}']")).to_contain_text("markup 15%")
    assert portal.api("GET", f"/price-lists/{list_id}")["default"]["percent"] == "15"
    assert len(portal.api("GET", f"/price-lists/{list_id}")["rules"]) == 1

    # A plan with included credit for AWS only.
    plan_id = f"plan-{suffix}"
    go(page, portal, "/plans/new")
    page.get_by_label("Plan id").fill(plan_id)
    page.get_by_label("Name").fill("Scale")
    page.get_by_label("Price per period").fill("990.00")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Included cloud credit").fill("250.00")
    page.get_by_role("group", name="Credit applies to").get_by_label("AWS").check()
    page.get_by_label("Unused credit").select_option("rollover")
    page.get_by_role("button", name="Create plan").click()
    expect(page.locator(f"tr[data-plan='{plan_id}']")).to_contain_text("€990.00")
    plan = portal.api("GET", f"/plans/{plan_id}")
    assert (Decimal(plan["price"]), plan["currency"]) == (Decimal("990.00"), "EUR")
    assert Decimal(plan["included_credit"]) == Decimal("250.00")
    assert plan["credit_providers"] == ["aws"] and plan["unused_credit_policy"] == "rollover"

    # A customer on that price list, with a discount, an account and a subscription.
    customer_id = f"cust-{suffix}"
    go(page, portal, "/customers/new")
    page.get_by_label("Customer id").fill(customer_id)
    page.get_by_label("Name").fill("Stark Industries SE")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Price list").select_option(list_id)
    page.get_by_label("Billing email").fill("ap@stark.example")
    page.get_by_label("Country").fill("FR")
    page.get_by_label("Tax id (VAT number)").fill("FR40303265045")
    page.get_by_label("Discount %").fill("5")
    page.get_by_label("Applies to").select_option("cloud")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stark Industries SE")
    customer = portal.api("GET", f"/customers/{customer_id}")
    assert customer["price_list_id"] == list_id
    assert customer["tax_profile"]["country"] == "FR"
    assert customer["tax_profile"]["tax_id"] == "FR40303265045"
    assert Decimal(customer["discount"]["percent"]) == 5
    assert customer["discount"]["applies_to"] == "cloud"

    page.get_by_label("Provider").select_option("gcp")
    page.get_by_label("Account id").fill(f"stark-prod-{suffix}")
    page.get_by_label("Valid from").fill("2026-10-01")
    page.get_by_role("button", name="Link account").click()
    expect(page.locator(f"tr[data-account='stark-prod-{suffix}']")).to_contain_text("Google Cloud")

    subscriptions = page.get_by_role("form", name="Add a subscription")
    subscriptions.get_by_label("Subscription id").fill(f"sub-{suffix}")
    subscriptions.get_by_label("Plan").select_option(plan_id)
    subscriptions.get_by_label("Start date").fill("2026-11-01")
    page.get_by_role("button", name="Add subscription").click()
    row = page.locator(f"tr[data-subscription='sub-{suffix}']")
    expect(row).to_contain_text("Scale")
    row.get_by_role("button", name=f"Edit subscription sub-{suffix}").click()
    editing = page.get_by_role("form", name=f"Edit subscription sub-{suffix}")
    editing.get_by_label("Quantity").fill("3")
    editing.get_by_role("button", name="Save subscription").click()
    expect(page.locator(f"tr[data-subscription='sub-{suffix}'] td").nth(1)).to_have_text("3")
    (subscription,) = portal.api("GET", f"/customers/{customer_id}/subscriptions")["items"]
    assert subscription["quantity"] == 3 and subscription["plan_id"] == plan_id
    shot(page, "customer")

    page.get_by_role("button", name=f"Unlink account stark-prod-{suffix}").click()
    page.get_by_role("dialog").get_by_role("button", name="Unlink account").click()
    expect(page.locator(f"tr[data-account='stark-prod-{suffix}']")).to_have_count(0)
    assert portal.api("GET", f"/customers/{customer_id}/accounts")["items"] == []

    # A refused edit names the field: the API validates, the form shows where.
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Currency").fill("XYZ")
    page.get_by_role("button", name="Save customer").click()
    expect(page.get_by_role("alert")).to_contain_text("ISO 4217")
    expect(page.get_by_label("Currency")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Currency")).to_be_focused()
    assert portal.api("GET", f"/customers/{customer_id}")["currency"] == "EUR"


def test_bill_upload(operator_page: Any, portal: Portal, tmp_path: Path) -> None:
    from localaws.synthetic_cur import generate_legacy_cur

    page = operator_page
    name = f"portal-{secrets.token_hex(3)}"
    bill = tmp_path / f"{name}-00001.csv.gz"
    generate_legacy_cur(bill, rows=120, period="2026-12", final=False, seed=7)
    go(page, portal, "/bills?period=2026-12")
    page.get_by_label("Bill file", exact=True).set_input_files(str(bill))
    path = f"cur/{name}/20261201-20270101/{bill.name}"
    page.get_by_label("Path under bills/").fill(path)
    page.get_by_role("button", name="Upload bill file").click()
    row = page.locator(f"tr[data-key='bills/{path}']")
    expect(row).to_have_attribute("data-status", "processed", timeout=60_000)
    record = next(
        b
        for b in portal.api("GET", "/bills?period=2026-12")["items"]
        if b["key"] == f"bills/{path}"
    )
    assert record["rows"] == 120
    expect(row.locator("td.num").first).to_have_text("120")
    expect(row).to_contain_text(record["format"])
    expect(row).to_contain_text("not final")
    expect(page.get_by_role("status").filter(has_text="Uploaded as")).to_contain_text("processed")
    shot(page, "bills", doc=True)

    broken = tmp_path / "notes.csv"
    broken.write_text("hello,world\n1,2\n")
    page.get_by_label("Bill file", exact=True).set_input_files(str(broken))
    page.get_by_label("Path under bills/").fill(f"misc/{name}-notes.csv")
    page.get_by_role("button", name="Upload bill file").click()
    failed = page.locator(f"tr[data-key='bills/misc/{name}-notes.csv']")
    expect(failed).to_have_attribute("data-status", "failed", timeout=60_000)
    expect(failed.locator(".bill-error")).to_contain_text("not a known bill format")
    expect(page.get_by_role("alert")).to_contain_text("could not be processed")
