"""Commitment savings end to end on the embedded AWS, one bill layout per test: the bill lands
under ``bills/`` (the S3 notification runs the real ingest Lambda), an invoice run goes through
the real generate-invoices state machine, and the invoices and ``GET /reports/billing`` carry
the figures of the golden cases (tests/billing/test_commitments.py has their arithmetic).

One bill, three customers, each with one AWS account and 20.00 of ordinary usage:

- acme: an hour covered by the payer's reserved instance and one by the payer's savings plan.
  Price 10.00 + 10.00 + 20.00 = 40.00 (on demand); cost 6.00 + 7.00 + 20.00 = 33.00; savings
  retained (10.00 − 6.00) + (10.00 − 7.00) = 7.00.
- globex: the same two hours, covered by an RI and a savings plan globex's own account bought.
  Price 0.00 + 7.00 RI fee + (CUR: 10.00 − 10.00, FOCUS: 0.00) + 8.00 plan fee + 20.00 = 35.00;
  cost 6.00 + 1.00 unused + 7.00 + 1.00 unused + 20.00 = 35.00; savings retained 0.00.
- initech: the same two hours, covered by commitments the payer bought and the operator
  assigned to initech (settings ``commitment_assignments``). Price 0.00 + (CUR: 10.00 − 10.00,
  FOCUS: 0.00) + 20.00 = 20.00; cost 6.00 + 7.00 + 20.00 = 33.00; savings retained 0.00.

The payer's own lines (the fees of the four payer commitments: 7.00 + 7.00 + 8.00 + 8.00
billed, of which 1.00 each unused) are the reseller's: cost 4.00.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.api import conftest as api_fixtures
from tests.bill_files.commitment_bills import FORMATS, PAYER, Commitment, bill

pytestmark = pytest.mark.stack

api = api_fixtures.api  # the API on the embedded AWS, with an operator token
PERIOD = "2026-10"
ACCOUNTS = {"acme": "111111111111", "globex": "222222222222", "initech": "333333333333"}
ASSIGNED = [
    Commitment("ri", PAYER, ACCOUNTS["initech"], "initech-ri"),
    Commitment("sp", PAYER, ACCOUNTS["initech"], "initech-sp"),
]
COMMITMENTS = [
    Commitment("ri", PAYER, ACCOUNTS["acme"], "payer-ri"),
    Commitment("sp", PAYER, ACCOUNTS["acme"], "payer-sp"),
    Commitment("ri", ACCOUNTS["globex"], ACCOUNTS["globex"], "globex-ri"),
    Commitment("sp", ACCOUNTS["globex"], ACCOUNTS["globex"], "globex-sp"),
    *ASSIGNED,
]
# customer -> (price, cost, savings retained), as the report shows them
EXPECTED = {
    "acme": ("40.00", "33.00", "7.00"),
    "globex": ("35.00", "35.00", "0.00"),
    "initech": ("20.00", "33.00", "0.00"),
}


def _reference_data(api: api_fixtures.Api) -> None:
    settings = api.get("/settings").json
    settings["commitment_assignments"] = [
        # The operator's spelling of an id need not match the bill's case.
        {"commitment_id": c.id.upper(), "customer_id": "initech"}
        for c in ASSIGNED
    ]
    assert api.put("/settings", body=settings).status == 200
    for customer, account in ACCOUNTS.items():
        body = {"id": customer, "name": customer.title(), "currency": "USD"}
        assert api.post("/customers", body=body).status == 201
        reply = api.post(
            f"/customers/{customer}/accounts", body={"provider": "aws", "account_id": account}
        )
        assert reply.status == 201, reply


def _land(key: str, body: bytes) -> dict[str, Any]:
    """PUT the bill under bills/ as AWS would; the notification runs the ingest Lambda."""
    from chalicelib.service.bill_intake import LandedObject
    from chalicelib.store import bills, objects
    from chalicelib.store.aws import client

    etag = client("s3").put_object(Bucket=objects.bucket(), Key=key, Body=body)["ETag"]
    record = bills.get_bill(LandedObject(key, etag.strip('"'), 0, "").bill_id)
    assert record is not None, f"no bill record for {key}: the notification did not fire"
    assert record["status"] == "processed", record.get("error")
    return record


@pytest.mark.parametrize("fmt", FORMATS)
def test_commitment_savings_through_the_stack(api: api_fixtures.Api, fmt: str) -> None:
    from chalicelib.store import invoices
    from localaws import demo

    _reference_data(api)
    record = _land(f"bills/{fmt}/2026-10.csv", bill(fmt, COMMITMENTS, ACCOUNTS.values()))
    assert record["format"] == fmt

    run = demo.run_invoices(PERIOD, "draft")
    assert run["status"] == "succeeded", run.get("errors")
    assert run["reconciliation"]["balanced"] is True, run["reconciliation"]

    subtotals = {i["customer_id"]: i["subtotal"] for i in invoices.invoices_of_period(PERIOD)}
    assert subtotals == {c: figures[0] for c, figures in EXPECTED.items()}

    report = api.get("/reports/billing", period=PERIOD).json
    got = {r["customer_id"]: (r["price"], r["cost"], r["savings_retained"]) for r in report["rows"]}
    assert got == EXPECTED
    [usd] = report["totals"]
    assert (usd["price"], usd["cost"], usd["savings_retained"]) == ("95.00", "101.00", "7.00")
    assert report["unassigned"] == []
    [payer] = report["reseller_accounts"]
    assert (payer["account_id"], Decimal(payer["cost"])) == (PAYER, Decimal("4.00"))


def test_payer_savings_plan_in_a_report_without_the_fee_columns(api: api_fixtures.Api) -> None:
    """The reported case: a legacy CUR that states SavingsPlanEffectiveCost on the covered
    lines but has no TotalCommitmentToDate / UsedCommitment columns. Acme's figures are those
    of the full report: cost 33.00 and savings retained 7.00, not the on-demand 36.00 and 4.00
    (the RI was right before too)."""
    from localaws import demo

    _reference_data(api)
    without = ("savingsPlan/TotalCommitmentToDate", "savingsPlan/UsedCommitment")
    body = bill("aws-cur-legacy", COMMITMENTS[:2], [ACCOUNTS["acme"]], without=without)
    _land("bills/legacy/2026-10.csv", body)
    assert demo.run_invoices(PERIOD, "draft")["status"] == "succeeded"
    report = api.get("/reports/billing", period=PERIOD).json
    [acme] = [r for r in report["rows"] if r["customer_id"] == "acme"]
    assert (acme["price"], acme["cost"], acme["savings_retained"]) == EXPECTED["acme"]
