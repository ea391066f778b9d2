"""What the portal's browser tests share: the demo stack's handle, screenshots, signing in."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips the tests (fails them in CI), saying why
    expect = None

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "portal"
DOC_IMAGES = ROOT / "docs" / "img"
DEMO_PERIOD = "2026-10"
PASSWORD = "Portal-test-password-1"
OPERATOR = "clerk"  # a billing clerk: a user of the pool's operators group


@dataclass
class Portal:
    """The running demo stack: its URLs, the portal's config.json, its Cognito users."""

    api_url: str
    portal_url: str
    config: dict[str, Any]
    log: Path
    users: dict[str, str] = field(default_factory=dict)  # username → password
    _bearer: str = ""

    def idp(self) -> Any:
        import boto3

        return boto3.client(
            "cognito-idp",
            endpoint_url=self.config["cognito_endpoint"],
            region_name=self.config["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def create_user(self, username: str, *, operator: bool = False, customer_id: str = "") -> str:
        pool = self.config["cognito_user_pool_id"]
        idp = self.idp()
        attributes = [{"Name": "email", "Value": f"{username}@example.invalid"}]
        if customer_id:
            attributes.append({"Name": "custom:customer_id", "Value": customer_id})
        idp.admin_create_user(
            UserPoolId=pool, Username=username, UserAttributes=attributes, MessageAction="SUPPRESS"
        )
        idp.admin_set_user_password(
            UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True
        )
        if operator:
            idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="operators")
        self.users[username] = PASSWORD
        return username

    def id_token(self, username: str) -> str:
        result = self.idp().initiate_auth(
            ClientId=self.config["cognito_client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": self.users[username]},
        )
        token: str = result["AuthenticationResult"]["IdToken"]
        return token

    # --- the API as the operator: set-up, and the truth the browser's screens are checked against

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        if not self._bearer:
            self._bearer = self.id_token(OPERATOR)
        for attempt in range(2):
            response = requests.request(
                method,
                self.api_url + path,
                json=body,
                headers={"Authorization": f"Bearer {token or self._bearer}"},
                timeout=60,
            )
            if response.status_code != 401 or token or attempt:
                break
            # The API accepts an ID token for 300 s (docs/api.md, Revocation): a new one, as the
            # portal itself refreshes.
            self._bearer = self.id_token(OPERATOR)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def api_token(self, role: str, customer_id: str | None = None) -> dict[str, Any]:
        body = {"name": f"portal test {role}", "role": role, "customer_id": customer_id}
        token: dict[str, Any] = self.api("POST", "/api-tokens", body)
        return token

    def run_invoices(self, period: str, mode: str, customer_ids: list[str]) -> dict[str, Any]:
        body = {"period": period, "mode": mode, "customer_ids": customer_ids}
        run_id = self.api("POST", "/invoice-runs", body)["run_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.api("GET", f"/invoice-runs/{run_id}")
            if run["status"] != "running":
                return run
            time.sleep(0.3)
        raise TimeoutError(f"invoice run {run_id} did not finish")


def shot(page: Any, name: str, *, doc: bool = False) -> Path:
    """A full-page screenshot in test-artifacts/portal/ (and docs/img/ when refreshing them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done)))")
    page.screenshot(path=str(path), full_page=True)
    if doc and os.environ.get("REBILL_DOC_SCREENSHOTS"):
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_IMAGES / f"portal-{name}.png")
    return path


def sign_in_with_password(page: Any, portal: Portal, username: str, *, here: bool = False) -> None:
    """Sign in with the Cognito user's password (`here`: on the sign-in screen already shown)."""
    if not here:
        page.goto(portal.portal_url + "#/signin")
    page.get_by_label("Email or user name").fill(username)
    page.get_by_label("Password", exact=True).fill(portal.users[username])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for()


def sign_in_with_token(page: Any, portal: Portal, token: str) -> None:
    page.goto(portal.portal_url + "#/signin")
    page.get_by_text("Sign in with an API token").click()
    page.get_by_label("API token", exact=True).fill(token)
    page.get_by_role("button", name="Sign in with token").click()
    page.get_by_role("button", name="Sign out").wait_for()


def go(page: Any, portal: Portal, route: str) -> None:
    """Open a route of the signed-in portal and wait until its view has drawn."""
    page.goto(portal.portal_url + "#" + route)
    settle(page)


SETTLED = """() => {
  const main = document.querySelector("main");
  return main.dataset.route === location.hash && main.getAttribute("aria-busy") === "false";
}"""


def settle(page: Any) -> None:
    """Wait until the view of the current URL has drawn (<main aria-busy> is off again)."""
    page.wait_for_function(SETTLED)


def amounts(locator: Any) -> list[str]:
    """The exact decimal strings behind the formatted amounts inside `locator`."""
    values: list[str] = locator.evaluate_all("els => els.map(e => e.dataset.amount)")
    return values
