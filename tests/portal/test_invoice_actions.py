"""Issue, mark paid and void from the invoice view, each confirmed first.

Each test invoices its own new customer (a subscription, no cloud usage) through the API, so
what it changes is its own.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import pytest

from tests.portal.support import DEMO_PERIOD, Portal, expect, go, settle, shot

pytestmark = pytest.mark.browser


def invoiced_customer(portal: Portal, mode: str) -> dict[str, Any]:
    """A new customer with one subscription, invoiced for the demo period in `mode`."""
    customer_id = f"actions-{mode}-{secrets.token_hex(3)}"
    portal.api(
        "POST",
        "/customers",
        {
            "id": customer_id,
            "name": f"Actions {mode.title()} Ltd",
            "currency": "USD",
            "tax_profile": {"country": "US", "region": None, "tax_id": None, "exempt": False},
        },
    )
    portal.api(
        "POST",
        f"/customers/{customer_id}/subscriptions",
        {"plan_id": "managed", "quantity": 1, "start_date": f"{DEMO_PERIOD}-01"},
    )
    run = portal.run_invoices(DEMO_PERIOD, mode, [customer_id])
    assert run["status"] == "succeeded", run
    (invoice,) = portal.api("GET", f"/invoices?customer_id={customer_id}")["items"]
    return invoice


def test_issue_then_mark_paid(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    draft = invoiced_customer(portal, "draft")
    assert draft["status"] == "draft" and draft["number"] is None
    go(page, portal, f"/invoices/{draft['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Draft invoice #1")
    expect(page.locator(".invoice-header [data-status]")).to_have_text("Draft")

    # Cancelling changes nothing.
    page.get_by_role("button", name="Issue invoice…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("gets the next invoice number")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert portal.api("GET", f"/invoices/{draft['id']}")["status"] == "draft"

    page.get_by_role("button", name="Issue invoice…").click()
    page.get_by_role("dialog").get_by_role("button", name="Issue invoice").click()
    expect(page.locator(".invoice-header [data-status]")).to_have_text("Issued")
    issued = portal.api("GET", f"/invoices/{draft['id']}")
    assert issued["status"] == "issued" and issued["number"]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {issued['number']}")
    expect(page.get_by_role("status").filter(has_text="Issued as")).to_contain_text(
        issued["number"]
    )

    page.get_by_role("button", name="Mark paid…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Mark {issued['number']} as paid?")
    dialog.get_by_role("button", name="Mark paid").click()
    expect(page.locator(".invoice-header [data-status]")).to_have_text("Paid")
    paid = portal.api("GET", f"/invoices/{draft['id']}")
    assert paid["status"] == "paid" and paid["paid_at"]
    expect(page.locator(".invoice-header")).to_contain_text(paid["paid_at"][:10])
    # A paid invoice can no longer be voided or paid again.
    expect(page.get_by_role("button", name="Void…")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark paid…")).to_have_count(0)


def test_void_creates_a_credit_note(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    invoice = invoiced_customer(portal, "issue")
    assert invoice["status"] == "issued"
    go(page, portal, f"/invoices/{invoice['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice['number']}")

    page.get_by_role("button", name="Void…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("a credit note that negates it")
    expect(dialog).to_contain_text(f"-${invoice['total']}")
    dialog.get_by_label("Reason (optional)").fill("Wrong plan quantity")
    shot(page, "void-confirm")
    dialog.get_by_role("button", name="Void and create credit note").click()
    expect(page.locator(".invoice-header [data-status]")).to_have_text("Void")
    documents = portal.api("GET", f"/invoices?customer_id={invoice['customer_id']}")["items"]
    (note,) = [d for d in documents if d.get("credit_note_for") == invoice["id"]]
    assert note["kind"] == "credit_note" and note["total"] == f"-{invoice['total']}"
    assert portal.api("GET", f"/invoices/{invoice['id']}")["status"] == "void"
    flash = page.get_by_role("status").filter(has_text="is void")
    expect(flash).to_contain_text(note["number"] or note["id"])

    page.locator(".invoice-header").get_by_role("link", name=note["number"] or note["id"]).click()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Credit note")
    expect(page.locator("tr[data-total='total'] [data-amount]")).to_have_attribute(
        "data-amount", note["total"]
    )
    expect(page.locator(".invoice-header")).to_contain_text("Credit note for")
    shot(page, "credit-note")


def test_a_void_whose_answer_is_lost_is_sent_again_and_done_once(
    operator_page: Any, portal: Portal
) -> None:
    page = operator_page
    invoice = invoiced_customer(portal, "issue")
    go(page, portal, f"/invoices/{invoice['id']}")
    sent: list[dict[str, str]] = []

    def lose_the_first_answer(route: Any) -> None:
        request = route.request
        if request.method != "POST":
            route.continue_()
            return
        sent.append(request.headers)
        if len(sent) == 1:
            route.fetch()  # the API voids the invoice…
            route.abort("connectionreset")  # …and the browser never hears back
        else:
            route.continue_()

    page.route(f"**/invoices/{invoice['id']}/void", lose_the_first_answer)
    page.get_by_role("button", name="Void…").click()
    page.get_by_role("dialog").get_by_role("button", name="Void and create credit note").click()
    expect(page.locator(".invoice-header [data-status]")).to_have_text("Void")

    assert len(sent) == 2
    assert sent[0]["idempotency-key"] and sent[0]["idempotency-key"] == sent[1]["idempotency-key"]
    documents = portal.api("GET", f"/invoices?customer_id={invoice['customer_id']}")["items"]
    notes = [d for d in documents if d.get("credit_note_for") == invoice["id"]]
    assert len(notes) == 1, "the retried void made a second credit note"


def test_a_paid_invoice_is_credited_and_its_credit_note_offers_nothing(
    operator_page: Any, portal: Portal
) -> None:
    page = operator_page
    invoice = invoiced_customer(portal, "issue")
    portal.api("POST", f"/invoices/{invoice['id']}/mark-paid", {})
    go(page, portal, f"/invoices/{invoice['id']}")
    expect(page.locator(".invoice-header [data-status]")).to_have_text("Paid")
    for gone in ("Void…", "Mark paid…", "Issue invoice…"):
        expect(page.get_by_role("button", name=gone)).to_have_count(0)

    # In part: an amount, tax included.
    page.get_by_role("button", name="Credit…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("remains uncredited")
    dialog.get_by_label("Amount to credit, tax included (USD)").fill("10.00")
    dialog.get_by_label("Reason (optional)").fill("Disputed support hours")
    shot(page, "credit-confirm")
    dialog.get_by_role("button", name="Create credit note").click()
    flash = page.get_by_role("status").filter(has_text="Credit note")
    expect(flash).to_contain_text("created for")
    documents = portal.api("GET", f"/invoices?customer_id={invoice['customer_id']}")["items"]
    (part,) = [d for d in documents if d.get("credited_invoice_id") == invoice["id"]]
    assert part["total"] == "-10.00" and part["credited_invoice_number"] == invoice["number"]
    expect(flash).to_contain_text(part["number"])
    expect(page.locator(".invoice-header")).to_contain_text(part["number"])
    assert portal.api("GET", f"/invoices/{invoice['id']}")["status"] == "paid"

    # The rest: an empty amount credits all that remains; then there is nothing to credit.
    page.get_by_role("button", name="Credit…").click()
    page.get_by_role("dialog").get_by_role("button", name="Create credit note").click()
    expect(page.locator(".invoice-header a[data-related='credit_note']")).to_have_count(2)
    expect(page.get_by_role("button", name="Credit…")).to_have_count(0)
    documents = portal.api("GET", f"/invoices?customer_id={invoice['customer_id']}")["items"]
    notes = [d for d in documents if d.get("credited_invoice_id") == invoice["id"]]
    rest = next(d for d in notes if d["id"] != part["id"])
    assert Decimal(rest["total"]) == -(Decimal(invoice["total"]) - Decimal("10.00"))

    # The credit note names the invoice by its number, linked, and offers no actions.
    page.locator(".invoice-header").get_by_role("link", name=part["number"]).click()
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Credit note {part['number']}")
    header = page.locator(".invoice-header")
    expect(header.locator("dt").filter(has_text="Credit note for")).to_have_count(1)
    expect(header.get_by_role("link", name=invoice["number"])).to_have_attribute(
        "href", f"#/invoices/{invoice['id']}"
    )
    for gone in ("Credit…", "Void…", "Mark paid…", "Issue invoice…"):
        expect(page.get_by_role("button", name=gone)).to_have_count(0)
    shot(page, "partial-credit-note")
