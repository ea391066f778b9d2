"""The S3 events of the bill bucket: each landed file goes to the intake that takes it in.

A manifest starts the intake of its delivery (:mod:`chalicelib.service.report_deliveries`); a
part of a delivery only says it landed (the delivery's execution takes it in); any other file
is a delivery of its own (:mod:`chalicelib.service.bill_intake`). This dispatcher sits above both,
so neither intake imports the other.
"""

from __future__ import annotations

from typing import Any

from chalicelib.service import report_deliveries
from chalicelib.service.bill_intake import in_assembly, landed_objects, take_in


def handle_s3_event(event: dict[str, Any]) -> list[dict[str, Any]]:
    """What became of each bill file of an S3 event (manifest, part, or file of its own)."""
    outcomes = []
    for landed in landed_objects(event):
        if landed.key.endswith("-Manifest.json"):
            outcomes.append(report_deliveries.start_delivery(landed))
        elif in_assembly(landed.key):
            outcomes.append(report_deliveries.part_landed(landed))
        else:
            outcomes.append(take_in(landed))
    return outcomes
