"""Report identity from an AWS manifest (legacy CUR ``…-Manifest.json`` or Data Exports
``Manifest.json``), used to decide which delivery replaces which (docs/design.md §4.1).

Legacy CUR: ``assemblyId``, ``reportName``, ``billingPeriod.start`` ('20231001T000000.000Z').
Data Exports (CUR 2.0, FOCUS): ``executionId``, ``exportArn`` (its last path segment is the
export name) or ``exportName``, ``billingPeriod.start`` (ISO 8601).
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.bill_files.model import ReportIdentity
from chalicelib.errors import InvalidBillFile

_PERIOD = re.compile(r"^(\d{4})-?(\d{2})")


def report_identity(manifest: dict[str, Any] | None, label: str) -> ReportIdentity:
    if manifest is None:
        return ReportIdentity()
    if not isinstance(manifest, dict):
        raise InvalidBillFile(f"{label}: the manifest is not a JSON object")
    assembly = _text(manifest.get("assemblyId")) or _text(manifest.get("executionId"))
    name = _text(manifest.get("reportName")) or _text(manifest.get("exportName"))
    arn = _text(manifest.get("exportArn"))
    if name is None and arn is not None:
        name = arn.rstrip("/").rsplit("/", 1)[-1] or None
    period = None
    billing_period = manifest.get("billingPeriod")
    if isinstance(billing_period, dict):
        start = _text(billing_period.get("start"))
        match = _PERIOD.match(start or "")
        if start is not None and match is None:
            raise InvalidBillFile(f"{label}: manifest billingPeriod.start {start!r} is not a date")
        if match is not None:
            period = f"{match.group(1)}-{match.group(2)}"
    return ReportIdentity(report_name=name, assembly_id=assembly, billing_period=period)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
