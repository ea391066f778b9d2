"""The ingest-report state machine's tasks: the delivery's JSON in and out.

:mod:`chalicelib.service.report_deliveries` takes the parts in and publishes the delivery; its
``PartNotLanded`` and ``RetriableIngestError`` are what the state machine retries on.
"""

from __future__ import annotations

from typing import Any

from chalicelib.service import report_deliveries


def ingest_part(task: dict[str, Any]) -> dict[str, Any]:
    """IngestPart: one part of the delivery, taken in (or its outcome of an earlier attempt)."""
    return report_deliveries.ingest_part(task)


def publish_delivery(delivery: dict[str, Any]) -> dict[str, Any]:
    """PublishDelivery: the delivery made current, or recorded as failed or refused."""
    return report_deliveries.publish_delivery(delivery)
