"""Rounding happens once, ROUND_HALF_UP, to the currency's ISO 4217 minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.billing.money import (
    Money,
    minor_unit,
    parse_decimal,
    plain,
    round_money,
    to_str,
)
from chalicelib.errors import InvalidInput


def test_half_up_not_bankers_rounding() -> None:
    # Python's default (HALF_EVEN) would give 2.66.
    assert round_money(Decimal("2.665"), "USD") == Decimal("2.67")
    assert round_money(Decimal("2.675"), "USD") == Decimal("2.68")
    assert round_money(Decimal("2.6649999"), "USD") == Decimal("2.66")


def test_half_up_rounds_negative_amounts_away_from_zero() -> None:
    assert round_money(Decimal("-2.665"), "USD") == Decimal("-2.67")


@pytest.mark.parametrize(
    ("currency", "places", "amount", "rounded", "text"),
    [
        ("USD", 2, "1234.505", "1234.51", "1234.51"),
        ("JPY", 0, "1234.5", "1235", "1235"),
        ("JPY", 0, "1234.49", "1234", "1234"),
        ("BHD", 3, "1.2345", "1.235", "1.235"),
        ("BHD", 3, "7", "7.000", "7.000"),
    ],
)
def test_minor_units(currency: str, places: int, amount: str, rounded: str, text: str) -> None:
    assert minor_unit(currency) == places
    assert round_money(Decimal(amount), currency) == Decimal(rounded)
    assert to_str(Decimal(amount), currency) == text


def test_large_amounts_round_without_losing_digits() -> None:
    # 35 significant digits: more than Python's default context (28) would keep.
    amount = Decimal("123456789012345678901234567.125")
    assert round_money(amount, "USD") == Decimal("123456789012345678901234567.13")


def test_parse_decimal_rejects_floats_and_garbage() -> None:
    assert parse_decimal("12.5", "percent") == Decimal("12.5")
    assert parse_decimal(3, "quantity") == Decimal(3)
    with pytest.raises(InvalidInput) as error:
        parse_decimal(0.1, "price")
    assert error.value.field == "price"
    with pytest.raises(InvalidInput):
        parse_decimal("twelve", "price")
    with pytest.raises(InvalidInput):
        parse_decimal("NaN", "price")


def test_plain_writes_full_precision_without_exponent() -> None:
    assert plain(Decimal("1.2300000000")) == "1.23"
    assert plain(Decimal("1E+2")) == "100"
    assert plain(Decimal("0.00000000012")) == "0.00000000012"
    assert plain(Decimal("-0.0")) == "0"


def test_money_refuses_to_mix_currencies() -> None:
    total = Money(Decimal("1.005"), "USD") + Money(Decimal("2"), "USD")
    assert total.rounded() == Money(Decimal("3.01"), "USD")
    assert str(total) == "3.01 USD"
    with pytest.raises(ValueError, match="USD and EUR"):
        _ = total + Money(Decimal(1), "EUR")
