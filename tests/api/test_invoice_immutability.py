"""Issued invoices and their files never change: a run recomputing a draft while it is issued
loses, and the issued CSV always sums to the issued totals.

What a run's batch task does to save an invoice (``save_customer_invoice``) and the issue
route run for real; the priced usage and the composed invoice they read are written here, two
versions of the same customer's month (the totals of the original report: 31,724.20 and 23,096.04).
"""

from __future__ import annotations

import csv
import io
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import PERIOD, Api

pytestmark = pytest.mark.stack

VERSIONS = {"a": Decimal("31724.20"), "b": Decimal("23096.04")}
ROUNDS = 12
RECOMPUTES = 6  # per round, while the issuer tries
ISSUE_ATTEMPTS = 200


def _write_inputs(tmp_path: Path, customers: list[str]) -> dict[str, dict[str, str]]:
    """Per version, the run payload keys: priced usage (two rows per customer whose prices
    sum to the version's total) and the taxed invoice composed from it."""
    import duckdb

    from chalicelib.billing.document import Invoice, InvoiceLine
    from chalicelib.store import objects

    payloads = {}
    for name, total in VERSIONS.items():
        local = tmp_path / f"{name}.parquet"
        half = total / 2
        values = ", ".join(
            f"('{customer}', '{n}', {price})"
            for customer in customers
            for n, price in (("1", half + Decimal("0.004")), ("2", half - Decimal("0.004")))
        )
        con = duckdb.connect()
        con.execute(
            f"""COPY (
                SELECT customer_id, '111111111111' AS account_id, 'aws' AS provider,
                       'AmazonEC2' AS service, 'AmazonEC2' AS service_code, 'sku-' || n AS sku_id,
                       'BoxUsage' AS usage_type, 'RunInstances' AS operation,
                       'us-east-1' AS region, NULL::VARCHAR AS resource_id,
                       'Usage' AS charge_category, 'Hrs' AS pricing_unit, 'USD' AS currency,
                       false AS savings_removed, 'standard' AS price_list_id,
                       'default' AS price_rule, 1 AS lines,
                       1::DECIMAL(38, 18) AS quantity, price::DECIMAL(38, 18) AS cost,
                       price::DECIMAL(38, 18) AS billed_cost,
                       price::DECIMAL(38, 18) AS list_cost, price::DECIMAL(38, 18) AS basis,
                       0::DECIMAL(38, 18) AS savings_retained, price::DECIMAL(38, 20) AS price
                FROM (VALUES {values}) AS t(customer_id, n, price)
            ) TO '{local}' (FORMAT parquet)"""
        )
        con.close()
        priced_key = f"runs/immutability/{name}/priced-usage.parquet"
        objects.upload(local, priced_key)
        payloads[name] = {"priced_key": priced_key}
        for customer in customers:
            invoice = Invoice(
                customer_id=customer,
                period=PERIOD,
                currency="USD",
                lines=(
                    InvoiceLine(
                        "cloud_usage", "AWS AmazonEC2", total, provider="aws", service="AmazonEC2"
                    ),
                ),
            )
            invoice_key = f"runs/immutability/{name}/{customer}/invoice-taxed.json"
            objects.put_json(invoice_key, invoice.to_dict())
            payloads[name][customer] = invoice_key
    return payloads


def _save(payloads: dict[str, dict[str, str]], version: str, customer: str) -> dict[str, Any]:
    import tempfile

    from chalicelib.billing.document import Invoice
    from chalicelib.service.run_invoices import save_customer_invoice
    from chalicelib.store import objects

    with tempfile.TemporaryDirectory() as tmp:
        priced = objects.download(payloads[version]["priced_key"], Path(tmp) / "priced.parquet")
        return save_customer_invoice(
            f"run-{version}",
            PERIOD,
            customer,
            "draft",
            Invoice.from_dict(objects.get_json(payloads[version][customer])),
            priced,
        )


def _csv_sum(key: str) -> Decimal:
    from chalicelib.store import objects

    rows = csv.DictReader(io.StringIO(objects.get_bytes(key).decode()))
    return sum((Decimal(row["price"]) for row in rows), Decimal(0))


def _assert_consistent(invoice: dict[str, Any]) -> None:
    from chalicelib.billing.money import round_money

    total = round_money(_csv_sum(invoice["csv_key"]), "USD")
    assert total == Decimal(invoice["cloud_usage_total"]) == Decimal(invoice["total"]), invoice
    # The customer's CSV is part of the issued invoice too.
    assert round_money(_csv_sum(invoice["customer_csv_key"]), "USD") == total


def test_a_run_that_read_the_draft_before_it_was_issued_changes_nothing(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import invoices, objects

    payloads = _write_inputs(tmp_path, ["acme"])
    saved = _save(payloads, "a", "acme")
    assert saved["status"] == "saved", saved
    stale_pointer = invoices.live_pointer("acme", PERIOD)
    reply = api.post(f"/invoices/{saved['invoice_id']}/issue")
    assert reply.status == 200, reply
    issued = invoices.get_invoice(saved["invoice_id"])
    before = objects.get_bytes(issued["csv_key"])

    # A run that read the live pointer while the invoice was still a draft.
    monkeypatch.setattr(invoices, "live_pointer", lambda *_: stale_pointer)
    result = _save(payloads, "b", "acme")
    monkeypatch.undo()

    assert result["status"] == "unchanged", result
    assert invoices.get_invoice(saved["invoice_id"]) == issued
    assert objects.get_bytes(issued["csv_key"]) == before
    _assert_consistent(issued)
    # The losing run's CSVs are deleted: only the issued ones (and the issued PDF) are left.
    assert objects.list_keys(f"invoices/{saved['invoice_id']}/") == sorted(
        [issued["csv_key"], issued["customer_csv_key"], issued["pdf_key"]]
    )


def test_a_replaced_draft_cannot_be_issued_as_it_was_read(api: Api, tmp_path: Path) -> None:
    from chalicelib.errors import Conflict
    from chalicelib.service.invoices import issue_draft as issue_invoice
    from chalicelib.store import invoices, objects

    payloads = _write_inputs(tmp_path, ["acme"])
    first = _save(payloads, "a", "acme")
    read = invoices.get_invoice(first["invoice_id"])
    assert _save(payloads, "b", "acme")["status"] == "saved"
    # The replaced draft's CSV is gone; issuing what was read would point at it: refused.
    assert objects.head(read["csv_key"]) is None
    assert objects.head(read["customer_csv_key"]) is None
    with pytest.raises(Conflict, match="recomputed"):
        issue_invoice(read)
    current = invoices.get_invoice(first["invoice_id"])
    assert current["status"] == "draft" and current["total"] == f"{VERSIONS['b']}"
    reply = api.post(f"/invoices/{first['invoice_id']}/issue")
    assert reply.status == 200, reply
    _assert_consistent(invoices.get_invoice(first["invoice_id"]))


def _race(
    api: Api, payloads: dict[str, dict[str, str]], customer: str, offset: int
) -> tuple[dict[str, Any], list[str]]:
    """One thread recomputes the customer's draft RECOMPUTES times while another issues it
    through the API, after ``offset`` recomputes; returns the issue reply and the run results."""
    invoice_id = _save(payloads, "a", customer)["invoice_id"]
    errors: list[BaseException] = []
    issued: list[dict[str, Any]] = []
    results: list[str] = []

    def recompute() -> None:
        try:
            for n in range(RECOMPUTES):
                results.append(_save(payloads, "ab"[(n + offset) % 2], customer)["status"])
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            results.extend(["failed"] * RECOMPUTES)

    def issue() -> None:
        try:
            # Each round issues after another number of recomputes, at another moment of the
            # next one.
            deadline = time.monotonic() + 60
            while len(results) < offset % RECOMPUTES and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(0.005 * (offset % 3))
            for _ in range(ISSUE_ATTEMPTS):
                reply = api.post(f"/invoices/{invoice_id}/issue")
                if reply.status == 200:
                    issued.append(reply.json)
                    return
                assert (reply.status, reply.json["code"]) == (409, "conflict"), reply
            raise AssertionError(f"{invoice_id} was never issued")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=recompute), threading.Thread(target=issue)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not errors, errors
    return issued[0], results


def test_issuing_while_a_run_recomputes_the_draft_keeps_the_issued_csv(
    api: Api, tmp_path: Path
) -> None:
    """Many bounded rounds: one thread issues through the API while another recomputes."""
    from chalicelib.store import invoices, objects

    customers = [f"race{n}" for n in range(ROUNDS)]
    payloads = _write_inputs(tmp_path, customers)
    outcomes: list[str] = []
    for offset, customer in enumerate(customers):
        issued, results = _race(api, payloads, customer, offset)
        outcomes += results
        stored = invoices.get_invoice(issued["id"])
        assert stored["status"] == "issued" and stored["total"] == issued["total"]
        _assert_consistent(stored)
        # Every other computation's CSVs are gone; the issued ones (and its PDF) are untouched.
        assert objects.list_keys(f"invoices/{issued['id']}/") == sorted(
            [stored["csv_key"], stored["customer_csv_key"], stored["pdf_key"]]
        )
        # Runs after the issue leave it alone.
        assert _save(payloads, "ab"[offset % 2], customer)["status"] == "unchanged"
        assert invoices.get_invoice(issued["id"]) == stored
    # The race did happen both ways over the rounds.
    assert "saved" in outcomes and "unchanged" in outcomes, outcomes
