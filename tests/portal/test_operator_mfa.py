"""Operators sign in with an authenticator app where the stage requires it (as deployed stages
do): the portal takes a new operator through setting one up, then asks for its code at every
sign-in. A stack of its own, started with REBILL_OPERATOR_MFA=required and no demo data; moto's
user pool accepts any 6-digit code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.portal.conftest import running_stack
from tests.portal.support import OPERATOR, Portal, shot

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.slow]


@pytest.fixture(scope="module")
def mfa_portal() -> Iterator[Portal]:
    with running_stack(
        "mfa-stack", demo=False, environment={"REBILL_OPERATOR_MFA": "required"}
    ) as server:
        yield server


def _password_step(page: Any, portal: Portal) -> None:
    page.get_by_label("Email or user name").fill(OPERATOR)
    page.get_by_label("Password", exact=True).fill(portal.users[OPERATOR])
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_an_operator_sets_up_an_authenticator_app_then_signs_in_with_its_code(
    page: Any, mfa_portal: Portal
) -> None:
    from playwright.sync_api import expect

    page.goto(mfa_portal.portal_url + "#/signin")
    _password_step(page, mfa_portal)
    # Not signed in yet: the API refuses an operator without a second factor.
    setup = page.get_by_role("form", name="Set up an authenticator app")
    expect(setup).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    expect(setup.locator("code.totp-key")).to_have_text(
        re.compile(r"^\S{4}( \S{1,4})+$")  # the key in groups of four
    )
    expect(setup.locator("code.totp-uri")).to_have_text(
        re.compile(rf"^otpauth://totp/Rebill:{OPERATOR}\?secret=\w+&issuer=Rebill$")
    )
    shot(page, "signin-authenticator-setup")
    setup.get_by_label("Code from your authenticator app").fill("123456")
    setup.get_by_role("button", name="Turn on and sign in again").click()
    expect(page.get_by_text("Your authenticator app is set up")).to_be_visible()

    # Every sign-in now asks for the app's code, and then the portal opens.
    _password_step(page, mfa_portal)
    code = page.get_by_role("form", name="Enter the code of your authenticator app")
    code.get_by_label("Code from your authenticator app").fill("654321")
    code.get_by_role("button", name="Verify and sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
    expect(page.get_by_role("link", name="Customers")).to_be_visible()
