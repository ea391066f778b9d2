"""What the portal says when things go wrong: the API is down, a token or password is refused,
a session is revoked, the API fails, the portal has no configuration."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.portal.support import OPERATOR, Portal, expect, go, shot, sign_in_with_password

pytestmark = pytest.mark.browser


def api_down(page: Any, portal: Portal) -> None:
    """Every request to the API fails as if nothing listened there."""
    page.route(f"{portal.api_url}/**", lambda route: route.abort("connectionrefused"))


def test_api_down_at_sign_in(page: Any, portal: Portal) -> None:
    api_down(page, portal)
    page.goto(portal.portal_url + "#/signin")
    page.get_by_text("Sign in with an API token").click()
    page.get_by_label("API token", exact=True).fill(portal.api_token("operator")["token"])
    page.get_by_role("button", name="Sign in with token").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The Rebill API cannot be reached.")
    expect(alert).to_contain_text(portal.api_url)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    shot(page, "error-api-down", doc=True)


def test_api_down_while_working_then_back(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    api_down(page, portal)
    go(page, portal, "/invoices?period=2026-10")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The Rebill API cannot be reached.")
    page.unroute(f"{portal.api_url}/**")
    alert.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoices")
    expect(page.locator("tbody tr[data-invoice]").first).to_be_visible()


def test_bad_token_is_refused(page: Any, portal: Portal) -> None:
    page.goto(portal.portal_url + "#/signin")
    page.get_by_text("Sign in with an API token").click()
    page.get_by_label("API token", exact=True).fill("rbl_0123456789abcdef_" + "x" * 43)
    page.get_by_role("button", name="Sign in with token").click()
    expect(page.get_by_role("alert")).to_contain_text("Not accepted")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Rebill")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    shot(page, "error-bad-token")


def test_wrong_password_is_refused(page: Any, portal: Portal) -> None:
    page.goto(portal.portal_url + "#/signin")
    page.get_by_label("Email or user name").fill(OPERATOR)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect user name or password.")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()


def test_revoked_token_ends_the_session(page: Any, portal: Portal) -> None:
    token = portal.api_token("operator")
    page.goto(portal.portal_url + "#/signin?next=/customers")
    page.get_by_text("Sign in with an API token").click()
    page.get_by_label("API token", exact=True).fill(token["token"])
    page.get_by_role("button", name="Sign in with token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    portal.api("DELETE", f"/api-tokens/{token['id']}")
    page.get_by_role("link", name="Plans").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Rebill")
    expect(page.get_by_role("status").filter(has_text="session has ended")).to_be_visible()
    # Signing in again returns to where the user was going.
    sign_in_with_password(page, portal, OPERATOR, here=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Plans")


def test_api_failure_is_reported(operator_page: Any, portal: Portal) -> None:
    page = operator_page
    body = json.dumps({"code": "internal_error", "message": "the report could not be built"})
    page.route(
        f"{portal.api_url}/reports/billing*",
        lambda route: route.fulfill(
            status=500,
            body=body,
            headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        ),
    )
    go(page, portal, "/report?period=2026-10")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The API failed to answer.")
    expect(alert).to_contain_text("the report could not be built")


def test_missing_configuration(page: Any, portal: Portal) -> None:
    page.route("**/config.json", lambda route: route.fulfill(status=404, body="not found"))
    page.goto(portal.portal_url)
    expect(page.get_by_role("alert")).to_contain_text("config.json")


def test_configuration_without_a_vocabulary(page: Any, portal: Portal) -> None:
    """A config.json of another version, without the vocabularies the portal shows, is said so
    instead of drawing forms with empty provider and status lists."""
    config = {key: value for key, value in portal.config.items() if key != "vocabulary"}
    page.route(
        "**/config.json",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(config)
        ),
    )
    page.goto(portal.portal_url)
    expect(page.get_by_role("alert")).to_contain_text("config.json holds no vocabulary")
