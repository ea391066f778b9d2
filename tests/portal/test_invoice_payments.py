"""Payments, the balance due and the invoice email in the invoice view; the overdue filter."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.portal.support import Portal, expect, go, settle, shot
from tests.portal.test_invoice_actions import invoiced_customer

pytestmark = pytest.mark.browser


def test_a_payment_is_recorded_and_the_email_sent_again(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    invoice = invoiced_customer(portal, "issue")  # emailed on issue: the customer has no address
    go(page, portal, f"/invoices/{invoice['id']}")
    delivery = page.locator(".invoice-payments [data-delivery]")
    expect(delivery).to_have_attribute("data-delivery", "failed")
    expect(delivery).to_contain_text("no billing address")
    expect(page.locator("[data-balance]")).to_have_attribute("data-balance", invoice["total"])

    form = page.get_by_role("form", name="Record payment")
    form.get_by_label("Amount (USD)").fill("10.00")
    form.get_by_label("Reference (optional)").fill("SEPA 9")
    form.get_by_role("button", name="Record payment").click()
    settle(page)
    left = f"{Decimal(invoice['total']) - Decimal('10.00'):.2f}"
    expect(page.locator("[data-balance]")).to_have_attribute("data-balance", left)
    expect(page.get_by_role("status").filter(has_text="Payment of")).to_contain_text("recorded")
    expect(page.locator("tr[data-payment]")).to_contain_text("SEPA 9")
    # Paid in part: it is credited, not voided.
    expect(page.get_by_role("button", name="Void…")).to_have_count(0)
    shown = portal.api("GET", f"/invoices/{invoice['id']}")
    assert (shown["amount_paid"], shown["balance_due"]) == ("10.00", left)

    customer = portal.api("GET", f"/customers/{invoice['customer_id']}")
    portal.api(
        "PUT",
        f"/customers/{invoice['customer_id']}",
        {**customer, "billing_emails": ["ap@payments.example"]},
    )
    page.get_by_role("button", name="Re-send email").click()
    settle(page)
    expect(delivery).to_have_attribute("data-delivery", "sent")
    expect(delivery).to_contain_text("ap@payments.example")
    shot(page, "invoice-payments")


def test_the_invoice_list_filters_overdue_invoices(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    go(page, portal, "/invoices")
    page.get_by_label("Payment").select_option("true")
    page.get_by_role("button", name="Apply filters").click()
    settle(page)
    assert "overdue=true" in page.url
    # The demo's invoices were issued today: none is past due.
    expect(page.locator("tr[data-invoice]")).to_have_count(0)
