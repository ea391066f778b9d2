"""The billing report and the reconciliation of every cent of the bills."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.invoice import compose_invoice
from chalicelib.billing.pricing import price_usage_batch
from chalicelib.billing.reconcile import CurrencyReconciliation, bill_ledger, reconcile
from chalicelib.billing.report import ReportInput, billing_report, report_csv, unassigned_check
from tests.billing.fixtures import (
    FORMULA_CELLS,
    HARMLESS_CELLS,
    account,
    context,
    customer,
    line,
    plan,
    subscription,
    write_lines,
)

D = Decimal
PAYER_RI = "arn:aws:ec2:us-east-1:999999999999:reserved-instances/x"
ROWS = [
    line(BilledCost="100.00", EffectiveCost="80.00"),  # acme
    line(ResourceId="tax", ChargeCategory="Tax", BilledCost="19.00"),  # acme, retained
    line(
        ResourceId="edp",
        ChargeCategory="Credit",
        ProviderLineType="EdpDiscount",
        BilledCost="-5.00",
    ),  # acme, retained
    line(
        ResourceId="fee",
        ChargeCategory="Purchase",
        ProviderLineType="RIFee",
        CommitmentDiscountId=PAYER_RI,
        CommitmentOwnerAccountId="999999999999",
        BilledCost="7.30",
    ),  # acme's account, the payer's RI fee: retained
    line(SubAccountId="222222222222", BilledCost="50.00", EffectiveCost="45.00"),  # globex
    line(SubAccountId="555555555555", BilledCost="12.34", EffectiveCost="10.00"),  # nobody
    line(
        SubAccountId="666666666666", BillingCurrency="EUR", BilledCost="3.21", EffectiveCost="3.00"
    ),  # nobody, in EUR
]


def contexts() -> tuple[CustomerPeriod, CustomerPeriod]:
    acme = context(plans=[plan(included_credit="40")], subscriptions=[subscription()])
    globex = context(
        customer_=customer(id="globex", name="Globex"),
        accounts=[account("222222222222", customer_id="globex")],
    )
    return acme, globex


def test_every_cent_is_billed_retained_or_unassigned(tmp_path: Path) -> None:
    bill = write_lines(tmp_path / "bill.parquet", ROWS)
    cps = contexts()
    priced = price_usage_batch(cps, [bill], tmp_path / "priced.parquet")
    accounts = [a for cp in cps for a in cp.accounts]
    ledger = bill_ledger("2026-10", accounts, [bill])
    assert ledger.totals == {"USD": D("183.64"), "EUR": D("3.21")}
    result = reconcile(ledger, list(priced.values()))
    assert result.balanced
    usd = next(c for c in result.currencies if c.currency == "USD")
    # 183.64 = billed 150 + retained (19 − 5 + 7.30) + unassigned 12.34
    assert (usd.billed, usd.unassigned) == (D(150), D("12.34"))
    assert usd.retained == {
        "provider_tax": D(19),
        "provider_discounts": D(-5),
        "commitment": D("7.30"),
    }
    assert [(a.account_id, a.cost) for a in ledger.unassigned] == [
        ("555555555555", D(10)),
        ("666666666666", D(3)),
    ]


def test_reconciliation_catches_a_customer_left_out(tmp_path: Path) -> None:
    bill = write_lines(tmp_path / "bill.parquet", ROWS)
    acme, globex = contexts()
    priced = price_usage_batch([acme], [bill], tmp_path / "priced.parquet")
    ledger = bill_ledger("2026-10", [*acme.accounts, *globex.accounts], [bill])
    result = reconcile(ledger, list(priced.values()))
    assert result.balanced and result.unpriced_customers == ("globex",)
    usd = next(c for c in result.currencies if c.currency == "USD")
    assert usd.unpriced == D(50)


def test_reconciliation_catches_an_account_linked_twice(tmp_path: Path) -> None:
    bill = write_lines(tmp_path / "bill.parquet", ROWS)
    acme, _ = contexts()
    twin = context(customer_=customer(id="twin"), accounts=[account(customer_id="twin")])
    priced = price_usage_batch([acme, twin], [bill], tmp_path / "priced.parquet")
    ledger = bill_ledger("2026-10", [*acme.accounts, *twin.accounts], [bill])
    result = reconcile(ledger, list(priced.values()))
    assert not result.balanced
    usd = next(c for c in result.currencies if c.currency == "USD")
    # acme's 121.30 is counted twice
    assert usd.difference == D("-121.30")


def test_reconciliation_is_never_balanced_over_a_line_counted_twice(tmp_path: Path) -> None:
    """The same bill in two current files balances to the cent (each line is billed as often as
    it is in the bills), yet counts every line twice: the line keys say so."""
    keyed = [{**row, "LineKey": str(1000 + n)} for n, row in enumerate(ROWS)]
    first = write_lines(tmp_path / "first.parquet", keyed)
    again = write_lines(
        tmp_path / "again.parquet", [{**row, "SourceFileId": "bill-2"} for row in keyed]
    )
    cps = contexts()
    priced = price_usage_batch(cps, [first, again], tmp_path / "priced.parquet")
    accounts = [a for cp in cps for a in cp.accounts]
    result = reconcile(bill_ledger("2026-10", accounts, [first, again]), list(priced.values()))
    assert all(c.difference == 0 for c in result.currencies)
    assert result.duplicated_lines == 2 * len(ROWS)
    assert result.duplicated_files == (("bill-1", "bill-2"),)
    assert not result.balanced
    assert result.to_dict()["duplicated_lines"] == 14

    # One file of the two: nothing counted twice, balanced.
    priced = price_usage_batch(cps, [first], tmp_path / "priced-once.parquet")
    once = reconcile(bill_ledger("2026-10", accounts, [first]), list(priced.values()))
    assert once.balanced and once.duplicated_lines == 0


def test_billing_report(tmp_path: Path) -> None:
    bill = write_lines(tmp_path / "bill.parquet", ROWS)
    acme, globex = contexts()
    out = tmp_path / "priced.parquet"
    priced = price_usage_batch([acme, globex], [bill], out)
    invoice = compose_invoice(acme, out)
    ledger = bill_ledger("2026-10", [*acme.accounts, *globex.accounts], [bill])
    report = billing_report(
        "2026-10",
        [ReportInput("globex", "Globex", None), ReportInput("acme", "Acme GmbH", invoice)],
        ledger.unassigned,
        reconcile(ledger, list(priced.values())),
    )
    acme_row, globex_row = report["rows"]
    # price = 500 subscription + 100 usage − 40 credit = 560; cost 80; margin 480 = 85.71 %
    assert {
        k: acme_row[k]
        for k in (
            "cost",
            "price",
            "margin",
            "margin_percent",
            "subscriptions",
            "credit",
            "applied",
            "overage",
        )
    } == {
        "cost": "80.00",
        "price": "560.00",
        "margin": "480.00",
        "margin_percent": "85.71",
        "subscriptions": "500.00",
        "credit": "40.00",
        "applied": "40.00",
        "overage": "60.00",
    }
    assert acme_row["invoice"]["total"] == "560.00"
    assert globex_row["invoice"] is None and globex_row["price"] is None
    totals = {entry["currency"]: entry for entry in report["totals"]}
    assert [entry["currency"] for entry in report["totals"]] == ["EUR", "USD"]
    assert totals["USD"]["price"] == "560.00"
    assert totals["EUR"]["unassigned_cost"] == "3"
    assert totals["EUR"]["unassigned_cost_display"] == "3.00"
    assert report["unassigned"][0] == {
        "provider": "aws",
        "account_id": "555555555555",
        "currency": "USD",
        "cost": "10",
        "billed_cost": "12.34",
        "cost_display": "10.00",
        "billed_cost_display": "12.34",
    }
    assert report["reconciliation"]["balanced"] is True

    table = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert [r["customer_id"] for r in table] == ["acme", "globex"]
    assert table[0]["margin"] == "480.00" and table[1]["price"] == ""


def test_a_payer_accounts_own_lines_are_the_resellers_not_unassigned(tmp_path: Path) -> None:
    """The payer's own lines (its commitment fees, support) are the reseller's, as the report
    lists them apart: the reconciliation's unassigned figure is the sum of the unassigned list
    (in BilledCost), not of every account nobody owns."""
    payer_fee = line(
        SubAccountId="999999999999",
        ResourceId="support",
        ChargeCategory="Purchase",
        BilledCost="20.00",
        EffectiveCost="15.00",
    )
    bill = write_lines(tmp_path / "bill.parquet", [*ROWS, payer_fee])
    cps = contexts()
    priced = price_usage_batch(cps, [bill], tmp_path / "priced.parquet")
    ledger = bill_ledger("2026-10", [a for cp in cps for a in cp.accounts], [bill])
    assert [(a.account_id, a.payer) for a in ledger.unassigned] == [
        ("555555555555", False),
        ("666666666666", False),
        ("999999999999", True),
    ]
    result = reconcile(ledger, list(priced.values()))
    assert result.balanced
    usd = next(c for c in result.currencies if c.currency == "USD")
    # 203.64 = billed 150 + retained 21.30 + the payer's own 20 + unassigned 12.34
    assert (usd.unassigned, usd.reseller_accounts) == (D("12.34"), D(20))
    stored = result.to_dict()
    assert stored["currencies"][1]["reseller_accounts"] == "20"
    assert stored["currencies"][1]["display"]["unassigned"] == "12.34"

    assert [a["account_id"] for a in stored["unassigned_accounts"]] == [
        "555555555555",
        "666666666666",
    ]

    listed = [a for a in ledger.unassigned if not a.payer]
    assert unassigned_check(listed, stored) == [
        {
            "currency": currency,
            "listed": amount,
            "reconciled": amount,
            "listed_display": amount,
            "reconciled_display": amount,
            "agrees": True,
            "accounts": [],
        }
        for currency, amount in (("EUR", "3.21"), ("USD", "12.34"))
    ]
    assert unassigned_check(listed, None) == []

    # 555… is umbrella's from the 10th: the lines of the days before are nobody's. A list of
    # the accounts nobody owns at all leaves it out; the check says where the figure comes from.
    [_eur, usd_check] = unassigned_check(listed[1:], stored, {("aws", "555555555555"): "umbrella"})
    assert (usd_check["listed"], usd_check["reconciled"], usd_check["agrees"]) == (
        "0",
        "12.34",
        False,
    )
    assert usd_check["accounts"] == [
        {
            "provider": "aws",
            "account_id": "555555555555",
            "listed": "0",
            "reconciled": "12.34",
            "listed_display": "0.00",
            "reconciled_display": "12.34",
            "reason": "owned_part_of_period",
            "customer_id": "umbrella",
        }
    ]
    # Without an owner now, it was assigned (or its bills came) after the run.
    [_eur, usd_check] = unassigned_check(listed[1:], stored)
    assert usd_check["accounts"][0]["reason"] == "changed_since_run"


def test_display_figures_are_rounded_half_up_to_the_currency() -> None:
    reconciliation = CurrencyReconciliation(
        currency="JPY", bill_total=D("1002.5"), billed=D("1000"), unassigned=D("2.5")
    ).to_dict()
    assert reconciliation["display"]["bill_total"] == "1003"
    assert reconciliation["display"]["unassigned"] == "3"
    assert reconciliation["bill_total"] == "1002.5"
    usd = CurrencyReconciliation(currency="USD", bill_total=D("2.665"), billed=D("2.665"))
    assert usd.to_dict()["display"]["billed"] == "2.67"


def test_report_csv_protects_names() -> None:
    report = billing_report("2026-10", [ReportInput("x", "=cmd()", None)], [])
    assert next(iter(csv.DictReader(io.StringIO(report_csv(report)))))["name"] == "'=cmd()"


def test_a_corpus_of_formula_cells_through_the_report_csv() -> None:
    cells = (*FORMULA_CELLS, *HARMLESS_CELLS)
    report = billing_report(
        "2026-10", [ReportInput(f"c{i:02}", cell, None) for i, cell in enumerate(cells)], []
    )
    text = report_csv(report)
    assert re.fullmatch(r'(?:"(?:[^"]|"")*"(?:,|\r\n))*', text), text[:300]
    names = [row["name"] for row in csv.DictReader(io.StringIO(text))]
    assert names == [("'" + cell if cell in FORMULA_CELLS else cell) for cell in cells]


def test_report_csv_keeps_negative_amounts_numbers(tmp_path: Path) -> None:
    bill = write_lines(tmp_path / "bill.parquet", [line(BilledCost="-12.50")])
    cp = context()
    out = tmp_path / "priced.parquet"
    price_usage_batch([cp], [bill], out)
    report = billing_report("2026-10", [ReportInput("acme", "-Acme", compose_invoice(cp, out))], [])
    [row] = csv.DictReader(io.StringIO(report_csv(report)))
    assert (row["name"], row["cost"]) == ("'-Acme", "-12.50")
    assert row["price"].startswith("-") and D(row["price"]) < 0
