"""The invoice index keys: amounts encoded as strings that sort like the numbers, and ranges
that select exactly the amounts inside them. Pure: no AWS."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.store.invoice_keys import AmountRange, InvoiceFilter, sortable_amount

amounts = st.decimals(
    min_value=Decimal("-999999999999.9999"),
    max_value=Decimal("999999999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


@given(amounts, amounts)
def test_keys_sort_like_the_amounts(a: Decimal, b: Decimal) -> None:
    assert (sortable_amount(a) < sortable_amount(b)) == (a < b)
    assert (sortable_amount(a) == sortable_amount(b)) == (a == b)


@given(amounts, amounts, amounts, st.booleans())
def test_a_range_selects_exactly_its_amounts(
    value: Decimal, low: Decimal, high: Decimal, inclusive: bool
) -> None:
    key = f"{sortable_amount(value)}#inv-x-2026-10-1"
    lo, hi = AmountRange(low, high, lower_inclusive=inclusive).key_bounds()
    inside = (low < value or (inclusive and low == value)) and value <= high
    assert (lo <= key <= hi) == inside


def test_has_discount_and_a_discount_range_combine() -> None:
    assert InvoiceFilter(has_discount=False, min_discount=Decimal(1)).discount_range.empty  # type: ignore[union-attr]
    both = InvoiceFilter(has_discount=True, max_discount=Decimal(5)).discount_range
    assert both == AmountRange(Decimal(0), Decimal(5), lower_inclusive=False)
    assert AmountRange(Decimal(5), Decimal(1)).empty
