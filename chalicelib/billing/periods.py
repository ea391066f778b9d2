"""Billing periods: a calendar month in UTC, ``YYYY-MM``, as the half-open range [start, end).

Also the proration of a subscription: active days in the period ÷ days in the period, with the
subscription's start date inclusive and its end date exclusive.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from chalicelib.errors import InvalidInput

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field: str = "period") -> Period:
        match = _PERIOD.match(text) if isinstance(text, str) else None
        # Years 1000–9998: a period's neighbours and its end are dates too.
        year, month = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        if not 1 <= month <= 12 or not 1000 <= year < 9999:
            raise InvalidInput(f"{field} must be a month as YYYY-MM, got {text!r}", field=field)
        return cls(year, month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """The first day after the period (exclusive)."""
        return self.next().start

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def start_at(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return self.next().start_at

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Period:
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


@dataclass(frozen=True)
class Proration:
    """``active_days / days`` kept as two integers, so the fee is divided once and exactly."""

    active_days: int
    days: int

    @property
    def full(self) -> bool:
        return self.active_days == self.days

    def apply(self, amount: Decimal) -> Decimal:
        """amount × active_days ÷ days (call inside :func:`money.exact` for full precision)."""
        if self.full:
            return amount
        return amount * self.active_days / self.days


def active_days(period: Period, start: date, end: date | None) -> int:
    """Days of ``[start, end)`` inside the period; ``end=None`` runs open-ended."""
    first = max(start, period.start)
    last = min(end, period.end) if end is not None else period.end
    return max((last - first).days, 0)


def proration(period: Period, start: date, end: date | None) -> Proration:
    return Proration(active_days(period, start, end), period.days)
