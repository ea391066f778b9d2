"""Each vocabulary is declared once (chalicelib.vocabulary) and read where it is used: the API
schema, the billing core's parsers and the bill schema cannot drift from it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chalicelib import vocabulary
from chalicelib.api import openapi
from chalicelib.bill_files import schema
from chalicelib.billing.reference import MATCH_KEYS as PARSED_MATCH_KEYS
from chalicelib.billing.reference import Settings


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = openapi.document()["components"]["schemas"]
    return schemas


def test_the_api_schema_speaks_the_vocabularies() -> None:
    schemas = _schemas()
    assert schemas["Provider"]["enum"] == list(vocabulary.PROVIDERS)
    assert schemas["BillStatus"]["enum"] == list(vocabulary.BILL_STATUSES)
    invoice = schemas["Invoice"]["properties"]
    assert invoice["status"]["enum"] == list(vocabulary.INVOICE_STATUSES)
    assert invoice["kind"]["enum"] == list(vocabulary.DOCUMENT_KINDS)
    run = schemas["InvoiceRun"]["properties"]
    assert run["mode"]["enum"] == list(vocabulary.RUN_MODES)
    assert run["status"]["enum"] == list(vocabulary.RUN_STATUSES)
    assert schemas["InvoiceRunRequest"]["properties"]["mode"]["enum"] == list(vocabulary.RUN_MODES)


def test_the_core_and_the_bill_schema_read_the_same_lists() -> None:
    assert schema.PROVIDERS is vocabulary.PROVIDERS
    assert PARSED_MATCH_KEYS is vocabulary.MATCH_KEYS
    assert Settings().invoice_number_prefix == vocabulary.DEFAULT_INVOICE_NUMBER_PREFIX
    assert Settings.from_dict({}).invoice_number_prefix == vocabulary.DEFAULT_INVOICE_NUMBER_PREFIX
    assert set(vocabulary.CLOUD_PROVIDERS) < set(vocabulary.PROVIDERS)


def test_the_portal_lists_the_same_providers_and_statuses() -> None:
    """The portal is static JavaScript and keeps its own copies: they must not drift."""
    views = Path(__file__).resolve().parents[1] / "portal" / "js" / "views"
    for name in ("report.js", "plans.js", "customer.js"):
        found = re.search(r"const PROVIDERS = (\[[^\]]*\]);", (views / name).read_text())
        assert found, name
        assert json.loads(found.group(1)) == list(vocabulary.PROVIDERS), name
    statuses = re.search(r"const STATUSES = (\[.*\]);", (views / "invoices.js").read_text())
    assert statuses
    values = [value for value, _label in json.loads(statuses.group(1)) if value]
    assert values == list(vocabulary.INVOICE_STATUSES)
