"""``GET /reports/billing``: which period it opens on without one; the unassigned check."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.stack


def _processed_bill(bill_id: str, periods: list[str], received_at: str) -> None:
    from chalicelib.store import bills

    bills.save_bill(
        {
            "id": bill_id,
            "key": f"bills/{bill_id}.csv",
            "status": "processed",
            "periods": periods,
            "received_at": received_at,
        }
    )


def test_without_a_period_the_report_opens_on_the_latest_with_invoices_or_bills(
    api: Api, reference_data: Any, make_invoice: Any
) -> None:
    # Nothing yet: the previous month.
    today = datetime.now(UTC).date()
    previous = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    assert api.get("/reports/billing").json["period"] == previous.strftime("%Y-%m")

    make_invoice("acme", "2026-09")
    make_invoice("globex", "2026-11", status="draft")
    make_invoice("acme", "2026-10")
    report = api.get("/reports/billing").json
    assert report["period"] == "2026-11"
    assert [r["customer_id"] for r in report["rows"] if r["invoice"]] == ["globex"]

    # A bill of a later month, processed last: the report opens there.
    _processed_bill("b-dec", ["2026-12"], "2026-12-03T10:00:00+00:00")
    assert api.get("/reports/billing").json["period"] == "2026-12"
    # An older month's bill arriving later does not take the report back.
    _processed_bill("b-aug", ["2026-08"], "2026-12-04T10:00:00+00:00")
    assert api.get("/reports/billing").json["period"] == "2026-11"
    # The period asked for is the period given.
    assert api.get("/reports/billing", period="2026-09").json["period"] == "2026-09"
    csv = api.get("/reports/billing", format="csv")
    assert "billing-report-2026-11.csv" in csv.headers["content-disposition"]


def test_the_check_names_an_account_the_run_found_unassigned_and_the_list_has_not(
    api: Api, reference_data: Any
) -> None:
    from chalicelib.store import objects
    from chalicelib.store.run_files import period_reconciliation_key

    objects.put_json(
        period_reconciliation_key("2026-10"),
        {
            "period": "2026-10",
            "balanced": True,
            "currencies": [
                {
                    "currency": "USD",
                    "bill_total": "100.005",
                    "billed": "60",
                    "retained": {},
                    "reseller_accounts": "40",
                    "unassigned": "0.005",
                    "unpriced": "0",
                    "difference": "0",
                }
            ],
            "unassigned_accounts": [
                {
                    "provider": "aws",
                    "account_id": "444444444444",
                    "currency": "USD",
                    "cost": "0.004",
                    "billed_cost": "0.005",
                    "lines": 1,
                    "payer": False,
                }
            ],
        },
    )
    report = api.get("/reports/billing", period="2026-10").json
    # No bill data is current any more (the account was assigned, or its bill replaced): the
    # check says the run found 0.005 unassigned on that account and the list shows none now.
    [check] = report["unassigned_check"]
    assert (check["listed"], check["reconciled"], check["reconciled_display"]) == (
        "0",
        "0.005",
        "0.01",
    )
    assert check["agrees"] is False
    assert [(a["account_id"], a["reason"]) for a in check["accounts"]] == [
        ("444444444444", "changed_since_run")
    ]
