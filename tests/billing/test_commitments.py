"""Golden cases of commitment savings (docs/billing.md, "Commitments"): who keeps the savings of
a reserved instance or savings plan, and what the reseller's cost and savings retained are.

Reserved instance or savings plan × bought by the payer / by the customer's own account /
bought by the payer and assigned to the customer by the operator × legacy CUR, CUR 2.0 and
FOCUS 1.0. Each bill is raw text in its layout (tests/bill_files/commitment_bills.py tells the
story); it goes through the real parser, the pricing, the invoice and the billing report. The
customer, acme, owns account 111111111111 and has no price list, so its price is the basis.

Reserved instance (one covered hour: on demand 10.00, amortized 6.00, billed 0.00; the RI's
fee 7.00 in the buyer's account, 1.00 of it unused), plus 20.00 of ordinary usage:

==============  ============================  ===========================  ==================
bought by       price (basis)                 cost (EffectiveCost)          savings retained
==============  ============================  ===========================  ==================
payer           10.00 on demand + 20.00       6.00 + 20.00 = 26.00         10.00 − 6.00
                = 30.00                                                     = 4.00
acme's account  0.00 + 7.00 fee + 20.00       6.00 + 1.00 unused + 20.00   0.00
                = 27.00                       = 27.00
payer, assigned 0.00 + 20.00 = 20.00          6.00 + 20.00 = 26.00         0.00
to acme
==============  ============================  ===========================  ==================

Savings plan (one covered hour: on demand 10.00, at the plan's rate 7.00; the plan's fee 8.00
in the buyer's account, 1.00 of it unused; CUR bills the hour at 10.00 and negates it with
−10.00, FOCUS bills it at 0.00), plus 20.00 of ordinary usage:

==============  ============================  ===========================  ==================
bought by       price (basis)                 cost (EffectiveCost)          savings retained
==============  ============================  ===========================  ==================
payer           10.00 on demand + 20.00       7.00 + 20.00 = 27.00         10.00 − 7.00
                = 30.00 (the negation is                                    = 3.00
                the reseller's)
acme's account  CUR: 10.00 − 10.00 + 8.00     7.00 + 1.00 unused + 20.00   0.00
                + 20.00; FOCUS: 0.00 + 8.00   = 28.00
                + 20.00; = 28.00
payer, assigned CUR: 10.00 − 10.00 + 20.00;   7.00 + 20.00 = 27.00         0.00
to acme         FOCUS: 0.00 + 20.00; = 20.00
==============  ============================  ===========================  ==================

A commitment the payer bought and the operator assigned to acme gives acme its discount; its
fee stays on the payer's account, with the reseller (the reseller charges it, if at all, as a
custom item). Margin = price − cost.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib.bill_files.normalize import normalize_bill
from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.invoice import compose_invoice, compute_tax
from chalicelib.billing.pricing import price_usage
from chalicelib.billing.reconcile import bill_ledger, reconcile
from chalicelib.billing.report import ReportInput, billing_report
from tests.bill_files.commitment_bills import FORMATS, PAYER, Commitment, bill
from tests.billing.fixtures import account, context, customer

D = Decimal
ACME = "111111111111"
GLOBEX = "222222222222"

# (kind, bought by, assigned by the operator) -> report figures (price, cost, savings retained)
GOLDEN: dict[tuple[str, str, bool], tuple[str, str, str]] = {
    ("ri", "payer", False): ("30.00", "26.00", "4.00"),
    ("ri", "own", False): ("27.00", "27.00", "0.00"),
    ("ri", "payer", True): ("20.00", "26.00", "0.00"),
    ("sp", "payer", False): ("30.00", "27.00", "3.00"),
    ("sp", "own", False): ("28.00", "28.00", "0.00"),
    ("sp", "payer", True): ("20.00", "27.00", "0.00"),
}


def _run(
    tmp_path: Path,
    fmt: str,
    commitments: list[Commitment],
    cp: CustomerPeriod,
    *,
    without: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Parse the bill, price it, compose the invoice and the report row; reconcile it."""
    suffix = "focus.csv" if fmt.startswith("focus") else "cur.csv"
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / suffix
    source.write_bytes(bill(fmt, commitments, [ACME], without=without))
    normalized = normalize_bill(source, source_file_id="bill", out_dir=tmp_path / "normalized")
    assert normalized.format == fmt
    parts = [p.path for p in normalized.partitions]
    priced = price_usage(cp, parts, tmp_path / "priced.parquet")
    invoice = compute_tax(cp, compose_invoice(cp, tmp_path / "priced.parquet"))
    report = billing_report(
        cp.period, [ReportInput(cp.customer.id, cp.customer.name, invoice)], unassigned=[]
    )
    reconciliation = reconcile(bill_ledger(cp.period, list(cp.accounts), parts), [priced])
    assert reconciliation.balanced, reconciliation.to_dict()
    [row] = report["rows"]
    return {**row, "subtotal": invoice.subtotal, "priced": priced}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("kind", "bought_by", "assigned"), list(GOLDEN))
def test_golden_cases(tmp_path: Path, fmt: str, kind: str, bought_by: str, assigned: bool) -> None:
    buyer = PAYER if bought_by == "payer" else ACME
    commitment = Commitment(kind, buyer=buyer, user=ACME)
    owners = {commitment.id: "acme"} if assigned else {}
    row = _run(tmp_path, fmt, [commitment], context(commitment_owners=owners))
    price, cost, savings = GOLDEN[(kind, bought_by, assigned)]
    assert (row["price"], row["cost"], row["savings_retained"]) == (price, cost, savings)
    assert row["subtotal"] == D(price)  # the invoice: no subscription, no price list
    assert D(row["margin"]) == D(price) - D(cost)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["ri", "sp"])
def test_another_customers_commitment_is_billed_on_demand(
    tmp_path: Path, fmt: str, kind: str
) -> None:
    """Globex's own commitment covering acme's hour (AWS shares commitments across the
    organization) is, for acme, like the payer's: price 30.00, cost 26.00 / 27.00, savings
    retained 4.00 / 3.00. The fee lines are in globex's account, not acme's."""
    commitment = Commitment(kind, buyer=GLOBEX, user=ACME)
    row = _run(tmp_path, fmt, [commitment], context())
    expected = GOLDEN[(kind, "payer", False)]
    assert (row["price"], row["cost"], row["savings_retained"]) == expected


@pytest.mark.parametrize("kind", ["ri", "sp"])
def test_focus_commitment_without_a_buyer_is_the_assignees(tmp_path: Path, kind: str) -> None:
    """An id that names no buyer (an Azure reservation GUID, a GCP commitment), its fee and
    unused lines in acme's account.

    Nobody assigned: the reseller's. Acme pays on demand, its hour is re-based: price 10.00 +
    20.00 = 30.00; the fee and unused lines are the reseller's; cost 6.00 (RI) / 7.00 (SP) +
    20.00; savings retained 4.00 / 3.00 — the same as the payer's commitment.
    Assigned to acme: acme's own, as if its account had bought it: price 0.00 + 0.00 + 7.00 /
    8.00 fee + 20.00 = 27.00 / 28.00, cost 6.00 / 7.00 + 1.00 unused + 20.00 = 27.00 / 28.00.
    """
    commitment = Commitment(kind, buyer="", user=ACME)
    nobody = _run(tmp_path / "nobody", "focus-1.0", [commitment], context())
    assert (nobody["price"], nobody["cost"], nobody["savings_retained"]) == GOLDEN[
        (kind, "payer", False)
    ]
    retained = nobody["priced"].balances[0].retained
    assert retained == {"commitment": D("7.00") if kind == "ri" else D("8.00")}
    owners = {commitment.id.upper(): "acme"}  # the operator's spelling of the id: any case
    assigned = _run(
        tmp_path / "assigned", "focus-1.0", [commitment], context(commitment_owners=owners)
    )
    assert (assigned["price"], assigned["cost"], assigned["savings_retained"]) == GOLDEN[
        (kind, "own", False)
    ]


def test_a_commitment_assigned_to_another_customer_is_theirs(tmp_path: Path) -> None:
    """Acme's own savings plan, assigned by the operator to globex: the assignment wins over the
    ARN. For acme it is another owner's: price 10.00 + 20.00 = 30.00 (the negation −10.00 and
    the fee 8.00 are not acme's), cost 7.00 + 20.00 = 27.00, savings retained 3.00."""
    commitment = Commitment("sp", buyer=ACME, user=ACME)
    cp = context(
        accounts=[account(ACME)],
        customer_=customer(),
        commitment_owners={commitment.id: "globex"},
    )
    for fmt in FORMATS:
        row = _run(tmp_path / fmt, fmt, [commitment], cp)
        assert (row["price"], row["cost"], row["savings_retained"]) == ("30.00", "27.00", "3.00")


UTILIZATION = {
    "ri": (
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation/UnusedRecurringFee",
    ),
    "sp": ("savingsPlan/TotalCommitmentToDate", "savingsPlan/UsedCommitment"),
}


@pytest.mark.parametrize("fmt", ["aws-cur-legacy", "aws-cur2"])
@pytest.mark.parametrize("kind", ["ri", "sp"])
def test_payer_commitment_in_a_report_without_the_fee_columns(
    tmp_path: Path, fmt: str, kind: str
) -> None:
    """A report that states each covered line's effective cost but not the fee lines' unused
    part: the customer's figures are those of the full report. The covered line's own
    ``reservation/EffectiveCost`` / ``savingsPlan/SavingsPlanEffectiveCost`` is its cost
    (6.00 / 7.00), not its UnblendedCost (0.00 / the 10.00 on demand): price 30.00, cost
    26.00 / 27.00, savings retained 4.00 / 3.00."""
    commitment = Commitment(kind, buyer=PAYER, user=ACME)
    row = _run(tmp_path, fmt, [commitment], context(), without=UTILIZATION[kind])
    assert (row["price"], row["cost"], row["savings_retained"]) == GOLDEN[(kind, "payer", False)]


@pytest.mark.parametrize("kind", ["ri", "sp"])
def test_own_commitment_in_a_report_without_the_fee_columns(tmp_path: Path, kind: str) -> None:
    """Without the unused-part columns the fee counts at its billed amount: acme's own RI costs
    6.00 + 7.00 + 20.00 = 33.00 (price 27.00), its own savings plan 7.00 + 8.00 + 20.00 = 35.00
    (price 28.00) — an upper bound on the buyer's cost, never a lower one."""
    commitment = Commitment(kind, buyer=ACME, user=ACME)
    row = _run(tmp_path, "aws-cur-legacy", [commitment], context(), without=UTILIZATION[kind])
    expected = {"ri": ("27.00", "33.00", "0.00"), "sp": ("28.00", "35.00", "0.00")}[kind]
    assert (row["price"], row["cost"], row["savings_retained"]) == expected


# --- the operator's assignments, kept in the settings --------------------------------------------


def test_assignments_in_the_settings() -> None:
    from chalicelib.billing.reference import Settings

    ri = "arn:aws:ec2:us-east-1:000011112222:reserved-instances/r1"
    doc = {
        "commitment_assignments": [
            {"commitment_id": ri, "customer_id": "acme"},
            {"commitment_id": " 8f3c-guid ", "customer_id": "globex"},
        ]
    }
    settings = Settings.from_dict(doc)
    assert settings.commitment_owners == {ri: "acme", "8f3c-guid": "globex"}
    assert Settings.from_dict(settings.to_dict()) == settings
    assert Settings.from_dict({}).commitment_owners == {}


def _assign(commitment_id: str, customer_id: str = "acme") -> dict[str, str]:
    return {"commitment_id": commitment_id, "customer_id": customer_id}


@pytest.mark.parametrize(
    ("assignments", "field"),
    [
        ([_assign("a"), _assign("A", "globex")], "commitment_assignments[1].commitment_id"),
        ([_assign("  ")], "commitment_assignments[0].commitment_id"),
        ([{"commitment_id": "a"}], "commitment_assignments[0].customer_id"),
        (["a"], "commitment_assignments[0]"),
    ],
)
def test_bad_assignments_are_refused(assignments: list[Any], field: str) -> None:
    from chalicelib.billing.reference import Settings
    from chalicelib.errors import InvalidInput

    with pytest.raises(InvalidInput) as error:
        Settings.from_dict({"commitment_assignments": assignments})
    assert error.value.field == field
