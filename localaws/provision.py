"""Create on the embedded AWS the resources ``infra/`` declares: the same tables (from the
PynamoDB models), bucket, topic, functions, bucket notification and state machines (from the
same ASL files and substitution table)."""

from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.stack import LocalStack

log = logging.getLogger("localaws")
RUNTIME = "python3.12"


def provision(stack: LocalStack) -> None:
    # Imported only now: chalicelib reads its configuration from the environment on import.
    from app import app
    from chalicelib import functions
    from chalicelib.config import get_config
    from chalicelib.functions import WORKFLOW_FUNCTIONS
    from chalicelib.store.objects import BILLS_PREFIX
    from chalicelib.store.tables import ALL_TABLES
    from chalicelib.workflow.definitions import STATE_MACHINES
    from localaws.cognito import provision_user_pool
    from localaws.stack import install_lambda_dispatcher

    config = get_config()
    install_lambda_dispatcher(dict(app.handler_map), stack.function_prefix)

    for model in ALL_TABLES:
        if not model.exists():
            model.create_table(wait=True)
        else:  # kept from an earlier run (--data-dir): it gets the indexes declared since
            add_missing_indexes(model)

    s3 = stack.client("s3")
    s3.create_bucket(Bucket=config.data_bucket)
    topic_arn = stack.client("sns").create_topic(Name=config.events_topic_arn.split(":")[-1])[
        "TopicArn"
    ]
    assert topic_arn == config.events_topic_arn, (topic_arn, config.events_topic_arn)

    role_arn = stack.client("iam").create_role(
        RoleName=f"{config.app_name}-{config.stage}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    function_arns = {
        name: _create_function(stack, config.function_name(name), role_arn)
        for name in WORKFLOW_FUNCTIONS
    }

    s3.put_bucket_notification_configuration(
        Bucket=config.data_bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": function_arns[functions.INGEST_BILL.name],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": BILLS_PREFIX}]}},
                }
            ]
        },
    )

    sfn = stack.client("stepfunctions")
    for machine in STATE_MACHINES:
        values = {
            placeholder: function_arns[sub.name] if sub.kind == "function" else topic_arn
            for placeholder, sub in machine.substitutions.items()
        }
        arn = sfn.create_state_machine(
            name=f"{config.app_name}-{config.stage}-{machine.name}",
            definition=machine.render(values),
            roleArn=role_arn,
        )["stateMachineArn"]
        if machine.name == "generate-invoices":
            assert arn == config.generate_invoices_state_machine_arn, arn
        if machine.name == "ingest-report":
            assert arn == config.ingest_report_state_machine_arn, arn
    if config.email_from:  # SES refuses a sender that is not a verified identity
        stack.client("ses").verify_email_identity(EmailAddress=config.email_from)
    provision_user_pool(stack)


def _create_function(stack: LocalStack, name: str, role_arn: str) -> str:
    # The code never runs: the dispatcher routes the invocation to the in-process handler.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("app.py", "# served in-process by localaws\n")
    arn: str = stack.client("lambda").create_function(
        FunctionName=name,
        Runtime=RUNTIME,
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=900,
        MemorySize=3008,
    )["FunctionArn"]
    return arn


def add_missing_indexes(model: Any) -> list[str]:
    """Create on an existing table the global indexes its model declares and it lacks (one at a
    time, as DynamoDB wants), and wait until they are active. Returns their names."""

    connection = model._get_connection().connection
    table = model.Meta.table_name
    present = {
        index["IndexName"]
        for index in connection.describe_table(table).get("GlobalSecondaryIndexes") or []
    }
    added = []
    for index in model._get_schema()["global_secondary_indexes"]:
        if index["index_name"] in present:
            continue
        connection.client.update_table(
            TableName=table,
            AttributeDefinitions=index["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": index["index_name"],
                        # the hash key first, as DynamoDB wants it
                        "KeySchema": sorted(index["key_schema"], key=lambda k: k["KeyType"]),
                        "Projection": index["projection"],
                    }
                }
            ],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = {
                i["IndexName"]: i.get("IndexStatus")
                for i in connection.describe_table(table).get("GlobalSecondaryIndexes") or []
            }
            if statuses.get(index["index_name"]) == "ACTIVE":
                break
            time.sleep(0.2)
        added.append(index["index_name"])
    return added


# How long clear_data waits for executions still running to end.
EXECUTIONS_TIMEOUT_S = 120


def wait_for_executions(sfn: Any, machines: list[str], timeout: float) -> list[str]:
    """Wait until no execution of the state machines ``machines`` (ARNs) is running; the names
    of those still running at ``timeout`` seconds. ``sfn``: a Step Functions client."""
    deadline = time.monotonic() + timeout
    while True:
        running = [
            e["name"]
            for machine in machines
            for e in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")[
                "executions"
            ]
        ]
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.2)


def clear_data(stack: LocalStack) -> None:
    """Empty the bucket and the tables, once the executions still running have ended: an
    invoice run or delivery left running would otherwise finish into the next test's data and
    publish its events there."""
    from chalicelib.config import get_config
    from chalicelib.store.tables import ALL_TABLES

    sfn = stack.client("stepfunctions")
    machines = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]
    left = wait_for_executions(sfn, machines, EXECUTIONS_TIMEOUT_S)
    if left:
        log.warning("executions still running after %s s: %s", EXECUTIONS_TIMEOUT_S, left)
    bucket = get_config().data_bucket
    s3 = stack.client("s3")
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        keys: list[dict[str, Any]] = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    for model in ALL_TABLES:
        model.delete_table()
        model.create_table(wait=True)
