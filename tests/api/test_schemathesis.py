"""Schemathesis walks the OpenAPI document against the API served over real HTTP (Chalice's
local server on the embedded AWS): no request it can make gets a 5xx, and every response has a
documented status, content type, headers and body schema.

The examples of the document (``acme``, ``standard``, ``inv-acme-2026-10-1`` …) name data
seeded before the run, so the explicit-examples phase reaches real resources; the generated
phases then fuzz around them. Hypothesis runs derandomized with a bounded number of examples.
"""

from __future__ import annotations

import time
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
schema = schemathesis.openapi.from_dict(
    document(),
    config=SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            # Methods the document does not name (TRACE …) reach Chalice's local development
            # server, not the API: API Gateway answers those itself.
            "phases": {"coverage": {"unexpected-methods": []}},
        }
    ),
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
    max_examples=12,
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
    case.validate_response(response, checks=CHECKS)
