"""The billing report of a period (docs/design.md §5): JSON, or CSV for a spreadsheet."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.api.endpoint import Call, operation
from chalicelib.service.reports import billing_report, latest_period, report_csv


@operation("getBillingReport")
def get_billing_report(call: Call) -> Any:
    # Without a period: the latest with bills or invoices (the report says which it is).
    period = call.query.get("period") or latest_period()
    report = billing_report(period)
    if call.query["format"] == "csv":
        return Response(
            body=report_csv(report),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="billing-report-{period}.csv"',
            },
        )
    return report
