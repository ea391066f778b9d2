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
from localaws.servers import portal_config


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


PORTAL_JS = Path(__file__).resolve().parents[1] / "portal" / "js"


def _vocabularies() -> dict[str, tuple[str, ...]]:
    """Every list of codes chalicelib.vocabulary declares, by name."""
    return {
        name: value
        for name, value in vars(vocabulary).items()
        if name.isupper() and isinstance(value, tuple) and len(value) > 1
    }


def _spelled_lists(source: str, codes: tuple[str, ...]) -> list[str]:
    """The places in ``source`` where two codes of one vocabulary follow each other with nothing
    but list punctuation and labels between them: ``["aws", "gcp"``, ``[["draft", "Draft"],
    ["issued"``, ``{ aws: "AWS", gcp:``. Code that merely tests one value (``status ===
    "draft" || status === "void"``) has operators between them and is not a list."""
    member = "|".join(re.escape(code) for code in sorted(codes, key=len, reverse=True))
    item = rf"""(?:["']({member})["']|\b({member})\s*:)"""
    gap = r"""(?:[\s,:\[\]]|"[^"\n]*"|'[^'\n]*')*?"""
    found = []
    for match in re.finditer(rf"(?={item}{gap}{item})", source):
        first, second = match.group(1) or match.group(2), match.group(3) or match.group(4)
        if first != second:
            found.append(source[match.start() : match.start() + 80].split("\n")[0])
    return found


def test_the_scan_finds_a_list_spelled_in_javascript() -> None:
    """The portal's copies as they were, so the test below cannot pass by finding nothing."""
    providers = vocabulary.PROVIDERS
    assert _spelled_lists('const PROVIDERS = ["aws", "gcp", "azure", "oci", "other"];', providers)
    assert _spelled_lists('const P = { aws: "AWS", gcp: "Google Cloud" };', providers)
    statuses = vocabulary.INVOICE_STATUSES
    assert _spelled_lists(
        '[["", "Any status"], ["draft", "Draft"], ["issued", "Issued"]]', statuses
    )
    assert _spelled_lists('if (!["issued", "paid", "void"].includes(s)) return [];', statuses)
    keys = vocabulary.MATCH_KEYS
    assert _spelled_lists(
        'const M = [\n  ["provider", "Provider"],\n  ["service", "Service"],', keys
    )
    assert not _spelled_lists('if (s === "draft" || s === "void") return;', statuses)
    assert not _spelled_lists('count("issued") + count("paid")', statuses)


def test_the_portal_spells_no_vocabulary_of_its_own() -> None:
    """The portal reads its providers, statuses, line kinds and match keys from config.json's
    ``vocabulary``; none of its modules keeps a list of codes (it may test a single one)."""
    sources = {p.relative_to(PORTAL_JS).as_posix(): p.read_text() for p in PORTAL_JS.rglob("*.js")}
    assert "views/invoices.js" in sources
    spelled = {
        f"{module}: {name}": places
        for module, source in sources.items()
        for name, codes in _vocabularies().items()
        if (places := _spelled_lists(source, codes))
    }
    assert spelled == {}


def test_the_portal_vocabulary_names_every_code_in_order() -> None:
    shown = vocabulary.portal_vocabulary()
    assert list(shown["providers"]) == list(vocabulary.PROVIDERS)
    assert shown["providers"]["gcp"] == "Google Cloud"
    assert shown["providers"]["oci"] == "Oracle Cloud"
    assert list(shown["invoice_statuses"]) == list(vocabulary.INVOICE_STATUSES)
    assert list(shown["line_kinds"]) == list(vocabulary.LINE_KINDS)
    assert list(shown["match_keys"]) == list(vocabulary.MATCH_KEYS)
    # Each name table names exactly its vocabulary's codes.
    assert set(vocabulary.PROVIDER_NAMES) == set(vocabulary.PROVIDERS)
    assert set(vocabulary.INVOICE_STATUS_NAMES) == set(vocabulary.INVOICE_STATUSES)
    assert set(vocabulary.LINE_KIND_NAMES) == set(vocabulary.LINE_KINDS)
    assert set(vocabulary.MATCH_KEY_NAMES) == set(vocabulary.MATCH_KEYS)
    assert list(shown["bill_attention_statuses"]) == list(vocabulary.BILL_ATTENTION_STATUSES)
    assert set(vocabulary.BILL_ATTENTION_STATUSES) < set(vocabulary.BILL_STATUSES)
    assert set(vocabulary.BILL_ATTENTION_NAMES) == set(vocabulary.BILL_ATTENTION_STATUSES)
    # The order survives config.json (a JSON object of non-numeric keys keeps its order).
    assert json.loads(json.dumps(shown)) == shown
    assert [list(v) for v in json.loads(json.dumps(shown)).values()] == [
        list(v) for v in shown.values()
    ]


def test_the_local_config_json_carries_the_portal_vocabulary() -> None:
    config = portal_config("http://127.0.0.1:8000", {"AWS_REGION": "eu-central-1"})
    assert config["vocabulary"] == vocabulary.portal_vocabulary()
