"""SNS notifications (docs/design.md §6): one topic, the message type in a ``type`` attribute."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.config import get_config
from chalicelib.store.aws import client

BILL_FINAL = "bill.final"
BILL_FAILED = "bill.failed"
INVOICE_RUN_FINISHED = "invoice-run.finished"
INVOICE_ISSUED = "invoice.issued"


def publish(message_type: str, body: dict[str, Any]) -> None:
    client("sns").publish(
        TopicArn=get_config().events_topic_arn,
        Message=json.dumps({"type": message_type, **body}),
        MessageAttributes={"type": {"DataType": "String", "StringValue": message_type}},
    )
