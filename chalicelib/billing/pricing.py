"""Stages 3–4 of docs/design.md §4.2: which cloud lines a customer pays for, and at what price.

Two DuckDB statements on one connection do the work, for one customer or for every customer of a
run at once:

1. ``groups``: the period's normalized lines whose ``SubAccountId`` is one of the customers'
   accounts on the line's ``ChargePeriodStart``, summed per account and per every column that
   keys a usage group or decides a line's fate (``fine``); then each fine group's *disposition*
   — billed, or retained by the reseller (provider tax, provider credits, negotiated discounts,
   another owner's commitment lines, categories not billable) — and the re-basing of lines
   covered by a commitment the customer did not buy to ``ListCost`` (stage 4), summed into usage
   groups: account, provider, service, sku / usage type, operation, region, resource, charge
   category. Retained lines only count per account, currency and reason;
2. the billed groups priced with their price list (§4.3), written to Parquet.

Pricing a group equals pricing its lines one by one because every price rule is linear in the
basis (or the quantity) and every match key is part of the group key, so the price stays exact at
full precision while the rules run once per group instead of once per line. The price keeps every
digit of amount × factor: 20 decimals, more when the bill's amounts carry more than 10 (the scale
follows the bill columns' type and the rules' decimals). The summaries are read back from the
written file, so they are the sums of exactly what the invoice reads.
Prices stay in the bill's currency here; the invoice converts them (stage 9).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.money import ZERO, exact
from chalicelib.billing.periods import Period
from chalicelib.billing.priced_usage import (
    GROUP_COLUMNS,
    CurrencyBalance,
    PricedUsage,
    ServiceTotal,
)
from chalicelib.billing.reference import PriceList, PriceRule, Settings
from chalicelib.billing.sources import (
    account_match,
    in_period,
    load_accounts,
    load_lines,
    load_rows,
    sql_str,
)
from chalicelib.errors import BillingError

__all__ = ["PricedUsage", "price_usage", "price_usage_batch", "rule_case_sql"]

# Decimals of a price at least; more when the bill's amounts × the rules' factors need more.
PRICE_SCALE = 20
_MAX_PRECISION = 38
_MONEY_COLUMNS = ("PricingQuantity", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost")

# AWS lineItem/LineItemType (and Azure pricing models / charge types) of commitment lines, lower
# case. FOCUS exports say the same through CommitmentDiscountId / CommitmentDiscountStatus.
COVERED_LINE_TYPES = ("discountedusage", "savingsplancoveredusage", "reservation", "savingsplan")
NEGATION_LINE_TYPES = ("savingsplannegation",)
COMMITMENT_FEE_LINE_TYPES = (
    "rifee",
    "savingsplanupfrontfee",
    "savingsplanrecurringfee",
    "unusedreservation",
    "unusedsavingsplan",
)
# Credit lines that are negotiated discounts rather than credits or refunds.
DISCOUNT_LINE_TYPES = (
    "edpdiscount",
    "privateratediscount",
    "bundleddiscount",
    "sppdiscount",
    "distributordiscount",
    "rivolumediscount",
    "discount",
)

# Where a line of a customer's account goes. Only BILLED lines reach the invoice; the others are
# kept by the reseller and show up in the reconciliation.
BILLED = "billed"
RETAINED_REASONS = (
    "provider_tax",
    "provider_credits",
    "provider_discounts",
    "commitment",  # another owner's savings-plan negations and commitment fees
    "not_billable",  # categories outside the billable set
)

_NEEDED = (
    "ProviderName",
    "SubAccountId",
    "BillingPeriodStart",
    "ChargePeriodStart",
    "ChargeCategory",
    "ServiceName",
    "ServiceCode",
    "SkuId",
    "SkuMeter",
    "Operation",
    "RegionId",
    "ResourceId",
    "PricingQuantity",
    "PricingUnit",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "CommitmentDiscountId",
    "CommitmentDiscountType",
    "CommitmentDiscountStatus",
    "CommitmentOwnerAccountId",
    "ProviderLineType",
)


# --- entry points -------------------------------------------------------------------------------


def price_usage(cp: CustomerPeriod, normalized_parquet: Sequence[Path], out: Path) -> PricedUsage:
    """Price one customer's cloud lines of ``cp.period`` and write its usage groups to ``out``."""
    return price_usage_batch([cp], normalized_parquet, out)[cp.customer.id]


@exact
def price_usage_batch(
    cps: Sequence[CustomerPeriod], normalized_parquet: Sequence[Path], out: Path
) -> dict[str, PricedUsage]:
    """Price many customers of one period in one pass; ``out`` holds every customer's groups.

    Every context must share the period and the settings (one invoice run). The result maps each
    customer id to its summary.
    """
    if not cps:
        raise BillingError("no customers to price")
    period, settings = cps[0].period, cps[0].settings
    ids = [cp.customer.id for cp in cps]
    if len(set(ids)) != len(ids):
        raise BillingError("a customer appears twice in one pricing batch")
    for cp in cps:
        if cp.period != period or cp.settings != settings:
            raise BillingError("a pricing batch must share one period and one settings document")
    # Row order carries no meaning here; not preserving it lets DuckDB parallelize table writes.
    con = duckdb.connect(config={"preserve_insertion_order": False})
    try:
        load_lines(con, normalized_parquet, _NEEDED)
        load_accounts(con, ((a, cp.price_list_id(a)) for cp in cps for a in cp.accounts))
        _load_commitment_owners(con, cps)
        price_lists = _price_lists(cps)
        places = _load_rules(con, price_lists)
        price_type = _price_type(_money_scale(con), places)
        assignments = any(cp.commitment_owners for cp in cps)
        fine = _fine_sql(Period.parse(period), assignments=assignments)
        con.execute(f"CREATE TEMP TABLE groups AS {_groups_sql(settings, fine)}")
        out.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            # Sorted by customer: a reader of one customer skips the other row groups.
            f"COPY ({_priced_sql(price_lists, price_type)} ORDER BY customer_id) "
            f"TO '{sql_str(str(out))}' (FORMAT parquet, COMPRESSION zstd)"
        )
        return _summaries(con, period, ids, out)
    except duckdb.Error as error:
        raise BillingError(f"pricing usage of {period} failed: {error}") from error
    finally:
        con.close()


# --- inputs -------------------------------------------------------------------------------------


def _load_commitment_owners(con: duckdb.DuckDBPyConnection, cps: Sequence[CustomerPeriod]) -> None:
    owners: dict[str, str] = {}
    seen: set[int] = set()  # the customers of a run usually share one assignment mapping
    for cp in cps:
        if id(cp.commitment_owners) in seen:
            continue
        seen.add(id(cp.commitment_owners))
        for commitment, customer in cp.commitment_owners.items():
            key = commitment.lower()
            if owners.setdefault(key, customer) != customer:
                raise BillingError(
                    f"commitment {commitment!r} is assigned to both {owners[key]!r} "
                    f"and {customer!r}"
                )
    load_rows(
        con,
        "commitment_owners",
        (("commitment_id", "VARCHAR"), ("customer_id", "VARCHAR")),
        list(owners.items()),
    )


def _price_lists(cps: Sequence[CustomerPeriod]) -> dict[str, PriceList]:
    lists: dict[str, PriceList] = {}
    for cp in cps:
        for list_id, price_list in cp.price_lists.items():
            known = lists.setdefault(list_id, price_list)
            if known is not price_list and known != price_list:
                raise BillingError(f"price list {list_id!r} differs between customers of a batch")
    return lists


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _load_rules(con: duckdb.DuckDBPyConnection, price_lists: Mapping[str, PriceList]) -> int:
    """The pricing of each (price list, rule): which formula, which factor or unit price.

    Factors and unit prices are typed with just the decimals they need (at most 10), so that an
    amount × a factor has only the digits it really has. Returns those decimals."""
    rows: list[tuple[Any, ...]] = []
    for list_id, price_list in price_lists.items():
        rules: Iterable[PriceRule] = price_list.rules
        if price_list.default is not None:
            rules = (*price_list.rules, price_list.default)
        rows.extend(
            (
                list_id,
                rule.id,
                rule.type == "fixed_rate",
                rule.basis == "list",
                None if rule.type == "fixed_rate" else rule.factor,
                rule.unit_price,
            )
            for rule in rules
        )
    places = max((_places(v) for row in rows for v in row[4:] if v is not None), default=0)
    rule_type = f"DECIMAL({_MAX_PRECISION},{places})"
    load_rows(
        con,
        "price_rules",
        (
            ("price_list_id", "VARCHAR"),
            ("rule_id", "VARCHAR"),
            ("fixed", "BOOLEAN"),
            ("from_list", "BOOLEAN"),
            ("factor", rule_type),
            ("unit_price", rule_type),
        ),
        rows,
    )
    return places


def _money_scale(con: duckdb.DuckDBPyConnection) -> int:
    """The decimals of the bill's amounts and quantities, as ``normalized`` types them."""
    scale = 0
    for name, kind, *_ in con.execute("DESCRIBE normalized").fetchall():
        if name in _MONEY_COLUMNS:
            found = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", kind)
            if found is None:
                raise BillingError(f"bill column {name} is {kind}, not a decimal")
            scale = max(scale, int(found.group(2)))
    return scale


def _price_type(money_scale: int, rule_places: int) -> str:
    """A decimal that holds every amount × factor exactly: amount (or quantity) decimals plus
    the rules' decimals, and never fewer than :data:`PRICE_SCALE`."""
    scale = max(PRICE_SCALE, money_scale + rule_places)
    if scale > _MAX_PRECISION - 10:
        raise BillingError(
            f"prices would need {scale} decimals: bill amounts with {money_scale} and rules with "
            f"{rule_places} are more than a decimal of {_MAX_PRECISION} digits holds"
        )
    return f"DECIMAL({_MAX_PRECISION},{scale})"


# --- stages 3 and 4: disposition and re-basing, aggregated --------------------------------------


def _in(values: Iterable[str]) -> str:
    return ", ".join(f"'{sql_str(v)}'" for v in values)


# Level 1 sums the lines per account and per every column that either keys a usage group or
# decides a line's disposition; the decisions then run once per level-1 group, not once per line.
_LINE_KEYS = (
    "ServiceName",
    "ServiceCode",
    "SkuId",
    "SkuMeter",
    "Operation",
    "RegionId",
    "ResourceId",
    "ChargeCategory",
    "PricingUnit",
    "BillingCurrency",
    "ProviderLineType",
    "CommitmentDiscountStatus",
)


def _fine_sql(period: Period, *, assignments: bool) -> str:
    """Level 1: the period's lines of the customers' accounts, summed per account and line key.

    An account row stands for customer, provider, account id and price list at once, so one
    integer replaces four string keys.
    """
    keys = ", ".join(f"l.{k}" for k in _LINE_KEYS)
    # The operator's assignment wins over the account named in the commitment's ARN.
    owner, assigned = "owner.customer_id", ""
    if assignments:
        owner = "coalesce(o.customer_id, owner.customer_id)"
        assigned = (
            "LEFT JOIN commitment_owners o ON lower(l.CommitmentDiscountId) = o.commitment_id"
        )
    return f"""
    SELECT a.acct_ix, {keys},
        coalesce({owner} = a.customer_id, false) AS own_commitment,
        nullif(l.CommitmentDiscountId, '') IS NOT NULL AS has_commitment_id,
        nullif(l.CommitmentDiscountType, '') IS NOT NULL AS has_commitment_type,
        count(*) AS lines,
        coalesce(sum(l.PricingQuantity), 0) AS quantity,
        coalesce(sum(l.EffectiveCost), 0) AS cost,
        coalesce(sum(l.BilledCost), 0) AS billed_cost,
        sum(coalesce(l.ListCost, l.ContractedCost, l.BilledCost, 0)) AS list_value
    FROM normalized l
    JOIN accounts a ON {account_match("l", "a")}
    {assigned}
    LEFT JOIN accounts owner ON {account_match("l", "owner", "CommitmentOwnerAccountId")}
    WHERE {in_period("l", period)}
    GROUP BY ALL
    """


def _groups_sql(settings: Settings, fine: str) -> str:
    """Level 2: each fine group's disposition (stage 3) and re-basing (stage 4), summed into the
    usage groups of the CSV; retained lines summed per account, currency and reason only."""
    passing = settings.pass_through
    tax = f"'{BILLED}'" if passing.provider_tax else "'provider_tax'"
    discounts = f"'{BILLED}'" if passing.provider_discounts else "'provider_discounts'"
    credits = f"'{BILLED}'" if passing.provider_credits else "'provider_credits'"

    def billed_only(expression: str, name: str) -> str:
        return f"CASE WHEN disposition = '{BILLED}' THEN {expression} END AS {name}"

    keys = ",\n           ".join(
        billed_only(expression, name)
        for expression, name in (
            ("coalesce(nullif(ServiceName, ''), nullif(ServiceCode, ''), 'Other')", "service"),
            ("ServiceCode", "service_code"),
            ("SkuId", "sku_id"),
            ("SkuMeter", "usage_type"),
            ("Operation", "operation"),
            ("RegionId", "region"),
            ("ResourceId", "resource_id"),
            ("ChargeCategory", "charge_category"),
            ("PricingUnit", "pricing_unit"),
        )
    )
    return f"""
    WITH fine AS ({fine}),
    typed AS (
        SELECT *, lower(coalesce(ProviderLineType, '')) AS line_type,
               lower(coalesce(CommitmentDiscountStatus, '')) AS commitment_status
        FROM fine
    ),
    roles AS (
        SELECT *,
            CASE
              WHEN line_type IN ({_in(NEGATION_LINE_TYPES)}) THEN 'negation'
              WHEN line_type IN ({_in(COMMITMENT_FEE_LINE_TYPES)})
                OR commitment_status = 'unused'
                OR (ChargeCategory = 'Purchase' AND has_commitment_id) THEN 'fee'
              WHEN ChargeCategory = 'Usage'
               AND (line_type IN ({_in(COVERED_LINE_TYPES)}) OR commitment_status = 'used'
                    OR has_commitment_id OR has_commitment_type)
                THEN 'covered'
            END AS commitment_role
        FROM typed
    ),
    disposed AS (
        SELECT *,
            CASE
              WHEN commitment_role IN ('negation', 'fee') AND NOT own_commitment THEN 'commitment'
              WHEN ChargeCategory IN ({_in(settings.billable_categories)}) THEN '{BILLED}'
              WHEN ChargeCategory = 'Tax' THEN {tax}
              WHEN ChargeCategory = 'Credit' AND line_type IN ({_in(DISCOUNT_LINE_TYPES)})
                THEN {discounts}
              WHEN ChargeCategory = 'Credit' THEN {credits}
              ELSE 'not_billable'
            END AS disposition,
            coalesce(commitment_role = 'covered' AND NOT own_commitment, false) AS rebased
        FROM roles
    )
    SELECT acct_ix,
           {keys},
           BillingCurrency AS currency,
           disposition = '{BILLED}' AND rebased AS savings_removed,
           disposition,
           sum(lines) AS lines,
           sum(quantity) AS quantity,
           sum(cost) AS cost,
           sum(billed_cost) AS billed_cost,
           sum(list_value) AS list_cost,
           sum(CASE WHEN rebased THEN list_value ELSE billed_cost END) AS basis,
           sum(CASE WHEN rebased THEN list_value - cost ELSE 0 END) AS savings_retained
    FROM disposed
    GROUP BY ALL
    """


# --- §4.3: price lists compiled to SQL ----------------------------------------------------------

_MATCH_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "provider": ("provider",),
    "service": ("service", "service_code"),
    "sku": ("sku_id",),
    "usage_type": ("usage_type",),
    "operation": ("operation",),
    "region": ("region",),
    "account": ("account_id",),
    "charge_category": ("charge_category",),
}


def _rule_condition(rule: PriceRule) -> str:
    terms = []
    for key, value in rule.match:
        alternatives = " OR ".join(
            f"lower({column}) = '{sql_str(value)}'" for column in _MATCH_COLUMNS[key]
        )
        terms.append(f"({alternatives})")
    return " AND ".join(terms) or "true"


def rule_case_sql(price_lists: Mapping[str, PriceList]) -> str:
    """A CASE expression naming the rule that prices a group: most match keys first, ties to the
    earlier rule, else the list's default."""
    branches = []
    for list_id, price_list in price_lists.items():
        whens = " ".join(
            f"WHEN {_rule_condition(rule)} THEN '{sql_str(rule.id)}'"
            for rule in price_list.ranked_rules()
        )
        if whens:
            branches.append(f"WHEN '{sql_str(list_id)}' THEN CASE {whens} ELSE 'default' END")
    if not branches:
        return "'default'"
    return f"CASE price_list_id {' '.join(branches)} ELSE 'default' END"


def _priced_sql(price_lists: Mapping[str, PriceList], price_type: str) -> str:
    """The billed usage groups with the customer, account and price list of their account, the
    rule that prices them and the price."""
    keys = ", ".join(f"g.{c}" for c in GROUP_COLUMNS)
    return f"""
    WITH named AS (
        SELECT a.customer_id, a.account_id, a.provider, a.price_list_id, g.*
        FROM groups g JOIN accounts a ON a.acct_ix = g.acct_ix
        WHERE g.disposition = '{BILLED}'
    ),
    ruled AS (
        SELECT *, {rule_case_sql(price_lists)} AS price_rule FROM named
    )
    SELECT {keys}, g.price_rule, g.lines, g.quantity, g.cost, g.billed_cost, g.list_cost, g.basis,
           g.savings_retained,
           -- Each branch cast on its own: a CASE over decimals of different scales would settle
           -- on a common type with fewer decimals and round the products. Every product's scale
           -- (amount decimals + rule decimals) is at most the price's, so the casts are exact.
           CASE
             WHEN r.rule_id IS NULL THEN CAST(g.basis AS {price_type})
             WHEN r.fixed THEN CAST(g.quantity * r.unit_price AS {price_type})
             WHEN r.from_list THEN CAST(g.list_cost * r.factor AS {price_type})
             ELSE CAST(g.basis * r.factor AS {price_type})
           END AS price
    FROM ruled g
    LEFT JOIN price_rules r ON r.price_list_id = g.price_list_id AND r.rule_id = g.price_rule
    """


# --- summaries ----------------------------------------------------------------------------------


def _text_sum(column: str) -> str:
    return f"CAST(coalesce(sum({column}), 0) AS VARCHAR)"


def _summaries(
    con: duckdb.DuckDBPyConnection, period: str, customer_ids: Sequence[str], out: Path
) -> dict[str, PricedUsage]:
    """Per customer: Σ of the written groups per provider + service, and where the BilledCost of
    its lines went. Sums travel as decimal text (exact, and quicker to take in than DuckDB's
    Python decimals)."""
    services: dict[str, list[ServiceTotal]] = defaultdict(list)
    rows: dict[str, int] = defaultdict(int)
    for customer, provider, service, currency, price, cost, savings, count in con.execute(
        f"""SELECT customer_id, provider, service, currency, {_text_sum("price")},
                  {_text_sum("cost")}, {_text_sum("savings_retained")}, count(*)
           FROM read_parquet('{sql_str(str(out))}') GROUP BY ALL ORDER BY ALL"""
    ).fetchall():
        services[customer].append(
            ServiceTotal(
                provider,
                service,
                currency or "",
                Decimal(price),
                Decimal(cost),
                Decimal(savings),
                int(count),
            )
        )
        rows[customer] += int(count)
    by_disposition: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    lines: dict[str, int] = defaultdict(int)
    for customer, currency, disposition, billed_cost, count in con.execute(
        f"""SELECT a.customer_id, g.currency, g.disposition, {_text_sum("g.billed_cost")},
                  sum(g.lines)
           FROM groups g JOIN accounts a ON a.acct_ix = g.acct_ix GROUP BY ALL ORDER BY ALL"""
    ).fetchall():
        by_disposition[(customer, currency or "")][disposition] = Decimal(billed_cost)
        lines[customer] += int(count)
    balances: dict[str, list[CurrencyBalance]] = defaultdict(list)
    for (customer, currency), amounts in by_disposition.items():
        balances[customer].append(
            CurrencyBalance(
                currency=currency,
                assigned=sum(amounts.values(), ZERO),
                billed=amounts.get(BILLED, ZERO),
                retained={k: v for k, v in amounts.items() if k != BILLED},
            )
        )
    return {
        customer: PricedUsage(
            customer_id=customer,
            period=period,
            rows=rows[customer],
            lines=lines[customer],
            services=tuple(services[customer]),
            balances=tuple(balances[customer]),
        )
        for customer in customer_ids
    }
