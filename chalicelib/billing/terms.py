"""The dates an issued document carries: issue date, due date, service period, payment terms.

An invoice is due ``payment_terms_days`` after the day it is issued (UTC): the customer's own
terms when it has them, else the seller's, else :data:`DEFAULT_PAYMENT_TERMS_DAYS`. A credit
note is settled on the day it is issued. The service period is the billing period's first and
last day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.billing.periods import Period
from chalicelib.vocabulary import DEFAULT_PAYMENT_TERMS_DAYS


@dataclass(frozen=True)
class DocumentDates:
    issue_date: date
    due_date: date
    service_start: date
    service_end: date  # inclusive: the period's last day
    payment_terms_days: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "service_period": {
                "start": self.service_start.isoformat(),
                "end": self.service_end.isoformat(),
            },
            "payment_terms_days": self.payment_terms_days,
        }


def payment_terms_days(seller: Mapping[str, Any], customer: Mapping[str, Any]) -> int:
    """The customer's terms, else the seller's, else the default (net 30)."""
    for terms in (customer.get("payment_terms_days"), seller.get("payment_terms_days")):
        if terms is not None:
            return int(terms)
    return DEFAULT_PAYMENT_TERMS_DAYS


def document_dates(
    issued_at: str, period: str, terms_days: int, *, credit_note: bool = False
) -> DocumentDates:
    """The dates of a document issued at ``issued_at`` (ISO 8601 with offset) for ``period``."""
    issued = datetime.fromisoformat(issued_at).date()
    billed = Period.parse(period)
    terms = 0 if credit_note else terms_days
    return DocumentDates(
        issue_date=issued,
        due_date=issued + timedelta(days=terms),
        service_start=billed.start,
        service_end=billed.end - timedelta(days=1),
        payment_terms_days=terms,
    )
