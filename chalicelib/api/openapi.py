"""The OpenAPI 3.1 document of the API: the one source of its request and response schemas.

``GET /openapi.json`` serves it; :mod:`chalicelib.api.validation` validates request bodies and
parameters against the very same schemas; :mod:`chalicelib.api.endpoint` reads each
operation's roles (``x-rebill-roles``) from it. A test checks that its paths and the Chalice
routes are the same set.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from chalicelib.vocabulary import (
    BILL_STATUSES,
    DEFAULT_INVOICE_NUMBER_PREFIX,
    DOCUMENT_KINDS,
    EINVOICE_FORMATS,
    INVOICE_LANGUAGES,
    INVOICE_STATUSES,
    LINE_KINDS,
    MATCH_KEYS,
    PROVIDERS,
    RUN_MODES,
    RUN_STATUSES,
)

Schema = dict[str, Any]

OPERATOR = ["operator"]
EVERYONE = ["operator", "customer"]
MAX_LIMIT = 100
DEFAULT_LIMIT = 50

# --- small schemas ------------------------------------------------------------------------------


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _text(max_length: int, min_length: int = 0) -> Schema:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def _obj(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    """A request object: named properties only (unknown fields are rejected)."""
    schema: Schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
ACCOUNT_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:@-]{0,254}$"
PERIOD_PATTERN = "^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"

SCALARS: dict[str, Schema] = {
    "Id": {
        "type": "string",
        "pattern": ID_PATTERN,
        "description": "Letters, digits, '.', '_' and '-', at most 128; chosen by the client "
        "when given, generated otherwise.",
    },
    "InvoiceId": {
        "type": "string",
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$",
        "description": "An invoice or credit note id (inv-<customer>-<period>-<n>).",
    },
    "AccountId": {
        "type": "string",
        "pattern": ACCOUNT_ID_PATTERN,
        "description": "The provider's account, project or subscription id, as a string "
        "(leading zeros matter).",
    },
    "Provider": {"type": "string", "enum": list(PROVIDERS)},
    "Period": {"type": "string", "pattern": PERIOD_PATTERN, "description": "A month, YYYY-MM."},
    "Date": {"type": "string", "format": "date", "description": "ISO 8601 date, YYYY-MM-DD."},
    "DateTime": {"type": "string", "format": "date-time", "description": "ISO 8601, UTC."},
    "Currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code."},
    "Country": {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166-1."},
    "Percent": {
        "type": "string",
        "pattern": "^[0-9]{1,6}(\\.[0-9]{1,8})?$",
        "description": 'A percentage as a decimal string: "12.5" is 12.5 %.',
    },
    "Amount": {
        "type": "string",
        "pattern": "^[0-9]{1,15}(\\.[0-9]{1,10})?$",
        "description": 'A non-negative amount as a decimal string ("500.00").',
    },
    "Money": {
        "type": "string",
        "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
        "description": "An amount as a decimal string, next to a currency.",
    },
    "Rate": {
        "type": "string",
        "pattern": "^[0-9]{1,12}(\\.[0-9]{1,12})?$",
        "description": "An exchange rate: 1 unit of `from` is `rate` units of `to`.",
    },
}

# --- request bodies ------------------------------------------------------------------------------

TAX_RATE = _obj(
    {
        "country": _ref("Country"),
        "region": _nullable(_text(32)),
        "rate": _ref("Percent"),
        "name": _nullable(_text(100)),
    },
    ("country", "rate"),
)
FX_RATE = _obj(
    {
        "period": _ref("Period"),
        "from": _ref("Currency"),
        "to": _ref("Currency"),
        "rate": _ref("Rate"),
    },
    ("period", "from", "to", "rate"),
)
ADDRESS = _obj(
    {
        "lines": {"type": "array", "maxItems": 4, "items": _text(200, 1)},
        "city": _nullable(_text(100)),
        "postal_code": _nullable(_text(20)),
        "region": _nullable(_text(100)),
        "country": _nullable(_ref("Country")),
    }
)
BANK = _obj(
    {
        "account_name": _nullable(_text(200)),
        # groups may be spaced (stored without): 10–30 characters after the check digits
        "iban": _nullable({"type": "string", "pattern": "^[A-Z]{2}[0-9]{2}( ?[A-Z0-9]){10,30}$"}),
        "bic": _nullable({"type": "string", "pattern": "^[A-Z0-9]{8}([A-Z0-9]{3})?$"}),
        "account_number": _nullable(_text(34)),
        "routing_number": _nullable(_text(34)),
    }
)
PAYMENT_TERMS_DAYS: Schema = {"type": "integer", "minimum": 0, "maximum": 365}
SETTINGS = _obj(
    {
        "seller": _obj(
            {
                "name": _nullable(_text(200)),
                "legal_name": _nullable(_text(200)),
                "country": _nullable(_ref("Country")),
                "tax_id": _nullable(_text(64)),
                "address": _nullable(ADDRESS),
                "registration": _nullable(_text(200)),
                "email": _nullable(_text(254)),
                "phone": _nullable(_text(50)),
                "bank": _nullable(BANK),
                "payment_terms_days": _nullable(PAYMENT_TERMS_DAYS),
                "footer": _nullable(_text(1000)),
                "logo_key": _nullable(
                    {
                        "type": "string",
                        "pattern": "^settings/logo/[0-9a-f]{32}\\.(png|jpg)$",
                        "description": "Set by POST /settings/logo-upload-url.",
                    }
                ),
            }
        ),
        "tax": _obj(
            {
                "enabled": {"type": "boolean"},
                "rates": {"type": "array", "maxItems": 300, "items": TAX_RATE},
            }
        ),
        "automated_bill_processing": {"type": "boolean"},
        "default_price_list_id": _nullable(_ref("Id")),
        "pass_through": _obj(
            {
                "provider_credits": {"type": "boolean"},
                "provider_tax": {"type": "boolean"},
                "provider_discounts": {"type": "boolean"},
            }
        ),
        "billable_categories": {
            "type": "array",
            "maxItems": 3,
            "items": {"type": "string", "enum": ["Usage", "Purchase", "Adjustment"]},
        },
        "invoice_number_prefix": _nullable(
            {"type": "string", "pattern": "^[A-Za-z0-9/_.-]{0,16}$"}
        ),
        "fx_rates": {"type": "array", "maxItems": 1000, "items": FX_RATE},
        "email_on_issue": {
            "type": "boolean",
            "description": "Email each issued invoice and credit note to the customer.",
        },
        "email_from": _nullable(
            {
                "type": "string",
                "format": "email",
                "maxLength": 254,
                "description": "The verified SES identity the emails come from (default: the "
                "deployment's).",
            }
        ),
        "commitment_assignments": {
            "type": "array",
            "maxItems": 10000,
            "items": _obj(
                {"commitment_id": _text(2048, 1), "customer_id": _ref("Id")},
                required=("commitment_id", "customer_id"),
            ),
        },
    }
)

PRICE_RULE = _obj(
    {
        "id": _nullable(_ref("Id")),
        "match": _obj({key: _text(128, 1) for key in MATCH_KEYS}),
        "type": {"type": "string", "enum": ["markup", "discount", "fixed_rate"]},
        "percent": _ref("Percent"),
        "unit_price": _ref("Amount"),
        "basis": {"type": "string", "enum": ["billed", "list"]},
    },
    ("type",),
)
PRICE_LIST = _obj(
    {
        "id": _ref("Id"),
        "name": _nullable(_text(200)),
        "default": _nullable(
            _obj(
                {
                    "type": {"type": "string", "enum": ["markup", "discount", "none"]},
                    "percent": _ref("Percent"),
                    "basis": {"type": "string", "enum": ["billed", "list"]},
                }
            )
        ),
        "rules": {"type": "array", "maxItems": 300, "items": PRICE_RULE},
    }
)
PLAN = _obj(
    {
        "id": _ref("Id"),
        "name": _nullable(_text(200)),
        "price": _ref("Amount"),
        "currency": _ref("Currency"),
        "included_credit": _ref("Amount"),
        "credit_providers": _nullable(
            {"type": "array", "minItems": 1, "maxItems": 5, "items": _ref("Provider")}
        ),
        "unused_credit_policy": {"type": "string", "enum": ["forfeit", "credit", "rollover"]},
        "overage_policy": {"type": "string", "enum": ["bill", "waive"]},
    },
    ("price", "currency"),
)
APPLIES_TO: Schema = {"type": "string", "enum": ["subscriptions", "cloud", "all"]}
CUSTOM_ITEM = _obj(
    {
        "id": _ref("Id"),
        "description": _text(500, 1),
        "type": {"type": "string", "enum": ["fee", "credit"]},
        "amount": _ref("Amount"),
        "percent": _ref("Percent"),
        "applies_to": APPLIES_TO,
        "recurring": {"type": "boolean"},
        "period": _nullable(_ref("Period")),
        "start_period": _nullable(_ref("Period")),
        "end_period": _nullable(_ref("Period")),
    },
    ("id", "description", "type"),
)
CUSTOMER = _obj(
    {
        "id": _ref("Id"),
        "name": _nullable(_text(200)),
        "currency": _ref("Currency"),
        "price_list_id": _nullable(_ref("Id")),
        "email": _nullable(_text(254)),
        "legal_name": _nullable(_text(200)),
        "address": _nullable(ADDRESS),
        "billing_emails": {
            "type": "array",
            "maxItems": 10,
            "items": {"type": "string", "format": "email", "maxLength": 254},
        },
        "buyer_reference": _nullable(_text(200)),
        "payment_terms_days": _nullable(PAYMENT_TERMS_DAYS),
        "language": {"type": "string", "enum": list(INVOICE_LANGUAGES)},
        "einvoice_format": {
            "type": ["string", "null"],
            "enum": [*EINVOICE_FORMATS, None],
            "description": "Attach this EN 16931 e-invoice XML to the emailed invoice.",
        },
        "tax_profile": _obj(
            {
                "country": _nullable(_ref("Country")),
                "region": _nullable(_text(32)),
                "tax_id": _nullable(_text(64)),
                "exempt": {"type": "boolean"},
            }
        ),
        "discount": _obj({"percent": _ref("Percent"), "applies_to": APPLIES_TO}),
        "custom_items": {"type": "array", "maxItems": 100, "items": CUSTOM_ITEM},
    },
    ("currency",),
)
ACCOUNT = _obj(
    {
        "provider": _ref("Provider"),
        "account_id": _ref("AccountId"),
        "price_list_id": _nullable(_ref("Id")),
        "valid_from": _nullable(_ref("Date")),
        "valid_to": _nullable(_ref("Date")),
        "customer_id": _ref("Id"),
    },
    ("provider", "account_id"),
)
SUBSCRIPTION = _obj(
    {
        "id": _ref("Id"),
        "plan_id": _ref("Id"),
        "quantity": {"type": "integer", "minimum": 1, "maximum": 1000000},
        "start_date": _ref("Date"),
        "end_date": _nullable(_ref("Date")),
        "customer_id": _ref("Id"),
    },
    ("plan_id", "start_date"),
)
UPLOAD_URL_REQUEST = _obj(
    {
        "filename": {
            "type": "string",
            "minLength": 1,
            "maxLength": 900,
            # No leading '/', no control characters or backslashes; '..' segments are refused
            # by the view.
            "pattern": "^[^/\\\\\\u0000-\\u001f\\u007f][^\\\\\\u0000-\\u001f\\u007f]*$",
        }
    },
    ("filename",),
)
INVOICE_RUN_REQUEST = _obj(
    {
        "period": _ref("Period"),
        "mode": {"type": "string", "enum": list(RUN_MODES)},
        "customer_ids": _nullable(
            {
                "type": "array",
                "minItems": 1,
                "maxItems": 10000,
                "uniqueItems": True,
                "items": _ref("Id"),
            }
        ),
    },
    ("period",),
)
ISSUE_REQUEST = _obj({})
MARK_PAID_REQUEST = _obj({"paid_at": _ref("DateTime")})
VOID_REQUEST = _obj({"reason": _text(500)})
PAYMENT_REQUEST = _obj(
    {
        "amount": {
            **_ref("Amount"),
            "description": "What was paid, in the invoice's currency: more than zero, at most "
            "the balance due, no finer than the currency's minor unit.",
        },
        "paid_at": {
            "type": "string",
            "minLength": 10,
            "maxLength": 40,
            "description": "When the customer paid: an ISO 8601 date or date-time (now if "
            "absent; never in the future).",
        },
        "reference": _nullable(_text(200)),
    },
    ("amount",),
)
CREDIT_NOTE_REQUEST = _obj(
    {
        "amount": {
            **_ref("Amount"),
            "description": "Credit this much of the invoice's total, tax included.",
        },
        "lines": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1000,
            "description": "Credit these lines of the invoice (before tax; taxed at its rates).",
            "items": _obj(
                {
                    "index": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 99999,
                        "description": "The line's position in the invoice's `lines`, from 0.",
                    },
                    "amount": {
                        **_ref("Amount"),
                        "description": "Only this much of the line (all that remains if absent).",
                    },
                },
                ("index",),
            ),
        },
        "reason": _text(500),
    }
)
LOGO_UPLOAD_REQUEST = _obj(
    {"content_type": {"type": "string", "enum": ["image/png", "image/jpeg"]}},
    ("content_type",),
)
API_TOKEN_REQUEST = _obj(
    {
        "name": _text(100, 1),
        "role": {"type": "string", "enum": ["operator", "customer"]},
        "customer_id": _nullable(_ref("Id")),
    },
    ("name", "role"),
)
USER_INVITE = _obj(
    {
        "email": {"type": "string", "format": "email", "minLength": 3, "maxLength": 254},
        "role": {"type": "string", "enum": ["operator", "customer"]},
        "customer_id": _nullable(_ref("Id")),
    },
    ("email", "role"),
)

MERGE_PATCH_OF = (
    "A JSON Merge Patch (RFC 7396) of the {}: objects merge, null deletes a key (its default "
    "comes back), an array replaces the whole array. The merged document is validated like a "
    "PUT body ({})."
)

REQUESTS: dict[str, Schema] = {
    "SettingsPatch": {
        "type": "object",
        "description": MERGE_PATCH_OF.format("settings", "SettingsInput"),
    },
    "CustomerPatch": {
        "type": "object",
        "description": MERGE_PATCH_OF.format("customer", "CustomerInput"),
    },
    "SettingsInput": SETTINGS,
    "PriceListInput": PRICE_LIST,
    "PlanInput": PLAN,
    "CustomerInput": CUSTOMER,
    "AccountInput": ACCOUNT,
    "SubscriptionInput": SUBSCRIPTION,
    "UploadUrlRequest": UPLOAD_URL_REQUEST,
    "InvoiceRunRequest": INVOICE_RUN_REQUEST,
    "IssueRequest": ISSUE_REQUEST,
    "MarkPaidRequest": MARK_PAID_REQUEST,
    "VoidRequest": VOID_REQUEST,
    "PaymentRequest": PAYMENT_REQUEST,
    "CreditNoteRequest": CREDIT_NOTE_REQUEST,
    "ApiTokenRequest": API_TOKEN_REQUEST,
    "UserInvite": USER_INVITE,
    "UserActionRequest": _obj({}),
    "LogoUploadRequest": LOGO_UPLOAD_REQUEST,
}

# --- responses -----------------------------------------------------------------------------------


def _loose(schema: Schema, required: tuple[str, ...] = ()) -> Schema:
    """A response version of a request schema: the same fields, and any the server adds."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: strip(v) for k, v in node.items() if k != "additionalProperties"}
            # Responses carry the stored, normalized values (upper-cased countries, …).
            return out
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    result: Schema = strip(copy.deepcopy(schema))
    result.pop("required", None)
    if required:
        result["required"] = list(required)
    return result


def _page_of(item: str) -> Schema:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
        },
    }


INVOICE_LINE: Schema = {
    "type": "object",
    "required": ["kind", "description", "amount"],
    "properties": {
        "kind": {
            "type": "string",
            "enum": list(LINE_KINDS),
        },
        "description": {"type": "string"},
        "provider": {"type": ["string", "null"]},
        "service": {"type": ["string", "null"]},
        "quantity": {"type": ["integer", "null"]},
        "amount": _ref("Money"),
    },
}
TAX_LINE: Schema = {
    "type": "object",
    "required": ["name", "rate", "base", "amount"],
    "properties": {
        "name": {"type": "string"},
        "rate": {"type": "string"},
        "base": _ref("Money"),
        "amount": _ref("Money"),
        "note": {"type": "string"},
    },
}
PAYMENT: Schema = {
    "type": "object",
    "required": ["id", "amount", "paid_at", "recorded_at"],
    "properties": {
        "id": {"type": "string"},
        "amount": _ref("Money"),
        "paid_at": {"type": "string"},
        "recorded_at": {"type": "string"},
        "reference": {"type": ["string", "null"]},
    },
}
INVOICE: Schema = {
    "type": "object",
    "required": [
        "id",
        "number",
        "customer_id",
        "period",
        "currency",
        "status",
        "issued_at",
        "lines",
        "subtotal",
        "taxes",
        "tax_total",
        "total",
    ],
    "properties": {
        "id": _ref("InvoiceId"),
        "number": {"type": ["string", "null"]},
        "kind": {"type": "string", "enum": list(DOCUMENT_KINDS)},
        "customer_id": _ref("Id"),
        "customer_name": {"type": ["string", "null"]},
        "draft_number": {"type": "integer", "description": "A draft's sequence (operators)."},
        "period": _ref("Period"),
        "currency": _ref("Currency"),
        "status": {"type": "string", "enum": list(INVOICE_STATUSES)},
        "issued_at": {"type": ["string", "null"]},
        "issue_date": _ref("Date"),
        "due_date": _ref("Date"),
        "service_period": _obj({"start": _ref("Date"), "end": _ref("Date")}),
        "payment_terms_days": PAYMENT_TERMS_DAYS,
        "paid_at": {"type": ["string", "null"]},
        "voided_at": {"type": ["string", "null"]},
        "credit_note_for": {"type": ["string", "null"]},
        "credited_invoice_id": {"type": ["string", "null"]},
        "credited_invoice_number": {"type": ["string", "null"]},
        "lines": {"type": "array", "items": INVOICE_LINE},
        "subscriptions_total": _ref("Money"),
        "cloud_usage_total": _ref("Money"),
        "prepurchased_applied": _ref("Money"),
        "overage": _ref("Money"),
        "discount_total": _ref("Money"),
        "subtotal": _ref("Money"),
        "taxes": {"type": "array", "items": TAX_LINE},
        "tax_total": _ref("Money"),
        "total": _ref("Money"),
        "payments": {"type": "array", "items": PAYMENT},
        "amount_paid": _ref("Money"),
        "balance_due": {
            **_ref("Money"),
            "description": "total − credit notes − payments; below zero: a credit balance.",
        },
        "overdue": {"type": "boolean", "description": "Issued, a balance due, past due_date."},
        "delivery": {
            "type": "object",
            "description": "Operators: the last email of the document to the customer.",
            "required": ["status", "at"],
            "properties": {
                "status": {"type": "string", "enum": ["sent", "failed"]},
                "at": {"type": "string"},
                "to": {"type": "array", "items": {"type": "string"}},
                "message_id": {"type": "string"},
                "reason": {"type": "string"},
            },
        },
    },
    "description": "Operators also see the reseller's figures (cost, margin, savings_retained, "
    "…); customers see the invoice only.",
}
BILL_ACCOUNT: Schema = {
    "type": "object",
    "required": ["provider", "account_id", "cost"],
    "properties": {
        "provider": {"type": "string"},
        "account_id": {"type": "string"},
        "currency": {"type": "string"},
        "cost": _ref("Money"),  # EffectiveCost
        "billed_cost": _ref("Money"),  # BilledCost, which the reconciliation counts
        "cost_display": {"type": "string", "description": "`cost` rounded to the currency."},
        "billed_cost_display": {"type": "string"},
    },
}
RECONCILIATION: Schema = {
    "type": ["object", "null"],
    "description": "Every cent of the period's bills accounted for, per bill currency, as the "
    "invoice run computed it: bill total = billed + retained + unassigned + not priced.",
    "required": ["period", "balanced"],
    "properties": {
        "period": {"type": "string"},
        # null when the bills could not be read (the run says why in ``error``)
        "balanced": {"type": ["boolean", "null"]},
        "run_id": {"type": "string"},
        "computed_at": {"type": "string"},
        "error": {"type": "string"},
        "unpriced_customers": {"type": "array", "items": {"type": "string"}},
        "duplicated_lines": {
            "type": "integer",
            "description": "Lines whose identity is in more than one current bill file: a line "
            "counted twice. Never balanced while above 0.",
        },
        "duplicated_files": {
            "type": "array",
            "description": "Pairs of bill ids that share lines (at most 20).",
            "items": {"type": "array", "items": {"type": "string"}},
        },
        "currencies": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["currency", "bill_total", "billed", "difference"],
                "properties": {
                    "currency": {"type": "string"},
                    "bill_total": _ref("Money"),
                    "billed": _ref("Money"),
                    "retained": {"type": "object", "additionalProperties": _ref("Money")},
                    "unassigned": _ref("Money"),
                    "unpriced": _ref("Money"),
                    "difference": _ref("Money"),
                    # the payer accounts' own lines (commitment fees, support)
                    "reseller_accounts": _ref("Money"),
                    "display": {
                        "type": "object",
                        "description": "The same figures rounded to the currency's minor unit.",
                    },
                },
            },
        },
    },
}
USER: Schema = {
    "type": "object",
    "required": ["username", "role", "enabled", "status"],
    "properties": {
        "username": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "role": {
            "type": ["string", "null"],
            "enum": ["operator", "customer", None],
            "description": "null: neither an operator nor linked to a customer (cannot sign in).",
        },
        "customer_id": {"type": ["string", "null"]},
        "enabled": {"type": "boolean"},
        "status": {
            "type": "string",
            "description": "Cognito's: FORCE_CHANGE_PASSWORD (invited), CONFIRMED, "
            "RESET_REQUIRED, …",
        },
        "created_at": {"type": ["string", "null"]},
        "reset": {
            "type": "string",
            "enum": ["reinvited", "reset"],
            "description": "After a reset: invited again (never signed in) or asked for a new "
            "password.",
        },
    },
}
RESPONSES: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "Stable, machine readable."},
            "message": {"type": "string"},
            "field": {"type": "string", "description": "The field or parameter at fault."},
        },
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {}}},
    "Settings": _loose(SETTINGS),
    "User": USER,
    "UserPage": _page_of("User"),
    "PriceList": _loose(PRICE_LIST, ("id",)),
    "PriceListPage": _page_of("PriceList"),
    "Plan": _loose(PLAN, ("id", "price", "currency")),
    "PlanPage": _page_of("Plan"),
    "Customer": _loose(CUSTOMER, ("id", "currency")),
    "CustomerPage": _page_of("Customer"),
    "Account": _loose(ACCOUNT, ("customer_id", "provider", "account_id")),
    "AccountPage": _page_of("Account"),
    "Subscription": _loose(SUBSCRIPTION, ("customer_id", "id", "plan_id", "start_date")),
    "SubscriptionPage": _page_of("Subscription"),
    "UploadUrl": {
        "type": "object",
        "required": ["upload_url", "key", "expires_at"],
        "properties": {
            "upload_url": {"type": "string", "description": "PUT the file's bytes here."},
            "key": {"type": "string"},
            "expires_at": _ref("DateTime"),
        },
    },
    "Bill": {
        "type": "object",
        "required": ["id", "key", "status"],
        "properties": {
            "id": {"type": "string"},
            "key": {"type": "string"},
            "status": _ref("BillStatus"),
            "format": {"type": ["string", "null"]},
            "provider": {"type": ["string", "null"]},
            "periods": {"type": ["array", "null"], "items": {"type": "string"}},
            "rows": {"type": ["integer", "null"]},
            "final": {"type": ["boolean", "null"]},
            "error": {"type": ["object", "null"]},
            "received_at": {"type": ["string", "null"]},
            "content_sha256": {
                "type": "string",
                "description": "SHA-256 of the file's bytes: the same bytes under another name "
                "are a duplicate.",
            },
            "duplicate_of": {
                **_ref("BillRef"),
                "description": "duplicate: the earlier file with the same bytes.",
            },
            "collided_with": {
                **_ref("BillRef"),
                "description": "refused: the current file that already holds its lines.",
            },
            "superseded_by": {
                **_ref("BillRef"),
                "description": "superseded on arrival: the newer delivery that is current.",
            },
            "quarantine_key": {"type": "string"},
            "delivery_id": {"type": "string"},
            "totals_display": {
                "type": ["object", "null"],
                "description": "`totals` rounded to the bill currency's minor unit.",
                "additionalProperties": {"type": "string"},
            },
        },
    },
    "BillStatus": {
        "type": "string",
        "enum": list(BILL_STATUSES),
        "description": "processing: being taken in; processed: taken in (current unless a "
        "newer delivery replaced it); superseded: replaced by a newer delivery of the same bill; "
        "failed: not a readable bill (quarantined), or our failure (retried); duplicate: the "
        "same bytes as an earlier file, not counted; refused: its lines are already current in "
        "another file it does not replace (quarantined).",
    },
    "BillRef": {
        "type": ["object", "null"],
        "properties": {
            "bill_id": {"type": ["string", "null"]},
            "key": {"type": ["string", "null"]},
        },
    },
    "BillDetail": {
        "allOf": [
            _ref("Bill"),
            {
                "type": "object",
                "required": ["current_in"],
                "properties": {
                    "current_in": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "The periods whose bill counts this file now.",
                    },
                    "delivery": {
                        "type": ["object", "null"],
                        "description": "The multi-part report delivery the file is a part of, "
                        "with the outcome of each part.",
                    },
                    "duplicate_of_bill": {"oneOf": [{"type": "null"}, _ref("Bill")]},
                    "collided_with_bill": {"oneOf": [{"type": "null"}, _ref("Bill")]},
                },
            },
        ]
    },
    "BillPage": _page_of("Bill"),
    "BillingReport": {
        "type": "object",
        "required": ["period", "rows", "unassigned", "totals"],
        "properties": {
            "period": _ref("Period"),
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["customer_id", "cost", "price", "margin", "invoice"],
                    "properties": {
                        "customer_id": {"type": "string"},
                        # null while the customer has no invoice for the period
                        "cost": {"anyOf": [_ref("Money"), {"type": "null"}]},
                        "price": {"anyOf": [_ref("Money"), {"type": "null"}]},
                        "margin": {"anyOf": [_ref("Money"), {"type": "null"}]},
                        "margin_percent": {"type": ["string", "null"]},
                        "invoice": {"type": ["object", "null"]},
                    },
                },
            },
            "unassigned": {
                "type": "array",
                "description": "Accounts in the bills that no customer owns (bill currency).",
                "items": BILL_ACCOUNT,
            },
            "reseller_accounts": {
                "type": "array",
                "description": "The payer accounts' own lines, which stay with the reseller.",
                "items": BILL_ACCOUNT,
            },
            "reconciliation": RECONCILIATION,
            "unassigned_check": {
                "type": "array",
                "description": "Per bill currency: the unassigned accounts listed now against "
                "the reconciliation's unassigned figure (BilledCost). `agrees` is false when "
                "accounts were assigned or bills came in after the run that reconciled.",
                "items": {
                    "type": "object",
                    "required": ["currency", "listed", "reconciled", "agrees"],
                    "properties": {
                        "currency": {"type": "string"},
                        "listed": _ref("Money"),
                        "reconciled": _ref("Money"),
                        "listed_display": {"type": "string"},
                        "reconciled_display": {"type": "string"},
                        "agrees": {"type": "boolean"},
                        "accounts": {
                            "type": "array",
                            "description": "The accounts where they differ, each with its "
                            "`reason`: `owned_part_of_period` (a customer owns it for part of "
                            "the period only) or `changed_since_run`.",
                            "items": {"type": "object"},
                        },
                    },
                },
            },
            "outstanding": {
                "type": "array",
                "description": "What each customer owes today over every period (issued "
                "invoices' balances due) and how much of it is overdue, per invoice currency.",
                "items": {
                    "type": "object",
                    "required": ["customer_id", "currency", "outstanding", "overdue"],
                    "properties": {
                        "customer_id": {"type": "string"},
                        "name": {"type": "string"},
                        "currency": _ref("Currency"),
                        "outstanding": _ref("Money"),
                        "overdue": _ref("Money"),
                        "invoices": {"type": "integer"},
                        "overdue_invoices": {"type": "integer"},
                    },
                },
            },
            "totals": {
                "type": "array",
                "description": "One row per invoice currency: currencies never add up.",
                "items": {
                    "type": "object",
                    "required": ["currency", "customers", "cost", "price", "margin"],
                    "properties": {
                        "currency": _ref("Currency"),
                        "customers": {"type": "integer"},
                        "cost": _ref("Money"),
                        "price": _ref("Money"),
                        "margin": _ref("Money"),
                        "margin_percent": {"type": ["string", "null"]},
                    },
                },
            },
        },
    },
    "InvoiceRunAccepted": {
        "type": "object",
        "required": ["run_id", "status"],
        "properties": {"run_id": {"type": "string"}, "status": {"type": "string"}},
    },
    "InvoiceRun": {
        "type": "object",
        "required": ["run_id", "period", "mode", "status", "progress", "errors"],
        "properties": {
            "run_id": {"type": "string"},
            "period": _ref("Period"),
            "mode": {"type": "string", "enum": list(RUN_MODES)},
            "status": {"type": "string", "enum": list(RUN_STATUSES)},
            "customer_ids": {"type": ["array", "null"], "items": {"type": "string"}},
            "reconciliation": RECONCILIATION,
            "progress": {
                "type": "object",
                "required": ["customers", "done", "saved", "unchanged", "failed"],
                "properties": {
                    name: {"type": ["integer", "null"]}
                    for name in ("customers", "done", "saved", "unchanged", "failed")
                },
            },
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["customer_id", "message"],
                    "properties": {
                        "customer_id": {"type": "string"},
                        "type": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    },
    "InvoiceRunSummary": {
        "type": "object",
        "required": ["run_id", "period", "mode", "status", "counts", "reconciliation"],
        "properties": {
            "run_id": {"type": "string"},
            "period": _ref("Period"),
            "mode": {"type": ["string", "null"], "enum": [*RUN_MODES, None]},
            "status": {"type": "string", "enum": list(RUN_STATUSES)},
            "customer_ids": {"type": ["array", "null"], "items": {"type": "string"}},
            "requested_at": {"type": ["string", "null"]},
            "started_at": {"type": ["string", "null"]},
            "finished_at": {"type": ["string", "null"]},
            "started_by": {
                "type": ["object", "null"],
                "description": "Who started the run: `subject` (`token:<id>` or "
                "`user:<sub>`) and `name` (the token's or the user's name). Null for runs "
                "started before it was recorded.",
                "properties": {"subject": {"type": "string"}, "name": {"type": "string"}},
            },
            "counts": {
                "type": "object",
                "description": "Null while the run executes (see getInvoiceRun for its "
                "progress), but for `customers`.",
                "required": ["customers", "done", "saved", "unchanged", "failed"],
                "properties": {
                    name: {"type": ["integer", "null"]}
                    for name in ("customers", "done", "saved", "unchanged", "failed")
                },
            },
            "reconciliation": {
                "type": ["object", "null"],
                "description": "Null until the run closes (or when it failed).",
                "properties": {
                    "balanced": {"type": ["boolean", "null"]},
                    "differences": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "currency": {"type": "string"},
                                "difference": _ref("Money"),
                            },
                        },
                    },
                    "duplicated_lines": {"type": "integer"},
                    "error": {"type": ["string", "null"]},
                },
            },
        },
    },
    "InvoiceRunPage": _page_of("InvoiceRunSummary"),
    "Invoice": INVOICE,
    "InvoicePage": _page_of("Invoice"),
    "VoidResult": {
        "type": "object",
        "required": ["invoice", "credit_note"],
        "properties": {"invoice": _ref("Invoice"), "credit_note": _ref("Invoice")},
    },
    "CsvLink": {
        "type": "object",
        "required": ["url", "expires_at"],
        "properties": {"url": {"type": "string"}, "expires_at": _ref("DateTime")},
    },
    "PdfLink": {
        "type": "object",
        "required": ["url", "expires_at"],
        "properties": {"url": {"type": "string"}, "expires_at": _ref("DateTime")},
    },
    "LogoUploadUrl": {
        "type": "object",
        "required": ["upload_url", "key", "content_type", "max_bytes", "expires_at"],
        "properties": {
            "upload_url": {
                "type": "string",
                "description": "PUT the image here, with this Content-Type header.",
            },
            "key": {"type": "string"},
            "content_type": {"type": "string"},
            "max_bytes": {"type": "integer"},
            "expires_at": _ref("DateTime"),
        },
    },
    "ApiToken": {
        "type": "object",
        "required": ["id", "name", "role", "customer_id", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["operator", "customer"]},
            "customer_id": {"type": ["string", "null"]},
            "created_at": _ref("DateTime"),
            "token": {
                "type": "string",
                "description": "The secret, in the creating response only: it is stored "
                "hashed and cannot be shown again.",
            },
        },
    },
    "ApiTokenPage": _page_of("ApiToken"),
}

# --- parameters ----------------------------------------------------------------------------------


def _query(name: str, schema: Schema, description: str, required: bool = False) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def _path(name: str, schema: Schema, example: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "example": example}


DECIMAL_FILTER: Schema = {"type": "string", "pattern": "^-?[0-9]{1,15}(\\.[0-9]{1,4})?$"}
# The file-link routes (CSV, PDF, e-invoice): a 302 to the presigned link, or the link as JSON.
REDIRECT_PARAMETER = _query(
    "redirect",
    {"type": "boolean", "default": True},
    "false: answer {url, expires_at} instead of redirecting.",
)
PAGE_PARAMETERS = [
    _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "Items per page.",
    ),
    _query(
        "cursor",
        {"type": "string", "minLength": 1, "maxLength": 2048},
        "The `next_cursor` of the previous page.",
    ),
]
PATH_PARAMETERS: dict[str, Schema] = {
    "price_list_id": _path("price_list_id", _ref("Id"), "standard"),
    "plan_id": _path("plan_id", _ref("Id"), "growth"),
    "customer_id": _path("customer_id", _ref("Id"), "acme"),
    "provider": _path("provider", _ref("Provider"), "aws"),
    "account_id": _path("account_id", _ref("AccountId"), "111111111111"),
    "subscription_id": _path("subscription_id", _ref("Id"), "acme-growth"),
    "run_id": _path("run_id", _ref("InvoiceId"), "2026-10-issue-0123456789ab-1"),
    "bill_id": _path(
        "bill_id", {"type": "string", "pattern": "^[0-9a-f]{24}$"}, "0123456789abcdef01234567"
    ),
    "invoice_id": _path("invoice_id", _ref("InvoiceId"), "inv-acme-2026-10-1"),
    "username": _path("username", {"type": "string", "pattern": "^[^\\s/]{1,128}$"}, "ap-3f9a1c"),
    "token_id": _path("token_id", {"type": "string", "pattern": "^[0-9a-f]{16}$"}, "0" * 16),
}
INVOICE_FILTERS = [
    _query("customer_id", _ref("Id"), "Only this customer's invoices."),
    _query("period", _ref("Period"), "Only this period's invoices."),
    _query(
        "status",
        {"type": "string", "enum": list(INVOICE_STATUSES)},
        "Only invoices in this status (customers never see drafts: status=draft lists none).",
    ),
    _query(
        "has_discount",
        {"type": "boolean"},
        "true: only invoices that grant a discount (discount_total below zero); false: none.",
    ),
    _query("min_discount", DECIMAL_FILTER, "Discount granted (−discount_total) at least this."),
    _query("max_discount", DECIMAL_FILTER, "Discount granted (−discount_total) at most this."),
    _query("min_total", DECIMAL_FILTER, "Total at least this (in the invoice's currency)."),
    _query("max_total", DECIMAL_FILTER, "Total at most this (in the invoice's currency)."),
    _query(
        "overdue",
        {"type": "boolean", "enum": [True]},
        "true: only overdue invoices (issued, a balance due, past their due date), oldest due "
        "first.",
    ),
]
# Sorting and searching the filtered invoices (chalicelib/service/invoice_list.py).
INVOICE_SORTS = ("number", "customer", "period", "total", "status", "issued_at")
INVOICE_LIST_ORDER = [
    _query(
        "sort",
        {"type": "string", "enum": list(INVOICE_SORTS)},
        "Sort by this column (drafts after numbered invoices); without sort or q, the order of "
        "the index that answers the filters. At most 5000 invoices may match to sort or search.",
    ),
    _query("order", {"type": "string", "enum": ["asc", "desc"]}, "asc (default) or desc."),
    _query(
        "q",
        {"type": "string", "minLength": 1, "maxLength": 100},
        "Search: invoice number starting with q, or customer id or name containing q "
        "(case-insensitive). Without sort, newest periods first.",
    ),
]

# --- operations ----------------------------------------------------------------------------------


def _json(schema: Schema, example: Any = None) -> Schema:
    content: Schema = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"application/json": content}


ERRORS = {"4XX": {"description": "The request was refused.", "content": _json(_ref("Error"))}}


def _op(
    operation_id: str,
    summary: str,
    *,
    roles: list[str] | None,
    ok: tuple[int, str | None] = (200, None),
    body: str | None = None,
    body_required: bool = True,
    example: Any = None,
    params: list[Schema] | None = None,
    extra_responses: dict[str, Any] | None = None,
    csv: bool = False,
) -> Schema:
    status, response = ok
    content = {**_json(_ref(response)), **(CSV_CONTENT if csv else {})} if response else None
    responses: dict[str, Any] = {
        str(status): {"description": summary, **({"content": content} if content else {})}
    }
    responses.update(extra_responses or {})
    operation: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": params or [],
        "responses": {**responses, **(ERRORS if roles is not None or body else {})},
    }
    if roles is None:
        operation["security"] = []
    else:
        operation["x-rebill-roles"] = roles
    if body:
        operation["requestBody"] = {
            "required": body_required,
            "content": _json(_ref(body), example),
        }
    return operation


def _path_params(*names: str) -> list[Schema]:
    return [PATH_PARAMETERS[name] for name in names]


SETTINGS_EXAMPLE = {
    "seller": {"name": "Example Cloud GmbH", "country": "DE", "tax_id": "DE136695976"},
    "tax": {"enabled": True, "rates": [{"country": "DE", "rate": "19", "name": "VAT"}]},
    "automated_bill_processing": True,
    "default_price_list_id": "standard",
    "pass_through": {"provider_credits": False, "provider_tax": False, "provider_discounts": False},
    "invoice_number_prefix": DEFAULT_INVOICE_NUMBER_PREFIX,
    "fx_rates": [{"period": "2026-10", "from": "USD", "to": "EUR", "rate": "0.92"}],
}
PRICE_LIST_EXAMPLE = {
    "id": "standard",
    "name": "Standard",
    "default": {"type": "markup", "percent": "10"},
    "rules": [{"id": "s3", "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"}],
}
PLAN_EXAMPLE = {
    "id": "growth",
    "name": "Growth",
    "price": "500.00",
    "currency": "USD",
    "included_credit": "40.00",
    "credit_providers": ["aws"],
    "unused_credit_policy": "forfeit",
    "overage_policy": "bill",
}
CUSTOMER_EXAMPLE = {
    "id": "acme",
    "name": "Acme GmbH",
    "currency": "USD",
    "price_list_id": "standard",
    "email": "billing@acme.example",
    "tax_profile": {"country": "DE", "region": None, "tax_id": None, "exempt": False},
    "discount": {"percent": "0", "applies_to": "all"},
}
ACCOUNT_EXAMPLE = {"provider": "aws", "account_id": "111111111111", "price_list_id": None}
SUBSCRIPTION_EXAMPLE = {
    "id": "acme-growth",
    "plan_id": "growth",
    "quantity": 1,
    "start_date": "2026-10-01",
    "end_date": None,
}

CSV_REDIRECT = {
    "302": {
        "description": "Redirect to a presigned URL of the detailed CSV (valid 5 minutes).",
        "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
    }
}
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}
PDF_REDIRECT = {
    "302": {
        "description": "Redirect to a presigned URL of the PDF (valid 5 minutes).",
        "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
    }
}
EINVOICE_REDIRECT = {
    "302": {
        "description": "Redirect to a presigned URL of the e-invoice XML (valid 5 minutes).",
        "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
    }
}

IF_MATCH_HEADER: Schema = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 1024},
    "description": "The ETag of the GET the change is based on: a document changed since is "
    "not written (412).",
}


def _merge_patch(
    operation_id: str,
    summary: str,
    response: str,
    body: str,
    example: Any,
    params: list[Schema] | None = None,
) -> Schema:
    """A partial update: a JSON Merge Patch body, ``If-Match`` optional, the ETag answered."""
    operation = _op(
        operation_id,
        summary,
        roles=OPERATOR,
        ok=(200, response),
        body=body,
        example=example,
        params=[*(params or []), IF_MATCH_HEADER],
        extra_responses={
            "412": {
                "description": "If-Match names a version that is no longer the current one.",
                "content": _json(_ref("Error")),
            }
        },
    )
    operation["responses"]["200"]["headers"] = {
        "ETag": {"schema": {"type": "string"}, "description": "The new version."}
    }
    content = operation["requestBody"]["content"]
    content["application/merge-patch+json"] = content["application/json"]
    return operation


def _operations() -> dict[str, dict[str, Schema]]:
    page = PAGE_PARAMETERS
    return {
        "/health": {"get": _op("getHealth", "Liveness", roles=None, ok=(200, "Health"))},
        "/openapi.json": {
            "get": {
                **_op("getOpenApi", "This document", roles=None),
                "responses": {
                    "200": {"description": "This document", "content": _json({"type": "object"})}
                },
            }
        },
        "/settings": {
            "get": _op("getSettings", "The settings", roles=OPERATOR, ok=(200, "Settings")),
            "put": _op(
                "putSettings",
                "Replace the settings",
                roles=OPERATOR,
                ok=(200, "Settings"),
                body="SettingsInput",
                example=SETTINGS_EXAMPLE,
            ),
            "patch": _merge_patch(
                "patchSettings",
                "Change some settings (JSON Merge Patch)",
                "Settings",
                "SettingsPatch",
                {"seller": {"tax_id": "DE136695976"}, "tax": {"enabled": True}},
            ),
        },
        "/settings/logo-upload-url": {
            "post": _op(
                "createLogoUploadUrl",
                "A presigned URL to PUT the seller's logo (PNG or JPEG, at most 512 KB); the "
                "settings record its key",
                roles=OPERATOR,
                ok=(200, "LogoUploadUrl"),
                body="LogoUploadRequest",
                example={"content_type": "image/png"},
            )
        },
        "/price-lists": {
            "post": _op(
                "createPriceList",
                "Create a price list",
                roles=OPERATOR,
                ok=(201, "PriceList"),
                body="PriceListInput",
                example=PRICE_LIST_EXAMPLE,
            ),
            "get": _op(
                "listPriceLists",
                "Price lists",
                roles=OPERATOR,
                ok=(200, "PriceListPage"),
                params=page,
            ),
        },
        "/price-lists/{price_list_id}": {
            "get": _op(
                "getPriceList",
                "A price list",
                roles=OPERATOR,
                ok=(200, "PriceList"),
                params=_path_params("price_list_id"),
            ),
            "put": _op(
                "putPriceList",
                "Replace a price list",
                roles=OPERATOR,
                ok=(200, "PriceList"),
                body="PriceListInput",
                example=PRICE_LIST_EXAMPLE,
                params=_path_params("price_list_id"),
            ),
            "delete": _op(
                "deletePriceList",
                "Delete a price list no customer or account uses",
                roles=OPERATOR,
                ok=(204, None),
                params=_path_params("price_list_id"),
            ),
        },
        "/plans": {
            "post": _op(
                "createPlan",
                "Create a plan",
                roles=OPERATOR,
                ok=(201, "Plan"),
                body="PlanInput",
                example=PLAN_EXAMPLE,
            ),
            "get": _op("listPlans", "Plans", roles=OPERATOR, ok=(200, "PlanPage"), params=page),
        },
        "/plans/{plan_id}": {
            "get": _op(
                "getPlan",
                "A plan",
                roles=OPERATOR,
                ok=(200, "Plan"),
                params=_path_params("plan_id"),
            ),
            "put": _op(
                "putPlan",
                "Replace a plan",
                roles=OPERATOR,
                ok=(200, "Plan"),
                body="PlanInput",
                example=PLAN_EXAMPLE,
                params=_path_params("plan_id"),
            ),
        },
        "/customers": {
            "post": _op(
                "createCustomer",
                "Create a customer",
                roles=OPERATOR,
                ok=(201, "Customer"),
                body="CustomerInput",
                example=CUSTOMER_EXAMPLE,
            ),
            "get": _op(
                "listCustomers",
                "Customers",
                roles=OPERATOR,
                ok=(200, "CustomerPage"),
                params=page,
            ),
        },
        "/customers/{customer_id}": {
            "get": _op(
                "getCustomer",
                "A customer",
                roles=OPERATOR,
                ok=(200, "Customer"),
                params=_path_params("customer_id"),
            ),
            "put": _op(
                "putCustomer",
                "Replace a customer",
                roles=OPERATOR,
                ok=(200, "Customer"),
                body="CustomerInput",
                example=CUSTOMER_EXAMPLE,
                params=_path_params("customer_id"),
            ),
            "patch": _merge_patch(
                "patchCustomer",
                "Change some of a customer's fields (JSON Merge Patch)",
                "Customer",
                "CustomerPatch",
                {"email": "ap@acme.example", "tax_profile": {"tax_id": None}},
                _path_params("customer_id"),
            ),
            "delete": _op(
                "deleteCustomer",
                "Delete a customer that has no invoices, with its accounts and subscriptions",
                roles=OPERATOR,
                ok=(204, None),
                params=_path_params("customer_id"),
            ),
        },
        "/customers/{customer_id}/accounts": {
            "post": _op(
                "createAccount",
                "Link a cloud account to the customer",
                roles=OPERATOR,
                ok=(201, "Account"),
                body="AccountInput",
                example=ACCOUNT_EXAMPLE,
                params=_path_params("customer_id"),
            ),
            "get": _op(
                "listAccounts",
                "The customer's cloud accounts",
                roles=OPERATOR,
                ok=(200, "AccountPage"),
                params=_path_params("customer_id") + page,
            ),
        },
        "/customers/{customer_id}/accounts/{provider}/{account_id}": {
            "delete": _op(
                "deleteAccount",
                "Unlink a cloud account",
                roles=OPERATOR,
                ok=(204, None),
                params=_path_params("customer_id", "provider", "account_id"),
            ),
        },
        "/customers/{customer_id}/subscriptions": {
            "post": _op(
                "createSubscription",
                "Subscribe the customer to a plan",
                roles=OPERATOR,
                ok=(201, "Subscription"),
                body="SubscriptionInput",
                example=SUBSCRIPTION_EXAMPLE,
                params=_path_params("customer_id"),
            ),
            "get": _op(
                "listSubscriptions",
                "The customer's subscriptions",
                roles=OPERATOR,
                ok=(200, "SubscriptionPage"),
                params=_path_params("customer_id") + page,
            ),
        },
        "/customers/{customer_id}/subscriptions/{subscription_id}": {
            "get": _op(
                "getSubscription",
                "A subscription",
                roles=OPERATOR,
                ok=(200, "Subscription"),
                params=_path_params("customer_id", "subscription_id"),
            ),
            "put": _op(
                "putSubscription",
                "Replace a subscription",
                roles=OPERATOR,
                ok=(200, "Subscription"),
                body="SubscriptionInput",
                example=SUBSCRIPTION_EXAMPLE,
                params=_path_params("customer_id", "subscription_id"),
            ),
            "delete": _op(
                "deleteSubscription",
                "End a subscription's existence (use end_date to end it in time)",
                roles=OPERATOR,
                ok=(204, None),
                params=_path_params("customer_id", "subscription_id"),
            ),
        },
        "/bills/upload-url": {
            "post": _op(
                "createBillUploadUrl",
                "A presigned URL to PUT a bill file into the bills prefix",
                roles=OPERATOR,
                ok=(200, "UploadUrl"),
                body="UploadUrlRequest",
                example={"filename": "cur/report/20261001-20261101/report-00001.csv.gz"},
            )
        },
        "/bills": {
            "get": _op(
                "listBills",
                "Bill files and their processing status: a period's, or every period's of one "
                "status (newest first)",
                roles=OPERATOR,
                ok=(200, "BillPage"),
                params=[
                    _query("period", _ref("Period"), "The period (required without status)."),
                    _query("status", _ref("BillStatus"), "Only files of this status."),
                    *page,
                ],
            )
        },
        "/bills/{bill_id}": {
            "get": _op(
                "getBill",
                "A bill file: its status, delivery, and the file it collided with",
                roles=OPERATOR,
                ok=(200, "BillDetail"),
                params=_path_params("bill_id"),
            )
        },
        "/reports/billing": {
            "get": _op(
                "getBillingReport",
                "Cost, price and margin per customer for a period",
                roles=OPERATOR,
                ok=(200, "BillingReport"),
                params=[
                    _query(
                        "period",
                        _ref("Period"),
                        "The period. Without it: the latest period with invoices or bills "
                        "(the response's `period` says which).",
                    ),
                    _query(
                        "format",
                        {"type": "string", "enum": ["json", "csv"], "default": "json"},
                        "csv: the rows as a spreadsheet.",
                    ),
                ],
                csv=True,
            )
        },
        "/invoice-runs": {
            "post": _op(
                "startInvoiceRun",
                "Start generating the invoices of a period",
                roles=OPERATOR,
                ok=(202, "InvoiceRunAccepted"),
                body="InvoiceRunRequest",
                example={"period": "2026-10", "mode": "issue"},
            ),
            "get": _op(
                "listInvoiceRuns",
                "Invoice runs, newest first: of a period, or the latest of every period",
                roles=OPERATOR,
                ok=(200, "InvoiceRunPage"),
                params=[_query("period", _ref("Period"), "Only this period's runs."), *page],
            ),
        },
        "/invoice-runs/{run_id}": {
            "get": _op(
                "getInvoiceRun",
                "An invoice run: status, progress and per-customer errors",
                roles=OPERATOR,
                ok=(200, "InvoiceRun"),
                params=_path_params("run_id"),
            )
        },
        "/invoices": {
            "get": _op(
                "listInvoices",
                "Invoices, filtered (customers see only their own)",
                roles=EVERYONE,
                ok=(200, "InvoicePage"),
                params=INVOICE_FILTERS + INVOICE_LIST_ORDER + page,
            )
        },
        "/invoices/{invoice_id}": {
            "get": _op(
                "getInvoice",
                "An invoice with its lines, totals and taxes",
                roles=EVERYONE,
                ok=(200, "Invoice"),
                params=_path_params("invoice_id"),
            )
        },
        "/invoices/{invoice_id}/csv": {
            "get": _op(
                "getInvoiceCsv",
                "A short-lived link to the invoice's CSV (customers: the customer CSV)",
                roles=EVERYONE,
                ok=(200, "CsvLink"),
                params=[
                    *_path_params("invoice_id"),
                    REDIRECT_PARAMETER,
                    _query(
                        "view",
                        {"type": "string", "enum": ["detail", "customer"]},
                        "detail (operators only; their default): the detailed CSV with the "
                        "reseller's figures; customer (a customer's only one): what the "
                        "customer is billed.",
                    ),
                ],
                extra_responses=CSV_REDIRECT,
            )
        },
        "/invoices/{invoice_id}/pdf": {
            "get": _op(
                "getInvoicePdf",
                "A short-lived link to the invoice's PDF (drafts: operators only, rendered now "
                "with a DRAFT mark)",
                roles=EVERYONE,
                ok=(200, "PdfLink"),
                params=[
                    *_path_params("invoice_id"),
                    REDIRECT_PARAMETER,
                ],
                extra_responses=PDF_REDIRECT,
            )
        },
        "/invoices/{invoice_id}/e-invoice": {
            "get": _op(
                "getInvoiceEInvoice",
                "A short-lived link to the invoice's EN 16931 e-invoice (CII or UBL XML)",
                roles=EVERYONE,
                ok=(200, "CsvLink"),
                params=[
                    *_path_params("invoice_id"),
                    _query(
                        "format",
                        {"type": "string", "enum": list(EINVOICE_FORMATS)},
                        "cii: UN/CEFACT CII, the XML of Factur-X / ZUGFeRD (EN 16931 profile); "
                        "ubl: UBL 2.1 as Peppol BIS Billing 3.0 (Invoice or CreditNote).",
                        required=True,
                    ),
                    REDIRECT_PARAMETER,
                ],
                extra_responses=EINVOICE_REDIRECT,
            )
        },
        "/invoices/{invoice_id}/issue": {
            "post": _op(
                "issueInvoice",
                "Issue a draft: it gets the next invoice number",
                roles=OPERATOR,
                ok=(200, "Invoice"),
                body="IssueRequest",
                body_required=False,
                params=_path_params("invoice_id"),
            )
        },
        "/invoices/{invoice_id}/void": {
            "post": _op(
                "voidInvoice",
                "Void an issued invoice: a credit note negates it",
                roles=OPERATOR,
                ok=(200, "VoidResult"),
                body="VoidRequest",
                body_required=False,
                params=_path_params("invoice_id"),
            )
        },
        "/invoices/{invoice_id}/mark-paid": {
            "post": _op(
                "markInvoicePaid",
                "Record a payment of an issued invoice's whole balance due: it is paid",
                roles=OPERATOR,
                ok=(200, "Invoice"),
                body="MarkPaidRequest",
                body_required=False,
                params=_path_params("invoice_id"),
            )
        },
        "/invoices/{invoice_id}/payments": {
            "post": _op(
                "recordInvoicePayment",
                "Record a payment against an issued invoice (paid once its balance is covered)",
                roles=OPERATOR,
                ok=(201, "Invoice"),
                body="PaymentRequest",
                example={"amount": "250.00", "paid_at": "2026-11-20", "reference": "SEPA 4711"},
                params=_path_params("invoice_id"),
            )
        },
        "/invoices/{invoice_id}/send": {
            "post": _op(
                "sendInvoice",
                "Email an issued invoice or credit note to the customer again (see `delivery`)",
                roles=OPERATOR,
                ok=(200, "Invoice"),
                body="IssueRequest",
                body_required=False,
                params=_path_params("invoice_id"),
            )
        },
        "/invoices/{invoice_id}/credit-notes": {
            "post": _op(
                "creditInvoice",
                "Credit an issued or paid invoice, in full or in part, with a credit note",
                roles=OPERATOR,
                ok=(201, "Invoice"),
                body="CreditNoteRequest",
                body_required=False,
                example={"amount": "100.00", "reason": "disputed usage"},
                params=_path_params("invoice_id"),
            )
        },
        "/api-tokens": {
            "post": _op(
                "createApiToken",
                "Create an API token (its secret is shown once)",
                roles=OPERATOR,
                ok=(201, "ApiToken"),
                body="ApiTokenRequest",
                example={"name": "erp", "role": "customer", "customer_id": "acme"},
            ),
            "get": _op(
                "listApiTokens",
                "API tokens (without their secrets)",
                roles=OPERATOR,
                ok=(200, "ApiTokenPage"),
                params=page,
            ),
        },
        "/api-tokens/{token_id}": {
            "delete": _op(
                "revokeApiToken",
                "Revoke an API token",
                roles=OPERATOR,
                ok=(204, None),
                params=_path_params("token_id"),
            )
        },
        "/users": {
            "get": _op(
                "listUsers",
                "The portal's users (Cognito)",
                roles=OPERATOR,
                ok=(200, "UserPage"),
                params=page,
            ),
            "post": _op(
                "inviteUser",
                "Invite an operator or a customer's user (Cognito emails a temporary password)",
                roles=OPERATOR,
                ok=(201, "User"),
                body="UserInvite",
                example={"email": "ap@acme.example", "role": "customer", "customer_id": "acme"},
            ),
        },
        **{
            f"/users/{{username}}/{action}": {
                "post": _op(
                    operation_id,
                    summary,
                    roles=OPERATOR,
                    ok=(200, "User"),
                    body="UserActionRequest",
                    body_required=False,
                    params=_path_params("username"),
                )
            }
            for action, operation_id, summary in (
                ("disable", "disableUser", "Disable a user (not oneself): signed out within 300 s"),
                ("enable", "enableUser", "Enable a disabled user"),
                (
                    "reset",
                    "resetUserPassword",
                    "Invite again (never signed in) or make the user choose a new password",
                ),
            )
        },
    }


IDEMPOTENCY_HEADER: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
    "description": "Repeat a POST safely: the first successful response is stored for 24 h "
    "and replayed to any request with the same key.",
}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once; callers must not change it)."""
    paths = _operations()
    for operations in paths.values():
        for method, operation in operations.items():
            if method in ("post", "patch"):
                operation["parameters"] = [*operation["parameters"], IDEMPOTENCY_HEADER]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rebill API",
            "version": "1.0.0",
            "description": "Cloud bills in, customer invoices out. Money is a decimal string "
            "next to a currency; dates are ISO 8601; periods are YYYY-MM. See docs/api.md.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A Cognito ID or access token of the user pool, or a Rebill "
                    "API token (rbl_…).",
                }
            },
            "schemas": {**SCALARS, **REQUESTS, **RESPONSES},
        },
    }


def operations() -> dict[str, tuple[str, str, Schema]]:
    """operationId → (method, path, operation)."""
    return {
        operation["operationId"]: (method.upper(), path, operation)
        for path, methods in document()["paths"].items()
        for method, operation in methods.items()
    }
