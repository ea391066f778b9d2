"""The Lambda functions of the Chalice app, declared once (docs/design.md §2).

``app.py`` declares each under its name, the state machines' ``${…}Arn`` substitutions name
them (:mod:`chalicelib.workflow.definitions`), ``infra/`` sizes them and ``localaws`` creates
them. ``.chalice/config.json`` repeats memory and timeout because Chalice reads them there;
``tests/infra`` keeps it equal to this registry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LambdaFunction:
    name: str  # the Chalice function name (``@app.lambda_function(name=…)``)
    memory_mb: int
    timeout_seconds: int
    ephemeral_storage_mb: int | None = None  # /tmp beyond Lambda's 512 MB (DuckDB spills here)


API_HANDLER = LambdaFunction("api_handler", 1769, 29)

# Bill ingestion: the bucket notification, then a report delivery's state machine.
INGEST_BILL = LambdaFunction("ingest_bill", 10240, 900, 10240)
INGEST_PART = LambdaFunction("ingest_part", 10240, 900, 10240)
PUBLISH_DELIVERY = LambdaFunction("publish_delivery", 1024, 300)

# The generate-invoices state machine's tasks.
PREPARE_RUN = LambdaFunction("prepare_run", 1024, 300)
# One task per batch of up to 100 customers: downloads their bill partitions, prices them in one
# DuckDB pass, composes, taxes and saves each invoice (docs/scaling.md sizes it).
INVOICE_BATCH = LambdaFunction("invoice_batch", 3008, 900, 4096)
RECORD_FAILURE = LambdaFunction("record_failure", 512, 60)
FINISH_RUN = LambdaFunction("finish_run", 3008, 900)

# Every function besides the API handler, in the order app.py declares them.
WORKFLOW: tuple[LambdaFunction, ...] = (
    INGEST_BILL,
    INGEST_PART,
    PUBLISH_DELIVERY,
    PREPARE_RUN,
    INVOICE_BATCH,
    RECORD_FAILURE,
    FINISH_RUN,
)
WORKFLOW_FUNCTIONS: tuple[str, ...] = tuple(f.name for f in WORKFLOW)
ALL: tuple[LambdaFunction, ...] = (API_HANDLER, *WORKFLOW)

# Functions that need more /tmp than Lambda's default, in MB.
EPHEMERAL_STORAGE_MB: dict[str, int] = {
    f.name: f.ephemeral_storage_mb for f in WORKFLOW if f.ephemeral_storage_mb is not None
}
