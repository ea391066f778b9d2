"""The embedded AWS's outbox: every email moto's SES accepted, written as an ``.eml`` file.

moto's SES keeps the messages it is sent (``ses_backends[account][region].sent_messages``) and
delivers none. :class:`Outbox` writes each new one to ``<dir>/<UTC time>-<invoice id>.eml``
(the invoice from the message's ``X-Rebill-Invoice`` header) so a user opens what their
customer would receive in any mail program. ``python -m localaws serve`` runs one in the
background; ``make run`` uses ``.local/outbox/``.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.5


def sent_messages() -> list[Any]:
    """What moto's SES was sent so far, oldest first (raw messages and simple ones)."""
    from moto.ses.models import ses_backends

    from localaws.stack import ACCOUNT_ID, REGION

    return list(ses_backends[ACCOUNT_ID][REGION].sent_messages)


def _raw(message: Any) -> bytes:
    raw = getattr(message, "raw_data", None)
    if raw is not None:
        return raw.encode() if isinstance(raw, str) else bytes(raw)
    # SendEmail (not raw): enough of a message to read.
    to = ", ".join(
        address
        for kind in ("ToAddresses", "CcAddresses")
        for address in message.destinations.get(kind, [])
    )
    return (
        f"From: {message.source}\r\nTo: {to}\r\nSubject: {message.subject}\r\n\r\n{message.body}"
    ).encode()


def _invoice_of(raw: bytes) -> str:
    from chalicelib.billing.invoice_mail import INVOICE_HEADER

    match = re.search(rb"^" + INVOICE_HEADER.encode() + rb":\s*(\S+)", raw, re.M | re.I)
    name = match.group(1).decode(errors="replace") if match else "message"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


class Outbox:
    """Writes moto's sent messages to ``directory``, from those sent after it was created."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._written = len(sent_messages())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def flush(self) -> list[Path]:
        """Write the messages sent since the last flush; the files written."""
        with self._lock:
            messages = sent_messages()
            new, self._written = messages[self._written :], len(messages)
            written = []
            for message in new:
                raw = _raw(message)
                self.directory.mkdir(parents=True, exist_ok=True)
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                path = self.directory / f"{stamp}-{_invoice_of(raw)}.eml"
                count = 1
                while path.exists():
                    count += 1
                    path = self.directory / f"{stamp}-{_invoice_of(raw)}-{count}.eml"
                path.write_bytes(raw)
                written.append(path)
            return written

    def start(self) -> Outbox:
        def run() -> None:
            while not self._stop.wait(POLL_SECONDS):
                self.flush()

        self._thread = threading.Thread(target=run, name="localaws-outbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.flush()  # what was sent last
