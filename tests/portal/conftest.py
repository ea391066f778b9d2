"""Browser tests of the portal: Debian's chromium, driven by Playwright, against the demo stack.

One ``python -m localaws serve --demo`` per test process (session fixture), on free ports; the
tests sign in as a billing clerk and as customers' users of the stack's Cognito user pool (moto),
or with API tokens created through the API. Screenshots go to ``test-artifacts/portal/``; with
``REBILL_DOC_SCREENSHOTS=1`` the ones the docs show are refreshed in ``docs/img/`` too.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
import requests

from tests.portal.support import ARTIFACTS, OPERATOR, ROOT, Portal, shot, sign_in_with_password

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_SECONDS = 240
# What the embedded stack sets for itself: this process may carry another stack's values.
_STACK_VARIABLES = re.compile(
    r"^(AWS_|COGNITO_|MOTO_|REBILL_|POWERTOOLS_)|^(REFERENCE_TABLE|BILLS_TABLE|INVOICES_TABLE|"
    r"DATA_BUCKET|EVENTS_TOPIC_ARN|GENERATE_INVOICES_STATE_MACHINE_ARN)$"
)
_FAILED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: portal tests in a real browser (chromium)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


# --- the stack -------------------------------------------------------------------------------


def _stack_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _STACK_VARIABLES.search(k)}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _serve_command(credentials: Path, demo: bool = True) -> list[str]:
    """``python -m localaws serve --demo`` on free ports, its credentials out of everyone's way.

    The tests sign in through Cognito and need no credentials file; the stack's must just not
    replace the ``.local/credentials.json`` of a stack the developer is running.
    """
    return [
        sys.executable,
        "-m",
        "localaws",
        "serve",
        *(["--demo"] if demo else []),
        "--port",
        "0",
        "--credentials",
        str(credentials),
    ]


@contextlib.contextmanager
def running_stack(
    name: str, *, demo: bool = True, environment: dict[str, str] | None = None
) -> Iterator[Portal]:
    """A ``localaws serve`` of its own (``environment`` added to the stack's), stopped after."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    log = ARTIFACTS / f"{name}-{worker}.log"
    # Under the project root (the stack prints it relative to the root), never the shared file.
    credentials = ROOT / ".local" / "portal-tests" / f"{name}-{worker}-{os.getpid()}.json"
    started = time.monotonic()
    process = subprocess.Popen(
        _serve_command(credentials, demo),
        cwd=ROOT,
        env={**_stack_environment(), **(environment or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    urls: dict[str, str] = {}
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        with log.open("w") as out:
            for line in process.stdout:
                out.write(line)
                out.flush()
                found = re.match(r"^(API|Portal):\s+(\S+)", line)
                if found:
                    urls[found.group(1)] = found.group(2)
                if line.startswith("Press Ctrl-C"):
                    ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(STARTUP_SECONDS) or process.poll() is not None or len(urls) < 2:
            tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
            pytest.fail(f"`localaws serve` did not start ({log}):\n{tail}", pytrace=False)
        portal_url = urls["Portal"]
        config = requests.get(portal_url + "config.json", timeout=10).json()
        assert config["api_url"] == urls["API"], config
        assert config["cognito_client_id"], "the local stack provisions no Cognito user pool"
        server = Portal(api_url=urls["API"], portal_url=portal_url, config=config, log=log)
        server.create_user(OPERATOR, operator=True)
        print(f"\n{name} stack up in {time.monotonic() - started:.1f} s: {portal_url}")
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        credentials.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def portal() -> Iterator[Portal]:
    with running_stack("stack") as server:
        yield server


# --- the browser -----------------------------------------------------------------------------


def _missing(what: str) -> NoReturn:
    """CI must run the browser tests; a laptop without the browser skips them, saying why."""
    message = f"the portal tests need {what}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python (pip install playwright)")
    if not CHROMIUM.exists():
        _missing(f"Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1280, "height": 900}


@pytest.fixture
def locale() -> str:
    return "en-US"


@pytest.fixture
def context(browser: Any, viewport: dict[str, int], locale: str) -> Iterator[Any]:
    """A fresh browser profile per test (parametrize `viewport` or `locale` to change them)."""
    ctx = browser.new_context(viewport=viewport, locale=locale, accept_downloads=True)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"uncaught in the portal: {error}"))
    yield tab
    if request.node.stash.get(_FAILED, False):
        shot(tab, f"FAILED-{request.node.name}")
    assert not problems, problems


@pytest.fixture
def operator_page(page: Any, portal: Portal) -> Any:
    """A tab signed in as the billing clerk, through the Cognito user pool."""
    sign_in_with_password(page, portal, OPERATOR)
    return page
