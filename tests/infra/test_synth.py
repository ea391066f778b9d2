"""The CDK app synthesizes offline into a template that holds what the code expects.

Every expectation is derived from the code the template must serve — the PynamoDB models, the
state machines' ASL files and substitution table, the Chalice app, chalicelib.config — never
retyped from the stack. Then cfn-lint checks the whole template (its SAM resources and the
state machine definition included).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from chalicelib.config import AppConfig, get_config
from chalicelib.functions import WORKFLOW_FUNCTIONS
from chalicelib.store.objects import BILLS_PREFIX
from chalicelib.store.tables import ALL_TABLES, key_schema
from chalicelib.vocabulary import PROVIDERS, portal_vocabulary
from chalicelib.workflow.definitions import STATE_MACHINES
from infra.stack import LAMBDA_RUNTIMES, runtime_error, unzipped_size
from tests.infra.conftest import ROOT, Synthesized, synthesize

Resources = dict[str, dict[str, Any]]
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-central-1",
    "AWS::AccountId": "111122223333",
    "AWS::URLSuffix": "amazonaws.com",
}

# Variables chalicelib.config reads that the template does not (and must not) set.
PROVIDED_BY_LAMBDA = {"AWS_REGION", "AWS_DEFAULT_REGION"}  # reserved: Lambda sets them itself
RIGHT_BY_DEFAULT = {
    "REBILL_TMP_DIR",  # /tmp: Lambda's writable directory (ephemeral storage)
    "REBILL_PORTAL_URL",  # the emails' link: REBILL_PORTAL_ORIGIN, which every function gets
    "REBILL_EMAIL_FROM",  # only with -c email_identity (test_operations: SES access)
}

# cfn-lint warnings accepted, by rule and resource. W3005 (a DependsOn that a GetAtt already
# implies) on the providers CDK itself adds for auto-deleted buckets, bucket notifications and
# the portal's BucketDeployment: harmless, and not ours to change.
ACCEPTED_WARNINGS = {
    "W3005": (
        "CustomS3AutoDeleteObjectsCustomResourceProvider*",
        "BucketNotificationsHandler*",
        "CustomCDKBucketDeployment*",
    )
}


# --- template helpers ---------------------------------------------------------------------------


def of_type(template: dict[str, Any], kind: str) -> Resources:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def render(value: Any) -> Any:
    """Resolve pseudo-parameter Refs and Fn::Join in ``value`` (other intrinsics stay)."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in PSEUDO:
        return PSEUDO[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        rendered = [render(part) for part in parts]
        if all(isinstance(part, str) for part in rendered):
            return separator.join(rendered)
        return {"Fn::Join": [separator, rendered]}
    if isinstance(value, list):
        return [render(v) for v in value]
    return value


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def arn_of(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def config_variables() -> set[str]:
    """Every environment variable chalicelib/config.py reads."""
    source = (ROOT / "chalicelib" / "config.py").read_text()
    found = set(re.findall(r"env\.get\(\s*\"([A-Z0-9_]+)\"", source))
    assert "DATA_BUCKET" in found, "the pattern no longer finds the variables config.py reads"
    return found


def chalice_handlers() -> dict[str, str]:
    """Chalice function name → handler string (``ingest_bill`` → ``app.ingest_bill``)."""
    from app import app as chalice_app

    return {f.name: f.handler_string for f in chalice_app.pure_lambda_functions}


def functions(template: dict[str, Any]) -> Resources:
    return of_type(template, "AWS::Serverless::Function")


def function_id(template: dict[str, Any], name: str) -> str:
    """The logical id of the Chalice function ``name``, found by its handler."""
    handler = chalice_handlers()[name]
    found = [k for k, v in functions(template).items() if v["Properties"]["Handler"] == handler]
    assert len(found) == 1, (name, handler, found)
    return found[0]


def environment(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    env: dict[str, Any] = functions(template)[logical_id]["Properties"]["Environment"]["Variables"]
    return env


def ingest_env(template: dict[str, Any]) -> dict[str, Any]:
    return environment(template, function_id(template, "ingest_bill"))


def statements_of_role(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in of_type(template, "AWS::IAM::Policy").values():
        if ref(role_id) in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    assert statements, f"no policy attached to {role_id}"
    return statements


def allows(statements: list[dict[str, Any]], action: str, resource: Any) -> bool:
    """Whether an Allow statement grants ``action`` on exactly ``resource`` (after render)."""
    wanted = render(resource)
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if any(fnmatch.fnmatchcase(action, a) for a in actions) and wanted in render(resources):
            return True
    return False


def state_machine(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    found = [
        (k, v["Properties"])
        for k, v in of_type(template, "AWS::StepFunctions::StateMachine").items()
        if v["Properties"]["StateMachineName"] == f"rebill-prod-{name}"
    ]
    assert len(found) == 1, found
    return found[0]


def state_machine_arn(name: str) -> str:
    region, account = PSEUDO["AWS::Region"], PSEUDO["AWS::AccountId"]
    return f"arn:aws:states:{region}:{account}:stateMachine:{name}"


# --- tables -------------------------------------------------------------------------------------


def test_one_table_per_model_with_the_models_keys_and_indexes(prod: Synthesized) -> None:
    tables = of_type(prod.template, "AWS::DynamoDB::Table")
    assert len(tables) == len(ALL_TABLES) == 3
    config = get_config()
    env = ingest_env(prod.template)
    for field in ("reference_table", "bills_table", "invoices_table"):
        model = next(m for m in ALL_TABLES if m.Meta.table_name == getattr(config, field))
        logical_id = env[field.upper()]["Ref"]
        table = tables[logical_id]["Properties"]
        schema = key_schema(model)

        expected_keys = [{"AttributeName": schema["hash_key"], "KeyType": "HASH"}]
        if schema["range_key"]:
            expected_keys.append({"AttributeName": schema["range_key"], "KeyType": "RANGE"})
        assert table["KeySchema"] == expected_keys, model.__name__
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionProtectionEnabled"] is True  # prod
        assert tables[logical_id]["DeletionPolicy"] == "Retain"

        indexes = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {i["name"] for i in schema["indexes"]}, model.__name__
        key_names = {schema["hash_key"], schema["range_key"]}
        for index in schema["indexes"]:
            declared = indexes[index["name"]]
            keys = [{"AttributeName": index["hash_key"], "KeyType": "HASH"}]
            if index["range_key"]:
                keys.append({"AttributeName": index["range_key"], "KeyType": "RANGE"})
            assert declared["KeySchema"] == keys, index["name"]
            assert declared["Projection"] == {"ProjectionType": "ALL"}
            key_names |= {index["hash_key"], index["range_key"]}
        key_names.discard(None)
        # Every key attribute is declared, as a string; nothing else is.
        assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
            name: "S" for name in key_names
        }


# --- state machines -----------------------------------------------------------------------------


@pytest.mark.parametrize("machine", STATE_MACHINES, ids=lambda m: m.name)
def test_state_machine_substitutions_fill_every_placeholder_with_the_right_resource(
    prod: Synthesized, machine: Any
) -> None:
    template = prod.template
    logical_id, props = state_machine(template, machine.name)
    # The file's text, nulls included ("ResultPath": null keeps a state's input).
    assert props["DefinitionString"] == machine.definition_text()
    assert "Definition" not in props
    substitutions = props["DefinitionSubstitutions"]
    assert set(substitutions) == machine.placeholders()

    topic_id = ingest_env(template)["EVENTS_TOPIC_ARN"]["Ref"]
    assert of_type(template, "AWS::SNS::Topic")[topic_id]["Properties"]["TopicName"] == (
        "rebill-prod-events"
    )
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    role = statements_of_role(template, role_id)
    for placeholder, sub in machine.substitutions.items():
        if sub.kind == "function":
            function = function_id(template, sub.name)
            assert substitutions[placeholder] == arn_of(function), placeholder
            assert allows(role, "lambda:InvokeFunction", arn_of(function)), sub.name
        else:
            assert (sub.kind, sub.name) == ("topic", "events")
            assert substitutions[placeholder] == ref(topic_id), placeholder
            assert allows(role, "sns:Publish", ref(topic_id))

    # The functions learn the machine's ARN from its name (a Ref would be a dependency cycle).
    name = props["StateMachineName"]
    variable = machine.name.upper().replace("-", "_") + "_STATE_MACHINE_ARN"
    assert variable in config_variables()
    assert render(ingest_env(template)[variable]) == state_machine_arn(name)

    # Distributed Map: read the item list, run and watch its own child executions.
    bucket_id = ingest_env(template)["DATA_BUCKET"]["Ref"]
    object_arn = {"Fn::Join": ["", [arn_of(bucket_id), "/*"]]}
    assert allows(role, "s3:GetObject", object_arn)
    assert allows(role, "states:StartExecution", state_machine_arn(name))
    execution = state_machine_arn(name).replace(":stateMachine:", ":execution:")
    for action in ("states:DescribeExecution", "states:StopExecution"):
        assert allows(role, action, execution + "/*"), action
        assert allows(role, action, execution + ":*"), action
    assert props["LoggingConfiguration"]["Level"] == "ERROR"
    assert props["TracingConfiguration"] == {"Enabled": True}
    # Created only once its role's policy (logging permissions included) exists.
    policies = [
        k
        for k, v in of_type(template, "AWS::IAM::Policy").items()
        if ref(role_id) in v["Properties"]["Roles"]
    ]
    assert set(policies) <= set(template["Resources"][logical_id].get("DependsOn", []))


# --- S3 → ingest_bill ---------------------------------------------------------------------------


def test_bills_prefix_notifies_ingest_bill_with_an_explicit_invoke_permission(
    prod: Synthesized,
) -> None:
    template = prod.template
    ingest = function_id(template, "ingest_bill")
    bucket_id = ingest_env(template)["DATA_BUCKET"]["Ref"]

    permissions = {
        k: v
        for k, v in of_type(template, "AWS::Lambda::Permission").items()
        if v["Properties"]["Principal"] == "s3.amazonaws.com"
    }
    assert len(permissions) == 1, permissions
    [(permission_id, permission)] = permissions.items()
    assert permission["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": arn_of(ingest),
        "Principal": "s3.amazonaws.com",
        "SourceArn": arn_of(bucket_id),
        "SourceAccount": ref("AWS::AccountId"),
    }

    notifications = of_type(template, "Custom::S3BucketNotifications")
    assert len(notifications) == 1
    [(notification_id, notification)] = notifications.items()
    assert notification["Properties"]["BucketName"] == ref(bucket_id)
    assert notification["Properties"]["NotificationConfiguration"] == {
        "LambdaFunctionConfigurations": [
            {
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": BILLS_PREFIX}]}},
                "LambdaFunctionArn": arn_of(ingest),
            }
        ]
    }
    # S3 checks it may invoke the function when the notification is put: permission first.
    assert permission_id in template["Resources"][notification_id]["DependsOn"]


# --- the functions ------------------------------------------------------------------------------


def test_every_function_gets_every_variable_chalicelib_config_reads(prod: Synthesized) -> None:
    template = prod.template
    declared = functions(template)
    handlers = chalice_handlers()
    assert set(handlers) == set(WORKFLOW_FUNCTIONS)
    assert {v["Properties"]["Handler"] for v in declared.values()} == {
        *handlers.values(),
        "app.app",  # the REST API
    }

    read = config_variables()
    needed = read - PROVIDED_BY_LAMBDA - RIGHT_BY_DEFAULT
    assert AppConfig.from_environ({}).tmp_dir == "/tmp"
    needed |= {"COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID"}
    for logical_id in declared:
        env = environment(template, logical_id)
        assert needed <= set(env), (logical_id, sorted(needed - set(env)))
        assert not PROVIDED_BY_LAMBDA & set(env)
        assert env["REBILL_STAGE"] == "prod"
        assert env["REBILL_APP_NAME"] == "rebill"
        assert all(v not in ("", None) for v in env.values()), logical_id
        assert declared[logical_id]["Properties"]["Role"] == arn_of(
            declared[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        )

    env = ingest_env(template)
    pool = of_type(template, "AWS::Cognito::UserPool")
    client = of_type(template, "AWS::Cognito::UserPoolClient")
    assert env["COGNITO_USER_POOL_ID"] == ref(next(iter(pool)))
    assert env["COGNITO_CLIENT_ID"] == ref(next(iter(client)))
    assert env["DATA_BUCKET"]["Ref"] in of_type(template, "AWS::S3::Bucket")


def test_functions_are_sized_for_their_work(prod: Synthesized) -> None:
    template = prod.template

    def props(name: str) -> dict[str, Any]:
        result: dict[str, Any] = functions(template)[function_id(template, name)]["Properties"]
        return result

    for name in ("ingest_bill", "ingest_part"):
        ingest = props(name)
        assert (ingest["MemorySize"], ingest["Timeout"]) == (10240, 900), name
        assert ingest["EphemeralStorage"] == {"Size": 10240}, name
    for name in ("invoice_batch",):
        assert (props(name)["MemorySize"], props(name)["Timeout"]) == (3008, 900), name
        assert props(name)["EphemeralStorage"]["Size"] >= 2048, name
    assert all(f["Properties"]["Tracing"] == "Active" for f in functions(template).values())
    # Every function (the API handler too) logs into a group with a retention.
    groups = [g["Properties"] for g in of_type(template, "AWS::Logs::LogGroup").values()]
    for logical_id in functions(template):
        group = {"Fn::Join": ["", ["/aws/lambda/", ref(logical_id)]]}
        assert any(g["LogGroupName"] == group and g.get("RetentionInDays") for g in groups)


def test_the_functions_run_the_python_that_synthesized_them(prod: Synthesized) -> None:
    """chalice package gives the functions the runtime of the Python running it (and fetches
    the wheels for that version): any of the supported 3.11-3.13 synthesizes; others fail."""
    running = f"python{sys.version_info.major}.{sys.version_info.minor}"
    runtimes = {f["Properties"]["Runtime"] for f in functions(prod.template).values()}
    assert runtimes == {running}
    assert running in LAMBDA_RUNTIMES
    assert not [e for e in prod.errors if "does not support" in e], prod.errors
    for minor in (11, 12, 13):
        assert runtime_error((3, minor)) is None
    for version in ((3, 10), (3, 14), (4, 0)):
        error = runtime_error(version)
        assert error and f"python{version[0]}.{version[1]}" in error and "3.11, 3.12, 3.13" in error


def test_a_package_lambda_would_refuse_fails_the_synthesis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prod: Synthesized
) -> None:
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "x" * 5000)
    assert unzipped_size(archive) == 5000
    assert not [e for e in prod.errors if "over Lambda's" in e]

    monkeypatch.setattr("infra.stack.LAMBDA_UNZIPPED_LIMIT", 1000)
    too_large = synthesize("dev", tmp_path / "synth")
    assert any("over Lambda's" in e for e in too_large.errors), too_large.errors


# --- storage, portal, identity ------------------------------------------------------------------


def test_data_bucket_is_private_encrypted_versioned_and_tls_only(prod: Synthesized) -> None:
    template = prod.template
    bucket_id = ingest_env(template)["DATA_BUCKET"]["Ref"]
    bucket = template["Resources"][bucket_id]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] == "Retain"
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in r for r in rules)
    Template.from_json(template).has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": ref(bucket_id),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_portal_is_served_by_cloudfront_from_a_private_bucket(prod: Synthesized) -> None:
    template = prod.template
    assertions = Template.from_json(template)
    data_bucket = ingest_env(template)["DATA_BUCKET"]["Ref"]
    [portal_bucket] = [b for b in of_type(template, "AWS::S3::Bucket") if b != data_bucket]
    assert template["Resources"][portal_bucket]["Properties"]["PublicAccessBlockConfiguration"][
        "RestrictPublicBuckets"
    ]
    assertions.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    [(distribution_id, distribution)] = of_type(template, "AWS::CloudFront::Distribution").items()
    config = distribution["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": [portal_bucket, "RegionalDomainName"]}
    assert "Fn::GetAtt" in origin["OriginAccessControlId"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultRootObject"] == "index.html"
    # Only this distribution may read the bucket.
    assertions.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": ref(portal_bucket),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Action": "s3:GetObject",
                            }
                        )
                    ]
                )
            },
        },
    )
    assertions.has_resource_properties(
        "Custom::CDKBucketDeployment",
        {"DestinationBucketName": ref(portal_bucket), "DistributionId": ref(distribution_id)},
    )


def test_cognito_has_operators_and_customers_that_cannot_change_their_customer(
    prod: Synthesized,
) -> None:
    template = prod.template
    [(pool_id, pool)] = of_type(template, "AWS::Cognito::UserPool").items()
    attributes = {a["Name"]: a for a in pool["Properties"]["Schema"]}
    assert attributes["customer_id"]["AttributeDataType"] == "String"
    Template.from_json(template).has_resource_properties(
        "AWS::Cognito::UserPoolGroup", {"GroupName": "operators", "UserPoolId": ref(pool_id)}
    )
    [client] = of_type(template, "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert "ALLOW_USER_PASSWORD_AUTH" in props["ExplicitAuthFlows"]
    assert props["GenerateSecret"] is False
    assert "custom:customer_id" in props["ReadAttributes"]
    assert "custom:customer_id" not in props["WriteAttributes"]
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


# --- stages, side effects, lint -----------------------------------------------------------------


def test_the_chalice_stage_is_the_cdk_stage(prod: Synthesized, dev: Synthesized) -> None:
    """chalice.cdk takes the stage from str(scope): the stack makes it the context's stage."""
    for synthesized, level in ((prod, "INFO"), (dev, "DEBUG")):
        for logical_id, function in functions(synthesized.template).items():
            tags = function["Properties"]["Tags"]
            assert f"stage={synthesized.stage}:" in tags["aws-chalice"], logical_id
            env = environment(synthesized.template, logical_id)
            assert env["POWERTOOLS_LOG_LEVEL"] == level  # from .chalice/config.json's stage
            assert env["REBILL_STAGE"] == synthesized.stage
    for table in of_type(dev.template, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["TableName"].startswith("rebill-dev-")
        assert table["Properties"]["DeletionProtectionEnabled"] is False


def test_packaging_leaves_the_process_environment_alone(prod: Synthesized) -> None:
    assert not [k for k, v in os.environ.items() if "${Token[" in v]
    assert not any(str(prod.template_path.parent.parent) in p for p in sys.path)


@pytest.mark.parametrize("stage", ["prod", "dev", "hardened"])
def test_cfn_lint_finds_no_errors(stage: str, request: pytest.FixtureRequest) -> None:
    from cfnlint.api import ManualArgs, lint_file

    synthesized: Synthesized = request.getfixturevalue(stage)
    path: Path = synthesized.template_path
    matches = lint_file(path, ManualArgs(regions=["us-east-1", "eu-central-1"]))
    errors = [m for m in matches if m.rule.id.startswith("E")]
    assert not errors, "\n".join(f"{m.rule.id} {m.message} ({m.linenumber})" for m in errors)
    unexpected = []
    for match in matches:
        if match.rule.id.startswith("E"):
            continue
        path_parts = getattr(match, "path", [])
        resource = path_parts[1] if len(path_parts) > 1 else ""
        patterns = ACCEPTED_WARNINGS.get(match.rule.id, ())
        if not any(fnmatch.fnmatchcase(str(resource), p) for p in patterns):
            unexpected.append(f"{match.rule.id} {match.message}")
    assert not unexpected, "\n".join(unexpected)


# --- API Gateway's own refusals -----------------------------------------------------------------


def test_api_gateway_refuses_in_the_api_error_shape_without_echoing_the_token(
    prod: Synthesized,
) -> None:
    from localaws.servers import NO_ROUTE

    [api] = of_type(prod.template, "AWS::Serverless::Api").values()
    responses = api["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    # API Gateway's default for an unknown path is a 403 echoing the Authorization header.
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    assert json.loads(missing["responseTemplates"]["application/json"]) == NO_ROUTE
    assert responses["REQUEST_TOO_LARGE"]["statusCode"] == "413"
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for kind, response in responses.items():
        template = response["responseTemplates"]["application/json"]
        assert "$context.error.message" not in template, kind  # the echoing message
        assert "method.request" not in json.dumps(response), kind  # no request value copied
        body = json.loads(template.replace("$context.error.responseType", "ACCESS_DENIED"))
        assert set(body) == {"code", "message"}, kind
        # Browsers may read them only from the portal's origin, like the API's own answers.
        origin = response["responseParameters"][
            "gatewayresponse.header.Access-Control-Allow-Origin"
        ]
        assert "*" not in json.dumps(origin) and "PortalDistribution" in json.dumps(origin), kind


def test_the_portal_config_json_carries_the_vocabulary(prod: Synthesized) -> None:
    """The portal deployment writes config.json next to index.html; its ``vocabulary`` is what
    chalicelib.vocabulary says the portal shows, as the local server's config.json."""
    [deployment] = of_type(prod.template, "Custom::CDKBucketDeployment").values()
    keys = json.dumps(deployment["Properties"]["SourceObjectKeys"])
    configs = [
        path
        for path in prod.template_path.parent.glob("asset.*/config.json")
        if path.parent.name.removeprefix("asset.") in keys
    ]
    assert len(configs) == 1, configs
    # The stack's own values (API URL, pool ids) are markers the deployment fills in.
    text = re.sub(r"<<marker:0x[0-9a-f]+:\d+>>", '"(deployed)"', configs[0].read_text())
    config = json.loads(text)
    assert set(config) == {
        "api_url",
        "region",
        "cognito_user_pool_id",
        "cognito_client_id",
        "vocabulary",
    }
    assert config["vocabulary"] == portal_vocabulary()
    assert list(config["vocabulary"]["providers"]) == list(PROVIDERS)
