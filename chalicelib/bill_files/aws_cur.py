"""AWS Cost and Usage Report → normalized lines: legacy CUR (``lineItem/UnblendedCost``) and the
snake_case layouts (CUR 2.0 / Data Exports ``line_item_unblended_cost``, and legacy CUR's
Athena Parquet, which uses the same names).

Cost columns (docs/design.md §4.1)
--------------------------
- BilledCost = ``lineItem/UnblendedCost``: what AWS invoices for the line.
- ListCost = ``pricing/publicOnDemandCost``; where AWS leaves it empty (fees, credits, tax,
  Marketplace) the list cost is the billed cost. A SavingsPlanNegation has no list cost of
  its own (0): its covered line already carries the on-demand list cost.
- ContractedCost = ``lineItem/NetUnblendedCost`` when the report has it, else UnblendedCost.
- EffectiveCost is AWS's *amortized cost*, so that Σ EffectiveCost over a month is what the
  reseller's commitments and usage really cost it that month, each dollar counted once:

  ============================  ==========================================================
  line item type                EffectiveCost
  ============================  ==========================================================
  DiscountedUsage               reservation/EffectiveCost (amortized upfront + recurring fee
                                for the hours this line used)
  RIFee                         reservation/UnusedAmortizedUpfrontFeeForBillingPeriod +
                                reservation/UnusedRecurringFee — only the *unused* part: the
                                used part is already on the DiscountedUsage lines
  Fee with a ReservationARN     0 — the RI's upfront payment, amortized into the lines above
  SavingsPlanCoveredUsage       savingsPlan/SavingsPlanEffectiveCost
  SavingsPlanNegation           0 — its effect is already in the covered line's effective cost
  SavingsPlanUpfrontFee         0 — amortized into SavingsPlanEffectiveCost
  SavingsPlanRecurringFee       savingsPlan/TotalCommitmentToDate − savingsPlan/UsedCommitment
                                (the unused commitment)
  anything else                 UnblendedCost
  ============================  ==========================================================

  This is the formula of AWS's own "amortized cost" (Cost Explorer, CUR query library). Each
  part needs its own columns. A covered line's cost is the one AWS states on it
  (``reservation/EffectiveCost``, ``savingsPlan/SavingsPlanEffectiveCost``) whenever the report
  has that column, so a customer's cost and savings retained never depend on the rest of the
  report; with it, the upfront Fee, the SavingsPlanNegation and the SavingsPlanUpfrontFee are 0
  (already in the covered lines). The fee lines keep only their unused part when the report
  also has the unused-part columns (both RI ones, or both SP ones); without them an RIFee or a
  SavingsPlanRecurringFee counts at its UnblendedCost, the month's recurring fee (its used part
  is then counted twice, an RI's unused upfront part not at all); these lines sit in the buyer's
  account, so only the buyer's cost moves. A report without a family's effective-cost column
  gets the cash view for that family — every line at UnblendedCost, which also sums to the
  real cost, just not spread over the commitment's term. A covered line whose effective-cost
  cell is empty falls back to its UnblendedCost (an upper bound: margins are never
  overstated).

Other rules: ChargeCategory from ``lineItem/LineItemType`` (:data:`CHARGE_CATEGORY`; any other
``…Discount`` type is a Credit; an unknown type is kept billable as Adjustment). The
commitment id is the RI or SP ARN and its owner is the ARN's account field. Tag columns
(``resourceTags/…`` or ``resource_tags…``) become the Tags object; other column families
(``costCategory/``, ``product/`` beyond what is mapped, koku's ``noTags/``) are ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.bill_files import sql
from chalicelib.bill_files.columns import Columns
from chalicelib.bill_files.mapping import Mapping
from chalicelib.bill_files.schema import MONEY

# logical field -> (legacy CSV name, snake_case name)
FIELDS: dict[str, tuple[str, str]] = {
    "line_item_id": ("identity/LineItemId", "identity_line_item_id"),
    "time_interval": ("identity/TimeInterval", "identity_time_interval"),
    "line_item_type": ("lineItem/LineItemType", "line_item_line_item_type"),
    "unblended_cost": ("lineItem/UnblendedCost", "line_item_unblended_cost"),
    "net_unblended_cost": ("lineItem/NetUnblendedCost", "line_item_net_unblended_cost"),
    "usage_account": ("lineItem/UsageAccountId", "line_item_usage_account_id"),
    "payer_account": ("bill/PayerAccountId", "bill_payer_account_id"),
    "invoice_id": ("bill/InvoiceId", "bill_invoice_id"),
    "billing_period_start": ("bill/BillingPeriodStartDate", "bill_billing_period_start_date"),
    "usage_start": ("lineItem/UsageStartDate", "line_item_usage_start_date"),
    "usage_end": ("lineItem/UsageEndDate", "line_item_usage_end_date"),
    "currency": ("lineItem/CurrencyCode", "line_item_currency_code"),
    "product_code": ("lineItem/ProductCode", "line_item_product_code"),
    "product_name": ("product/ProductName", "product_product_name"),
    "sku": ("product/sku", "product_sku"),
    "usage_type": ("lineItem/UsageType", "line_item_usage_type"),
    "operation": ("lineItem/Operation", "line_item_operation"),
    "region": ("product/regionCode", "product_region_code"),
    "resource_id": ("lineItem/ResourceId", "line_item_resource_id"),
    "description": ("lineItem/LineItemDescription", "line_item_line_item_description"),
    "usage_amount": ("lineItem/UsageAmount", "line_item_usage_amount"),
    "pricing_unit": ("pricing/unit", "pricing_unit"),
    "public_on_demand_cost": ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost"),
    "ri_effective_cost": ("reservation/EffectiveCost", "reservation_effective_cost"),
    "ri_arn": ("reservation/ReservationARN", "reservation_reservation_a_r_n"),
    "ri_unused_upfront": (
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
    ),
    "ri_unused_recurring": ("reservation/UnusedRecurringFee", "reservation_unused_recurring_fee"),
    "sp_effective_cost": (
        "savingsPlan/SavingsPlanEffectiveCost",
        "savings_plan_savings_plan_effective_cost",
    ),
    "sp_arn": ("savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n"),
    "sp_total_commitment": (
        "savingsPlan/TotalCommitmentToDate",
        "savings_plan_total_commitment_to_date",
    ),
    "sp_used_commitment": ("savingsPlan/UsedCommitment", "savings_plan_used_commitment"),
}

REQUIRED = ("line_item_type", "unblended_cost", "usage_account", "billing_period_start", "currency")

# lineItem/LineItemType -> normalized ChargeCategory (docs/design.md §4.1).
CHARGE_CATEGORY: dict[str, str] = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",  # part of the usage's cost, never a credit
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "Tax": "Tax",
    "Credit": "Credit",
    "Refund": "Credit",
    "EdpDiscount": "Credit",
    "PrivateRateDiscount": "Credit",
    "BundledDiscount": "Credit",
    "DistributorDiscount": "Credit",
    "SppDiscount": "Credit",
    "RiVolumeDiscount": "Credit",
}

# Snake_case files that are CUR 2.0 rather than legacy CUR's Athena Parquet.
_CUR2_MARKERS = ("bill_payer_account_name", "line_item_usage_account_name", "resource_tags")


def is_legacy_header(names: list[str]) -> bool:
    return any(n.strip().lower().startswith(("lineitem/", "bill/")) for n in names)


def is_snake_header(names: list[str]) -> bool:
    return any(n.strip().lower().startswith(("line_item_", "bill_bill")) for n in names)


def format_name(cols: Columns) -> str:
    if cols.has(*_CUR2_MARKERS) or (cols.get("product") is not None):
        return "aws-cur2"
    return "aws-cur-legacy"


def build(cols: Columns) -> Mapping:
    snake = not is_legacy_header([c.name for c in cols.columns])
    fmt = format_name(cols) if snake else "aws-cur-legacy"

    def name(field: str) -> str:
        return FIELDS[field][1 if snake else 0]

    for field in REQUIRED:
        cols.require(name(field))

    def text(field: str, required: bool = False) -> str:
        return cols.text(name(field), required=required)

    def money(field: str, required: bool = False) -> str:
        return cols.money(name(field), required=required)

    def has(*fields: str) -> bool:
        return all(cols.has(name(f)) for f in fields)

    line_type = text("line_item_type", required=True)
    unblended = money("unblended_cost", required=True)
    # The column must exist; an empty cell falls back to the payer (see normalize).
    usage_account = text("usage_account")
    period_start = cols.timestamp(name("billing_period_start"), required=True)
    usage_start = cols.timestamp(name("usage_start"))
    usage_end = cols.timestamp(name("usage_end"))
    ri_arn = text("ri_arn")
    sp_arn = text("sp_arn")

    effective = _effective_cost(
        line_type,
        unblended,
        ri_arn,
        ri=has("ri_effective_cost"),
        ri_unused=has("ri_effective_cost", "ri_unused_upfront", "ri_unused_recurring"),
        sp=has("sp_effective_cost"),
        sp_unused=has("sp_effective_cost", "sp_total_commitment", "sp_used_commitment"),
        money=money,
    )
    public_od = money("public_on_demand_cost")
    list_cost = (
        f"CASE WHEN {line_type} = 'SavingsPlanNegation' "
        f"THEN {sql.coalesce(public_od, sql.ZERO_MONEY)}"
        f" ELSE {sql.coalesce(public_od, unblended)} END"
    )
    commitment_id = sql.coalesce(ri_arn, sp_arn)
    charge_start = sql.coalesce(usage_start, period_start)

    select = {
        "ProviderName": "'aws'",
        "BillingAccountId": sql.coalesce(text("payer_account"), usage_account),
        "SubAccountId": usage_account,
        "BillingPeriodStart": period_start,
        "ChargePeriodStart": charge_start,
        "ChargePeriodEnd": usage_end,
        "ChargeCategory": charge_category_sql(line_type),
        # A charge for usage before this bill's period corrects an earlier, invoiced month.
        "ChargeClass": f"CASE WHEN {charge_start} < {period_start} THEN 'Correction' END",
        "ServiceName": sql.coalesce(_product_name(cols, snake), text("product_code")),
        "ServiceCode": text("product_code"),
        "ServiceCategory": sql.NULL_TEXT,
        "SkuId": sql.coalesce(text("sku"), _product_key(cols, snake, "sku")),
        "SkuMeter": text("usage_type"),
        "Operation": text("operation"),
        "RegionId": sql.coalesce(text("region"), _product_key(cols, snake, "region_code")),
        "ResourceId": text("resource_id"),
        "ChargeDescription": text("description"),
        "PricingQuantity": money("usage_amount"),
        "PricingUnit": text("pricing_unit"),
        "BilledCost": unblended,
        "EffectiveCost": effective,
        "ListCost": list_cost,
        "ContractedCost": sql.coalesce(money("net_unblended_cost"), unblended),
        "BillingCurrency": text("currency", required=True),
        "CommitmentDiscountId": commitment_id,
        "CommitmentDiscountType": (
            f"CASE WHEN {ri_arn} IS NOT NULL THEN 'Reservation' "
            f"WHEN {sp_arn} IS NOT NULL THEN 'Savings Plan' END"
        ),
        "CommitmentDiscountStatus": (
            f"CASE WHEN {line_type} IN ('DiscountedUsage', 'SavingsPlanCoveredUsage') "
            "THEN 'Used' END"
        ),
        "CommitmentOwnerAccountId": f"rebill_arn_account({commitment_id})",
        "ProviderLineType": line_type,
        "Tags": _tags(cols, snake),
    }
    invoice = text("invoice_id") if cols.has(name("invoice_id")) else None
    # AWS's identity of a line: its id is unique within the line's time interval.
    line_id = None
    if has("line_item_id"):
        interval = sql.coalesce(text("time_interval"), "''")
        line_id = f"{text('line_item_id')} || '/' || {interval}"
    return Mapping(format=fmt, select=select, invoice_id=invoice, line_id=line_id)


def charge_category_sql(line_type: str) -> str:
    by_category: dict[str, list[str]] = {}
    for item_type, category in CHARGE_CATEGORY.items():
        by_category.setdefault(category, []).append(item_type)
    pairs = tuple((tuple(types), sql.lit(cat)) for cat, types in by_category.items())
    other = f"CASE WHEN {line_type} ILIKE '%discount' THEN 'Credit' ELSE 'Adjustment' END"
    return sql.case_map(line_type, pairs, other)


def _effective_cost(
    line_type: str,
    unblended: str,
    ri_arn: str,
    *,
    ri: bool,
    ri_unused: bool,
    sp: bool,
    sp_unused: bool,
    money: Callable[[str], str],
) -> str:
    """The amortized cost of a line (module docstring). ``ri`` / ``sp``: the report has the
    family's per-line effective cost; ``ri_unused`` / ``sp_unused``: it also has what the fee
    lines need to keep only the unused part."""
    arms: list[str] = []
    zero = sql.ZERO_MONEY
    if ri:
        arms += [
            f"WHEN {line_type} = 'DiscountedUsage' "
            f"THEN {sql.coalesce(money('ri_effective_cost'), unblended)}",
            f"WHEN {line_type} = 'Fee' AND {ri_arn} IS NOT NULL THEN {zero}",
        ]
    if ri_unused:
        unused = (
            f"{sql.coalesce(money('ri_unused_upfront'), zero)}"
            f" + {sql.coalesce(money('ri_unused_recurring'), zero)}"
        )
        arms.append(f"WHEN {line_type} = 'RIFee' THEN CAST({unused} AS {MONEY})")
    if sp:
        arms += [
            f"WHEN {line_type} = 'SavingsPlanCoveredUsage' "
            f"THEN {sql.coalesce(money('sp_effective_cost'), unblended)}",
            f"WHEN {line_type} IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN {zero}",
        ]
    if sp_unused:
        unused_commitment = f"{money('sp_total_commitment')} - {money('sp_used_commitment')}"
        arms.append(
            f"WHEN {line_type} = 'SavingsPlanRecurringFee' "
            f"THEN COALESCE(CAST({unused_commitment} AS {MONEY}), {unblended})"
        )
    if not arms:
        return unblended
    return f"CASE {' '.join(arms)} ELSE {unblended} END"


def _product_name(cols: Columns, snake: bool) -> str:
    direct = cols.text(FIELDS["product_name"][1 if snake else 0])
    return sql.coalesce(direct, _product_key(cols, snake, "product_name"))


def _product_key(cols: Columns, snake: bool, key: str) -> str:
    """CUR 2.0 keeps most product attributes in one ``product`` map (JSON text in CSV)."""
    product = cols.get("product") if snake else None
    if product is None:
        return sql.NULL_TEXT
    if product.type.upper().startswith("MAP"):
        value = cols.define(f"element_at({product.ref}, {sql.lit(key)})[1]")
        return cols.define(sql.text_of(value), 2)
    valid = cols.define(sql.valid_json(cols.text_ref(product)), 2)
    value = cols.define(f"json_extract_string({valid}, {sql.lit('$.' + key)})", 3)
    return cols.define(sql.text_of(value), 4)


def _tags(cols: Columns, snake: bool) -> str:
    if not snake:
        prefix = "resourceTags/"
        pairs = [
            (c.name.strip()[len(prefix) :], cols.text_ref(c)) for c in cols.with_prefix(prefix)
        ]
        return sql.json_object_from_pairs(pairs)
    tags = cols.get("resource_tags")
    if tags is not None:
        if tags.type.upper().startswith("MAP"):
            return sql.json_object_from_map(tags.ref, tags.type)
        return cols.json_text(tags)
    prefix = "resource_tags_"
    pairs = [(c.name.strip()[len(prefix) :], cols.text_ref(c)) for c in cols.with_prefix(prefix)]
    return sql.json_object_from_pairs(pairs)
