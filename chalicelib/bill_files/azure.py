"""Azure cost details (Enterprise Agreement and Microsoft Customer Agreement) → normalized lines.

The two agreements write nearly the same columns under different names: EA has ``Cost`` and
``BillingCurrency``, MCA has ``CostInBillingCurrency`` and ``BillingCurrencyCode`` (older EA
usage files: ``PreTaxCost``, ``SubscriptionGuid``, ``UsageDateTime``). The format is
'azure-mca' when ``CostInBillingCurrency`` is present, else 'azure-ea'.

Rules:
- BilledCost = the cost column. EffectiveCost = BilledCost: a cost-details file is either the
  *actual cost* dataset (purchases on their own lines, reservation usage at 0) or the
  *amortized* one (reservation usage at its amortized cost, unused reservation on its own
  lines); either way its Σ is the real cost in that view, counted once.
- ListCost = PayGPrice × Quantity when the file has a non-zero pay-as-you-go price; purchases,
  refunds and lines without a PayG price list at their billed cost. ContractedCost =
  UnitPrice × Quantity when UnitPrice is present, else BilledCost.
- SubAccountId = ``SubscriptionId``; BillingAccountId = ``BillingAccountId``.
- ChargeCategory from ``ChargeType``: Usage / UnusedReservation / UnusedSavingsPlan → Usage,
  Purchase → Purchase, Refund / Credit → Credit, Tax → Tax, RoundingAdjustment and anything
  else → Adjustment.
- ``PricingModel`` Reservation / SavingsPlan on usage → commitment status 'Used' (Unused… charge
  types → 'Unused'), id = ``ReservationId`` (a GUID, easy to assign) else ``benefitId``.
  Azure's ids do not name the buyer, so CommitmentOwnerAccountId stays empty (the operator
  assigns them, docs/design.md §4.2).
- Dates are US style (MM/DD/YYYY) in EA exports and ISO in MCA ones; both are accepted.
  ChargePeriodEnd is the day after ``Date``. BillingPeriodStart = ``BillingPeriodStartDate``,
  else the first of the month of ``Date``.
- ServiceName and ServiceCode = ``MeterCategory`` (what Azure's portal calls the service);
  ServiceCategory = ``ServiceFamily``; SkuMeter = ``MeterName``; RegionId = lower-cased
  ``ResourceLocation``; ResourceId lower-cased (Azure ids are case-insensitive and exports mix
  cases).
- Tags: EA writes the JSON members without the outer braces; both spellings become an object.
- Currency codes are taken as written (the koku MCA sample uses 'MC', not an ISO code).
- Final when the file has an ``InvoiceId`` column filled on every line (MCA invoice-level
  exports); EA cost details carry no invoice id and are never reported final.
"""

from __future__ import annotations

from chalicelib.bill_files import sql
from chalicelib.bill_files.columns import Columns
from chalicelib.bill_files.mapping import Mapping

COST = ("CostInBillingCurrency", "Cost", "PreTaxCost")
CURRENCY = ("BillingCurrencyCode", "BillingCurrency", "Currency")
SUBSCRIPTION = ("SubscriptionId", "SubscriptionGuid")
DATE = ("Date", "UsageDateTime", "UsageDate")

CHARGE_CATEGORY: dict[str, str] = {
    "usage": "Usage",
    "unusedreservation": "Usage",
    "unusedsavingsplan": "Usage",
    "purchase": "Purchase",
    "refund": "Credit",
    "credit": "Credit",
    "tax": "Tax",
}


def looks_like(names: list[str]) -> bool:
    keys = {n.strip().lower() for n in names}
    has_subscription = bool(keys & {s.lower() for s in SUBSCRIPTION})
    has_meter = bool(keys & {"metercategory", "meterid", "consumedservice", "chargetype"})
    return has_subscription and has_meter


def build(cols: Columns) -> Mapping:
    fmt = "azure-mca" if cols.has("CostInBillingCurrency") else "azure-ea"
    cost = cols.money(*COST, required=True)
    quantity = cols.money("Quantity")
    charge_type = cols.text("ChargeType")
    pricing_model = f"lower({cols.text('PricingModel')})"
    charge_kind = f"lower({charge_type})"
    date = cols.timestamp(*DATE, required=True)
    payg = cols.money("PayGPrice")
    unit_price = cols.money("UnitPrice")
    subscription = cols.text(*SUBSCRIPTION, required=True)

    list_cost = (
        f"CASE WHEN {charge_kind} IN ('purchase', 'refund') OR {payg} IS NULL OR {quantity} IS NULL"
        f" OR ({payg} = 0 AND {cost} <> 0) THEN {cost} ELSE {sql.money_mul(payg, quantity)} END"
    )
    contracted = (
        f"CASE WHEN {unit_price} IS NULL OR {quantity} IS NULL "
        f"OR {charge_kind} IN ('purchase', 'refund') THEN {cost} "
        f"ELSE {sql.money_mul(unit_price, quantity)} END"
    )
    commitment_id = sql.coalesce(cols.text("ReservationId"), cols.text("benefitId"))
    status = (
        f"CASE WHEN {charge_kind} IN ('unusedreservation', 'unusedsavingsplan') THEN 'Unused' "
        f"WHEN {charge_kind} = 'usage' AND {pricing_model} IN ('reservation', 'savingsplan') "
        "THEN 'Used' END"
    )
    commitment_type = (
        f"CASE WHEN {pricing_model} = 'reservation' OR {charge_kind} = 'unusedreservation' "
        "THEN 'Reservation' "
        f"WHEN {pricing_model} = 'savingsplan' OR {charge_kind} = 'unusedsavingsplan' "
        "THEN 'Savings Plan' END"
    )
    pairs = tuple(((k,), sql.lit(v)) for k, v in CHARGE_CATEGORY.items())
    billing_start = cols.timestamp("BillingPeriodStartDate")
    tags = cols.get("Tags")
    select = {
        "ProviderName": "'azure'",
        "BillingAccountId": sql.coalesce(cols.text("BillingAccountId"), subscription),
        "SubAccountId": subscription,
        "BillingPeriodStart": sql.coalesce(billing_start, f"date_trunc('month', {date})"),
        "ChargePeriodStart": date,
        "ChargePeriodEnd": f"CAST({date} + INTERVAL 1 DAY AS TIMESTAMP)",
        "ChargeCategory": sql.case_map(charge_kind, pairs, "'Adjustment'"),
        "ChargeClass": sql.NULL_TEXT,
        "ServiceName": cols.text("MeterCategory"),
        "ServiceCode": cols.text("MeterCategory"),
        "ServiceCategory": cols.text("ServiceFamily"),
        "SkuId": cols.text("ProductId", "PartNumber"),
        "SkuMeter": cols.text("MeterName"),
        "Operation": sql.NULL_TEXT,
        "RegionId": f"lower({cols.text('ResourceLocation')})",
        "ResourceId": f"lower({cols.text('ResourceId', 'InstanceId')})",
        "ChargeDescription": cols.text("ProductName", "Product"),
        "PricingQuantity": quantity,
        "PricingUnit": cols.text("UnitOfMeasure"),
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ListCost": list_cost,
        "ContractedCost": contracted,
        "BillingCurrency": cols.text(*CURRENCY, required=True),
        "CommitmentDiscountId": commitment_id,
        "CommitmentDiscountType": (
            f"CASE WHEN {commitment_id} IS NOT NULL THEN {commitment_type} END"
        ),
        "CommitmentDiscountStatus": status,
        "CommitmentOwnerAccountId": sql.NULL_TEXT,
        "ProviderLineType": charge_type,
        "Tags": "'{}'" if tags is None else cols.json_text(tags, wrap_braces=True),
    }
    invoice = cols.text("InvoiceId") if cols.has("InvoiceId") else None
    return Mapping(format=fmt, select=select, invoice_id=invoice)
