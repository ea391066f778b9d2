"""The invoice of customer C for period P: stages 1, 2, 5, 6, 7 and 9 of docs/design.md §4.2.

Stages 3–4 (which cloud lines, at what price) ran before, in :mod:`pricing`, and left the priced
usage groups in a Parquet file; stage 8 (tax) is :func:`compute_tax`. Every stage below is a
function of its own; :func:`compose_invoice` reads as the list of stages.

Amounts are converted into the invoice's currency (stage 9) as they enter — plan fees and credit
from the plan's currency, cloud prices from the bill's — so that credit and usage are compared in
one currency; each is rounded once, where it becomes a line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import duckdb

from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.document import Figures, Invoice, InvoiceLine, TaxLine
from chalicelib.billing.fx import FxConverter
from chalicelib.billing.money import ZERO, exact, plain, round_money
from chalicelib.billing.periods import Proration, proration
from chalicelib.billing.reference import Plan, Subscription
from chalicelib.billing.tax import compute_tax
from chalicelib.errors import BillingError
from chalicelib.vocabulary import PROVIDER_NAMES

__all__ = ["Invoice", "InvoiceLine", "TaxLine", "compose_invoice", "compute_tax"]

APPLIED = "Pre-purchased infrastructure applied"
WAIVED = "Usage beyond pre-purchased infrastructure waived"
UNUSED = "Unused pre-purchased infrastructure credited"
_APPLIES_TO_LABEL = {"subscriptions": "subscriptions", "cloud": "cloud usage", "all": "all charges"}


@exact
def compose_invoice(
    cp: CustomerPeriod, priced_usage: Path, con: duckdb.DuckDBPyConnection | None = None
) -> Invoice:
    """The untaxed invoice of ``cp``: stages 1, 2, 5, 6, 7 and 9 over the priced usage groups.

    ``con``: a DuckDB connection to read them with (many invoices of one batch share one)."""
    currency = cp.customer.currency
    fx = FxConverter(cp.settings, cp.period, currency)
    lines = subscription_lines(cp, fx)  # 1
    pools = prepurchased_credit(cp, fx)  # 2
    usage = read_priced_usage(cp.customer.id, priced_usage, con)
    cloud = cloud_charges(usage, fx)  # 3–4 priced; 9
    prepurchased = apply_prepurchased(pools, cloud)  # 5
    lines += cloud_usage_lines(cloud, currency) + prepurchased_lines(prepurchased, currency)  # 6
    lines += discount_lines(cp, lines) + custom_lines(cp, lines)  # 7
    return Invoice(
        customer_id=cp.customer.id,
        period=cp.period,
        currency=currency,
        lines=tuple(lines),
        figures=report_figures(cloud, prepurchased, currency),
        fx_rates=dict(fx.used),
    )


# --- stage 1: subscriptions ---------------------------------------------------------------------


def _active(cp: CustomerPeriod) -> list[tuple[Subscription, Plan, Proration]]:
    """The subscriptions active in the period, oldest first, with their plan and proration."""
    period = cp.period_obj
    active = []
    for sub in sorted(cp.subscriptions, key=lambda s: (s.start_date, s.id)):
        share = proration(period, sub.start_date, sub.end_date)
        if share.active_days:
            active.append((sub, cp.plan(sub.plan_id), share))
    return active


def subscription_lines(cp: CustomerPeriod, fx: FxConverter) -> list[InvoiceLine]:
    """One line per active subscription: plan fee × quantity × proration."""
    lines = []
    for sub, plan, share in _active(cp):
        amount = fx.convert(share.apply(plan.price * sub.quantity), plan.currency)
        description = plan.name or plan.id
        if sub.quantity != 1:
            description += f" × {sub.quantity}"
        if not share.full:
            description += f" ({share.active_days}/{share.days} days)"
        lines.append(
            InvoiceLine(
                kind="subscription",
                description=description,
                amount=round_money(amount, fx.to_currency),
                quantity=sub.quantity,
            )
        )
    return lines


# --- stage 2: pre-purchased cloud infrastructure ------------------------------------------------


@dataclass(frozen=True)
class CreditPool:
    """Pre-purchased credit of one provider scope (``providers=None``: every provider)."""

    providers: tuple[str, ...] | None
    credit: Decimal  # rollover_in included
    unused_credit_policy: str
    overage_policy: str
    rollover_in: Decimal = ZERO

    def covers(self, provider: str) -> bool:
        return self.providers is None or provider in self.providers

    @property
    def label(self) -> str:
        if self.providers is None:
            return APPLIED
        return f"{APPLIED} ({', '.join(provider_name(p) for p in self.providers)})"


def prepurchased_credit(cp: CustomerPeriod, fx: FxConverter) -> list[CreditPool]:
    """credit = Σ included_credit × quantity × proration, one pool per provider scope.

    Within a scope the policies of the most recently started subscription govern (a plan change
    in the month takes the new plan's terms). A carried-in rollover balance joins the widest
    ``rollover`` pool; with no such pool it lapses.
    """
    credit: dict[tuple[str, ...] | None, Decimal] = defaultdict(Decimal)
    governing: dict[tuple[str, ...] | None, Plan] = {}
    for sub, plan, share in _active(cp):
        if plan.included_credit > 0:
            scope = plan.credit_providers
            credit[scope] += fx.convert(
                share.apply(plan.included_credit * sub.quantity), plan.currency
            )
            governing[scope] = plan
    pools = [
        CreditPool(
            scope, amount, governing[scope].unused_credit_policy, governing[scope].overage_policy
        )
        for scope, amount in credit.items()
    ]
    pools.sort(key=_narrowest_first)
    rolling = [i for i, pool in enumerate(pools) if pool.unused_credit_policy == "rollover"]
    if cp.rollover_balance > 0 and rolling:
        widest = rolling[-1]
        pools[widest] = replace(
            pools[widest],
            credit=pools[widest].credit + cp.rollover_balance,
            rollover_in=cp.rollover_balance,
        )
    return pools


def _narrowest_first(pool: CreditPool) -> tuple[int, int, tuple[str, ...]]:
    if pool.providers is None:
        return (1, 0, ())
    return (0, len(pool.providers), pool.providers)


# --- stages 3, 4 and 9: the priced cloud charges, in the invoice's currency ---------------------


@dataclass(frozen=True)
class UsageSum:
    """Σ of the priced usage groups of one provider + service in one bill currency."""

    provider: str
    service: str
    currency: str
    price: Decimal
    cost: Decimal
    savings_retained: Decimal


def read_priced_usage(
    customer_id: str, priced_usage: Path, shared: duckdb.DuckDBPyConnection | None = None
) -> list[UsageSum]:
    """Sum the customer's priced usage groups per provider, service and bill currency (with a
    cursor of ``shared`` when given, else a connection of its own)."""
    con = duckdb.connect() if shared is None else shared.cursor()
    try:
        rows = con.execute(
            "SELECT provider, service, currency, sum(price), sum(cost), sum(savings_retained) "
            "FROM read_parquet(?) WHERE customer_id = ? GROUP BY ALL ORDER BY ALL",
            [str(priced_usage), customer_id],
        ).fetchall()
    except duckdb.Error as error:
        raise BillingError(f"cannot read priced usage {priced_usage}: {error}") from error
    finally:
        con.close()
    return [UsageSum(*row) for row in rows]


@dataclass(frozen=True)
class CloudCharge:
    """Σ price, cost and savings of one provider + service in the invoice's currency."""

    provider: str
    service: str
    price: Decimal
    cost: Decimal
    savings_retained: Decimal


def cloud_charges(usage: Iterable[UsageSum], fx: FxConverter) -> list[CloudCharge]:
    """Convert each bill currency's sums and add them up per provider + service (stage 9)."""
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for u in usage:
        if not u.currency:
            raise BillingError(
                f"{u.provider} lines of {u.service} have no BillingCurrency: cannot convert"
            )
        acc = sums[(u.provider, u.service)]
        acc[0] += fx.convert(u.price, u.currency)
        acc[1] += fx.convert(u.cost, u.currency)
        acc[2] += fx.convert(u.savings_retained, u.currency)
    return [CloudCharge(p, s, *acc) for (p, s), acc in sorted(sums.items())]


# --- stage 5: subtract the pre-purchased amount -------------------------------------------------


@dataclass(frozen=True)
class PoolOutcome:
    pool: CreditPool
    usage: Decimal  # Σ price in scope not covered by a narrower pool
    applied: Decimal  # min(usage, credit), never negative
    waived: Decimal  # usage beyond the credit not billed (overage policy `waive`)

    @property
    def unused(self) -> Decimal:
        return self.pool.credit - self.applied


@dataclass(frozen=True)
class Prepurchased:
    pools: tuple[PoolOutcome, ...] = ()
    overage: Decimal = ZERO  # usage of the covered providers beyond all their credit


def apply_prepurchased(pools: Sequence[CreditPool], cloud: Iterable[CloudCharge]) -> Prepurchased:
    """applied = min(usage, credit); overage = usage − applied; unused = credit − applied.

    Pools run narrowest scope first and each consumes the usage it covers, so a provider's usage
    is never covered twice when scopes overlap (an AWS-only credit and an all-provider credit).
    """
    remaining: dict[str, Decimal] = defaultdict(Decimal)
    for charge in cloud:
        remaining[charge.provider] += charge.price
    covered = sum((u for p, u in remaining.items() if any(x.covers(p) for x in pools)), ZERO)
    outcomes = []
    for pool in pools:
        scope = sorted(p for p in remaining if pool.covers(p))
        usage = sum((remaining[p] for p in scope), ZERO)
        applied = min(max(usage, ZERO), pool.credit)
        _consume(remaining, scope, applied)
        waived = ZERO
        if pool.overage_policy == "waive":
            waived = max(usage - applied, ZERO)
            _consume(remaining, scope, waived)
        outcomes.append(PoolOutcome(pool, usage, applied, waived))
    applied_total = sum((o.applied for o in outcomes), ZERO)
    return Prepurchased(tuple(outcomes), max(covered - applied_total, ZERO))


def _consume(remaining: dict[str, Decimal], scope: Sequence[str], amount: Decimal) -> None:
    for provider in scope:
        take = min(max(remaining[provider], ZERO), amount)
        remaining[provider] -= take
        amount -= take


# --- stage 6: the cloud lines and the pre-purchased lines ---------------------------------------


def provider_name(provider: str) -> str:
    """The provider as it writes its own name ("Azure", "Google Cloud"); an unknown code as is."""
    return PROVIDER_NAMES.get(provider, provider)


def cloud_line_description(provider: str, service: str) -> str:
    """'AWS Amazon Simple Storage Service', but 'AWS Lambda', not 'AWS AWS Lambda', and
    'Google Cloud Storage' for Google Cloud's 'Cloud Storage'."""
    label = provider_name(provider)
    if service.casefold().startswith(label.casefold() + " "):
        return service
    last_word = label.rsplit(" ", 1)[-1]
    if " " in label and service.casefold().startswith(last_word.casefold() + " "):
        return f"{label.rsplit(' ', 1)[0]} {service}"
    return f"{label} {service}"


def cloud_usage_lines(cloud: Iterable[CloudCharge], currency: str) -> list[InvoiceLine]:
    """One line per provider + service: round(Σ price)."""
    return [
        InvoiceLine(
            kind="cloud_usage",
            description=cloud_line_description(c.provider, c.service),
            amount=round_money(c.price, currency),
            provider=c.provider,
            service=c.service,
        )
        for c in cloud
    ]


def prepurchased_lines(prepurchased: Prepurchased, currency: str) -> list[InvoiceLine]:
    """−round(applied) per pool; the waived overage; unused credit under the `credit` policy."""
    lines = []
    for o in prepurchased.pools:
        applied = round_money(o.applied, currency)
        if applied:  # a pool nothing drew from prints no line (its figures keep the credit)
            lines.append(InvoiceLine("prepurchased_credit", o.pool.label, -applied))
        waived = round_money(o.waived, currency)
        if waived:
            lines.append(InvoiceLine("prepurchased_credit", WAIVED, -waived))
        unused = round_money(o.unused, currency)
        if o.pool.unused_credit_policy == "credit" and unused:
            lines.append(InvoiceLine("unused_credit", UNUSED, -unused))
    return lines


# --- stage 7: discounts and custom items --------------------------------------------------------


def _base(lines: Iterable[InvoiceLine], applies_to: str) -> Decimal:
    """What a percentage applies to: subscription lines, net cloud lines, or both."""
    kinds = {
        "subscriptions": ("subscription",),
        "cloud": ("cloud_usage", "prepurchased_credit"),
        "all": ("subscription", "cloud_usage", "prepurchased_credit"),
    }[applies_to]
    return sum((line.amount for line in lines if line.kind in kinds), ZERO)


def discount_lines(cp: CustomerPeriod, lines: Sequence[InvoiceLine]) -> list[InvoiceLine]:
    """The customer's discount: −round(base × percent)."""
    discount = cp.customer.discount
    base = _base(lines, discount.applies_to)
    if discount.percent == 0 or base == 0:
        return []
    amount = round_money(base * discount.percent / 100, cp.customer.currency)
    if not amount:  # a discount that rounds to nothing is not printed
        return []
    label = _APPLIES_TO_LABEL[discount.applies_to]
    return [InvoiceLine("discount", f"Discount {plain(discount.percent)} % on {label}", -amount)]


def custom_lines(cp: CustomerPeriod, lines: Sequence[InvoiceLine]) -> list[InvoiceLine]:
    """The operator's fees and credits of the period; percent items apply before the discount."""
    out = []
    for item in cp.customer.custom_items:
        if not item.applies_in(cp.period):
            continue
        if item.amount is not None:
            amount = item.amount
        else:
            assert item.percent is not None
            amount = _base(lines, item.applies_to) * item.percent / 100
        amount = round_money(amount, cp.customer.currency)
        if not amount and item.type != "fee":  # a credit of nothing (a percent of nothing)
            continue
        out.append(
            InvoiceLine("custom", item.description, amount if item.type == "fee" else -amount)
        )
    return out


# --- the report's figures -----------------------------------------------------------------------


def report_figures(
    cloud: Sequence[CloudCharge], prepurchased: Prepurchased, currency: str
) -> Figures:
    """Rounded like the lines they explain: per pool, so Σ lines and figures agree to the cent."""

    def each(values: Iterable[Decimal]) -> Decimal:
        return sum((round_money(v, currency) for v in values), ZERO)

    pools = prepurchased.pools
    return Figures(
        cost=round_money(sum((c.cost for c in cloud), ZERO), currency),
        savings_retained=round_money(sum((c.savings_retained for c in cloud), ZERO), currency),
        credit=each(o.pool.credit for o in pools),
        applied=each(o.applied for o in pools),
        overage=round_money(prepurchased.overage, currency),
        overage_waived=each(o.waived for o in pools),
        unused_credit=each(o.unused for o in pools),
        rollover_in=each(o.pool.rollover_in for o in pools),
        rollover_out=each(o.unused for o in pools if o.pool.unused_credit_policy == "rollover"),
    )
