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
functions would not get python3.12 or their package would be too large for Lambda.

The state machine ARN the functions get is built from its fixed name rather than referenced:
the state machine references the functions, so a reference back would be a dependency cycle.
"""

from __future__ import annotations

import contextlib
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from chalice.cdk import Chalice
from chalice.utils import to_cfn_resource_name
from constructs import Construct
from pynamodb.models import Model

from chalicelib import functions
from chalicelib.functions import EPHEMERAL_STORAGE_MB
from chalicelib.store.objects import BILLS_PREFIX, RUNS_PREFIX
from chalicelib.store.tables import ALL_TABLES, key_schema
from chalicelib.workflow.definitions import STATE_MACHINES, StateMachine

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PORTAL_DIR = PROJECT_ROOT / "portal"
APP_NAME = "rebill"
EVENTS_TOPIC = "events"
OPERATORS_GROUP = "operators"
CUSTOMER_ID_ATTRIBUTE = "customer_id"  # custom:customer_id on a customer user
PORTAL_CONFIG_FILE = "config.json"  # written next to the portal's files: API URL, Cognito ids
# The functions' runtime (localaws declares the same). `chalice package` takes it from the Python
# running the CDK app, and it can only fetch Lambda wheels for that version: deploy from 3.12.
LAMBDA_RUNTIME = "python3.12"
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


def state_machine_variable(machine: StateMachine) -> str:
    """``generate-invoices`` → ``GENERATE_INVOICES_STATE_MACHINE_ARN`` (chalicelib.config)."""
    return machine.name.upper().replace("-", "_") + "_STATE_MACHINE_ARN"


def chalice_logical_id(function: str) -> str:
    """The logical id ``chalice package`` gives the function ``function`` (``IngestBill``)."""
    return to_cfn_resource_name(function)


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
        self.prefix = f"{APP_NAME}-{stage}"
        production = stage == "prod"
        self.removal_policy = cdk.RemovalPolicy.RETAIN if production else cdk.RemovalPolicy.DESTROY
        cdk.Tags.of(self).add("app", APP_NAME)
        cdk.Tags.of(self).add("stage", stage)

        self.tables = {model.__name__: self._table(model, production) for model in ALL_TABLES}
        self.data_bucket = self._data_bucket(bill_source_accounts)
        self.events_topic = sns.Topic(
            self,
            "EventsTopic",
            topic_name=f"{self.prefix}-{EVENTS_TOPIC}",
            display_name="Rebill events",
            enforce_ssl=True,
        )
        self.user_pool, self.user_pool_client = self._user_pool(production)
        self.state_machine_arns = {
            machine.name: self.format_arn(
                service="states",
                resource="stateMachine",
                resource_name=self._state_machine_name(machine),
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            for machine in STATE_MACHINES
        }

        self.function_role = self._function_role()
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
                    "iam_role_arn": self.function_role.role_arn,
                },
            )
        self._check_runtime()
        self._check_package_size()
        self._configure_functions(production)

        self.state_machines = {
            machine.name: self._state_machine(machine) for machine in STATE_MACHINES
        }
        self._bill_notification()
        self.portal_distribution = self._portal(portal_dir)
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
            encryption=dynamodb.TableEncryption.DEFAULT,  # AWS owned key: no KMS charges
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
            encryption=s3.BucketEncryption.S3_MANAGED,
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
        return bucket

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
                min_length=12, require_symbols=False, temp_password_validity=cdk.Duration.days(7)
            ),
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

    def _function_role(self) -> iam.Role:
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Every Lambda function of the Rebill Chalice app",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSLambdaBasicExecutionRole"
                ),
                iam.ManagedPolicy.from_aws_managed_policy_name("AWSXRayDaemonWriteAccess"),
            ],
        )
        for table in self.tables.values():
            table.grant_read_write_data(role)
        self.data_bucket.grant_read_write(role)
        self.events_topic.grant_publish(role)
        for machine in STATE_MACHINES:
            arn = self.state_machine_arns[machine.name]
            role.add_to_policy(
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[arn])
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["states:DescribeExecution", "states:StopExecution"],
                    resources=self._executions_arns(machine),
                )
            )
        return role

    def _environment(self) -> dict[str, str]:
        """What every function reads through chalicelib.config (and the Cognito ids)."""
        env = {
            "REBILL_APP_NAME": APP_NAME,
            "REBILL_STAGE": self.stage,
            "DATA_BUCKET": self.data_bucket.bucket_name,
            "EVENTS_TOPIC_ARN": self.events_topic.topic_arn,
            "COGNITO_USER_POOL_ID": self.user_pool.user_pool_id,
            "COGNITO_CLIENT_ID": self.user_pool_client.user_pool_client_id,
        }
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
        """Fail the synthesis unless the functions get ``LAMBDA_RUNTIME``.

        Chalice packages for the running interpreter: the Runtime and the wheels it downloads
        (for that version's Lambda glibc). Forcing another version does not work: its wheel
        download does not pass the target version to pip, so binary packages fall back to
        source builds for the wrong interpreter.
        """
        running = f"python{sys.version_info.major}.{sys.version_info.minor}"
        if running != LAMBDA_RUNTIME:
            cdk.Annotations.of(self).add_error(
                f"the Lambda functions would run {running} (chalice packages for the Python "
                f"running the CDK app), not {LAMBDA_RUNTIME}: run it from a Python 3.12 "
                "environment (see docs/deploy.md)"
            )

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
                removal_policy=self.removal_policy,
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

    def _portal(self, portal_dir: Path) -> cloudfront.Distribution:
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
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                compress=True,
            ),
        )
        # The portal downloads CSVs and uploads bills through presigned data-bucket URLs.
        self.data_bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.PUT, s3.HttpMethods.HEAD],
            allowed_origins=[f"https://{distribution.distribution_domain_name}"],
            allowed_headers=["*"],
            max_age=3600,
        )
        sources = [
            s3deploy.Source.json_data(
                PORTAL_CONFIG_FILE,
                {
                    "api_url": self.api_url,
                    "region": self.region,
                    "cognito_user_pool_id": self.user_pool.user_pool_id,
                    "cognito_client_id": self.user_pool_client.user_pool_client_id,
                },
            )
        ]
        if portal_dir.is_dir() and any(p.is_file() for p in portal_dir.rglob("*")):
            sources.insert(0, s3deploy.Source.asset(str(portal_dir), exclude=["node_modules"]))
        s3deploy.BucketDeployment(
            self,
            "PortalDeployment",
            sources=sources,
            destination_bucket=bucket,
            distribution=distribution,
            distribution_paths=["/*"],
            memory_limit=512,
        )
        return distribution

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
        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=self.user_pool_client.user_pool_client_id)
        for machine in STATE_MACHINES:
            cdk.CfnOutput(
                self,
                f"{state_machine_variable(machine).title().replace('_', '')}",
                value=self.state_machine_arns[machine.name],
            )
