"""boto3 clients, created lazily once per process (Lambda reuses them across invocations)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3

from chalicelib.config import get_config


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    return boto3.client(service, region_name=get_config().region)
