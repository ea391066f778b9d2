"""The demo data set is consistent reference data plus a final AWS bill for its accounts."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from localaws import demo_data as demo

MONEY = re.compile(r"-?\d+(\.\d+)?")


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return demo.demo_reference()


@pytest.fixture(scope="module")
def bill(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("demo")
    return out, demo.write_demo_bills(out)


@pytest.fixture(scope="module")
def bill_rows(bill: tuple[Path, list[Path]]) -> list[dict[str, str]]:
    out, keys = bill
    text = gzip.decompress((out / keys[0]).read_bytes()).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_reference_points_only_at_things_that_exist(reference: dict[str, Any]) -> None:
    price_lists = {p["id"] for p in reference["price_lists"]}
    plans = {p["id"] for p in reference["plans"]}
    customers = {c["id"] for c in reference["customers"]}
    assert reference["settings"]["default_price_list_id"] in price_lists
    assert all(c["price_list_id"] in price_lists for c in reference["customers"])
    for account in reference["accounts"]:
        assert account["customer_id"] in customers
        assert account["price_list_id"] is None or account["price_list_id"] in price_lists
    for subscription in reference["subscriptions"]:
        assert subscription["customer_id"] in customers
        assert subscription["plan_id"] in plans
    ids = [s["id"] for s in reference["subscriptions"]]
    assert len(ids) == len(set(ids))


def test_reference_shapes_follow_the_api(reference: dict[str, Any]) -> None:
    assert set(reference) == {
        "settings",
        "price_lists",
        "plans",
        "customers",
        "accounts",
        "subscriptions",
    }
    for customer in reference["customers"]:
        assert set(customer) >= {
            "id",
            "name",
            "currency",
            "price_list_id",
            "email",
            "tax_profile",
            "discount",
        }
        assert MONEY.fullmatch(customer["discount"]["percent"])
    for account in reference["accounts"]:
        assert set(account) == {
            "customer_id",
            "provider",
            "account_id",
            "price_list_id",
            "valid_from",
            "valid_to",
        }
        assert account["provider"] == "aws"
        assert isinstance(account["account_id"], str) and len(account["account_id"]) == 12
    for subscription in reference["subscriptions"]:
        assert set(subscription) == {
            "customer_id",
            "id",
            "plan_id",
            "quantity",
            "start_date",
            "end_date",
        }
    for plan in reference["plans"]:
        assert MONEY.fullmatch(plan["price"]) and MONEY.fullmatch(plan["included_credit"])
    for price_list in reference["price_lists"]:
        assert MONEY.fullmatch(price_list["default"]["percent"])
        assert all(MONEY.fullmatch(rule["percent"]) for rule in price_list["rules"])
    json.dumps(reference)  # the whole thing is plain JSON


def test_reference_demonstrates_the_billing_rules(reference: dict[str, Any]) -> None:
    settings = reference["settings"]
    assert settings["seller"]["country"] == "DE" and settings["tax"]["enabled"]
    assert len(reference["customers"]) >= 3
    per_customer: dict[str, int] = {}
    for account in reference["accounts"]:
        per_customer[account["customer_id"]] = per_customer.get(account["customer_id"], 0) + 1
    assert set(per_customer.values()) <= {1, 2} and len(per_customer) >= 3
    assert any(Decimal(p["included_credit"]) > 0 for p in reference["plans"])
    assert any(Decimal(c["discount"]["percent"]) > 0 for c in reference["customers"])
    assert any(
        s["start_date"][8:] != "01" and s["start_date"].startswith("2026-10")
        for s in reference["subscriptions"]
    )
    rules = [r for p in reference["price_lists"] for r in p["rules"]]
    assert any("service" in r["match"] for r in rules)
    assert any("usage_type" in r["match"] and r.get("basis") == "list" for r in rules)
    assert any(a["price_list_id"] for a in reference["accounts"])


def test_demo_bill_is_deterministic(tmp_path: Path, bill: tuple[Path, list[Path]]) -> None:
    out, keys = bill
    assert demo.write_demo_bills(tmp_path) == keys
    for key in keys:
        assert (tmp_path / key).read_bytes() == (out / key).read_bytes()


def test_demo_keys_look_like_a_cur_delivery(bill: tuple[Path, list[Path]]) -> None:
    out, keys = bill
    data, manifest = (k.as_posix() for k in keys)
    assert re.fullmatch(
        r"cur/rebill-demo/20261001-20261101/[0-9a-f-]{36}/rebill-demo-00001\.csv\.gz", data
    )
    assert manifest == "cur/rebill-demo/20261001-20261101/rebill-demo-Manifest.json"
    content = json.loads((out / manifest).read_text())
    assert content["reportKeys"] == [demo.S3_PREFIX + data]
    assert content["assemblyId"] in data


def test_demo_bill_covers_every_customer_account_and_an_unassigned_one(
    reference: dict[str, Any], bill_rows: list[dict[str, str]]
) -> None:
    in_bill = {r["lineItem/UsageAccountId"] for r in bill_rows}
    owned = {a["account_id"] for a in reference["accounts"]}
    assert owned <= in_bill
    unassigned = in_bill - owned - {demo.PAYER}
    assert unassigned == {demo.UNASSIGNED}
    assert 4_000 <= len(bill_rows) <= 6_000
    assert all(r["bill/InvoiceId"] for r in bill_rows)  # final
    assert {r["bill/PayerAccountId"] for r in bill_rows} == {demo.PAYER}


def test_one_customer_owns_its_commitments(bill_rows: list[dict[str, str]]) -> None:
    arns = {r["reservation/ReservationARN"] or r["savingsPlan/SavingsPlanARN"] for r in bill_rows}
    owners = {arn.split(":")[4] for arn in arns if arn}
    assert owners == {demo.PAYER, demo.GLOBEX}


def test_the_printed_report_names_providers_as_they_write_themselves() -> None:
    from localaws.demo import format_report

    unassigned = [
        {
            "provider": "azure",
            "account_id": "sub-1",
            "currency": "EUR",
            "billed_cost_display": "12.35",
            "cost_display": "11.00",
        },
        {
            "provider": "gcp",
            "account_id": "proj-1",
            "currency": "USD",
            "billed_cost_display": "1.00",
            "cost_display": "1.00",
        },
    ]
    text = format_report({"rows": [], "totals": [], "unassigned": unassigned})
    assert "unassigned: Azure account sub-1, billed 12.35 EUR (effective cost 11.00)" in text
    assert "unassigned: Google Cloud account proj-1" in text


def test_the_printed_report_says_why_the_unassigned_figures_differ() -> None:
    from localaws.demo import format_report

    check = {
        "currency": "USD",
        "agrees": False,
        "listed_display": "38.76",
        "reconciled_display": "52.63",
        "accounts": [
            {
                "provider": "aws",
                "account_id": "555555555555",
                "listed_display": "0.00",
                "reconciled_display": "13.87",
                "reason": "owned_part_of_period",
                "customer_id": "umbrella",
            }
        ],
    }
    agreeing = {**check, "currency": "EUR", "agrees": True, "accounts": []}
    report = {"rows": [], "totals": [], "unassigned": [], "unassigned_check": [check, agreeing]}
    text = format_report(report)
    assert "unassigned USD: 38.76 listed, 52.63 in the reconciliation:" in text
    assert (
        "AWS account 555555555555: 0.00 listed, 13.87 reconciled "
        "(owned by umbrella for part of the period only)"
    ) in text
    assert "unassigned EUR" not in text
