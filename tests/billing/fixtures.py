"""Small normalized bills and reference data for billing tests, written with DuckDB."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from chalicelib.bill_files.schema import COLUMN_NAMES, NORMALIZED_COLUMNS, duckdb_column_list
from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.reference import (
    Account,
    Customer,
    Plan,
    PriceList,
    Settings,
    Subscription,
)

PERIOD = "2026-10"


def line(**overrides: Any) -> dict[str, Any]:
    """One normalized line: an AWS EC2 usage line of account 111111111111 in October 2026."""
    row: dict[str, Any] = {name: None for name in COLUMN_NAMES}
    row.update(
        ProviderName="aws",
        BillingAccountId="999999999999",
        SubAccountId="111111111111",
        BillingPeriodStart="2026-10-01 00:00:00",
        ChargePeriodStart="2026-10-05 00:00:00",
        ChargePeriodEnd="2026-10-05 01:00:00",
        ChargeCategory="Usage",
        ServiceName="Amazon Elastic Compute Cloud",
        ServiceCode="AmazonEC2",
        SkuId="SKU1",
        SkuMeter="BoxUsage:t3.micro",
        Operation="RunInstances",
        RegionId="us-east-1",
        ResourceId="i-1",
        PricingQuantity="1",
        PricingUnit="Hrs",
        BilledCost="0",
        EffectiveCost=None,
        ListCost=None,
        BillingCurrency="USD",
        ProviderLineType="Usage",
        SourceFileId="bill-1",
    )
    row.update(overrides)
    # Unless a test says otherwise, effective and list cost equal the billed cost.
    for column in ("EffectiveCost", "ListCost"):
        if row[column] is None and column not in overrides:
            row[column] = row["BilledCost"]
    return row


def write_lines(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write rows as a normalized Parquet file with the exact column types of schema.py."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE normalized ({duckdb_column_list()})")
    placeholders = ", ".join("?" for _ in NORMALIZED_COLUMNS)
    data = [[None if r[c] is None else str(r[c]) for c in COLUMN_NAMES] for r in rows]
    if data:
        con.executemany(f"INSERT INTO normalized VALUES ({placeholders})", data)
    con.execute(f"COPY normalized TO '{path}' (FORMAT parquet)")
    con.close()
    return path


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "seller": {"name": "Example Cloud GmbH", "country": "DE", "tax_id": "DE136695976"},
        "tax": {"enabled": False, "rates": []},
        "default_price_list_id": None,
    }
    base.update(overrides)
    return Settings.from_dict(base)


def customer(**overrides: Any) -> Customer:
    base: dict[str, Any] = {"id": "acme", "name": "Acme GmbH", "currency": "USD"}
    base.update(overrides)
    return Customer.from_dict(base)


def account(account_id: str = "111111111111", **overrides: Any) -> Account:
    base: dict[str, Any] = {"customer_id": "acme", "provider": "aws", "account_id": account_id}
    base.update(overrides)
    return Account.from_dict(base)


def plan(**overrides: Any) -> Plan:
    base: dict[str, Any] = {"id": "growth", "name": "Growth", "price": "500.00", "currency": "USD"}
    base.update(overrides)
    return Plan.from_dict(base)


def subscription(**overrides: Any) -> Subscription:
    base: dict[str, Any] = {
        "customer_id": "acme",
        "id": "acme-growth",
        "plan_id": "growth",
        "quantity": 1,
        "start_date": "2026-10-01",
    }
    base.update(overrides)
    return Subscription.from_dict(base)


def price_list(rules: list[dict[str, Any]] | None = None, **overrides: Any) -> PriceList:
    base: dict[str, Any] = {"id": "standard", "name": "Standard", "rules": rules or []}
    base.update(overrides)
    return PriceList.from_dict(base)


def context(
    *,
    customer_: Customer | None = None,
    accounts: Iterable[Account] | None = None,
    subscriptions: Iterable[Subscription] = (),
    plans: Iterable[Plan] = (),
    price_lists: Iterable[PriceList] = (),
    settings_: Settings | None = None,
    period: str = PERIOD,
    rollover_balance: Decimal = Decimal(0),
    commitment_owners: Mapping[str, str] | None = None,
) -> CustomerPeriod:
    return CustomerPeriod(
        period=period,
        customer=customer_ or customer(),
        accounts=tuple(accounts if accounts is not None else [account()]),
        subscriptions=tuple(subscriptions),
        plans={p.id: p for p in plans},
        price_lists={p.id: p for p in price_lists},
        settings=settings_ or settings(),
        rollover_balance=rollover_balance,
        commitment_owners=dict(commitment_owners or {}),
    )


# Text cells a spreadsheet would run as formulas (OWASP "CSV injection"), each with the cell the
# CSV must hold instead: a leading apostrophe, the rest unchanged.
FORMULA_CELLS = (
    '=HYPERLINK("http://x.example","click")',
    "+1+2",
    "-2+3",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "\n=1+2",
    " =1+2",
    "  +cmd",
    "\r\n-2+3",
    "\t @SUM(A1)",
    "\u3000=1+2",  # ideographic space
    "＝1+2",
    "＋cmd",
    "－2+3",
    "＠SUM(A1)",
    " ＝1+2",
    "-1.5 ",
    " -1.5",
    "-",
)
# Text cells that stay as they are: plain words, a formula character further in, numbers, and a
# separator or quote inside the cell (the cell is quoted, so neither starts a new cell).
HARMLESS_CELLS = ("a=b", "x;=cmd()", 'say "=1"', "a,=b", "-1.5", "+3", "1e5", "")
