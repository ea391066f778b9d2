"""The commitment columns of the AWS layouts, line by line: effective cost and owner of the
lines of a reserved instance and a savings plan (the bills of commitment_bills.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.bill_files.normalize import normalize_bill
from tests.bill_files.commitment_bills import PAYER, Commitment, bill
from tests.bill_files.conftest import lines

ACME = "111111111111"
UTILIZATION = (
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
)


def _effective(path: Path, out_dir: Path) -> dict[str, tuple[Decimal, Decimal, str | None]]:
    got = lines(normalize_bill(path, source_file_id="x", out_dir=out_dir))
    return {
        g["ProviderLineType"]: (g["BilledCost"], g["EffectiveCost"], g["CommitmentOwnerAccountId"])
        for g in got
        if g["CommitmentDiscountId"] is not None
    }


@pytest.mark.parametrize("fmt", ["aws-cur-legacy", "aws-cur2"])
@pytest.mark.parametrize("without", [(), UTILIZATION], ids=["full", "no-utilization"])
def test_covered_lines_cost_what_aws_states_on_them(
    tmp_path: Path, out_dir: Path, fmt: str, without: tuple[str, ...]
) -> None:
    commitments = [Commitment("ri", PAYER, ACME, "r"), Commitment("sp", PAYER, ACME, "s")]
    path = tmp_path / "cur.csv"
    path.write_bytes(bill(fmt, commitments, [], without=without))
    got = _effective(path, out_dir)
    D = Decimal
    # The covered hours cost the RI's amortized rate and the plan's rate, whatever else the
    # report carries; the negation is already in the covered line.
    assert got["DiscountedUsage"] == (D(0), D("6.00"), PAYER)
    assert got["SavingsPlanCoveredUsage"] == (D("10.00"), D("7.00"), PAYER)
    assert got["SavingsPlanNegation"] == (D("-10.00"), D(0), PAYER)
    # The fees: their unused part when the report says it, else the month's fee.
    fee = {(): (D("1.00"), D("1.00")), UTILIZATION: (D("7.00"), D("8.00"))}[without]
    assert (got["RIFee"][1], got["SavingsPlanRecurringFee"][1]) == fee
