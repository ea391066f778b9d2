"""The embedded AWS's outbox: each email moto's SES accepted becomes an .eml file."""

from __future__ import annotations

import email
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.stack


def test_each_sent_email_is_written_as_an_eml_named_after_its_invoice(
    clean_stack: Any, tmp_path: Path
) -> None:
    from chalicelib.billing.invoice_mail import Attachment, build_invoice_email
    from chalicelib.config import get_config
    from chalicelib.store import mail
    from localaws.outbox import Outbox

    outbox = Outbox(tmp_path / "outbox")
    assert outbox.flush() == []  # what was sent before it started is not its business
    message = build_invoice_email(
        {
            "id": "inv-acme-2026-10-1",
            "number": "INV-2026-000007",
            "period": "2026-10",
            "total": "12.00",
            "currency": "EUR",
            "due_date": "2026-12-01",
        },
        {"id": "acme", "billing_emails": ["ap@acme.example"]},
        {"name": "Example Cloud"},
        sender=get_config().email_from,
        portal_url="http://127.0.0.1:8001/",
        attachments=[Attachment("INV-2026-000007.csv", "text/csv", b"a,b\n")],
    )
    mail.send_raw(message.sender, message.raw)
    written = outbox.flush()
    assert len(written) == 1
    assert written[0].parent == tmp_path / "outbox"
    assert written[0].name.endswith("-inv-acme-2026-10-1.eml")
    parsed = email.message_from_bytes(written[0].read_bytes())
    assert parsed["To"] == "ap@acme.example"
    assert parsed["Subject"] == "Invoice INV-2026-000007 from Example Cloud"
    assert [p.get_filename() for p in parsed.walk() if p.get_filename()] == ["INV-2026-000007.csv"]
    assert outbox.flush() == []  # written once


def test_the_outbox_writes_in_the_background_until_stopped(
    clean_stack: Any, tmp_path: Path
) -> None:
    from chalicelib.config import get_config
    from chalicelib.store import mail
    from localaws.outbox import Outbox

    outbox = Outbox(tmp_path).start()
    raw = (
        f"From: {get_config().email_from}\r\nTo: x@example.com\r\nSubject: hi\r\n"
        "X-Rebill-Invoice: inv-x-2026-10-1\r\n\r\nhello\r\n"
    ).encode()
    mail.send_raw(get_config().email_from, raw)
    outbox.stop()
    assert [p.name.split("-", 1)[1] for p in tmp_path.glob("*.eml")] == ["inv-x-2026-10-1.eml"]
