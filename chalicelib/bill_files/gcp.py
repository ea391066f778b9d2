"""Google Cloud billing export (BigQuery standard usage cost export) → normalized lines.

Two shapes of the same table: CSV with dotted column names (``service.id``) whose repeated
fields (``credits``, ``labels``, ``project.labels``) are JSON lists in a cell, and JSON lines
with the nested records themselves.

Rules:
- BillingAccountId = ``billing_account_id``; SubAccountId = ``project.id`` (lines without a
  project — tax, support — fall back to the billing account in the normalizer).
- BilledCost = ``cost`` + Σ ``credits.amount`` (credits are negative): what the invoice charges.
  EffectiveCost = BilledCost — Google bills commitments monthly as their own lines (SKU
  "Commitment …"), so the net usage cost plus those fee lines is the real cost, each once.
  ListCost = ``cost_at_list`` when exported, else ``cost`` (before credits).
  ContractedCost = ``cost``.
- A line with a committed-use credit (type COMMITTED_USAGE_DISCOUNT[_DOLLAR_BASE], or an older
  export's credit named "Committed use discount…") is commitment-covered usage: status
  'Used', type 'Committed Use', id = the credit's id (else full name, else name). Google's ids
  do not name the buying project, so CommitmentOwnerAccountId stays empty
  (docs/design.md §4.2 step 4: the operator assigns commitments).
- ChargeCategory from ``cost_type``: regular → Usage (Purchase when the SKU is a
  "Commitment…" fee), tax → Tax, adjustment / rounding_error → Adjustment (adjustments are
  also ChargeClass 'Correction').
- BillingPeriodStart = first day of ``invoice.month`` (YYYYMM), else of the usage start.
- Amounts may be written in scientific notation (``1.385e-05``); they are read as text and
  converted exactly. JSON numbers are doubles in BigQuery; their shortest text form is used.
- The export carries no invoice id, so a GCP bill is never reported final (see normalize).
"""

from __future__ import annotations

from chalicelib.bill_files import sql
from chalicelib.bill_files.columns import Check, Columns, SourceColumn
from chalicelib.bill_files.mapping import Mapping
from chalicelib.bill_files.schema import MONEY

FORMAT = "gcp-billing-export"

_CREDIT = "STRUCT(name VARCHAR, amount VARCHAR, type VARCHAR, id VARCHAR, full_name VARCHAR)"
_KV = "STRUCT(key VARCHAR, value VARCHAR)"
_CREDIT_JSON = (
    '[{"name":"VARCHAR","amount":"VARCHAR","type":"VARCHAR","id":"VARCHAR","full_name":"VARCHAR"}]'
)
_KV_JSON = '[{"key":"VARCHAR","value":"VARCHAR"}]'

# The JSON-lines layout read by DuckDB: top-level field -> type. Numbers are read as VARCHAR so
# that no amount goes through a binary double more than BigQuery itself did.
JSON_COLUMNS: dict[str, str] = {
    "billing_account_id": "VARCHAR",
    "service": "STRUCT(id VARCHAR, description VARCHAR)",
    "sku": "STRUCT(id VARCHAR, description VARCHAR)",
    "usage_start_time": "VARCHAR",
    "usage_end_time": "VARCHAR",
    "project": f"STRUCT(id VARCHAR, name VARCHAR, number VARCHAR, labels {_KV}[])",
    "labels": f"{_KV}[]",
    "location": "STRUCT(location VARCHAR, country VARCHAR, region VARCHAR, zone VARCHAR)",
    "cost": "VARCHAR",
    "cost_at_list": "VARCHAR",
    "currency": "VARCHAR",
    "usage": (
        "STRUCT(amount VARCHAR, unit VARCHAR, amount_in_pricing_units VARCHAR, "
        "pricing_unit VARCHAR)"
    ),
    "credits": f"{_CREDIT}[]",
    "invoice": "STRUCT(month VARCHAR)",
    "cost_type": "VARCHAR",
    "resource": "STRUCT(name VARCHAR, global_name VARCHAR)",
}

_CUD_TYPES = ("COMMITTED_USAGE_DISCOUNT", "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE")
REQUIRED = ("billing_account_id", "cost", "currency", "usage_start_time")


def looks_like(names: list[str]) -> bool:
    keys = {n.strip().lower() for n in names}
    return "billing_account_id" in keys and bool(
        keys & {"service.id", "service.description", "cost", "usage_start_time", "invoice.month"}
    )


def json_source_columns() -> list[SourceColumn]:
    """The JSON layout as flat, CSV-style column names (``service.id``) over struct fields."""
    columns: list[SourceColumn] = []
    for top, kind in JSON_COLUMNS.items():
        if kind.startswith("STRUCT(") and not kind.endswith("[]"):
            for field, field_type in _struct_fields(kind):
                ref = f"struct_extract({sql.ident(top)}, {sql.lit(field)})"
                columns.append(SourceColumn(f"{top}.{field}", ref, field_type))
        else:
            columns.append(SourceColumn(top, sql.ident(top), kind))
    return columns


def _struct_fields(kind: str) -> list[tuple[str, str]]:
    # Only the simple layouts above: "STRUCT(a VARCHAR, b STRUCT(...)[] )" split at depth 0.
    inner = kind[len("STRUCT(") : -1]
    fields, depth, start = [], 0, 0
    for i, ch in enumerate(inner + ","):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            name, _, field_type = inner[start:i].strip().partition(" ")
            fields.append((name, field_type.strip()))
            start = i + 1
    return fields


def build(cols: Columns) -> Mapping:
    for name in REQUIRED:
        cols.require(name)
    cost = cols.money("cost", required=True)
    credits = _list(cols, "credits", _CREDIT_JSON)
    credit_sum = (
        f"list_sum(list_transform({credits}, lambda c: rebill_money(NULLIF(trim(c.amount), ''))))"
    )
    column = cols.get("credits")
    if column is not None:
        cols.add_check(
            Check(
                bad=(
                    f"len(list_filter({credits}, lambda c: NULLIF(trim(c.amount), '') IS NOT NULL "
                    "AND rebill_money(trim(c.amount)) IS NULL)) > 0"
                ),
                column=column.name,
                message="'a credit amount is not a number'",
            )
        )
    billed = f"CAST({cost} + COALESCE({credit_sum}, 0) AS {MONEY})"
    cud = cols.define(
        f"list_filter({credits}, lambda c: c.type IN ({', '.join(sql.lit(t) for t in _CUD_TYPES)}) "
        "OR c.name ILIKE 'committed use discount%')[1]",
        4,
    )
    cost_type = f"lower({cols.text('cost_type')})"
    sku_description = cols.text("sku.description")
    usage_start = cols.timestamp("usage_start_time", required=True)
    invoice_month = cols.text("invoice.month")
    month_start = f"TRY_STRPTIME({invoice_month}, '%Y%m')"
    if cols.has("invoice.month"):
        cols.add_check(
            Check(
                bad=f"({invoice_month} IS NOT NULL AND {month_start} IS NULL)",
                column="invoice.month",
                message=f"'not a month (YYYYMM): ' || {invoice_month}",
            )
        )
    select = {
        "ProviderName": "'gcp'",
        "BillingAccountId": cols.text("billing_account_id", required=True),
        "SubAccountId": cols.text("project.id"),
        "BillingPeriodStart": sql.coalesce(month_start, f"date_trunc('month', {usage_start})"),
        "ChargePeriodStart": usage_start,
        "ChargePeriodEnd": cols.timestamp("usage_end_time"),
        "ChargeCategory": (
            f"CASE WHEN {cost_type} = 'tax' THEN 'Tax' "
            f"WHEN {cost_type} IN ('adjustment', 'rounding_error') THEN 'Adjustment' "
            f"WHEN {sku_description} ILIKE 'commitment%' THEN 'Purchase' "
            "ELSE 'Usage' END"
        ),
        "ChargeClass": f"CASE WHEN {cost_type} = 'adjustment' THEN 'Correction' END",
        "ServiceName": cols.text("service.description"),
        "ServiceCode": cols.text("service.id"),
        "ServiceCategory": sql.NULL_TEXT,
        "SkuId": cols.text("sku.id"),
        "SkuMeter": sku_description,
        "Operation": sql.NULL_TEXT,
        "RegionId": sql.coalesce(cols.text("location.region"), cols.text("location.location")),
        "ResourceId": sql.coalesce(cols.text("resource.global_name"), cols.text("resource.name")),
        "ChargeDescription": sku_description,
        "PricingQuantity": cols.money("usage.amount_in_pricing_units"),
        "PricingUnit": cols.text("usage.pricing_unit"),
        "BilledCost": billed,
        "EffectiveCost": billed,
        "ListCost": sql.coalesce(cols.money("cost_at_list"), cost),
        "ContractedCost": cost,
        "BillingCurrency": cols.text("currency", required=True),
        "CommitmentDiscountId": f"NULLIF(COALESCE({cud}.id, {cud}.full_name, {cud}.name), '')",
        "CommitmentDiscountType": f"CASE WHEN {cud} IS NOT NULL THEN 'Committed Use' END",
        "CommitmentDiscountStatus": f"CASE WHEN {cud} IS NOT NULL THEN 'Used' END",
        "CommitmentOwnerAccountId": sql.NULL_TEXT,
        "ProviderLineType": cols.text("cost_type"),
        "Tags": _labels(cols),
    }
    return Mapping(format=FORMAT, select=select, invoice_id=None)


def _list(cols: Columns, name: str, json_layout: str) -> str:
    """A repeated field as a typed LIST: native in JSON lines, parsed from JSON text in CSV."""
    column = cols.get(name)
    if column is None:
        return f"CAST([] AS {_CREDIT}[])" if name == "credits" else f"CAST([] AS {_KV}[])"
    if column.type.endswith("[]"):
        return column.ref
    raw = cols.text_ref(column)
    is_list = _is_json_list(cols, raw)
    cols.add_check(
        Check(
            bad=f"({raw} IS NOT NULL AND NOT {is_list})",
            column=column.name,
            message=f"'not a JSON list: ' || left({raw}, 80)",
        )
    )
    # from_json must only ever see valid JSON: DuckDB may hoist a shared sub-expression out of a
    # CASE and evaluate it on every row, so the guard goes inside its argument.
    guarded = f"CASE WHEN {is_list} THEN {raw} END"
    return cols.define(f"from_json({guarded}, {sql.lit(json_layout)})", 3)


def _is_json_list(cols: Columns, raw: str) -> str:
    return cols.define(f"COALESCE(json_type({sql.valid_json(raw)}) = 'ARRAY', false)", 2)


def _labels(cols: Columns) -> str:
    labels = cols.get("labels")
    if labels is None:
        return "'{}'"
    if not labels.type.endswith("[]"):
        raw = cols.text_ref(labels)
        # Labels are informative: an odd cell is kept as text rather than failing the bill.
        is_list = _is_json_list(cols, raw)
        parsed = f"from_json(CASE WHEN {is_list} THEN {raw} END, {sql.lit(_KV_JSON)})"
        as_object = sql.json_object_from_list(parsed, key="key", value="value")
        return f"CASE WHEN {is_list} THEN {as_object} ELSE {cols.json_text(labels)} END"
    return sql.json_object_from_list(labels.ref, key="key", value="value")
