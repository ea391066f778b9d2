"""Schemathesis walks the OpenAPI document against the API served over real HTTP (Chalice's
local server on the embedded AWS): no request it can make gets a 5xx, and every response has a
documented status, content type, headers and body schema.

The examples of the document (``acme``, ``standard``, ``inv-acme-2026-10-1`` …) name data
seeded before the run, so the explicit-examples phase reaches real resources; the generated
phases then fuzz around them. Hypothesis runs derandomized with a bounded number of examples:
over 5,000 requests in all (5,438 when last counted, about 3.5 minutes on two cores), checked by
the last test of the module. The module runs in a pytest of its own, without pytest-xdist
(``make test``): schemathesis gives every generated test the same node id, and xdist would run
only one of them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.api.openapi import document
from tests.api.conftest import PLAN, PRICE_LIST, customer_body, store_invoice

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SEED = 2026
# Generated inputs per operation in the fuzzing phase, on top of the examples and coverage
# phases: about 5,400 requests over the 40 operations, some three minutes on two cores.
EXAMPLES = 80
MIN_REQUESTS = 5000
REQUESTS: Counter[int] = Counter()  # responses by status class (2 = 2xx, …) over the run
schema = schemathesis.openapi.from_dict(
    document(),
    # Methods the document does not name (TRACE, PATCH …) are sent too: the local server
    # passes every method to the app, which answers 405 in the error shape.
    config=SchemathesisConfig.from_dict({"seed": SEED}),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _seed(url: str, token: str) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for path, body in (
        ("/price-lists", PRICE_LIST),
        ("/plans", PLAN),
        ("/customers", customer_body("acme")),
        ("/customers", customer_body("globex")),
        ("/customers/acme/accounts", {"provider": "aws", "account_id": "111111111111"}),
        (
            "/customers/acme/subscriptions",
            {"id": "acme-growth", "plan_id": "growth", "start_date": "2026-10-01"},
        ),
    ):
        assert session.post(url + path, json=body, timeout=30).status_code == 201, path
    store_invoice("acme")
    store_invoice("globex", status="draft")


def _wait_for_runs(stack: Any, timeout: float = 120) -> None:
    """Let the invoice runs the fuzzing started finish before the data is reset."""
    from chalicelib.config import get_config

    sfn = stack.client("stepfunctions")
    arn = get_config().generate_invoices_state_machine_arn
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
        if not running:
            return
        time.sleep(0.5)


@pytest.fixture(scope="module")
def served(stack: Any) -> Iterator[tuple[str, str]]:
    from chalicelib.api.auth import create_api_token
    from localaws.servers import Servers

    stack.reset_data()
    servers = Servers(0, 0)
    servers.start()
    token = create_api_token("schemathesis", "operator")["token"]
    _seed(servers.api_url, token)
    try:
        yield servers.api_url, token
    finally:
        servers.stop()
        _wait_for_runs(stack)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_document(case: Any, served: tuple[str, str]) -> None:
    url, token = served
    response = case.call(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        allow_redirects=False,
        timeout=60,
    )
    REQUESTS[response.status_code // 100] += 1
    case.validate_response(response, checks=CHECKS)


def test_the_run_was_thorough_and_met_no_server_error() -> None:
    """Runs after the operations' tests (same module, same worker): they made enough requests
    and none was answered with a 5xx (each would also have failed its own test)."""
    print(f"schemathesis: {sum(REQUESTS.values())} requests, by status class {dict(REQUESTS)}")
    assert sum(REQUESTS.values()) >= MIN_REQUESTS, dict(REQUESTS)
    assert REQUESTS[5] == 0, dict(REQUESTS)
