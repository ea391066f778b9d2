"""FOCUS 1.0 / 1.1 / 1.2 exports (any provider, CSV or Parquet) → normalized lines.

FOCUS is what the normalized schema is modelled on, so most columns map by name. What this
module adds:

- ProviderName becomes a provider code (``AWS``/``Amazon Web Services`` → aws, ``Microsoft``/
  ``Azure`` → azure, ``Google Cloud`` → gcp, ``Oracle`` → oci, anything else → other); one file
  may hold several providers.
- Azure's FOCUS ids are resource paths (``/subscriptions/<guid>``,
  ``/providers/Microsoft.Billing/billingAccounts/<id>``); they are cut to the bare id so that an
  Azure account is the same string whether it arrives through FOCUS or through cost details.
- ServiceCode, SkuMeter and Operation come from the provider extension columns when present
  (AWS ``x_ServiceCode``/``x_UsageType``/``x_Operation``, Azure ``x_SkuMeterCategory``);
  FOCUS 1.1+ has SkuMeter itself.
- CommitmentOwnerAccountId is the account field when CommitmentDiscountId is an AWS ARN.
- ProviderLineType is the file's own ChargeCategory text (FOCUS has no provider line type).
- CSV files write nulls as the unquoted literal ``NULL`` (the reader is told so; a quoted
  ``"NULL"`` stays text).
- The version: 1.2 columns (InvoiceId, BillingAccountType, SubAccountType, PricingCurrency) →
  focus-1.2, else 1.1 columns (SkuMeter, ServiceSubcategory, SkuPriceDetails,
  CommitmentDiscountQuantity, CapacityReservationId) → focus-1.1, else focus-1.0.
"""

from __future__ import annotations

from chalicelib.bill_files import sql
from chalicelib.bill_files.columns import Columns
from chalicelib.bill_files.mapping import Mapping, charge_category, provider_code

REQUIRED = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodStart",
    "ProviderName",
)

# Names only FOCUS uses; three of them make a file FOCUS (Azure and GCP share a few others).
SIGNATURE = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ProviderName",
    "SubAccountId",
    "ServiceCategory",
)
_V12 = ("InvoiceId", "BillingAccountType", "SubAccountType", "PricingCurrency")
_V11 = (
    "SkuMeter",
    "ServiceSubcategory",
    "SkuPriceDetails",
    "CommitmentDiscountQuantity",
    "CapacityReservationId",
)


def looks_like(names: list[str]) -> bool:
    keys = {n.strip().lower() for n in names}
    return sum(1 for s in SIGNATURE if s.lower() in keys) >= 3


def version(cols: Columns) -> str:
    if cols.has(*_V12):
        return "focus-1.2"
    if cols.has(*_V11):
        return "focus-1.1"
    return "focus-1.0"


def build(cols: Columns) -> Mapping:
    for name in REQUIRED:
        cols.require(name)
    provider = cols.define(provider_code(cols.text_ref(cols.require("ProviderName"))), 2)
    billing_account = _azure_id(
        cols,
        cols.text("BillingAccountId", required=True),
        provider,
        r"^/providers/Microsoft\.Billing/billingAccounts/([^/]+)$",
    )
    sub_account = _azure_id(cols, cols.text("SubAccountId"), provider, r"^/subscriptions/([^/]+)$")
    category_raw = cols.text("ChargeCategory", required=True)
    commitment_id = cols.text("CommitmentDiscountId")
    select = {
        "ProviderName": provider,
        "BillingAccountId": billing_account,
        "SubAccountId": sub_account,
        "BillingPeriodStart": cols.timestamp("BillingPeriodStart", required=True),
        "ChargePeriodStart": cols.timestamp("ChargePeriodStart", required=True),
        "ChargePeriodEnd": cols.timestamp("ChargePeriodEnd"),
        "ChargeCategory": charge_category(category_raw),
        "ChargeClass": cols.text("ChargeClass"),
        "ServiceName": cols.text("ServiceName"),
        "ServiceCode": cols.text("x_ServiceCode", "x_SkuMeterCategory"),
        "ServiceCategory": cols.text("ServiceCategory"),
        "SkuId": cols.text("SkuId"),
        "SkuMeter": cols.text("SkuMeter", "x_UsageType"),
        "Operation": cols.text("x_Operation"),
        "RegionId": cols.text("RegionId"),
        "ResourceId": cols.text("ResourceId"),
        "ChargeDescription": cols.text("ChargeDescription"),
        "PricingQuantity": cols.money("PricingQuantity"),
        "PricingUnit": cols.text("PricingUnit"),
        "BilledCost": cols.money("BilledCost", required=True),
        # Present as columns (required above); an empty cell falls back to BilledCost.
        "EffectiveCost": cols.money("EffectiveCost"),
        "ListCost": cols.money("ListCost"),
        "ContractedCost": cols.money("ContractedCost"),
        "BillingCurrency": cols.text("BillingCurrency", required=True),
        "CommitmentDiscountId": commitment_id,
        "CommitmentDiscountType": cols.text("CommitmentDiscountType"),
        "CommitmentDiscountStatus": cols.text("CommitmentDiscountStatus"),
        "CommitmentOwnerAccountId": f"rebill_arn_account({commitment_id})",
        "ProviderLineType": category_raw,
        "Tags": _tags(cols),
    }
    invoice = cols.text("InvoiceId") if cols.has("InvoiceId") else None
    return Mapping(format=version(cols), select=select, invoice_id=invoice)


def _azure_id(cols: Columns, text: str, provider: str, pattern: str) -> str:
    if text == sql.NULL_TEXT:
        return text
    stripped = cols.define(f"regexp_extract({text}, {sql.lit(pattern)}, 1)", 2)
    return cols.define(
        f"CASE WHEN {provider} = 'azure' AND {stripped} <> '' THEN {stripped} ELSE {text} END", 3
    )


def _tags(cols: Columns) -> str:
    tags = cols.get("Tags")
    if tags is None:
        return "'{}'"
    if tags.type.upper().startswith("MAP"):
        return sql.json_object_from_map(tags.ref, tags.type)
    return cols.json_text(tags)
