"""A period is a calendar month in UTC, [start, end); proration counts active days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.billing.periods import Period, active_days, proration
from chalicelib.errors import InvalidInput


def test_parse_and_bounds() -> None:
    p = Period.parse("2026-10")
    assert (p.start, p.end, p.days) == (date(2026, 10, 1), date(2026, 11, 1), 31)
    assert str(p) == "2026-10"
    assert p.start_at.isoformat() == "2026-10-01T00:00:00+00:00"
    assert Period.parse("2028-02").days == 29  # leap year


def test_next_and_previous_cross_the_year() -> None:
    assert str(Period.parse("2026-12").next()) == "2027-01"
    assert str(Period.parse("2027-01").previous()) == "2026-12"


# Years 0000 and 9999 have no neighbouring month in the calendar.
@pytest.mark.parametrize(
    "text", ["2026-13", "2026-1", "26-10", "2026/10", "", "0000-01", "0999-12", "9999-12"]
)
def test_invalid_periods_name_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Period.parse(text)
    assert error.value.field == "period"


def test_active_days_start_inclusive_end_exclusive() -> None:
    october = Period.parse("2026-10")
    assert active_days(october, date(2026, 10, 11), None) == 21  # 11th..31st
    assert active_days(october, date(2026, 10, 11), date(2026, 10, 21)) == 10  # 11th..20th
    assert active_days(october, date(2026, 9, 1), date(2026, 10, 1)) == 0  # ended at the start
    assert active_days(october, date(2026, 11, 1), None) == 0  # starts later
    assert active_days(october, date(2025, 1, 1), None) == 31


def test_proration_divides_once() -> None:
    share = proration(Period.parse("2026-10"), date(2026, 10, 11), None)
    assert (share.active_days, share.days, share.full) == (21, 31, False)
    # 500 × 21 / 31 = 338.709677…
    assert share.apply(Decimal(500)).quantize(Decimal("0.000001")) == Decimal("338.709677")
    assert proration(Period.parse("2026-10"), date(2026, 1, 1), None).apply(Decimal(7)) == 7
