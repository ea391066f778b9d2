"""Money: exact decimals, rounded once, ROUND_HALF_UP, to the currency's ISO 4217 minor unit.

Every amount in the billing core is a ``decimal.Decimal``. Intermediate arithmetic runs in
:data:`EXACT` (far more digits than any bill carries) so nothing is lost before the single rounding
where an amount becomes an invoice line or a tax amount (:func:`round_money`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from typing import ParamSpec, TypeVar

import babel.numbers

from chalicelib.errors import InvalidInput

# 80 significant digits: a DECIMAL(38,20) price times an FX rate times a proration still fits, so
# products and sums are exact; only the final quantize rounds.
EXACT = Context(prec=80, rounding=ROUND_HALF_UP)
ZERO = Decimal(0)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def exact(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``func`` with :data:`EXACT` as the decimal context (Python's default keeps 28 digits)."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with localcontext(EXACT):
            return func(*args, **kwargs)

    return wrapper


def is_currency(code: str) -> bool:
    """True for an ISO 4217 code babel knows (``USD``, ``JPY``, ``BHD``)."""
    return len(code) == 3 and code.isupper() and babel.numbers.is_currency(code)


def minor_unit(currency: str) -> int:
    """Decimal places of the currency's minor unit: USD 2, JPY 0, BHD 3."""
    return int(babel.numbers.get_currency_precision(currency))


def round_places(amount: Decimal, places: int) -> Decimal:
    """Round ROUND_HALF_UP (away from zero at .5) to ``places`` decimals."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=EXACT)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round ROUND_HALF_UP to the currency's minor unit: 2.665 USD → 2.67, 2.5 JPY → 3."""
    return round_places(amount, minor_unit(currency))


def to_str(amount: Decimal, currency: str) -> str:
    """The JSON form of an amount: rounded, with exactly the minor unit's digits (``"1234.50"``)."""
    return f"{round_money(amount, currency):f}"


def display(amount: Decimal, currency: str) -> str:
    """An exact amount as people read it: rounded ROUND_HALF_UP to the currency's minor unit
    (two places for a code that is not a currency, such as the empty one of a bill without
    currency). The exact value is kept beside it wherever it is shown."""
    return to_str(amount, currency) if is_currency(currency) else f"{round_places(amount, 2):f}"


def plain(value: Decimal) -> str:
    """A decimal at full precision without exponent or trailing zeros (``"0.00012"``, ``"100"``)."""
    if value == 0:
        return "0"
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def parse_decimal(value: object, field: str) -> Decimal:
    """A decimal from a JSON value: a string (``"12.5"``), an int or a Decimal — never a float."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidInput(f'{field} must be a decimal string such as "12.50"', field=field)
    try:
        result = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"{field} is not a decimal number: {value!r}", field=field) from None
    if not result.is_finite():
        raise InvalidInput(f"{field} must be a finite number", field=field)
    return result


@dataclass(frozen=True)
class Money:
    """An amount in one currency. Adding two currencies is an error, not a conversion."""

    amount: Decimal
    currency: str

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(EXACT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(EXACT.subtract(self.amount, other.amount), self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def rounded(self) -> Money:
        return Money(round_money(self.amount, self.currency), self.currency)

    def __str__(self) -> str:
        return f"{to_str(self.amount, self.currency)} {self.currency}"
