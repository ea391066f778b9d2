"""Nothing fails silently and nothing reaches further than it must, in the synthesized template.

Each function has a role of its own; the asynchronously invoked one keeps its failures in a
dead-letter queue; alarms watch the state machines, the queue, every function and the API and
notify one topic; the API stage is throttled, traced and logged; the API answers browsers only
from the portal's origin; the portal is served with a Content-Security-Policy.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.stack import API_RATE_LIMIT, FUNCTION_ACCESS, USER_ADMIN_ACTIONS
from tests.infra.conftest import ROOT, Synthesized, synthesize
from tests.infra.test_synth import (
    allows,
    arn_of,
    environment,
    function_id,
    functions,
    of_type,
    ref,
    render,
    statements_of_role,
)

TABLE_VARIABLES = {
    "reference": "REFERENCE_TABLE",
    "bills": "BILLS_TABLE",
    "invoices": "INVOICES_TABLE",
}
DATA_ACTIONS = ("dynamodb:", "s3:", "sns:", "states:", "sqs:")


def role_of(template: dict[str, Any], name: str) -> list[dict[str, Any]]:
    logical_id = functions(template)[function_logical_id(template, name)]["Properties"]["Role"]
    return statements_of_role(template, logical_id["Fn::GetAtt"][0])


def function_logical_id(template: dict[str, Any], name: str) -> str:
    return "APIHandler" if name == "api_handler" else function_id(template, name)


def table_arn(template: dict[str, Any], table: str) -> dict[str, Any]:
    env = environment(template, "APIHandler")
    return arn_of(env[TABLE_VARIABLES[table]]["Ref"])


def objects_under(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    bucket = environment(template, "APIHandler")["DATA_BUCKET"]["Ref"]
    return {"Fn::Join": ["", [arn_of(bucket), f"/{prefix}"]]}


def grants(statements: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Every (action, resource) an Allow statement names, resources rendered."""
    found = []
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in actions if isinstance(actions, list) else [actions]:
            for resource in resources if isinstance(resources, list) else [resources]:
                found.append((action, render(resource)))
    return found


# --- one role per function ----------------------------------------------------------------------


def test_every_function_has_a_role_of_its_own(prod: Synthesized) -> None:
    assert not prod.errors, prod.errors
    roles = {
        logical_id: function["Properties"]["Role"]["Fn::GetAtt"][0]
        for logical_id, function in functions(prod.template).items()
    }
    assert len(set(roles.values())) == len(roles) == len(FUNCTION_ACCESS)
    for role_id in roles.values():
        role = prod.template["Resources"][role_id]["Properties"]
        [statement] = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_no_function_reaches_a_whole_service_table_or_bucket(prod: Synthesized) -> None:
    template = prod.template
    for name in FUNCTION_ACCESS:
        for action, resource in grants(role_of(template, name)):
            if not action.startswith(DATA_ACTIONS):
                continue  # X-Ray and logs come from the AWS managed policies
            assert "*" not in action, (name, action)
            assert resource != "*", (name, action)
            if action.startswith("s3:") and action != "s3:ListBucket":
                # Objects under one of the data bucket's prefixes, never the whole bucket.
                assert resource["Fn::Join"][1][1] != "/*", (name, action)


def test_the_api_handler_cannot_touch_bills_data_or_delete_objects(prod: Synthesized) -> None:
    template = prod.template
    api = role_of(template, "api_handler")
    assert allows(api, "s3:PutObject", objects_under(template, "bills/*"))  # presigned upload
    assert allows(api, "s3:GetObject", objects_under(template, "invoices/*"))  # CSV download
    # an invoice's PDF, written when it is issued or first asked for; the seller's logo
    assert allows(api, "s3:PutObject", objects_under(template, "invoices/*"))
    assert allows(api, "s3:PutObject", objects_under(template, "settings/logo/*"))
    assert allows(api, "s3:GetObject", objects_under(template, "settings/logo/*"))
    for prefix in ("normalized/*", "quarantine/*", "bills/*"):
        assert not allows(api, "s3:GetObject", objects_under(template, prefix)), prefix
    assert not any(action == "s3:DeleteObject" for action, _ in grants(api))
    for table in ("bills", "invoices"):
        assert not allows(api, "dynamodb:DeleteItem", table_arn(template, table)), table
    assert not allows(api, "dynamodb:PutItem", table_arn(template, "bills"))
    assert allows(api, "dynamodb:DeleteItem", table_arn(template, "reference"))  # tokens, customers
    # A signed-in user is looked up (disabled, deleted) on every request: only the API does it.
    assert any(action == "cognito-idp:AdminGetUser" for action, _ in grants(api))
    for other in ("ingest_bill", "invoice_batch", "finish_run"):
        assert not any(a.startswith("cognito-idp:") for a, _ in grants(role_of(template, other)))


def test_only_the_api_administers_users_and_only_in_its_user_pool(prod: Synthesized) -> None:
    template = prod.template
    api = grants(role_of(template, "api_handler"))
    cognito = [(action, resource) for action, resource in api if action.startswith("cognito-idp:")]
    assert {action for action, _ in cognito} == {*USER_ADMIN_ACTIONS, "cognito-idp:AdminGetUser"}
    [pool] = {str(resource) for _, resource in cognito}
    assert "UserPool" in pool and "*" not in pool
    for name in FUNCTION_ACCESS:
        if name != "api_handler":
            assert not any(a.startswith("cognito-idp:") for a, _ in grants(role_of(template, name)))


def test_only_the_functions_that_issue_send_email_from_the_configured_identity(
    prod: Synthesized, hardened: Synthesized
) -> None:
    for name in FUNCTION_ACCESS:  # no identity configured: no SES at all
        assert not any(a.startswith("ses:") for a, _ in grants(role_of(prod.template, name)))
    template = hardened.template
    for name, access in FUNCTION_ACCESS.items():
        ses = [(a, r) for a, r in grants(role_of(template, name)) if a.startswith("ses:")]
        if not access.sends_email:
            assert ses == [], name
            continue
        assert {a for a, _ in ses} == {"ses:SendRawEmail", "ses:SendEmail"}, name
        for _, resource in ses:
            assert "identity/billing@example.com" in json.dumps(resource), (name, resource)
    senders = {n for n, a in FUNCTION_ACCESS.items() if a.sends_email}
    assert senders == {"api_handler", "invoice_batch"}
    for logical_id in functions(template):
        assert environment(template, logical_id)["REBILL_EMAIL_FROM"] == "billing@example.com"


def test_ingest_reaches_bills_and_nothing_of_invoices(prod: Synthesized) -> None:
    template = prod.template
    ingest = role_of(template, "ingest_bill")
    assert allows(ingest, "s3:GetObject", objects_under(template, "bills/*"))
    assert allows(ingest, "s3:PutObject", objects_under(template, "normalized/*"))
    assert allows(ingest, "s3:DeleteObject", objects_under(template, "bills/*"))  # quarantine
    # A file's lines are compared with the current files' before it counts.
    assert allows(ingest, "s3:GetObject", objects_under(template, "normalized/*"))
    assert not allows(ingest, "s3:DeleteObject", objects_under(template, "normalized/*"))
    assert not allows(ingest, "s3:PutObject", objects_under(template, "invoices/*"))
    assert allows(ingest, "dynamodb:PutItem", table_arn(template, "bills"))
    assert allows(ingest, "dynamodb:BatchWriteItem", table_arn(template, "bills"))  # aggregates
    assert allows(ingest, "dynamodb:Scan", table_arn(template, "reference"))  # who owns accounts
    assert not allows(ingest, "dynamodb:PutItem", table_arn(template, "reference"))
    assert not allows(ingest, "dynamodb:BatchWriteItem", table_arn(template, "reference"))
    invoices = render(table_arn(template, "invoices"))
    assert not [g for g in grants(ingest) if g[1] == invoices]


def test_invoice_stages_read_and_write_only_their_run(prod: Synthesized) -> None:
    template = prod.template
    batch = role_of(template, "invoice_batch")
    assert allows(batch, "s3:PutObject", objects_under(template, "runs/*"))
    assert allows(batch, "s3:PutObject", objects_under(template, "invoices/*"))
    assert allows(batch, "dynamodb:PutItem", table_arn(template, "invoices"))
    # Its customers' results are written at once; nothing of the reference data or the bills.
    assert allows(batch, "dynamodb:BatchWriteItem", table_arn(template, "invoices"))
    for table in ("reference", "bills"):
        for action in ("dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem"):
            assert not allows(batch, action, table_arn(template, table)), (table, action)
    assert not allows(batch, "dynamodb:DeleteItem", table_arn(template, "invoices"))
    assert not any(a.startswith("states:") for a, _ in grants(batch))
    # PrepareRun reads the reference data in one scan; no other function scans a table.
    prepare = role_of(template, "prepare_run")
    assert allows(prepare, "dynamodb:Scan", table_arn(template, "reference"))
    assert not allows(prepare, "dynamodb:Scan", table_arn(template, "invoices"))
    for other in ("api_handler", "invoice_batch", "finish_run", "record_failure"):
        assert not any(a == "dynamodb:Scan" for a, _ in grants(role_of(template, other))), other
    failure = role_of(template, "record_failure")
    assert allows(failure, "dynamodb:BatchWriteItem", table_arn(template, "invoices"))
    assert not any(a.startswith("s3:") for a, _ in grants(failure))
    assert allows(batch, "s3:GetObject", objects_under(template, "settings/logo/*"))  # the PDF's
    assert allows(batch, "s3:GetObject", objects_under(template, "invoices/*"))  # its e-invoice


def test_a_function_without_declared_access_fails_the_synthesis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = {k: v for k, v in FUNCTION_ACCESS.items() if k != "invoice_batch"}
    monkeypatch.setattr("infra.stack.FUNCTION_ACCESS", access)
    synthesized = synthesize("dev", tmp_path / "synth")
    assert any("InvoiceBatch" in e and "FUNCTION_ACCESS" in e for e in synthesized.errors)


# --- failures are kept and announced ------------------------------------------------------------


def test_ingest_bill_failures_go_to_an_encrypted_dead_letter_queue(prod: Synthesized) -> None:
    template = prod.template
    [(queue_id, queue)] = of_type(template, "AWS::SQS::Queue").items()
    assert queue["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs"
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    ingest = functions(template)[function_id(template, "ingest_bill")]["Properties"]
    assert ingest["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": arn_of(queue_id)}
    assert allows(role_of(template, "ingest_bill"), "sqs:SendMessage", arn_of(queue_id))
    # Only ingest_bill is invoked asynchronously (S3); the others answer their caller.
    assert [k for k, f in functions(template).items() if "DeadLetterQueue" in f["Properties"]] == [
        function_id(template, "ingest_bill")
    ]


def alarms_by_metric(template: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(namespace, metric) → the alarms on it, math expressions unfolded."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for alarm in of_type(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        metrics = [
            q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q
        ] or [props]
        for metric in metrics:
            found.setdefault((metric["Namespace"], metric["MetricName"]), []).append(
                {**props, "Dimensions": metric.get("Dimensions", [])}
            )
    return found


def dimension(alarm: dict[str, Any], name: str) -> Any:
    [value] = [d["Value"] for d in alarm["Dimensions"] if d["Name"] == name]
    return value


def test_alarms_watch_everything_that_can_fail_and_notify_the_alarm_topic(
    prod: Synthesized,
) -> None:
    template = prod.template
    topics = {
        k: v
        for k, v in of_type(template, "AWS::SNS::Topic").items()
        if v["Properties"]["TopicName"] == "rebill-prod-alarms"
    }
    [topic_id] = topics
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == ref(topic_id)
    for alarm in of_type(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [ref(topic_id)], props["AlarmName"]
        assert props["OKActions"] == [ref(topic_id)]
        assert props["TreatMissingData"] == "notBreaching"
        assert props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["AlarmName"].startswith("rebill-prod-")

    by_metric = alarms_by_metric(template)
    machines = {
        render(dimension(a, "StateMachineArn"))
        for a in by_metric[("AWS/States", "ExecutionsFailed")]
    }
    assert machines == {
        f"arn:aws:states:eu-central-1:111122223333:stateMachine:rebill-prod-{name}"
        for name in ("generate-invoices", "ingest-report")
    }
    assert len(by_metric[("AWS/States", "ExecutionsTimedOut")]) == 2
    for metric in ("Errors", "Throttles"):
        watched = {dimension(a, "FunctionName")["Ref"] for a in by_metric[("AWS/Lambda", metric)]}
        assert watched == set(functions(template)), metric
    [queue_id] = of_type(template, "AWS::SQS::Queue")
    [depth] = by_metric[("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
    assert dimension(depth, "QueueName") == {"Fn::GetAtt": [queue_id, "QueueName"]}
    [lost] = by_metric[("AWS/Lambda", "DeadLetterErrors")]
    assert dimension(lost, "FunctionName") == ref(function_id(template, "ingest_bill"))
    [api] = by_metric[("AWS/ApiGateway", "5XXError")]
    assert (dimension(api, "ApiName"), dimension(api, "Stage")) == ("rebill-prod-api", "api")


# --- the API ------------------------------------------------------------------------------------


def test_the_api_stage_is_throttled_traced_and_logged(prod: Synthesized) -> None:
    template = prod.template
    api = template["Resources"]["RestAPI"]
    props = api["Properties"]
    assert props["Name"] == props["DefinitionBody"]["info"]["title"] == "rebill-prod-api"
    [settings] = props["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["ThrottlingRateLimit"] == API_RATE_LIMIT
    assert settings["ThrottlingBurstLimit"] >= API_RATE_LIMIT
    assert props["TracingEnabled"] is True
    log_group_id = props["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    group = template["Resources"][log_group_id]
    assert group["Properties"]["RetentionInDays"] == 365
    assert "$context.requestId" in props["AccessLogSetting"]["Format"]
    # Access logs need the region's API Gateway CloudWatch role, set before the stage.
    [(account_id, account)] = of_type(template, "AWS::ApiGateway::Account").items()
    assert account_id in api["DependsOn"]
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert template["Resources"][role_id]["DeletionPolicy"] == "Retain"  # shared by the stages


def test_the_api_answers_browsers_only_from_the_portal(prod: Synthesized) -> None:
    template = prod.template
    [distribution_id] = of_type(template, "AWS::CloudFront::Distribution")
    origin = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]}
    for logical_id in functions(template):
        assert environment(template, logical_id)["REBILL_PORTAL_ORIGIN"] == origin
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    preflights = [
        p["options"]["x-amazon-apigateway-integration"]["responses"]["default"][
            "responseParameters"
        ]["method.response.header.Access-Control-Allow-Origin"]
        for p in paths.values()
        if "options" in p
    ]
    assert preflights
    quoted = {"Fn::Join": ["", ["'https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, "'"]]}
    assert all(p == quoted for p in preflights)


def test_the_local_app_still_answers_any_origin() -> None:
    script = "import app; print(app.app.api.cors.allow_origin)"
    for origin, expected in ((None, "*"), ("https://portal.example", "https://portal.example")):
        env = {"PATH": "/usr/bin:/bin", "REBILL_STAGE": "local", "AWS_DEFAULT_REGION": "us-east-1"}
        if origin:
            env["REBILL_PORTAL_ORIGIN"] = origin
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.split()[-1] == expected


def test_waf_is_off_by_default_and_guards_the_api_when_asked(
    prod: Synthesized, hardened: Synthesized
) -> None:
    assert not of_type(prod.template, "AWS::WAFv2::WebACL")
    assert not hardened.errors, hardened.errors
    with_waf = hardened.template
    [(acl_id, acl)] = of_type(with_waf, "AWS::WAFv2::WebACL").items()
    assert acl["Properties"]["Scope"] == "REGIONAL"
    groups = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Properties"]["Rules"]
    }
    assert "AWSManagedRulesCommonRuleSet" in groups
    [association] = of_type(with_waf, "AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == arn_of(acl_id)
    resource = render(association["Properties"]["ResourceArn"])
    # SAM's reference to the stage it makes: the association waits for the stage.
    assert resource["Fn::Join"][1][-2:] == ["/stages/", ref("RestAPI.Stage")]
    assert ref("RestAPI") in resource["Fn::Join"][1]


def test_a_customer_managed_key_encrypts_the_data_when_asked(
    prod: Synthesized, hardened: Synthesized
) -> None:
    assert not of_type(prod.template, "AWS::KMS::Key")
    template = hardened.template
    [(key_id, key)] = of_type(template, "AWS::KMS::Key").items()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    key_arn = arn_of(key_id)
    for table in of_type(template, "AWS::DynamoDB::Table").values():
        sse = table["Properties"]["SSESpecification"]
        assert (sse["SSEEnabled"], sse["SSEType"], sse["KMSMasterKeyId"]) == (True, "KMS", key_arn)
    bucket_id = environment(template, "APIHandler")["DATA_BUCKET"]["Ref"]
    [rule] = template["Resources"][bucket_id]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": key_arn,
    }
    for topic in of_type(template, "AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"] == key_arn
    [queue] = of_type(template, "AWS::SQS::Queue").values()
    assert queue["Properties"]["KmsMasterKeyId"] == key_arn
    for name, group in of_type(template, "AWS::Logs::LogGroup").items():
        if "Handler" in name and "APIHandler" not in name:
            continue  # CDK's own custom-resource handlers
        assert group["Properties"]["KmsKeyId"] == key_arn, name
    for name in FUNCTION_ACCESS:
        function = functions(template)[function_logical_id(template, name)]["Properties"]
        assert function["KmsKeyArn"] == key_arn, name
        for action in ("kms:Decrypt", "kms:GenerateDataKey"):
            assert allows(role_of(template, name), action, key_arn), (name, action)
    services = set()
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        service = statement["Principal"].get("Service", [])
        services |= {str(render(s)) for s in (service if isinstance(service, list) else [service])}
    assert {"cloudwatch.amazonaws.com", "billingreports.amazonaws.com"} <= services
    assert "logs.eu-central-1.amazonaws.com" in services


# --- identity and portal ------------------------------------------------------------------------


def test_passwords_need_symbols_and_totp_is_the_only_second_factor(prod: Synthesized) -> None:
    [pool] = of_type(prod.template, "AWS::Cognito::UserPool").values()
    props = pool["Properties"]
    policy = props["Policies"]["PasswordPolicy"]
    assert policy["RequireSymbols"] is True
    assert policy["MinimumLength"] >= 12
    assert props["MfaConfiguration"] == "OPTIONAL"
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    # Cognito cannot require it per group: the API requires it of operators.
    for function in of_type(prod.template, "AWS::Serverless::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["REBILL_OPERATOR_MFA"] == "required"


def test_the_portal_is_served_with_a_content_security_policy(prod: Synthesized) -> None:
    template = prod.template
    [(policy_id, policy)] = of_type(template, "AWS::CloudFront::ResponseHeadersPolicy").items()
    [distribution] = of_type(template, "AWS::CloudFront::Distribution").values()
    behavior = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["ResponseHeadersPolicyId"] == ref(policy_id)
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = render(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["frame-ancestors"] == "'none'"
    connect = directives["connect-src"].split()
    assert "https://cognito-idp.eu-central-1.amazonaws.com" in connect
    assert any(
        fnmatch.fnmatchcase("abc123.execute-api.eu-central-1.amazonaws.com", c[8:])
        for c in connect
        if c.startswith("https://")
    )
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
