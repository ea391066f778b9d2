"""Invariants of the whole pipeline over generated bills and reference data (Hypothesis)."""

from __future__ import annotations

import csv
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.document import Invoice
from chalicelib.billing.invoice import compose_invoice, compute_tax
from chalicelib.billing.invoice_csv import write_invoice_csv
from chalicelib.billing.money import minor_unit, round_money
from chalicelib.billing.pricing import price_usage
from chalicelib.billing.reconcile import bill_ledger, reconcile
from tests.billing import fixtures as fx

D = Decimal
ACCOUNTS = ("111111111111", "222222222222", "999999999999")  # the last one nobody's
SERVICES = (("Amazon Elastic Compute Cloud", "AmazonEC2"), ("Amazon S3", "AmazonS3"))

money = st.decimals(min_value=D("-300"), max_value=D("500"), places=10, allow_nan=False)
percent = st.decimals(min_value=D(0), max_value=D(60), places=3, allow_nan=False)


@st.composite
def bill_lines(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for _i in range(draw(st.integers(0, 12))):
        name, code = draw(st.sampled_from(SERVICES))
        category = draw(
            st.sampled_from(("Usage", "Usage", "Purchase", "Tax", "Credit", "Adjustment"))
        )
        kind = draw(
            st.sampled_from(
                ("Usage", "DiscountedUsage", "SavingsPlanNegation", "EdpDiscount", "RIFee")
            )
        )
        owner = draw(st.sampled_from((None, "111111111111", "999999999999")))
        rows.append(
            fx.line(
                SubAccountId=draw(st.sampled_from(ACCOUNTS)),
                ServiceName=name,
                ServiceCode=code,
                ResourceId=draw(st.sampled_from(("r1", "r2", "=r3"))),
                ChargeCategory=category,
                ProviderLineType=kind,
                CommitmentDiscountId=f"c-{owner}" if owner else None,
                CommitmentOwnerAccountId=owner,
                PricingQuantity=draw(st.decimals(min_value=0, max_value=100, places=4)),
                BilledCost=draw(money),
                EffectiveCost=draw(money),
                ListCost=draw(money),
                BillingCurrency=draw(st.sampled_from(("USD", "USD", "EUR"))),
                ChargePeriodStart=f"2026-10-{draw(st.integers(1, 31)):02d} 00:00:00",
            )
        )
    return rows


@st.composite
def contexts(draw: st.DrawFn) -> CustomerPeriod:
    currency = draw(st.sampled_from(("USD", "JPY", "BHD", "EUR")))
    rates = [
        {"period": "2026-10", "from": source, "to": currency, "rate": rate}
        for source, rate in (("USD", "0.9137"), ("EUR", "1.0833"))
        if source != currency
    ]
    if currency == "JPY":
        rates = [
            {"period": "2026-10", "from": s, "to": "JPY", "rate": r}
            for s, r in (("USD", "151.37"), ("EUR", "163.9"))
        ]
    elif currency == "BHD":
        rates = [
            {"period": "2026-10", "from": s, "to": "BHD", "rate": r}
            for s, r in (("USD", "0.376"), ("EUR", "0.4073"))
        ]
    rules = [
        {
            "match": {
                "service": draw(st.sampled_from(("AmazonS3", "amazon elastic compute cloud")))
            },
            "type": draw(st.sampled_from(("markup", "discount"))),
            "percent": str(draw(percent)),
            "basis": draw(st.sampled_from(("billed", "list"))),
        },
        {
            "match": {"account": "222222222222", "charge_category": "usage"},
            "type": "fixed_rate",
            "unit_price": str(draw(st.decimals(0, 2, places=4))),
        },
    ]
    plans = [
        fx.plan(
            price=str(draw(st.decimals(0, 1000, places=2))),
            included_credit=str(draw(st.decimals(0, 300, places=2))),
            credit_providers=draw(st.sampled_from((None, ["aws"], ["gcp"]))),
            unused_credit_policy=draw(st.sampled_from(("forfeit", "credit", "rollover"))),
            overage_policy=draw(st.sampled_from(("bill", "waive"))),
        )
    ]
    items = [
        {
            "id": "x",
            "description": "Custom",
            "type": draw(st.sampled_from(("fee", "credit"))),
            "percent": str(draw(percent)),
            "applies_to": "all",
            "recurring": True,
        }
    ]
    return fx.context(
        customer_=fx.customer(
            currency=currency,
            price_list_id="standard",
            discount={
                "percent": str(draw(percent)),
                "applies_to": draw(st.sampled_from(("subscriptions", "cloud", "all"))),
            },
            custom_items=items,
            tax_profile={"country": "DE"},
        ),
        accounts=[fx.account(), fx.account("222222222222")],
        plans=plans,
        subscriptions=[fx.subscription(start_date=f"2026-10-{draw(st.integers(1, 31)):02d}")],
        price_lists=[
            fx.price_list(rules, default={"type": "markup", "percent": str(draw(percent))})
        ],
        settings_=fx.settings(
            fx_rates=rates,
            tax={"enabled": True, "rates": [{"country": "DE", "rate": "19", "name": "VAT"}]},
            pass_through={"provider_credits": draw(st.booleans())},
        ),
        rollover_balance=draw(st.decimals(0, 50, places=minor_unit(currency))),
    )


def _csv_sums(path: Path) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            sums[(row["provider"], row["service"])] += D(row["price"])
    return sums


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=bill_lines(), cp=contexts())
def test_invariants(rows: list[dict[str, Any]], cp: CustomerPeriod) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bill = fx.write_lines(Path(tmp) / "bill.parquet", rows)
        out = Path(tmp) / "priced.parquet"
        summary = price_usage(cp, [bill], out)
        invoice = compute_tax(cp, compose_invoice(cp, out))
        currency = invoice.currency

        # Every amount is rounded to the minor unit; total = Σ lines + Σ taxes.
        d = invoice.to_dict()
        amounts = [D(line["amount"]) for line in d["lines"]]
        taxes = [D(tax["amount"]) for tax in d["taxes"]]
        assert all(round_money(a, currency) == a for a in amounts + taxes)
        assert D(d["subtotal"]) == sum(amounts, D(0))
        assert D(d["total"]) == sum(amounts, D(0)) + sum(taxes, D(0))

        # Pre-purchased credit: nothing negative, never more applied than there is.
        f = invoice.figures
        assert f.overage >= 0 and f.applied >= 0 and f.unused_credit >= 0
        assert f.applied <= f.credit
        assert f.overage_waived <= f.overage

        # The CSV adds up to the invoice's cloud lines.
        csv_path = Path(tmp) / "invoice.csv"
        write_invoice_csv(invoice, out, csv_path)
        sums = _csv_sums(csv_path)
        cloud = {
            (ln.provider, ln.service): ln.amount for ln in invoice.lines if ln.kind == "cloud_usage"
        }
        assert {k: round_money(v, currency) for k, v in sums.items()} == cloud

        # Every cent of the bill is billed, retained or unassigned.
        ledger = bill_ledger(cp.period, cp.accounts, [bill])
        assert reconcile(ledger, [summary]).balanced

        # Composing twice gives the same invoice; the JSON shape round-trips.
        assert compute_tax(cp, compose_invoice(cp, out)) == invoice
        assert Invoice.from_dict(d) == invoice
