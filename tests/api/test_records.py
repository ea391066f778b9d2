"""The store's typed records tell the truth: every field of a stored invoice, credit note and
live pointer is one its record (chalicelib.store.records) declares."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.store.records import InvoiceRecord, LivePointer
from tests.api.conftest import PERIOD, Api

pytestmark = pytest.mark.stack


def test_stored_invoices_and_credit_notes_hold_only_declared_fields(
    api: Api, make_invoice: Any
) -> None:
    from chalicelib.service import invoices as lifecycle
    from chalicelib.store import invoices

    declared = set(InvoiceRecord.__annotations__)
    paid = make_invoice("acme", status="paid")
    voided, note = lifecycle.void_invoice(make_invoice("globex")["id"], "ordered twice")
    credit = lifecycle.credit_invoice(paid["id"], reason="goodwill")
    for doc_id in (paid["id"], voided["id"], note["id"], credit["id"]):
        stored = invoices.get_invoice(doc_id)
        assert set(stored) - declared == set(), doc_id
    pointer = invoices.live_pointer("acme", PERIOD)
    assert pointer is not None and set(pointer) == set(LivePointer.__annotations__)
