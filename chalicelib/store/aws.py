"""boto3 clients, created lazily once per process (Lambda reuses them across invocations)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3

from chalicelib.config import get_config


@cache
def client(service: str) -> Any:
    return boto3.client(service, region_name=get_config().region)
