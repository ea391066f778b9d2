"""Reference data as frozen dataclasses, parsed from the JSON shapes of docs/design.md §5.1.

``X.from_dict(d)`` validates and raises :class:`chalicelib.errors.InvalidInput` naming the field
(``rules[2].percent``); ``x.to_dict()`` gives the JSON shape back. Money and percentages are
strings in JSON and ``Decimal`` here; a percentage is kept as given (``12.5`` means 12.5 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from chalicelib.billing.money import is_currency, parse_decimal, plain
from chalicelib.billing.periods import Period
from chalicelib.errors import InvalidInput
from chalicelib.vocabulary import (
    DEFAULT_INVOICE_NUMBER_PREFIX,
    EINVOICE_FORMATS,
    INVOICE_LANGUAGES,
    MATCH_KEYS,
    PROVIDERS,
)

Json = Mapping[str, Any]

DEFAULT_BILLABLE_CATEGORIES = ("Usage", "Purchase", "Adjustment")
# Decimal places a price-list figure may carry: the priced amount (an 18-decimal basis or
# quantity times the figure) then fits DECIMAL(38,28) exactly.
_MAX_FACTOR_PLACES = 10
MAX_TERMS_DAYS = 365
# The seller's logo is an object under this prefix of the data bucket, named by
# POST /settings/logo-upload-url: a PNG or a JPEG.
LOGO_PREFIX = "settings/logo/"
LOGO_EXTENSIONS = (".png", ".jpg")


# --- small validating readers -------------------------------------------------------------------


def _obj(value: object, where: str) -> Json:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where or 'body'} must be an object", field=where or None)
    return value


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _str(d: Json, key: str, where: str = "", *, required: bool = True) -> str | None:
    value = d.get(key)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{_path(where, key)} is required", field=_path(where, key))
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{_path(where, key)} must be a string", field=_path(where, key))
    return value


def _req_str(d: Json, key: str, where: str = "") -> str:
    value = _str(d, key, where)
    assert value is not None
    return value


def _bool(d: Json, key: str, where: str = "", default: bool = False) -> bool:
    value = d.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(f"{_path(where, key)} must be true or false", field=_path(where, key))
    return value


def _dec(d: Json, key: str, where: str = "", default: Decimal | None = None) -> Decimal:
    value = d.get(key)
    if value is None:
        if default is None:
            raise InvalidInput(f"{_path(where, key)} is required", field=_path(where, key))
        return default
    return parse_decimal(value, _path(where, key))


def _percent(d: Json, key: str, where: str = "", *, maximum: Decimal | None = None) -> Decimal:
    name = _path(where, key)
    value = _dec(d, key, where)
    if value < 0 or (maximum is not None and value > maximum):
        limit = f" and at most {maximum}" if maximum is not None else ""
        raise InvalidInput(f"{name} must be at least 0{limit}", field=name)
    if -value.as_tuple().exponent > _MAX_FACTOR_PLACES - 2:  # type: ignore[operator]
        raise InvalidInput(f"{name} has more than {_MAX_FACTOR_PLACES - 2} decimals", field=name)
    return value


def _money(d: Json, key: str, where: str = "", default: Decimal | None = None) -> Decimal:
    value = _dec(d, key, where, default)
    if value < 0:
        raise InvalidInput(f"{_path(where, key)} must not be negative", field=_path(where, key))
    return value


def _currency(d: Json, key: str, where: str = "") -> str:
    value = _req_str(d, key, where)
    if not is_currency(value):
        raise InvalidInput(
            f"{_path(where, key)} must be an ISO 4217 code such as USD, got {value!r}",
            field=_path(where, key),
        )
    return value


def _choice(d: Json, key: str, choices: tuple[str, ...], where: str = "", default: str = "") -> str:
    value = d.get(key) or default
    if value not in choices:
        raise InvalidInput(
            f"{_path(where, key)} must be one of {', '.join(choices)}, got {value!r}",
            field=_path(where, key),
        )
    return str(value)


def _date(d: Json, key: str, where: str = "", *, required: bool = False) -> date | None:
    value = _str(d, key, where, required=required)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{_path(where, key)} must be a date as YYYY-MM-DD, got {value!r}",
            field=_path(where, key),
        ) from None


def _period(d: Json, key: str, where: str = "") -> str | None:
    value = _str(d, key, where, required=False)
    return None if value is None else str(Period.parse(value, _path(where, key)))


def _list(d: Json, key: str, where: str = "") -> list[Any]:
    value = d.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{_path(where, key)} must be a list", field=_path(where, key))
    return value


def _provider(value: object, name: str) -> str:
    if value not in PROVIDERS:
        raise InvalidInput(f"{name} must be one of {', '.join(PROVIDERS)}", field=name)
    return str(value)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _terms(d: Json, key: str, where: str = "") -> int | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TERMS_DAYS:
        raise InvalidInput(
            f"{_path(where, key)} must be a whole number of days from 0 to {MAX_TERMS_DAYS}",
            field=_path(where, key),
        )
    return value


def _strings(d: Json, key: str, where: str = "") -> tuple[str, ...]:
    values = _list(d, key, where)
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            name = f"{_path(where, key)}[{i}]"
            raise InvalidInput(f"{name} must be a non-empty string", field=name)
    return tuple(values)


# --- who is who: the seller's and a customer's legal identity --------------------------------


@dataclass(frozen=True)
class Address:
    lines: tuple[str, ...] = ()
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    country: str | None = None  # ISO 3166 alpha-2

    @classmethod
    def from_dict(cls, value: object, where: str) -> Address | None:
        if value is None:
            return None
        d = _obj(value, where)
        return cls(
            lines=_strings(d, "lines", where),
            city=_str(d, "city", where, required=False),
            postal_code=_str(d, "postal_code", where, required=False),
            region=_str(d, "region", where, required=False),
            country=(_str(d, "country", where, required=False) or "").upper() or None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": list(self.lines),
            "city": self.city,
            "postal_code": self.postal_code,
            "region": self.region,
            "country": self.country,
        }


@dataclass(frozen=True)
class BankDetails:
    account_name: str | None = None
    iban: str | None = None
    bic: str | None = None
    account_number: str | None = None
    routing_number: str | None = None

    @classmethod
    def from_dict(cls, value: object, where: str) -> BankDetails | None:
        if value is None:
            return None
        d = _obj(value, where)
        iban = _str(d, "iban", where, required=False)
        return cls(
            account_name=_str(d, "account_name", where, required=False),
            iban=iban.replace(" ", "").upper() if iban else None,
            bic=(_str(d, "bic", where, required=False) or "").upper() or None,
            account_number=_str(d, "account_number", where, required=False),
            routing_number=_str(d, "routing_number", where, required=False),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_name": self.account_name,
            "iban": self.iban,
            "bic": self.bic,
            "account_number": self.account_number,
            "routing_number": self.routing_number,
        }


def _optional_dict(value: Address | BankDetails | None) -> dict[str, Any] | None:
    return None if value is None else value.to_dict()


def _logo_key(d: Json) -> str | None:
    key = _str(d, "logo_key", "seller", required=False)
    name = (key or "")[len(LOGO_PREFIX) :]
    if key is not None and not (
        key.startswith(LOGO_PREFIX)
        and name.endswith(LOGO_EXTENSIONS)
        and "/" not in name
        and not name.startswith(".")
    ):
        raise InvalidInput(
            "seller.logo_key must be a key given by POST /settings/logo-upload-url",
            field="seller.logo_key",
        )
    return key


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seller:
    """Who issues the invoices: the blocks and payment instructions of every document."""

    name: str = ""
    country: str | None = None
    tax_id: str | None = None
    legal_name: str | None = None
    address: Address | None = None
    registration: str | None = None  # company registration (e.g. "HRB 12345, Amtsgericht Köln")
    email: str | None = None
    phone: str | None = None
    bank: BankDetails | None = None
    payment_terms_days: int | None = None  # None: net DEFAULT_PAYMENT_TERMS_DAYS
    footer: str | None = None
    logo_key: str | None = None  # set by POST /settings/logo-upload-url

    @classmethod
    def from_dict(cls, d: Json) -> Seller:
        return cls(
            name=_str(d, "name", "seller", required=False) or "",
            country=(_str(d, "country", "seller", required=False) or "").upper() or None,
            tax_id=_str(d, "tax_id", "seller", required=False),
            legal_name=_str(d, "legal_name", "seller", required=False),
            address=Address.from_dict(d.get("address"), "seller.address"),
            registration=_str(d, "registration", "seller", required=False),
            email=_str(d, "email", "seller", required=False),
            phone=_str(d, "phone", "seller", required=False),
            bank=BankDetails.from_dict(d.get("bank"), "seller.bank"),
            payment_terms_days=_terms(d, "payment_terms_days", "seller"),
            footer=_str(d, "footer", "seller", required=False),
            logo_key=_logo_key(d),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "legal_name": self.legal_name,
            "country": self.country,
            "tax_id": self.tax_id,
            "address": _optional_dict(self.address),
            "registration": self.registration,
            "email": self.email,
            "phone": self.phone,
            "bank": _optional_dict(self.bank),
            "payment_terms_days": self.payment_terms_days,
            "footer": self.footer,
            "logo_key": self.logo_key,
        }


@dataclass(frozen=True)
class TaxRate:
    country: str
    rate: Decimal  # percent
    name: str
    region: str | None = None


@dataclass(frozen=True)
class FxRate:
    period: str
    from_currency: str
    to_currency: str
    rate: Decimal  # 1 unit of from_currency = rate units of to_currency


@dataclass(frozen=True)
class PassThrough:
    """Which provider lines the reseller passes on instead of keeping (all off by default)."""

    provider_credits: bool = False
    provider_tax: bool = False
    provider_discounts: bool = False


@dataclass(frozen=True)
class CommitmentAssignment:
    """The operator's word that a commitment is a customer's (docs/design.md §4.2 stage 4): it wins
    over the account an ARN names, and is the only owner an id without one can have."""

    commitment_id: str
    customer_id: str


@dataclass(frozen=True)
class Settings:
    seller: Seller = Seller()
    tax_enabled: bool = False
    tax_rates: tuple[TaxRate, ...] = ()
    automated_bill_processing: bool = False
    default_price_list_id: str | None = None
    pass_through: PassThrough = PassThrough()
    billable_categories: tuple[str, ...] = DEFAULT_BILLABLE_CATEGORIES
    invoice_number_prefix: str = DEFAULT_INVOICE_NUMBER_PREFIX
    fx_rates: tuple[FxRate, ...] = ()
    # The operator's commitment assignments: commitment id (an RI / savings-plan ARN, an Azure
    # reservation id, a GCP commitment) -> customer id. Ids match ignoring case.
    commitment_assignments: tuple[CommitmentAssignment, ...] = ()
    # Email each issued document to the customer's billing addresses through SES, from
    # ``email_from`` (a verified SES identity; None: the deployment's REBILL_EMAIL_FROM).
    email_on_issue: bool = False
    email_from: str | None = None

    @property
    def commitment_owners(self) -> dict[str, str]:
        """Commitment id -> the customer it is assigned to (what pricing reads)."""
        return {a.commitment_id: a.customer_id for a in self.commitment_assignments}

    @classmethod
    def from_dict(cls, d: Json) -> Settings:
        d = _obj(d, "")
        seller = _obj(d.get("seller") or {}, "seller")
        tax = _obj(d.get("tax") or {}, "tax")
        rates = []
        for i, raw in enumerate(_list(tax, "rates", "tax")):
            where = f"tax.rates[{i}]"
            r = _obj(raw, where)
            rates.append(
                TaxRate(
                    country=_req_str(r, "country", where).upper(),
                    region=(_str(r, "region", where, required=False) or "").upper() or None,
                    rate=_percent(r, "rate", where, maximum=Decimal(100)),
                    name=_str(r, "name", where, required=False) or "Tax",
                )
            )
        fx = []
        for i, raw in enumerate(_list(d, "fx_rates")):
            where = f"fx_rates[{i}]"
            r = _obj(raw, where)
            rate = _dec(r, "rate", where)
            if rate <= 0:
                raise InvalidInput(f"{where}.rate must be positive", field=f"{where}.rate")
            fx.append(
                FxRate(
                    period=str(Period.parse(_req_str(r, "period", where), f"{where}.period")),
                    from_currency=_currency(r, "from", where),
                    to_currency=_currency(r, "to", where),
                    rate=rate,
                )
            )
        passing = _obj(d.get("pass_through") or {}, "pass_through")
        categories = _list(d, "billable_categories") or list(DEFAULT_BILLABLE_CATEGORIES)
        for i, category in enumerate(categories):
            # Tax and Credit lines are governed by pass_through, not by this list.
            if category not in DEFAULT_BILLABLE_CATEGORIES:
                raise InvalidInput(
                    f"billable_categories[{i}] must be one of "
                    f"{', '.join(DEFAULT_BILLABLE_CATEGORIES)} (tax and credits: pass_through)",
                    field=f"billable_categories[{i}]",
                )
        assignments: dict[str, CommitmentAssignment] = {}
        for i, raw in enumerate(_list(d, "commitment_assignments")):
            where = f"commitment_assignments[{i}]"
            r = _obj(raw, where)
            assignment = CommitmentAssignment(
                commitment_id=_req_str(r, "commitment_id", where).strip(),
                customer_id=_req_str(r, "customer_id", where),
            )
            if not assignment.commitment_id:
                raise InvalidInput(
                    f"{where}.commitment_id is required", field=f"{where}.commitment_id"
                )
            known = assignments.setdefault(assignment.commitment_id.lower(), assignment)
            if known is not assignment:
                raise InvalidInput(
                    f"{where}.commitment_id {assignment.commitment_id!r} is assigned twice "
                    f"(to {known.customer_id!r} and {assignment.customer_id!r})",
                    field=f"{where}.commitment_id",
                )
        return cls(
            seller=Seller.from_dict(seller),
            tax_enabled=_bool(tax, "enabled", "tax"),
            tax_rates=tuple(rates),
            automated_bill_processing=_bool(d, "automated_bill_processing"),
            default_price_list_id=_str(d, "default_price_list_id", required=False),
            pass_through=PassThrough(
                provider_credits=_bool(passing, "provider_credits", "pass_through"),
                provider_tax=_bool(passing, "provider_tax", "pass_through"),
                provider_discounts=_bool(passing, "provider_discounts", "pass_through"),
            ),
            billable_categories=tuple(dict.fromkeys(str(c) for c in categories)),
            invoice_number_prefix=(
                _str(d, "invoice_number_prefix", required=False) or DEFAULT_INVOICE_NUMBER_PREFIX
            ),
            fx_rates=tuple(fx),
            commitment_assignments=tuple(assignments.values()),
            email_on_issue=_bool(d, "email_on_issue"),
            email_from=_str(d, "email_from", required=False),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seller": self.seller.to_dict(),
            "tax": {
                "enabled": self.tax_enabled,
                "rates": [
                    {
                        "country": r.country,
                        "region": r.region,
                        "rate": plain(r.rate),
                        "name": r.name,
                    }
                    for r in self.tax_rates
                ],
            },
            "automated_bill_processing": self.automated_bill_processing,
            "default_price_list_id": self.default_price_list_id,
            "pass_through": {
                "provider_credits": self.pass_through.provider_credits,
                "provider_tax": self.pass_through.provider_tax,
                "provider_discounts": self.pass_through.provider_discounts,
            },
            "billable_categories": list(self.billable_categories),
            "invoice_number_prefix": self.invoice_number_prefix,
            "fx_rates": [
                {
                    "period": r.period,
                    "from": r.from_currency,
                    "to": r.to_currency,
                    "rate": plain(r.rate),
                }
                for r in self.fx_rates
            ],
            "commitment_assignments": [
                {"commitment_id": a.commitment_id, "customer_id": a.customer_id}
                for a in self.commitment_assignments
            ],
            "email_on_issue": self.email_on_issue,
            "email_from": self.email_from,
        }


# --- price lists --------------------------------------------------------------------------------

PRICING_TYPES = ("markup", "discount")
RULE_TYPES = ("markup", "discount", "fixed_rate")
BASES = ("billed", "list")


@dataclass(frozen=True)
class PriceRule:
    """One rule of a price list (docs/design.md §4.3). ``match`` values are kept lower-cased."""

    id: str
    match: tuple[tuple[str, str], ...]
    type: str  # markup | discount | fixed_rate
    percent: Decimal | None = None
    unit_price: Decimal | None = None
    basis: str = "billed"  # billed | list

    @property
    def factor(self) -> Decimal:
        """The multiplier of a markup or discount rule: 1 + p/100 or 1 − p/100."""
        assert self.percent is not None
        return 1 + self.percent / 100 if self.type == "markup" else 1 - self.percent / 100


@dataclass(frozen=True)
class PriceList:
    id: str
    name: str = ""
    default: PriceRule | None = None  # match is empty; None means price = basis
    rules: tuple[PriceRule, ...] = ()

    @classmethod
    def from_dict(cls, d: Json) -> PriceList:
        d = _obj(d, "")
        default = None
        raw_default = d.get("default")
        if raw_default is not None:
            dd = _obj(raw_default, "default")
            kind = _choice(dd, "type", (*PRICING_TYPES, "none"), "default", default="none")
            if kind != "none":
                maximum = Decimal(100) if kind == "discount" else None
                default = PriceRule(
                    id="default",
                    match=(),
                    type=kind,
                    percent=_percent(dd, "percent", "default", maximum=maximum),
                    basis=_choice(dd, "basis", BASES, "default", default="billed"),
                )
        rules = []
        seen: set[str] = set()
        for i, raw in enumerate(_list(d, "rules")):
            where = f"rules[{i}]"
            r = _obj(raw, where)
            rule_id = _str(r, "id", where, required=False) or f"rule-{i + 1}"
            if rule_id in seen or rule_id == "default":
                raise InvalidInput(f"{where}.id {rule_id!r} is used twice", field=f"{where}.id")
            seen.add(rule_id)
            match = _obj(r.get("match") or {}, f"{where}.match")
            pairs = []
            for key, value in match.items():
                name = f"{where}.match.{key}"
                if key not in MATCH_KEYS:
                    raise InvalidInput(
                        f"{name} is not a match key ({', '.join(MATCH_KEYS)})", field=name
                    )
                if not isinstance(value, str) or not value:
                    raise InvalidInput(f"{name} must be a non-empty string", field=name)
                pairs.append((key, value.lower()))
            kind = _choice(r, "type", RULE_TYPES, where)
            percent = unit_price = None
            if kind == "fixed_rate":
                unit_price = _money(r, "unit_price", where)
                if -unit_price.as_tuple().exponent > _MAX_FACTOR_PLACES:  # type: ignore[operator]
                    raise InvalidInput(
                        f"{where}.unit_price has more than {_MAX_FACTOR_PLACES} decimals",
                        field=f"{where}.unit_price",
                    )
            else:
                maximum = Decimal(100) if kind == "discount" else None
                percent = _percent(r, "percent", where, maximum=maximum)
            rules.append(
                PriceRule(
                    id=rule_id,
                    match=tuple(pairs),
                    type=kind,
                    percent=percent,
                    unit_price=unit_price,
                    basis=_choice(r, "basis", BASES, where, default="billed"),
                )
            )
        return cls(
            id=_req_str(d, "id"),
            name=_str(d, "name", required=False) or "",
            default=default,
            rules=tuple(rules),
        )

    def ranked_rules(self) -> tuple[PriceRule, ...]:
        """Rules in the order they are tried: most match keys first, ties to the earlier rule."""
        return tuple(sorted(self.rules, key=lambda rule: -len(rule.match)))  # sort is stable

    def to_dict(self) -> dict[str, Any]:
        def pricing(rule: PriceRule) -> dict[str, Any]:
            out: dict[str, Any] = {"type": rule.type}
            if rule.percent is not None:
                out["percent"] = plain(rule.percent)
            if rule.unit_price is not None:
                out["unit_price"] = plain(rule.unit_price)
            if rule.basis != "billed":
                out["basis"] = rule.basis
            return out

        return {
            "id": self.id,
            "name": self.name,
            "default": pricing(self.default) if self.default else None,
            "rules": [{"id": r.id, "match": dict(r.match), **pricing(r)} for r in self.rules],
        }


# --- plans, customers, accounts, subscriptions --------------------------------------------------

UNUSED_CREDIT_POLICIES = ("forfeit", "credit", "rollover")
OVERAGE_POLICIES = ("bill", "waive")
APPLIES_TO = ("subscriptions", "cloud", "all")


@dataclass(frozen=True)
class Plan:
    id: str
    price: Decimal
    currency: str
    name: str = ""
    included_credit: Decimal = Decimal(0)
    credit_providers: tuple[str, ...] | None = None  # None: credit covers every provider
    unused_credit_policy: str = "forfeit"
    overage_policy: str = "bill"

    @classmethod
    def from_dict(cls, d: Json) -> Plan:
        d = _obj(d, "")
        providers = d.get("credit_providers")
        scope = None
        if providers is not None:
            if not isinstance(providers, list) or not providers:
                raise InvalidInput(
                    "credit_providers must be null or a non-empty list of providers",
                    field="credit_providers",
                )
            scope = tuple(
                sorted({_provider(p, f"credit_providers[{i}]") for i, p in enumerate(providers)})
            )
        return cls(
            id=_req_str(d, "id"),
            name=_str(d, "name", required=False) or "",
            price=_money(d, "price"),
            currency=_currency(d, "currency"),
            included_credit=_money(d, "included_credit", default=Decimal(0)),
            credit_providers=scope,
            unused_credit_policy=_choice(
                d, "unused_credit_policy", UNUSED_CREDIT_POLICIES, default="forfeit"
            ),
            overage_policy=_choice(d, "overage_policy", OVERAGE_POLICIES, default="bill"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "price": plain(self.price),
            "currency": self.currency,
            "included_credit": plain(self.included_credit),
            "credit_providers": (
                list(self.credit_providers) if self.credit_providers is not None else None
            ),
            "unused_credit_policy": self.unused_credit_policy,
            "overage_policy": self.overage_policy,
        }


@dataclass(frozen=True)
class TaxProfile:
    country: str | None = None
    region: str | None = None
    tax_id: str | None = None  # VAT number for EU business customers
    exempt: bool = False


@dataclass(frozen=True)
class Discount:
    percent: Decimal = Decimal(0)
    applies_to: str = "all"  # subscriptions | cloud | all


@dataclass(frozen=True)
class CustomItem:
    """A fee or credit line of the operator's own: flat or percent, one-off or recurring.

    One-off items carry ``period``; recurring items run from ``start_period`` to ``end_period``
    (both inclusive, both optional). Percent items apply to ``applies_to`` before the customer
    discount.
    """

    id: str
    description: str
    type: str  # fee | credit
    amount: Decimal | None = None  # flat, in the customer's currency
    percent: Decimal | None = None
    applies_to: str = "all"
    recurring: bool = False
    period: str | None = None
    start_period: str | None = None
    end_period: str | None = None

    @classmethod
    def from_dict(cls, d: Json, where: str = "") -> CustomItem:
        d = _obj(d, where)
        has_amount, has_percent = d.get("amount") is not None, d.get("percent") is not None
        if has_amount == has_percent:
            raise InvalidInput(
                f"{_path(where, 'amount')}: give exactly one of amount and percent",
                field=_path(where, "amount"),
            )
        recurring = _bool(d, "recurring", where)
        period = _period(d, "period", where)
        if not recurring and period is None:
            raise InvalidInput(
                f"{_path(where, 'period')} is required for a one-off item (or recurring: true)",
                field=_path(where, "period"),
            )
        return cls(
            id=_req_str(d, "id", where),
            description=_req_str(d, "description", where),
            type=_choice(d, "type", ("fee", "credit"), where),
            amount=_money(d, "amount", where) if has_amount else None,
            percent=_percent(d, "percent", where) if has_percent else None,
            applies_to=_choice(d, "applies_to", APPLIES_TO, where, default="all"),
            recurring=recurring,
            period=None if recurring else period,
            start_period=_period(d, "start_period", where) if recurring else None,
            end_period=_period(d, "end_period", where) if recurring else None,
        )

    def applies_in(self, period: str) -> bool:
        if not self.recurring:
            return self.period == period
        # 'YYYY-MM' strings compare in calendar order.
        return (self.start_period or period) <= period <= (self.end_period or period)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "description": self.description, "type": self.type}
        if self.amount is not None:
            out["amount"] = plain(self.amount)
        else:
            assert self.percent is not None
            out["percent"] = plain(self.percent)
            out["applies_to"] = self.applies_to
        if self.recurring:
            out.update(recurring=True, start_period=self.start_period, end_period=self.end_period)
        else:
            out["period"] = self.period
        return out


@dataclass(frozen=True)
class Customer:
    id: str
    currency: str
    name: str = ""
    price_list_id: str | None = None
    email: str | None = None
    tax_profile: TaxProfile = TaxProfile()
    discount: Discount = Discount()
    custom_items: tuple[CustomItem, ...] = ()
    # the buyer block of its documents, where they are sent, and in which language
    legal_name: str | None = None
    address: Address | None = None
    billing_emails: tuple[str, ...] = ()
    buyer_reference: str | None = None  # the customer's PO number or reference (BT-10)
    payment_terms_days: int | None = None  # None: the seller's terms
    language: str = "en"
    einvoice_format: str | None = None  # None, "cii" or "ubl": the e-invoice XML it is sent

    @classmethod
    def from_dict(cls, d: Json) -> Customer:
        d = _obj(d, "")
        tax = _obj(d.get("tax_profile") or {}, "tax_profile")
        discount = _obj(d.get("discount") or {}, "discount")
        return cls(
            id=_req_str(d, "id"),
            name=_str(d, "name", required=False) or "",
            currency=_currency(d, "currency"),
            price_list_id=_str(d, "price_list_id", required=False),
            email=_str(d, "email", required=False),
            tax_profile=TaxProfile(
                country=(_str(tax, "country", "tax_profile", required=False) or "").upper() or None,
                region=(_str(tax, "region", "tax_profile", required=False) or "").upper() or None,
                tax_id=_str(tax, "tax_id", "tax_profile", required=False),
                exempt=_bool(tax, "exempt", "tax_profile"),
            ),
            discount=Discount(
                percent=(
                    _percent(discount, "percent", "discount", maximum=Decimal(100))
                    if discount.get("percent") is not None
                    else Decimal(0)
                ),
                applies_to=_choice(discount, "applies_to", APPLIES_TO, "discount", default="all"),
            ),
            custom_items=tuple(
                CustomItem.from_dict(item, f"custom_items[{i}]")
                for i, item in enumerate(_list(d, "custom_items"))
            ),
            legal_name=_str(d, "legal_name", required=False),
            address=Address.from_dict(d.get("address"), "address"),
            billing_emails=_strings(d, "billing_emails"),
            buyer_reference=_str(d, "buyer_reference", required=False),
            payment_terms_days=_terms(d, "payment_terms_days"),
            language=_choice(d, "language", INVOICE_LANGUAGES, default="en"),
            einvoice_format=(
                _choice(d, "einvoice_format", EINVOICE_FORMATS)
                if d.get("einvoice_format") is not None
                else None
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "currency": self.currency,
            "price_list_id": self.price_list_id,
            "email": self.email,
            "tax_profile": {
                "country": self.tax_profile.country,
                "region": self.tax_profile.region,
                "tax_id": self.tax_profile.tax_id,
                "exempt": self.tax_profile.exempt,
            },
            "discount": {
                "percent": plain(self.discount.percent),
                "applies_to": self.discount.applies_to,
            },
            "custom_items": [item.to_dict() for item in self.custom_items],
            "legal_name": self.legal_name,
            "address": _optional_dict(self.address),
            "billing_emails": list(self.billing_emails),
            "buyer_reference": self.buyer_reference,
            "payment_terms_days": self.payment_terms_days,
            "language": self.language,
            "einvoice_format": self.einvoice_format,
        }


@dataclass(frozen=True)
class Account:
    """A cloud account linked to a customer, valid on [valid_from, valid_to) when given."""

    customer_id: str
    provider: str
    account_id: str
    price_list_id: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    @classmethod
    def from_dict(cls, d: Json) -> Account:
        d = _obj(d, "")
        valid_from, valid_to = _date(d, "valid_from"), _date(d, "valid_to")
        if valid_from and valid_to and valid_to <= valid_from:
            raise InvalidInput("valid_to must be after valid_from", field="valid_to")
        account_id = d.get("account_id")
        if isinstance(account_id, int) and not isinstance(account_id, bool):
            # A number loses leading zeros (AWS ids are 12 digits): insist on a string.
            raise InvalidInput("account_id must be a string", field="account_id")
        return cls(
            customer_id=_req_str(d, "customer_id"),
            provider=_provider(d.get("provider"), "provider"),
            account_id=_req_str(d, "account_id").strip(),
            price_list_id=_str(d, "price_list_id", required=False),
            valid_from=valid_from,
            valid_to=valid_to,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "provider": self.provider,
            "account_id": self.account_id,
            "price_list_id": self.price_list_id,
            "valid_from": _iso(self.valid_from),
            "valid_to": _iso(self.valid_to),
        }


@dataclass(frozen=True)
class Subscription:
    """A customer's subscription to a plan, active on [start_date, end_date)."""

    customer_id: str
    id: str
    plan_id: str
    start_date: date
    quantity: int = 1
    end_date: date | None = None

    @classmethod
    def from_dict(cls, d: Json) -> Subscription:
        d = _obj(d, "")
        quantity = d.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput("quantity must be a whole number of at least 1", field="quantity")
        start = _date(d, "start_date", required=True)
        assert start is not None
        end = _date(d, "end_date")
        if end is not None and end < start:
            raise InvalidInput("end_date must not be before start_date", field="end_date")
        return cls(
            customer_id=_req_str(d, "customer_id"),
            id=_req_str(d, "id"),
            plan_id=_req_str(d, "plan_id"),
            quantity=quantity,
            start_date=start,
            end_date=end,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "id": self.id,
            "plan_id": self.plan_id,
            "quantity": self.quantity,
            "start_date": self.start_date.isoformat(),
            "end_date": _iso(self.end_date),
        }
