"""The Rebill stack: everything one deployment (a *stage*: dev, prod) of Rebill needs in AWS.

The parts are not retyped here but read from the code that uses them:

* the DynamoDB tables from the PynamoDB models (``chalicelib.store.tables``),
* the state machines and their ``${…}`` placeholders from ``chalicelib.workflow.definitions``,
* the Lambda functions and the REST API from the Chalice app (``app.py``, ``.chalice/config.json``)
  through ``chalice.cdk.Chalice``, which runs ``chalice package`` and includes its SAM template.

What the Chalice construct cannot do is wired by hand: the S3 → ``ingest_bill`` notification
(``@app.on_s3_event`` cannot be packaged, docs/design.md §3) with its explicit
``AWS::Lambda::Permission``
(``add_permission`` on the construct's functions is a silent no-op), the functions' ephemeral
storage (no ``chalice package`` key) and their log groups (Chalice's ``log_retention_in_days``
emits a broken template for the API handler). The synthesis fails (error annotations) when the
functions would get a Python Rebill does not support or their package would be too large for
Lambda.

The state machine ARN the functions get is built from its fixed name rather than referenced:
the state machine references the functions, so a reference back would be a dependency cycle.

Nothing fails silently and nothing reaches further than it must: each function gets a role of
its own from ``FUNCTION_ACCESS``; the one invoked asynchronously (``ingest_bill``, by S3) keeps
what it failed on in a dead-letter queue; CloudWatch alarms on the state machines, the queue,
every function and the API notify the alarm topic; the API stage is throttled and logged. The
context flags ``waf`` and ``kms`` add a web ACL in front of the API and a customer-managed key.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_wafv2 as wafv2
from chalice.cdk import Chalice
from chalice.utils import to_cfn_resource_name
from constructs import Construct
from pynamodb.models import Model

from chalicelib import functions
from chalicelib.functions import EPHEMERAL_STORAGE_MB
from chalicelib.store.objects import (
    BILLS_PREFIX,
    INVOICES_PREFIX,
    NORMALIZED_PREFIX,
    QUARANTINE_PREFIX,
    RUNS_PREFIX,
    SETTINGS_LOGO_PREFIX,
)
from chalicelib.store.tables import ALL_TABLES, key_schema
from chalicelib.vocabulary import portal_vocabulary
from chalicelib.workflow.definitions import STATE_MACHINES, StateMachine

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PORTAL_DIR = PROJECT_ROOT / "portal"
APP_NAME = "rebill"
EVENTS_TOPIC = "events"
OPERATORS_GROUP = "operators"
CUSTOMER_ID_ATTRIBUTE = "customer_id"  # custom:customer_id on a customer user
PORTAL_CONFIG_FILE = "config.json"  # written next to the portal's files: API URL, Cognito ids
# The functions' runtime follows the Python running the CDK app: `chalice package` writes that
# version into the template and downloads the Lambda wheels for it. These are the versions the
# project supports (pyproject) that Lambda runs too.
LAMBDA_RUNTIMES = ("python3.11", "python3.12", "python3.13")
# Lambda's limit on a function's unzipped code (with its layers).
LAMBDA_UNZIPPED_LIMIT = 262_144_000

# The Lambda settings `chalice package` has no key for (chalicelib.functions): /tmp is where bills
# are streamed through (docs/design.md §7): a multi-GB CUR part is downloaded, decompressed and
# rewritten as Parquet there.

# Which environment variable names which table: the model's table, keyed by chalicelib.config.
TABLE_VARIABLES: dict[str, str] = {
    "ReferenceItem": "REFERENCE_TABLE",
    "BillItem": "BILLS_TABLE",
    "InvoiceItem": "INVOICES_TABLE",
}


REFERENCE, BILLS, INVOICES = "ReferenceItem", "BillItem", "InvoiceItem"
GENERATE_INVOICES, INGEST_REPORT = "generate-invoices", "ingest-report"
API_HANDLER = "api_handler"  # the Chalice name of the REST API's function


@dataclass(frozen=True)
class FunctionAccess:
    """What one Lambda function does in AWS, read from the chalicelib code it runs.

    Tables are named by their PynamoDB model, data-bucket locations by their prefix. Each
    function gets a role of its own with exactly these actions on exactly these resources.
    """

    reads: tuple[str, ...] = ()  # tables it reads (get, query, batch get)
    scans: tuple[str, ...] = ()  # tables it reads whole (scan)
    writes: tuple[str, ...] = ()  # tables it writes (put, update, transactions)
    # Tables it writes many items of at once (BatchWriteItem, which could delete items too).
    batch_writes: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()  # tables it deletes items from
    gets: tuple[str, ...] = ()  # prefixes it reads objects under
    puts: tuple[str, ...] = ()  # prefixes it writes objects under
    removes: tuple[str, ...] = ()  # prefixes it deletes objects under
    publishes: bool = False  # the events topic
    starts: tuple[str, ...] = ()  # state machines it starts (and whose executions it describes)
    looks_up_users: bool = False  # Cognito AdminGetUser: a signed-in user still enabled, not gone
    administers_users: bool = False  # operators invite, list, disable, enable, reset users
    sends_email: bool = False  # SES, from the stage's verified identity (-c email_identity=…)


# What chalicelib.store.cognito calls to administer users (AdminDeleteUser: an operator whose
# group membership failed is not left behind). AdminGetUser comes with looks_up_users.
USER_ADMIN_ACTIONS = (
    "cognito-idp:ListUsers",
    "cognito-idp:ListUsersInGroup",
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminResetUserPassword",
)


FUNCTION_ACCESS: dict[str, FunctionAccess] = {
    # Reference data and API tokens (created and deleted), bills listed, invoices issued and
    # voided, runs started; presigned uploads into bills/ and of the seller's logo, downloads
    # of invoice CSVs and PDFs (a PDF rendered, with the logo, and written under invoices/ when
    # a document is issued or first asked for), the period's reconciliation read from runs/.
    API_HANDLER: FunctionAccess(
        reads=(REFERENCE, BILLS, INVOICES),
        writes=(REFERENCE, INVOICES),
        deletes=(REFERENCE,),
        gets=(INVOICES_PREFIX, RUNS_PREFIX, SETTINGS_LOGO_PREFIX),
        puts=(BILLS_PREFIX, INVOICES_PREFIX, SETTINGS_LOGO_PREFIX),
        publishes=True,
        starts=(GENERATE_INVOICES,),
        looks_up_users=True,
        administers_users=True,
        sends_email=True,  # issuing, crediting and re-sending email the document
    ),
    # A bill lands: read it, write its Parquet, move a bad one to quarantine/, record it; a
    # report manifest starts the ingest-report state machine.
    # A single file's lines are compared with the current files' (normalized/) before it counts.
    # A bill over many accounts reads who owns them (one scan of the account index) and writes
    # the account aggregates 25 at a time.
    "ingest_bill": FunctionAccess(
        reads=(REFERENCE, BILLS),
        scans=(REFERENCE,),
        writes=(BILLS,),
        batch_writes=(BILLS,),
        gets=(BILLS_PREFIX, NORMALIZED_PREFIX),
        puts=(NORMALIZED_PREFIX, QUARANTINE_PREFIX),
        removes=(BILLS_PREFIX,),
        publishes=True,
        starts=(INGEST_REPORT,),
    ),
    "ingest_part": FunctionAccess(
        reads=(REFERENCE, BILLS),
        scans=(REFERENCE,),
        writes=(BILLS,),
        batch_writes=(BILLS,),
        gets=(BILLS_PREFIX,),
        puts=(NORMALIZED_PREFIX, QUARANTINE_PREFIX),
        removes=(BILLS_PREFIX,),
        publishes=True,
    ),
    # Compares the delivery's lines with the current files' and quarantines a refused delivery.
    "publish_delivery": FunctionAccess(
        reads=(REFERENCE, BILLS),
        writes=(BILLS,),
        gets=(BILLS_PREFIX, NORMALIZED_PREFIX),
        puts=(QUARANTINE_PREFIX,),
        removes=(BILLS_PREFIX,),
        publishes=True,
    ),
    # Snapshots the reference data (one scan) and the period's current bills into runs/.
    "prepare_run": FunctionAccess(
        reads=(REFERENCE, BILLS, INVOICES),
        scans=(REFERENCE,),
        writes=(INVOICES,),
        puts=(RUNS_PREFIX,),
    ),
    # A batch of customers: reads its work and the bills' Parquet, prices into runs/, saves each
    # live invoice with its CSVs under invoices/ and issues it (numbering, its PDF with the
    # seller's logo and its e-invoice, invoice.issued, the email with them attached); deletes the
    # files of a draft it replaced, or of its own computation when it lost; records the batch's
    # results at once.
    "invoice_batch": FunctionAccess(
        reads=(REFERENCE, INVOICES),
        writes=(INVOICES,),
        batch_writes=(INVOICES,),
        gets=(RUNS_PREFIX, NORMALIZED_PREFIX, INVOICES_PREFIX, SETTINGS_LOGO_PREFIX),
        puts=(RUNS_PREFIX, INVOICES_PREFIX),
        removes=(INVOICES_PREFIX,),
        publishes=True,
        sends_email=True,  # a run in mode issue emails what it issues
    ),
    "record_failure": FunctionAccess(reads=(INVOICES,), batch_writes=(INVOICES,)),
    # Closes the run and reconciles the period: the bill's Parquet against the batches' priced
    # usage summaries, with the accounts PrepareRun snapshotted.
    "finish_run": FunctionAccess(
        reads=(INVOICES,),
        writes=(INVOICES,),
        gets=(RUNS_PREFIX, NORMALIZED_PREFIX),
        puts=(RUNS_PREFIX,),
    ),
}

TABLE_READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
TABLE_WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem")
TABLE_DELETE_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
TABLE_SCAN_ACTIONS = ("dynamodb:Scan",)
TABLE_BATCH_WRITE_ACTIONS = ("dynamodb:BatchWriteItem",)

# Alarms: how often a metric is summed, and the API stage's request limits.
ALARM_PERIOD = cdk.Duration.minutes(5)
API_RATE_LIMIT = 50  # requests per second, steady
API_BURST_LIMIT = 100
# Bills that ingest_bill failed on (after Lambda's two retries) wait here for an operator.
DEAD_LETTER_RETENTION = cdk.Duration.days(14)


def _gateway_response(status: str | None, code: str, message: str, origin: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": origin},
        "responseTemplates": {
            "application/json": json.dumps({"code": code, "message": message}),
        },
    }
    if status is not None:
        response["statusCode"] = status
    return response


def gateway_responses(origin: str) -> dict[str, Any]:
    """The responses API Gateway gives itself, in the shape of chalicelib.api.errors
    (docs/api.md); ``origin`` is the header value browsers may read them from (``'<origin>'``)."""

    def response(status: str | None, code: str, message: str) -> dict[str, Any]:
        return _gateway_response(status, code, message, origin)

    return {
        # An unknown path, or a method the path lacks: API Gateway cannot tell them apart.
        "MISSING_AUTHENTICATION_TOKEN": response("404", "not_found", "no such route"),
        "REQUEST_TOO_LARGE": response(
            "413", "body_too_large", "the body is larger than the API accepts (1000000 bytes)"
        ),
        "UNSUPPORTED_MEDIA_TYPE": response(
            "415", "unsupported_media_type", "a request body must be JSON"
        ),
        "THROTTLED": response("429", "throttled", "too many requests: retry later"),
        # Any other refusal keeps its status; its type is an enum (ACCESS_DENIED, …), never input.
        "DEFAULT_4XX": response(
            None, "gateway_refused", "refused by the API gateway ($context.error.responseType)"
        ),
        "DEFAULT_5XX": response(None, "internal_error", "internal error"),
    }


def state_machine_variable(machine: StateMachine) -> str:
    """``generate-invoices`` → ``GENERATE_INVOICES_STATE_MACHINE_ARN`` (chalicelib.config)."""
    return machine.name.upper().replace("-", "_") + "_STATE_MACHINE_ARN"


def chalice_logical_id(function: str) -> str:
    """The logical id ``chalice package`` gives the function ``function`` (``IngestBill``)."""
    return "APIHandler" if function == API_HANDLER else to_cfn_resource_name(function)


class _ChaliceStage(Construct):
    """The scope of the Chalice construct: it takes the Chalice *stage* from ``str(scope)``.

    ``chalice.cdk.Chalice`` uses ``scope.to_string()`` (the construct path) as the stage name
    whose section of ``.chalice/config.json`` applies. This scope answers the stage instead, so
    the stack can have any id and still package the ``dev`` or ``prod`` stage.
    """

    def __init__(self, scope: Construct, construct_id: str, stage: str) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage

    def to_string(self) -> str:
        return self._stage


@contextlib.contextmanager
def _chalice_packaging(region: str) -> Iterator[None]:
    """Undo what ``chalice package`` does to the process while it imports ``app.py``.

    It copies the stage's environment variables (CDK tokens here) into ``os.environ``, puts the
    project first on ``sys.path`` and leaves ``app`` and ``chalicelib`` (imported with that
    environment) in ``sys.modules``: harmless in
    ``cdk synth``, poison for anything running later in the same process (tests). It also asks
    boto3 for a region, only to spell the API Gateway service principal (the same in every
    region of a partition): it gets one when none is configured.
    """
    environ = dict(os.environ)
    path = list(sys.path)
    modules = set(sys.modules)
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
        # Modules first imported while the token-valued environment was in place (app.py and
        # chalicelib, which read their configuration on import) must not outlive it.
        for name in set(sys.modules) - modules:
            if name == "app" or name.startswith("chalicelib"):
                del sys.modules[name]


def runtime_error(version: tuple[int, ...]) -> str | None:
    """Why a CDK app run by Python ``version`` cannot deploy, or None when it can.

    Chalice packages for the running interpreter: the Runtime and the wheels it downloads (for
    that version's Lambda glibc). Forcing another version does not work: its wheel download
    does not pass the target version to pip, so binary packages would be built from source for
    the wrong interpreter.
    """
    running = f"python{version[0]}.{version[1]}"
    if running in LAMBDA_RUNTIMES:
        return None
    return (
        f"the Lambda functions would run {running} (chalice packages for the Python running the "
        f"CDK app), which Rebill does not support: run it from Python "
        f"{', '.join(r.removeprefix('python') for r in LAMBDA_RUNTIMES)} (see docs/deploy.md)"
    )


def unzipped_size(package: Path) -> int:
    with zipfile.ZipFile(package) as archive:
        return sum(entry.file_size for entry in archive.infolist())


class RebillStack(cdk.Stack):
    """One stage of Rebill. ``source_dir`` is the Chalice project (the repository root)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        source_dir: Path = PROJECT_ROOT,
        portal_dir: Path = PORTAL_DIR,
        bill_source_accounts: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.stage = stage
        # The SES identity invoice emails are sent from (an address or a domain verified in
        # SES): `-c email_identity=billing@example.com`, and `-c email_from=…` for another
        # address of a verified domain. Without it the functions get no SES access.
        self.email_identity = str(self.node.try_get_context("email_identity") or "")
        self.email_from = str(self.node.try_get_context("email_from") or "") or (
            self.email_identity if "@" in self.email_identity else ""
        )
        self.prefix = f"{APP_NAME}-{stage}"
        production = stage == "prod"
        self.removal_policy = cdk.RemovalPolicy.RETAIN if production else cdk.RemovalPolicy.DESTROY
        cdk.Tags.of(self).add("app", APP_NAME)
        cdk.Tags.of(self).add("stage", stage)

        self.key = self._data_key(production) if self._flag("kms") else None
        self.tables = {model.__name__: self._table(model, production) for model in ALL_TABLES}
        self.data_bucket = self._data_bucket(bill_source_accounts)
        self.events_topic = sns.Topic(
            self,
            "EventsTopic",
            topic_name=f"{self.prefix}-{EVENTS_TOPIC}",
            display_name="Rebill events",
            enforce_ssl=True,
            # AWS's managed SNS key (publishers in the account need no grant), or the stage's.
            master_key=self.key or kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        self.user_pool, self.user_pool_client = self._user_pool(production)
        self.portal_bucket, self.portal_distribution = self._portal()
        self.state_machine_arns = {
            machine.name: self.format_arn(
                service="states",
                resource="stateMachine",
                resource_name=self._state_machine_name(machine),
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            for machine in STATE_MACHINES
        }

        self.ingest_dead_letters = self._dead_letter_queue()
        self.function_roles = self._function_roles()
        self.function_environment = self._environment()
        packaging_region = (
            self.region
            if not cdk.Token.is_unresolved(self.region)
            else os.environ.get("CDK_DEFAULT_REGION", "us-east-1")
        )
        with _chalice_packaging(packaging_region):
            self.chalice = Chalice(
                _ChaliceStage(self, "Api", stage),
                "Chalice",
                source_dir=str(source_dir),
                stage_config={
                    "environment_variables": self.function_environment,
                    "manage_iam_role": False,
                    # Every function gets its own role (_configure_functions); this is the default.
                    "iam_role_arn": self.function_roles[API_HANDLER].role_arn,
                },
            )
        self._check_runtime()
        self._check_package_size()
        self._configure_functions(production)
        self._gateway_responses()

        self.state_machines = {
            machine.name: self._state_machine(machine) for machine in STATE_MACHINES
        }
        self._bill_notification()
        self._portal_deployment(portal_dir)
        self._api_stage(production)
        if self._flag("waf"):
            self._web_acl()
        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=f"{self.prefix}-alarms",
            display_name="Rebill alarms",
            enforce_ssl=True,
            # Not the AWS managed SNS key: CloudWatch may not use it. The stage's key allows it.
            master_key=self.key,
        )
        self.alarms = self._alarms()
        self._outputs()

    # --- storage ----------------------------------------------------------------------------

    def _table(self, model: type[Model], production: bool) -> dynamodb.Table:
        schema = key_schema(model)
        variable = TABLE_VARIABLES[model.__name__]
        string = dynamodb.AttributeType.STRING

        def key(name: str | None) -> dynamodb.Attribute | None:
            return dynamodb.Attribute(name=name, type=string) if name else None

        table = dynamodb.Table(
            self,
            f"{model.__name__}Table",
            table_name=f"{self.prefix}-{variable.removesuffix('_TABLE').lower()}",
            partition_key=dynamodb.Attribute(name=schema["hash_key"], type=string),
            sort_key=key(schema["range_key"]),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The AWS owned key (no KMS charges), or with -c kms=true the stage's own key.
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if self.key
                else dynamodb.TableEncryption.DEFAULT
            ),
            encryption_key=self.key,
            deletion_protection=production,
            removal_policy=self.removal_policy,
        )
        for index in schema["indexes"]:
            table.add_global_secondary_index(
                index_name=index["name"],
                partition_key=dynamodb.Attribute(name=index["hash_key"], type=string),
                sort_key=key(index["range_key"]),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _data_bucket(self, bill_source_accounts: list[str] | None) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "DataBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS if self.key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=self.key,
            bucket_key_enabled=bool(self.key),  # one data key per object batch: fewer KMS calls
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=self.removal_policy,
            auto_delete_objects=self.removal_policy == cdk.RemovalPolicy.DESTROY,
            lifecycle_rules=[
                # AWS rewrites a month's CUR several times a day: keep replaced versions a while
                # (to recover from mistakes), not forever (they are multi-GB).
                s3.LifecycleRule(
                    id="expire-replaced-versions",
                    noncurrent_version_expiration=cdk.Duration.days(30),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                ),
                s3.LifecycleRule(
                    id="expire-run-scratch", prefix=RUNS_PREFIX, expiration=cdk.Duration.days(90)
                ),
            ],
        )
        # AWS Data Exports (CUR 2.0) and legacy CUR deliver straight into bills/.
        accounts = bill_source_accounts or [self.account]
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BillExportsDelivery",
                principals=[
                    iam.ServicePrincipal("billingreports.amazonaws.com"),
                    iam.ServicePrincipal("bcm-data-exports.amazonaws.com"),
                ],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{BILLS_PREFIX}*")],
                conditions={"StringEquals": {"aws:SourceAccount": accounts}},
            )
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BillExportsBucketCheck",
                principals=[
                    iam.ServicePrincipal("billingreports.amazonaws.com"),
                    iam.ServicePrincipal("bcm-data-exports.amazonaws.com"),
                ],
                actions=["s3:GetBucketPolicy", "s3:GetBucketAcl"],
                resources=[bucket.bucket_arn],
                conditions={"StringEquals": {"aws:SourceAccount": accounts}},
            )
        )
        if self.key:  # the exports write objects encrypted with the bucket's key
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="BillExportsDelivery",
                    principals=[
                        iam.ServicePrincipal("billingreports.amazonaws.com"),
                        iam.ServicePrincipal("bcm-data-exports.amazonaws.com"),
                    ],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": accounts}},
                )
            )
        return bucket

    def _data_key(self, production: bool) -> kms.Key:
        """With ``-c kms=true``: the stage's customer-managed key (rotated yearly) for the tables,
        the data bucket, the topics, the dead-letter queue, the log groups and the functions'
        environment. The account's IAM policies decide who uses it (the default key policy);
        the services that write with it on their own are allowed here."""
        key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{self.prefix}",
            description=f"Rebill {self.stage}: data at rest",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN if production else cdk.RemovalPolicy.DESTROY,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": self.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsToTheAlarmTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        return key

    def _dead_letter_queue(self) -> sqs.Queue:
        return sqs.Queue(
            self,
            "IngestBillDeadLetters",
            queue_name=f"{self.prefix}-ingest-bill-dead-letters",
            retention_period=DEAD_LETTER_RETENTION,
            # The AWS managed key (no key policy to write), or the stage's own key.
            encryption=sqs.QueueEncryption.KMS if self.key else sqs.QueueEncryption.KMS_MANAGED,
            encryption_master_key=self.key,
            enforce_ssl=True,
            removal_policy=self.removal_policy,
        )

    # --- identity ---------------------------------------------------------------------------

    def _user_pool(self, production: bool) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{self.prefix}-users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            custom_attributes={
                CUSTOMER_ID_ATTRIBUTE: cognito.StringAttribute(min_len=1, max_len=128, mutable=True)
            },
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(7),
            ),
            # An authenticator app (TOTP) as second factor, never SMS. Optional in the pool:
            # Cognito cannot require it per group (see docs/deploy.md, Users).
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.LITE,
            deletion_protection=production,
            removal_policy=self.removal_policy,
        )
        pool.add_group(
            "OperatorsGroup",
            group_name=OPERATORS_GROUP,
            description="The reseller's billing team: every route of the API.",
        )
        client = pool.add_client(
            "PortalClient",
            user_pool_client_name=f"{self.prefix}-portal",
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            generate_secret=False,
            disable_o_auth=True,  # the portal signs in with USER_PASSWORD_AUTH, no hosted UI
            prevent_user_existence_errors=True,
            # Readable, never writable by the user: custom:customer_id decides what they may see.
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email=True, email_verified=True, fullname=True)
            .with_custom_attributes(CUSTOMER_ID_ATTRIBUTE),
            write_attributes=cognito.ClientAttributes().with_standard_attributes(fullname=True),
            id_token_validity=cdk.Duration.hours(1),
            access_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(30),
        )
        return pool, client

    # --- the Chalice app --------------------------------------------------------------------

    def _function_roles(self) -> dict[str, iam.Role]:
        """One role per function (``FUNCTION_ACCESS``): only the actions and resources it uses."""
        roles = {}
        for function, access in FUNCTION_ACCESS.items():
            role = iam.Role(
                self,
                f"{chalice_logical_id(function)}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"The {function} function of Rebill",
                managed_policies=[
                    iam.ManagedPolicy.from_aws_managed_policy_name(
                        "service-role/AWSLambdaBasicExecutionRole"
                    ),
                    iam.ManagedPolicy.from_aws_managed_policy_name("AWSXRayDaemonWriteAccess"),
                ],
            )
            for policy in self._access_statements(access):
                role.add_to_policy(policy)
            if self.key:  # the tables, objects, topic and queue it uses are encrypted with it
                self.key.grant_encrypt_decrypt(role)
            roles[function] = role
        for function, access in FUNCTION_ACCESS.items():
            if access.looks_up_users:
                roles[function].add_to_policy(
                    iam.PolicyStatement(
                        actions=["cognito-idp:AdminGetUser"],
                        resources=[self.user_pool.user_pool_arn],
                    )
                )
            if access.administers_users:
                roles[function].add_to_policy(
                    iam.PolicyStatement(
                        actions=list(USER_ADMIN_ACTIONS),
                        resources=[self.user_pool.user_pool_arn],
                    )
                )
        roles["ingest_bill"].add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"], resources=[self.ingest_dead_letters.queue_arn]
            )
        )
        return roles

    def _access_statements(self, access: FunctionAccess) -> list[iam.PolicyStatement]:
        statements = []

        def table_arns(models: tuple[str, ...]) -> list[str]:
            arns = []
            for model in models:
                table = self.tables[model]
                arns += [table.table_arn, f"{table.table_arn}/index/*"]
            return arns

        for actions, models in (
            (TABLE_READ_ACTIONS, access.reads),
            (TABLE_SCAN_ACTIONS, access.scans),
            (TABLE_WRITE_ACTIONS, access.writes),
            (TABLE_BATCH_WRITE_ACTIONS, access.batch_writes),
            (TABLE_DELETE_ACTIONS, access.deletes),
        ):
            if models:
                statements.append(
                    iam.PolicyStatement(actions=list(actions), resources=table_arns(models))
                )
        bucket = self.data_bucket
        for action, prefixes in (
            ("s3:GetObject", access.gets),
            ("s3:PutObject", access.puts),
            ("s3:DeleteObject", access.removes),
        ):
            if prefixes:
                resources = [bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes]
                statements.append(iam.PolicyStatement(actions=[action], resources=resources))
        if access.gets:
            # Without it S3 answers 403, not 404, for a missing key: "is it there yet?" fails.
            statements.append(
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
            )
        if access.publishes:
            statements.append(
                iam.PolicyStatement(
                    actions=["sns:Publish"], resources=[self.events_topic.topic_arn]
                )
            )
        if access.sends_email and self.email_identity:
            statements.append(
                iam.PolicyStatement(
                    actions=["ses:SendRawEmail", "ses:SendEmail"],
                    resources=[
                        self.format_arn(
                            service="ses", resource="identity", resource_name=self.email_identity
                        )
                    ],
                )
            )
        for machine in STATE_MACHINES:
            if machine.name in access.starts:
                statements.append(
                    iam.PolicyStatement(
                        actions=["states:StartExecution"],
                        resources=[self.state_machine_arns[machine.name]],
                    )
                )
                statements.append(
                    iam.PolicyStatement(
                        actions=["states:DescribeExecution"],
                        resources=self._executions_arns(machine),
                    )
                )
        return statements

    def _environment(self) -> dict[str, str]:
        """What every function reads through chalicelib.config (and the Cognito ids)."""
        env = {
            "REBILL_APP_NAME": APP_NAME,
            "REBILL_STAGE": self.stage,
            "DATA_BUCKET": self.data_bucket.bucket_name,
            "EVENTS_TOPIC_ARN": self.events_topic.topic_arn,
            "COGNITO_USER_POOL_ID": self.user_pool.user_pool_id,
            "COGNITO_CLIENT_ID": self.user_pool_client.user_pool_client_id,
            # The only origin the API answers browsers from (app.py's CORS configuration).
            "REBILL_PORTAL_ORIGIN": self._portal_origin(self.portal_distribution),
            # Operators must have an authenticator app (chalicelib.api.cognito).
            "REBILL_OPERATOR_MFA": "required",
        }
        if self.email_from:  # the sender of invoice emails (chalicelib.service.invoice_email)
            env["REBILL_EMAIL_FROM"] = self.email_from
        for model_name, table in self.tables.items():
            env[TABLE_VARIABLES[model_name]] = table.table_name
        for machine in STATE_MACHINES:
            env[state_machine_variable(machine)] = self.state_machine_arns[machine.name]
        return env

    def function_resource(self, function: str) -> cdk.CfnResource:
        """The ``AWS::Serverless::Function`` of a Chalice function name (``ingest_bill``)."""
        resource: cdk.CfnResource = self.chalice.get_resource(chalice_logical_id(function))
        return resource

    def function_arn(self, function: str) -> str:
        return self.function_resource(function).get_att("Arn").to_string()

    def _check_runtime(self) -> None:
        """Fail the synthesis when the functions would get a runtime Rebill does not support."""
        error = runtime_error((sys.version_info.major, sys.version_info.minor))
        if error:
            cdk.Annotations.of(self).add_error(error)

    def _check_package_size(self) -> None:
        """Fail the synthesis (an error annotation) when Lambda would refuse the code."""
        package = Path(getattr(self.chalice, "_sam_package_dir", "")) / "deployment.zip"
        if not package.is_file():  # pragma: no cover - chalice.cdk moved its package
            cdk.Annotations.of(self).add_warning_v2(
                "rebill:package-size", "cannot find the Chalice deployment package to measure"
            )
            return
        size = unzipped_size(package)
        if size > LAMBDA_UNZIPPED_LIMIT:
            cdk.Annotations.of(self).add_error(
                f"the Lambda deployment package unzips to {size / 1e6:.0f} MB, over Lambda's "
                f"{LAMBDA_UNZIPPED_LIMIT / 1e6:.0f} MB limit: trim requirements.txt"
            )

    def function_resources(self) -> list[cdk.CfnResource]:
        """Every ``AWS::Serverless::Function`` of the app, the API handler included."""
        return [
            child
            for child in self.chalice.sam_template.node.children
            if isinstance(child, cdk.CfnResource)
            and child.cfn_resource_type == "AWS::Serverless::Function"
        ]

    def _configure_functions(self, production: bool) -> None:
        for function, megabytes in EPHEMERAL_STORAGE_MB.items():
            self.function_resource(function).add_property_override(
                "EphemeralStorage", {"Size": megabytes}
            )
        packaged = {resource.node.id for resource in self.function_resources()}
        unknown = packaged - {chalice_logical_id(name) for name in FUNCTION_ACCESS}
        if unknown:
            cdk.Annotations.of(self).add_error(
                f"no FUNCTION_ACCESS entry (and so no role) for {sorted(unknown)}: declare what "
                "each new function reads and writes in infra/stack.py"
            )
        for function, role in self.function_roles.items():
            if chalice_logical_id(function) in packaged:
                self.function_resource(function).add_property_override("Role", role.role_arn)
        if self.key:
            for resource in self.function_resources():
                resource.add_property_override("KmsKeyArn", self.key.key_arn)
        # S3 invokes ingest_bill asynchronously: what still fails after Lambda's two retries is
        # kept in the dead-letter queue (with the error) instead of being dropped.
        self.function_resource("ingest_bill").add_property_override(
            "DeadLetterQueue", {"Type": "SQS", "TargetArn": self.ingest_dead_letters.queue_arn}
        )
        # Log groups with a retention. Not Chalice's `log_retention_in_days`: for the API handler
        # it emits a log group that names a resource that does not exist (`${ApiHandler}` where
        # the function is `APIHandler`) and the template cannot be included.
        retention = logs.RetentionDays.ONE_YEAR if production else logs.RetentionDays.ONE_MONTH
        for resource in self.function_resources():
            logs.LogGroup(
                self,
                f"{resource.node.id}Logs",
                log_group_name=f"/aws/lambda/{resource.ref}",
                retention=retention,
                encryption_key=self.key,
                removal_policy=self.removal_policy,
            )

    # --- API Gateway's own refusals -----------------------------------------------------------

    def _gateway_responses(self) -> None:
        """API Gateway answers some requests itself (an unknown path or method, a body over its
        limit, throttling): in the API's error shape ``{code, message}``, with static messages.
        Its default for an unknown path is a 403 whose message echoes the Authorization header
        (the caller's bearer token) back; ``$context.error.message`` is never used here."""
        origin = f"'{self._portal_origin(self.portal_distribution)}'"  # as the API's CORS
        self.chalice.get_resource("RestAPI").add_property_override(
            "DefinitionBody.x-amazon-apigateway-gateway-responses", gateway_responses(origin)
        )

    # --- the state machines -----------------------------------------------------------------

    def _state_machine_name(self, machine: StateMachine) -> str:
        return f"{self.prefix}-{machine.name}"

    def _executions_arns(self, machine: StateMachine) -> list[str]:
        """Executions of ``machine`` (``name:id``) and of its Distributed Map runs (``name/…``)."""
        name = self._state_machine_name(machine)
        return [
            self.format_arn(
                service="states",
                resource="execution",
                resource_name=f"{name}{separator}*",
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            for separator in (":", "/")
        ]

    def _state_machine(self, machine: StateMachine) -> sfn.CfnStateMachine:
        cid = "".join(part.title() for part in machine.name.split("-"))
        substitutions: dict[str, str] = {}
        invoked: list[str] = []
        for placeholder, sub in machine.substitutions.items():
            if sub.kind == "function":
                substitutions[placeholder] = self.function_arn(sub.name)
                invoked.append(substitutions[placeholder])
            elif sub.kind == "topic" and sub.name == EVENTS_TOPIC:
                substitutions[placeholder] = self.events_topic.topic_arn
            else:  # pragma: no cover - a new kind of substitution needs wiring here
                raise ValueError(f"{machine.asl_file}: cannot fill {placeholder} ({sub})")

        role = iam.Role(
            self,
            f"{cid}Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"The {machine.name} state machine",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[*invoked, *(f"{arn}:*" for arn in invoked)],
            )
        )
        self.events_topic.grant_publish(role)
        self.data_bucket.grant_read(role)  # the Distributed Map's ItemReader
        own_arn = self.state_machine_arns[machine.name]
        # A Distributed Map runs its items as child executions of this very state machine.
        role.add_to_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[own_arn])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "states:DescribeExecution",
                    "states:StopExecution",
                    "states:RedriveExecution",
                ],
                resources=self._executions_arns(machine),
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            )
        )
        # Vended log delivery: these actions take no resource-level permissions.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                resources=["*"],
            )
        )
        log_group = logs.LogGroup(
            self,
            f"{cid}Logs",
            log_group_name=f"/aws/vendedlogs/states/{self._state_machine_name(machine)}",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=self.key,
            removal_policy=self.removal_policy,
        )
        machine_resource = sfn.CfnStateMachine(
            self,
            cid,
            state_machine_name=self._state_machine_name(machine),
            state_machine_type="STANDARD",
            role_arn=role.role_arn,
            # The ASL text as it is: CDK drops nulls from an object `Definition`, and a
            # `"ResultPath": null` (keep the input, discard the result) must stay null.
            definition_string=machine.definition_text(),
            definition_substitutions=substitutions,
            logging_configuration=sfn.CfnStateMachine.LoggingConfigurationProperty(
                level="ERROR",
                include_execution_data=False,
                destinations=[
                    sfn.CfnStateMachine.LogDestinationProperty(
                        cloud_watch_logs_log_group=sfn.CfnStateMachine.CloudWatchLogsLogGroupProperty(
                            log_group_arn=log_group.log_group_arn
                        )
                    )
                ],
            ),
            tracing_configuration=sfn.CfnStateMachine.TracingConfigurationProperty(enabled=True),
        )
        # Step Functions checks the role's logging permissions when the machine is created:
        # create its policy first (the role itself is implied by RoleArn).
        policy = role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        machine_resource.node.add_dependency(policy)
        return machine_resource

    # --- the REST API's stage ----------------------------------------------------------------

    @property
    def api_name(self) -> str:
        return f"{self.prefix}-api"

    def _api_stage(self, production: bool) -> None:
        """Name the API, limit its request rate, trace it and log every request."""
        api = self.chalice.get_resource("RestAPI")
        # Chalice names every stage's API after the app; the API 5xx alarm needs this one's name.
        api.add_property_override("Name", self.api_name)
        api.add_property_override("DefinitionBody.info.title", self.api_name)
        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            log_group_name=f"/aws/apigateway/{self.api_name}/access",
            retention=logs.RetentionDays.ONE_YEAR if production else logs.RetentionDays.ONE_MONTH,
            encryption_key=self.key,
            removal_policy=self.removal_policy,
        )
        api.add_property_override(
            "AccessLogSetting",
            {
                "DestinationArn": access_logs.log_group_arn,
                "Format": apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ).to_string(),
            },
        )
        api.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": API_RATE_LIMIT,
                    "ThrottlingBurstLimit": API_BURST_LIMIT,
                    "MetricsEnabled": True,
                }
            ],
        )
        api.add_property_override("TracingEnabled", True)
        # API Gateway writes logs through the region's account-wide CloudWatch role.
        role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        # The setting is one per account and region, shared by every stage deployed there: the
        # role outlives its stack, or deleting `dev` would break `prod`'s logging.
        role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        account = apigateway.CfnAccount(
            self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn
        )
        api.node.add_dependency(account)

    def _flag(self, name: str) -> bool:
        """A ``-c name=true`` context value (``waf``, …)."""
        value = self.node.try_get_context(name)
        return str(value).lower() in ("1", "true", "yes", "on")

    def _web_acl(self) -> wafv2.CfnWebACL:
        """AWS WAF in front of the REST API: AWS's managed rule groups and a rate limit per IP."""
        managed = [
            "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesAmazonIpReputationList",
        ]
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                    cloud_watch_metrics_enabled=True,
                    metric_name=group,
                    sampled_requests_enabled=True,
                ),
            )
            for priority, group in enumerate(managed)
        ]
        acl = wafv2.CfnWebACL(
            self,
            "ApiWebAcl",
            name=f"{self.prefix}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name=f"{self.prefix}-api",
                sampled_requests_enabled=True,
            ),
        )
        api = self.chalice.get_resource("RestAPI")
        association = wafv2.CfnWebACLAssociation(
            self,
            "ApiWebAclAssociation",
            web_acl_arn=acl.attr_arn,
            resource_arn=(
                f"arn:{self.partition}:apigateway:{self.region}::/restapis/{api.ref}/stages/"
                # SAM's reference to the stage it makes from RestAPI: the stage exists first.
                + cdk.Fn.ref(f"{api.logical_id}.Stage")
            ),
        )
        cdk.Validations.of(association).acknowledge(
            cdk.Acknowledgment(
                id="CloudFormation-Validate::F1020",
                reason="RestAPI.Stage is made by the SAM transform, which runs before validation",
            )
        )
        return acl

    # --- alarms -----------------------------------------------------------------------------

    def _alarms(self) -> dict[str, cloudwatch.Alarm]:
        """Everything that can fail without a caller to tell: each alarm notifies the topic."""
        alarms: dict[str, cloudwatch.Alarm] = {}

        def alarm(cid: str, description: str, metric: cloudwatch.IMetric) -> None:
            created = cloudwatch.Alarm(
                self,
                f"{cid}Alarm",
                alarm_name=f"{self.prefix}-{cid}",
                alarm_description=description,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
            created.add_ok_action(cloudwatch_actions.SnsAction(self.alarm_topic))
            alarms[cid] = created

        def metric(namespace: str, name: str, dimensions: dict[str, str]) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map=dimensions,
                statistic="Sum",
                period=ALARM_PERIOD,
            )

        for machine in STATE_MACHINES:
            cid = "".join(part.title() for part in machine.name.split("-"))
            arn = {"StateMachineArn": self.state_machine_arns[machine.name]}
            alarm(
                f"{cid}ExecutionsFailed",
                f"An execution of {self._state_machine_name(machine)} failed, timed out or was "
                "aborted",
                cloudwatch.MathExpression(
                    expression="failed + timedOut + aborted",
                    using_metrics={
                        "failed": metric("AWS/States", "ExecutionsFailed", arn),
                        "timedOut": metric("AWS/States", "ExecutionsTimedOut", arn),
                        "aborted": metric("AWS/States", "ExecutionsAborted", arn),
                    },
                    period=ALARM_PERIOD,
                ),
            )
        alarm(
            "IngestBillDeadLetters",
            "A bill that ingest_bill could not take in (after retries) waits in the dead-letter "
            "queue",
            self.ingest_dead_letters.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=ALARM_PERIOD
            ),
        )
        for function in FUNCTION_ACCESS:
            cid = chalice_logical_id(function)
            name = {"FunctionName": self.function_resource(function).ref}
            alarm(f"{cid}Errors", f"{function} failed", metric("AWS/Lambda", "Errors", name))
            alarm(
                f"{cid}Throttles",
                f"{function} was throttled (Lambda concurrency exhausted)",
                metric("AWS/Lambda", "Throttles", name),
            )
        alarm(
            "IngestBillDeadLetterErrors",
            "ingest_bill could not write a failed event to its dead-letter queue: it is lost",
            metric(
                "AWS/Lambda",
                "DeadLetterErrors",
                {"FunctionName": self.function_resource("ingest_bill").ref},
            ),
        )
        alarm(
            "Api5xx",
            "The REST API answered with a server error (5xx)",
            metric("AWS/ApiGateway", "5XXError", {"ApiName": self.api_name, "Stage": "api"}),
        )
        return alarms

    # --- S3 → ingest_bill -------------------------------------------------------------------

    def _bill_notification(self) -> None:
        """``ObjectCreated`` under ``bills/`` invokes ``ingest_bill``, with its permission.

        The function is imported with ``same_environment=True`` so that ``LambdaDestination``
        really creates the ``AWS::Lambda::Permission`` for s3.amazonaws.com (scoped to this
        bucket and account) and makes the notification depend on it: S3 refuses a notification
        to a function it may not invoke yet. The construct's own ``get_function`` imports with
        an unresolved account, where ``add_permission`` does nothing.
        """
        ingest = lambda_.Function.from_function_attributes(
            self,
            "IngestBillFunction",
            function_arn=self.function_arn(functions.INGEST_BILL.name),
            same_environment=True,
        )
        self.data_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(ingest),
            s3.NotificationKeyFilter(prefix=BILLS_PREFIX),
        )

    # --- the portal -------------------------------------------------------------------------

    def _portal(self) -> tuple[s3.Bucket, cloudfront.Distribution]:
        bucket = s3.Bucket(
            self,
            "PortalBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=cdk.RemovalPolicy.DESTROY,  # rebuilt from portal/ on every deploy
            auto_delete_objects=True,
        )
        distribution = cloudfront.Distribution(
            self,
            "PortalDistribution",
            comment=f"{self.prefix} portal",
            default_root_object="index.html",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self._portal_headers(),
                compress=True,
            ),
        )
        # The portal downloads CSVs and uploads bills through presigned data-bucket URLs.
        self.data_bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.PUT, s3.HttpMethods.HEAD],
            allowed_origins=[self._portal_origin(distribution)],
            allowed_headers=["*"],
            max_age=3600,
        )
        return bucket, distribution

    @staticmethod
    def _portal_origin(distribution: cloudfront.Distribution) -> str:
        return f"https://{distribution.distribution_domain_name}"

    def _portal_deployment(self, portal_dir: Path) -> None:
        """The portal's files and its config.json (the API URL, the Cognito ids, the
        vocabularies the portal shows)."""
        sources = [
            s3deploy.Source.json_data(
                PORTAL_CONFIG_FILE,
                {
                    "api_url": self.api_url,
                    "region": self.region,
                    "cognito_user_pool_id": self.user_pool.user_pool_id,
                    "cognito_client_id": self.user_pool_client.user_pool_client_id,
                    "vocabulary": portal_vocabulary(),
                },
            )
        ]
        if portal_dir.is_dir() and any(p.is_file() for p in portal_dir.rglob("*")):
            sources.insert(0, s3deploy.Source.asset(str(portal_dir), exclude=["node_modules"]))
        s3deploy.BucketDeployment(
            self,
            "PortalDeployment",
            sources=sources,
            destination_bucket=self.portal_bucket,
            distribution=self.portal_distribution,
            distribution_paths=["/*"],
            memory_limit=512,
        )

    def _portal_headers(self) -> cloudfront.ResponseHeadersPolicy:
        """AWS's security headers plus a Content-Security-Policy: the portal's own files, and
        requests only to its API, Cognito and the data bucket (presigned uploads, downloads)."""
        connect = [
            "'self'",
            f"https://*.execute-api.{self.region}.{self.url_suffix}",
            f"https://cognito-idp.{self.region}.{self.url_suffix}",
            # Not the bucket's own name: the bucket's CORS rule names the distribution already.
            f"https://*.s3.{self.url_suffix}",
            f"https://*.s3.{self.region}.{self.url_suffix}",
        ]
        policy = "; ".join(
            [
                "default-src 'none'",
                "script-src 'self'",
                "style-src 'self'",
                "img-src 'self' data:",
                "font-src 'self'",
                "connect-src " + " ".join(connect),
                "frame-ancestors 'none'",
                "base-uri 'none'",
                "form-action 'self'",
                "object-src 'none'",
            ]
        )
        return cloudfront.ResponseHeadersPolicy(
            self,
            "PortalHeaders",
            comment=f"{self.prefix} portal: security headers and CSP",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=policy, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(365),
                    include_subdomains=True,
                    override=True,
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(
                    protection=True, mode_block=True, override=True
                ),
            ),
        )

    @property
    def api_url(self) -> str:
        return self.chalice.sam_template.get_output("EndpointURL").value  # type: ignore[no-any-return]

    def _outputs(self) -> None:
        cdk.CfnOutput(self, "ApiUrl", value=self.api_url, description="The REST API")
        cdk.CfnOutput(
            self,
            "PortalUrl",
            value=f"https://{self.portal_distribution.distribution_domain_name}",
            description="The customer and operator portal",
        )
        cdk.CfnOutput(self, "DataBucketName", value=self.data_bucket.bucket_name)
        cdk.CfnOutput(
            self,
            "BillsLocation",
            value=f"s3://{self.data_bucket.bucket_name}/{BILLS_PREFIX}",
            description="Point the clouds' bill exports here",
        )
        cdk.CfnOutput(self, "EventsTopicArn", value=self.events_topic.topic_arn)
        cdk.CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.alarm_topic.topic_arn,
            description="Subscribe the operators to the stack's alarms (docs/deploy.md)",
        )
        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=self.user_pool_client.user_pool_client_id)
        for machine in STATE_MACHINES:
            cdk.CfnOutput(
                self,
                f"{state_machine_variable(machine).title().replace('_', '')}",
                value=self.state_machine_arns[machine.name],
            )
