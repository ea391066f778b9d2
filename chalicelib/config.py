"""The deployment's configuration, read once from the environment into one typed object.

Every Lambda gets the same variables (set by ``infra/`` in AWS and by ``localaws`` on a laptop);
nothing else in the code reads ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

# A disabled, deleted or signed-out Cognito user loses API access within this many seconds.
REVOCATION_BOUND_SECONDS = 300


def _seconds(env: dict[str, str], name: str, default: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > maximum:
        raise ValueError(f"{name} must be a whole number of seconds from 0 to {maximum}: {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class AppConfig:
    app_name: str
    stage: str
    region: str
    reference_table: str
    bills_table: str
    invoices_table: str
    data_bucket: str
    events_topic_arn: str
    generate_invoices_state_machine_arn: str
    ingest_report_state_machine_arn: str
    tmp_dir: str
    # The Cognito user pool whose JWTs the API accepts (empty: API tokens only).
    cognito_user_pool_id: str = ""
    cognito_client_id: str = ""
    # How long a Lambda container trusts what it last learnt about a Cognito user (exists, is
    # enabled, its access token not revoked); at most REVOCATION_BOUND_SECONDS.
    cognito_recheck_seconds: int = 300
    # Operators signed in through Cognito must have an authenticator app (TOTP) as their second
    # factor: on in deployed stages (infra/ sets REBILL_OPERATOR_MFA=required), off on a laptop.
    operator_mfa_required: bool = False
    # Where an emailed invoice's link points (the portal), and the SES identity it is sent from
    # when the settings name none.
    portal_url: str = ""
    email_from: str = ""

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> AppConfig:
        env = dict(os.environ if environ is None else environ)
        app_name = env.get("REBILL_APP_NAME", "rebill")
        stage = env.get("REBILL_STAGE", "dev")
        prefix = f"{app_name}-{stage}"
        return cls(
            app_name=app_name,
            stage=stage,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            reference_table=env.get("REFERENCE_TABLE", f"{prefix}-reference"),
            bills_table=env.get("BILLS_TABLE", f"{prefix}-bills"),
            invoices_table=env.get("INVOICES_TABLE", f"{prefix}-invoices"),
            data_bucket=env.get("DATA_BUCKET", f"{prefix}-data"),
            events_topic_arn=env.get("EVENTS_TOPIC_ARN", ""),
            generate_invoices_state_machine_arn=env.get("GENERATE_INVOICES_STATE_MACHINE_ARN", ""),
            ingest_report_state_machine_arn=env.get("INGEST_REPORT_STATE_MACHINE_ARN", ""),
            tmp_dir=env.get("REBILL_TMP_DIR", "/tmp"),
            cognito_user_pool_id=env.get("COGNITO_USER_POOL_ID", ""),
            cognito_client_id=env.get("COGNITO_CLIENT_ID", ""),
            cognito_recheck_seconds=_seconds(
                env, "COGNITO_RECHECK_SECONDS", 300, REVOCATION_BOUND_SECONDS
            ),
            operator_mfa_required=env.get("REBILL_OPERATOR_MFA", "") == "required",
            portal_url=env.get("REBILL_PORTAL_URL") or env.get("REBILL_PORTAL_ORIGIN", ""),
            email_from=env.get("REBILL_EMAIL_FROM", ""),
        )

    def function_name(self, handler: str) -> str:
        """The deployed name of a Chalice ``@app.lambda_function`` (Chalice's own convention)."""
        return f"{self.app_name}-{self.stage}-{handler}"


@lru_cache(maxsize=1)
def get_config() -> AppConfig:
    return AppConfig.from_environ()
