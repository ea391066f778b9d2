"""Sending email through Amazon SES (``SendRawEmail``: the MIME message as built, attachments
included). On the embedded AWS, SES is moto's: it keeps every message it accepts, and
``python -m localaws serve`` writes them as ``.eml`` files (docs/local.md)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import RebillError
from chalicelib.store.aws import client


class MailRefused(RebillError):
    """SES did not take the message (an unverified sender, the sandbox, throttling, …)."""

    code = "mail_refused"


def send_raw(sender: str, raw: bytes) -> str:
    """Send ``raw`` from ``sender`` to the recipients of its To header (SES takes them from the
    headers when no ``Destinations`` is given, so each gets one copy); SES's message id, or
    :class:`MailRefused`."""
    try:
        reply = client("ses").send_raw_email(Source=sender, RawMessage={"Data": raw})
    except ClientError as error:
        details = error.response.get("Error", {})
        raise MailRefused(
            f"{details.get('Code', 'error')}: {details.get('Message', str(error))}"
        ) from None
    except BotoCoreError as error:
        raise MailRefused(str(error)) from None
    message_id: str = reply["MessageId"]
    return message_id
