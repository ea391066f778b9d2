"""boto3 clients, created lazily once per process (Lambda reuses them across invocations)."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.config import get_config

# S3 signs with SigV4 everywhere: boto3 would otherwise presign us-east-1 URLs with SigV2, which
# SSE-KMS buckets refuse and which leaves query parameters added to a link unsigned. The
# regional endpoint (s3.us-east-1.amazonaws.com, not the global one) is where SigV4 links of a
# new bucket resolve without a redirect.
_S3_CONFIG = Config(signature_version="s3v4", s3={"us_east_1_regional_endpoint": "regional"})


# boto3's default session is not safe to create clients from in several threads at once (an
# invoice run's batch saves its customers' invoices 8 at a time).
_CREATING = threading.Lock()


@cache
def client(service: str) -> Any:
    config = _S3_CONFIG if service == "s3" else None
    with _CREATING:
        return boto3.client(service, region_name=get_config().region, config=config)
