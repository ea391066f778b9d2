"""The dates an issued document carries (chalicelib/billing/terms.py)."""

from __future__ import annotations

from chalicelib.billing.terms import document_dates, payment_terms_days


def test_the_customers_terms_win_over_the_sellers_and_the_default_is_net_30() -> None:
    assert payment_terms_days({"payment_terms_days": 14}, {"payment_terms_days": 45}) == 45
    assert payment_terms_days({"payment_terms_days": 14}, {"payment_terms_days": None}) == 14
    assert payment_terms_days({"payment_terms_days": 0}, {}) == 0
    assert payment_terms_days({}, {}) == 30


def test_an_invoice_is_due_its_terms_after_the_day_it_is_issued_in_utc() -> None:
    dates = document_dates("2026-11-30T23:59:59+00:00", "2026-10", 30)
    assert dates.to_dict() == {
        "issue_date": "2026-11-30",
        "due_date": "2026-12-30",
        "service_period": {"start": "2026-10-01", "end": "2026-10-31"},
        "payment_terms_days": 30,
    }


def test_a_february_service_period_ends_on_its_last_day() -> None:
    dates = document_dates("2028-03-02T08:00:00+00:00", "2028-02", 10)
    assert (dates.service_start.isoformat(), dates.service_end.isoformat()) == (
        "2028-02-01",
        "2028-02-29",
    )
    assert dates.due_date.isoformat() == "2028-03-12"


def test_a_credit_note_is_settled_on_the_day_it_is_issued() -> None:
    dates = document_dates("2026-12-01T10:00:00+00:00", "2026-10", 30, credit_note=True)
    assert dates.due_date == dates.issue_date
    assert dates.payment_terms_days == 0
