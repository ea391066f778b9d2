"""Every cent of the period's bills accounted for: billed to a customer, retained by the reseller,
on the payer accounts' own lines, or unassigned (other accounts in the bill that no customer owns).

:func:`bill_ledger` scans the normalized lines once per question (bill totals, what each customer
owns, what nobody owns); :func:`reconcile` checks it against the customers' priced usage. The
identity, per bill currency and in BilledCost, exact to the last digit:

    bill total = Σ billed to customers + Σ retained by the reseller (by reason)
               + Σ the payer accounts' own lines + Σ unassigned

A payer account's own lines (its commitment fees, support: the account is its own billing
account) are the reseller's, as the billing report lists them apart; only the other accounts
nobody owns are unassigned, so the reconciliation's unassigned figure is the sum of the report's
unassigned list (in BilledCost, which the list gives beside EffectiveCost).

An account linked to two customers at once, or a customer left out of pricing, breaks it. So
does a line counted twice: the ledger also counts the lines whose key (the line's identity,
:mod:`chalicelib.bill_files.line_keys`) is in more than one of the period's current files, and a
reconciliation with any such line is never balanced, whatever its sums say.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from chalicelib.billing.money import ZERO, display, exact, plain
from chalicelib.billing.periods import Period
from chalicelib.billing.priced_usage import PricedUsage
from chalicelib.billing.reference import Account
from chalicelib.billing.sources import account_match, in_period, load_accounts, load_lines
from chalicelib.errors import BillingError


@dataclass(frozen=True)
class UnassignedAccount:
    provider: str
    account_id: str
    currency: str
    cost: Decimal  # EffectiveCost: what the reseller pays for it
    billed_cost: Decimal
    lines: int
    payer: bool = False  # the account is its own billing account: its lines are the reseller's

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account_id": self.account_id,
            "currency": self.currency,
            "cost": plain(self.cost),
            "billed_cost": plain(self.billed_cost),
            "lines": self.lines,
            "payer": self.payer,
        }


@dataclass(frozen=True)
class BillLedger:
    period: str
    totals: Mapping[str, Decimal]  # currency -> Σ BilledCost of every line of the period
    assigned: Mapping[tuple[str, str], Decimal]  # (customer, currency) -> Σ BilledCost owned
    unassigned: tuple[UnassignedAccount, ...] = ()
    # Lines whose key is in more than one bill file, and those files (bill ids, by pair).
    duplicated_lines: int = 0
    duplicated_files: tuple[tuple[str, str], ...] = ()


_COLUMNS = (
    "ProviderName",
    "SubAccountId",
    "BillingPeriodStart",
    "ChargePeriodStart",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "BillingAccountId",
    "LineKey",
    "SourceFileId",
)


@exact
def bill_ledger(
    period: str, accounts: Sequence[Account], normalized_parquet: Sequence[Path]
) -> BillLedger:
    """Bill totals, each customer's share and the unassigned accounts of ``period``."""
    when = in_period("l", Period.parse(period))
    con = duckdb.connect()
    try:
        load_lines(con, normalized_parquet, _COLUMNS)
        load_accounts(con, ((a, None) for a in accounts))
        totals = con.execute(
            f"SELECT coalesce(BillingCurrency, ''), sum(BilledCost) FROM normalized l "
            f"WHERE {when} GROUP BY ALL"
        ).fetchall()
        assigned = con.execute(
            f"SELECT a.customer_id, coalesce(l.BillingCurrency, ''), sum(l.BilledCost) "
            f"FROM normalized l JOIN accounts a ON {account_match('l', 'a')} "
            f"WHERE {when} GROUP BY ALL"
        ).fetchall()
        unassigned = con.execute(
            f"SELECT l.ProviderName, l.SubAccountId, coalesce(l.BillingCurrency, ''), "
            f"coalesce(sum(l.EffectiveCost), 0), coalesce(sum(l.BilledCost), 0), count(*), "
            f"coalesce(bool_or(l.SubAccountId = l.BillingAccountId), false) "
            f"FROM normalized l ANTI JOIN accounts a ON {account_match('l', 'a')} "
            f"WHERE {when} GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        shared = (
            f"SELECT l.LineKey FROM normalized l WHERE {when} AND l.LineKey IS NOT NULL "
            "GROUP BY l.LineKey HAVING count(DISTINCT l.SourceFileId) > 1"
        )
        (duplicated,) = con.execute(
            f"SELECT count(*) FROM normalized l WHERE {when} AND l.LineKey IN ({shared})"
        ).fetchone() or (0,)
        pairs = con.execute(
            f"SELECT DISTINCT a.SourceFileId, b.SourceFileId FROM normalized a "
            f"JOIN normalized b ON a.LineKey = b.LineKey AND a.SourceFileId < b.SourceFileId "
            f"WHERE a.LineKey IN ({shared}) ORDER BY ALL LIMIT 20"
        ).fetchall()
    except duckdb.Error as error:
        raise BillingError(f"cannot read the bills of {period}: {error}") from error
    finally:
        con.close()
    return BillLedger(
        period=period,
        totals={currency: total or ZERO for currency, total in totals},
        assigned={(customer, currency): total or ZERO for customer, currency, total in assigned},
        unassigned=tuple(
            UnassignedAccount(p, a, c, cost, billed, int(n), bool(payer))
            for p, a, c, cost, billed, n, payer in unassigned
        ),
        duplicated_lines=int(duplicated),
        duplicated_files=tuple((str(a), str(b)) for a, b in pairs),
    )


@dataclass(frozen=True)
class CurrencyReconciliation:
    currency: str
    bill_total: Decimal
    billed: Decimal  # to customers
    retained: Mapping[str, Decimal] = field(default_factory=dict)  # by reason
    unassigned: Decimal = ZERO
    unpriced: Decimal = ZERO  # owned by customers whose usage was not priced
    reseller_accounts: Decimal = ZERO  # the payer accounts' own lines

    @property
    def difference(self) -> Decimal:
        accounted = self.billed + sum(self.retained.values(), ZERO) + self.reseller_accounts
        return self.bill_total - accounted - self.unassigned - self.unpriced

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "bill_total": plain(self.bill_total),
            "billed": plain(self.billed),
            "retained": {reason: plain(v) for reason, v in sorted(self.retained.items())},
            "reseller_accounts": plain(self.reseller_accounts),
            "unassigned": plain(self.unassigned),
            "unpriced": plain(self.unpriced),
            "difference": plain(self.difference),
            # Rounded to the currency's minor unit, for people; the exact values stay above.
            "display": {
                "bill_total": display(self.bill_total, self.currency),
                "billed": display(self.billed, self.currency),
                "retained": {
                    reason: display(v, self.currency) for reason, v in sorted(self.retained.items())
                },
                "reseller_accounts": display(self.reseller_accounts, self.currency),
                "unassigned": display(self.unassigned, self.currency),
                "unpriced": display(self.unpriced, self.currency),
                "difference": display(self.difference, self.currency),
            },
        }


@dataclass(frozen=True)
class Reconciliation:
    period: str
    currencies: tuple[CurrencyReconciliation, ...]
    unpriced_customers: tuple[str, ...] = ()
    duplicated_lines: int = 0  # lines whose key is in more than one current bill file
    duplicated_files: tuple[tuple[str, str], ...] = ()
    # The accounts behind the unassigned figures (not the payers'): which lines were nobody's.
    unassigned_accounts: tuple[UnassignedAccount, ...] = ()

    @property
    def balanced(self) -> bool:
        """True when every unit of every bill currency is accounted for, exactly, and no line
        is in the bills twice."""
        return self.duplicated_lines == 0 and all(c.difference == 0 for c in self.currencies)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "balanced": self.balanced,
            "currencies": [c.to_dict() for c in self.currencies],
            "unpriced_customers": list(self.unpriced_customers),
            "duplicated_lines": self.duplicated_lines,
            "duplicated_files": [list(pair) for pair in self.duplicated_files],
            "unassigned_accounts": [a.to_dict() for a in self.unassigned_accounts],
        }


@exact
def reconcile(ledger: BillLedger, priced: Sequence[PricedUsage]) -> Reconciliation:
    """Check the ledger against the customers' priced usage, per bill currency."""
    billed: dict[str, Decimal] = defaultdict(Decimal)
    retained: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    priced_ids = set()
    for usage in priced:
        if usage.period != ledger.period:
            raise BillingError(f"priced usage of {usage.period} in the ledger of {ledger.period}")
        priced_ids.add(usage.customer_id)
        for balance in usage.balances:
            billed[balance.currency] += balance.billed
            for reason, amount in balance.retained.items():
                retained[balance.currency][reason] += amount
    unpriced: dict[str, Decimal] = defaultdict(Decimal)
    unpriced_customers = set()
    for (customer, currency), amount in ledger.assigned.items():
        if customer not in priced_ids:
            unpriced[currency] += amount
            unpriced_customers.add(customer)
    unassigned: dict[str, Decimal] = defaultdict(Decimal)
    reseller: dict[str, Decimal] = defaultdict(Decimal)
    for account in ledger.unassigned:
        (reseller if account.payer else unassigned)[account.currency] += account.billed_cost
    currencies = sorted(
        set(ledger.totals) | set(billed) | set(unassigned) | set(unpriced) | set(reseller)
    )
    return Reconciliation(
        period=ledger.period,
        currencies=tuple(
            CurrencyReconciliation(
                currency=c,
                bill_total=ledger.totals.get(c, ZERO),
                billed=billed[c],
                retained=dict(retained[c]),
                unassigned=unassigned[c],
                unpriced=unpriced[c],
                reseller_accounts=reseller[c],
            )
            for c in currencies
        ),
        unpriced_customers=tuple(sorted(unpriced_customers)),
        duplicated_lines=ledger.duplicated_lines,
        duplicated_files=ledger.duplicated_files,
        unassigned_accounts=tuple(a for a in ledger.unassigned if not a.payer),
    )
