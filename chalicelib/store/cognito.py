"""The Cognito user pool as the API needs it: the pool's signing keys, a user's attributes and
whether a user still stands (exists, is enabled).

The keys are served at ``<cognito-idp endpoint>/<pool id>/.well-known/jwks.json``: in AWS the
endpoint is the tokens' issuer (``https://cognito-idp.<region>.amazonaws.com``), on the
embedded AWS it is moto's, which boto3 resolves from ``AWS_ENDPOINT_URL`` like any other.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError


def pool_region(pool_id: str) -> str:
    """User pool ids start with their region: ``eu-west-1_AbC123``."""
    return pool_id.split("_", 1)[0]


@cache
def _client(region: str) -> Any:
    return boto3.client("cognito-idp", region_name=region)


def jwks_url(pool_id: str) -> str:
    endpoint: str = _client(pool_region(pool_id)).meta.endpoint_url
    return f"{endpoint.rstrip('/')}/{pool_id}/.well-known/jwks.json"


def fetch_jwks(pool_id: str, timeout: float = 5) -> dict[str, Any]:
    """The pool's public signing keys (a JWK set). Raises OSError when unreachable."""
    url = jwks_url(pool_id)
    if not url.startswith(("https://", "http://")):  # urlopen would open file:// too
        raise OSError(f"unexpected JWKS URL {url!r}")
    with urllib.request.urlopen(url, timeout=timeout) as response:
        keys: dict[str, Any] = json.load(response)
    return keys


def user_attributes(pool_id: str, access_token: str) -> dict[str, str]:
    """The attributes of the user an access token belongs to (Cognito ``GetUser``); empty when
    Cognito refuses the token: revoked (sign-out), its user disabled or deleted.

    Raises OSError when the pool cannot be asked.
    """
    client = _client(pool_region(pool_id))
    try:
        user = client.get_user(AccessToken=access_token)
    except (client.exceptions.NotAuthorizedException, client.exceptions.UserNotFoundException):
        return {}
    except (ClientError, BotoCoreError) as error:
        raise OSError(f"cannot read the token's user: {error}") from error
    return {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}


@dataclass(frozen=True)
class UserStanding:
    subject: str  # the user's ``sub``: a user deleted and created again has a new one
    enabled: bool
    status: str  # Cognito's UserStatus: CONFIRMED, FORCE_CHANGE_PASSWORD, RESET_REQUIRED, …
    totp: bool = False  # an authenticator app is the user's second factor, asked at sign-in


def user_standing(pool_id: str, username: str) -> UserStanding | None:
    """The user as the pool has it now (``AdminGetUser``); None when there is no such user.

    Raises OSError when the pool cannot be asked (unreachable, throttled, not permitted).
    """
    client = _client(pool_region(pool_id))
    try:
        user = client.admin_get_user(UserPoolId=pool_id, Username=username)
    except client.exceptions.UserNotFoundException:
        return None
    except (ClientError, BotoCoreError) as error:
        raise OSError(f"cannot read user {username!r}: {error}") from error
    attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
    return UserStanding(
        subject=attributes.get("sub", ""),
        enabled=bool(user.get("Enabled", True)),
        status=str(user.get("UserStatus", "")),
        totp="SOFTWARE_TOKEN_MFA" in (user.get("UserMFASettingList") or []),
    )
