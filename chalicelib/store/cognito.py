"""The Cognito user pool as the API needs it: the pool's signing keys, a user's attributes,
whether a user still stands (exists, is enabled), and the operators' administration of users
(invite, list, disable, enable, reset) through Cognito's admin API.

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

from chalicelib.errors import Conflict, InvalidInput, NotFound


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


# --- administering the pool's users (operator-only API routes) ---------------------------------

OPERATORS_GROUP = "operators"
CUSTOMER_ID_ATTRIBUTE = "custom:customer_id"


@dataclass(frozen=True)
class PoolUser:
    username: str
    email: str | None
    customer_id: str | None
    enabled: bool
    status: str
    created_at: str | None
    subject: str


def _pool_user(user: dict[str, Any]) -> PoolUser:
    attributes = {
        a["Name"]: a["Value"] for a in user.get("Attributes", user.get("UserAttributes", []))
    }
    created = user.get("UserCreateDate")
    return PoolUser(
        username=str(user["Username"]),
        email=attributes.get("email"),
        customer_id=attributes.get(CUSTOMER_ID_ATTRIBUTE),
        enabled=bool(user.get("Enabled", True)),
        status=str(user.get("UserStatus", "")),
        created_at=created.isoformat(timespec="seconds") if created is not None else None,
        subject=attributes.get("sub", ""),
    )


def _admin_call(pool_id: str, username: str | None, call: Any, **kwargs: Any) -> Any:
    """One admin API call; Cognito's refusals become domain errors, the rest OSError."""
    client = _client(pool_region(pool_id))
    try:
        return call(client)(UserPoolId=pool_id, **kwargs)
    except client.exceptions.UserNotFoundException:
        raise NotFound(f"user {username!r} not found") from None
    except client.exceptions.UsernameExistsException:
        raise Conflict(f"user {username!r} exists already") from None
    except client.exceptions.InvalidParameterException as error:
        raise InvalidInput(error.response["Error"].get("Message", str(error))) from None
    except client.exceptions.NotAuthorizedException as error:  # e.g. a reset in the wrong state
        raise Conflict(error.response["Error"].get("Message", str(error))) from None
    except (ClientError, BotoCoreError) as error:
        raise OSError(f"cannot administer the user pool: {error}") from error


def list_users(pool_id: str, limit: int, after: str | None) -> tuple[list[PoolUser], str | None]:
    """A page of the pool's users (``ListUsers``) and Cognito's token for the next page."""
    kwargs: dict[str, Any] = {"Limit": min(limit, 60)}
    if after:
        kwargs["PaginationToken"] = after
    page = _admin_call(pool_id, None, lambda c: c.list_users, **kwargs)
    return [_pool_user(u) for u in page.get("Users", [])], page.get("PaginationToken") or None


def operator_usernames(pool_id: str) -> set[str]:
    """Members of the ``operators`` group (``ListUsersInGroup``, every page)."""
    names: set[str] = set()
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"GroupName": OPERATORS_GROUP, "Limit": 60}
        if token:
            kwargs["NextToken"] = token
        page = _admin_call(pool_id, None, lambda c: c.list_users_in_group, **kwargs)
        names.update(str(u["Username"]) for u in page.get("Users", []))
        token = page.get("NextToken")
        if not token:
            return names


def users_with_email(pool_id: str, email: str) -> list[PoolUser]:
    quoted = email.replace("\\", "\\\\").replace('"', '\\"')
    page = _admin_call(pool_id, None, lambda c: c.list_users, Filter=f'email = "{quoted}"')
    return [_pool_user(u) for u in page.get("Users", [])]


def get_user(pool_id: str, username: str) -> PoolUser:
    user = _admin_call(pool_id, username, lambda c: c.admin_get_user, Username=username)
    return _pool_user(user)


def invite_user(
    pool_id: str, username: str, email: str, *, operator: bool, customer_id: str | None
) -> PoolUser:
    """``AdminCreateUser``: Cognito emails a temporary password, changed at first sign-in. An
    operator joins the ``operators`` group; a user that cannot join it is not left behind."""
    attributes = [
        {"Name": "email", "Value": email},
        {"Name": "email_verified", "Value": "true"},  # signs in with the email (an alias)
    ]
    if customer_id:
        attributes.append({"Name": CUSTOMER_ID_ATTRIBUTE, "Value": customer_id})
    created = _admin_call(
        pool_id,
        username,
        lambda c: c.admin_create_user,
        Username=username,
        UserAttributes=attributes,
        DesiredDeliveryMediums=["EMAIL"],
    )
    if operator:
        try:
            _admin_call(
                pool_id,
                username,
                lambda c: c.admin_add_user_to_group,
                Username=username,
                GroupName=OPERATORS_GROUP,
            )
        except BaseException:
            _admin_call(pool_id, username, lambda c: c.admin_delete_user, Username=username)
            raise
    return _pool_user(created["User"])


def set_enabled(pool_id: str, username: str, enabled: bool) -> None:
    """``AdminEnableUser`` / ``AdminDisableUser``."""
    call = (lambda c: c.admin_enable_user) if enabled else (lambda c: c.admin_disable_user)
    _admin_call(pool_id, username, call, Username=username)


def reset_password(pool_id: str, username: str, status: str) -> str:
    """A user who never signed in is invited again (a new temporary password, ``RESEND``);
    others must choose a new password with a code Cognito emails (``AdminResetUserPassword``).
    Says which: ``reinvited`` or ``reset``."""
    if status == "FORCE_CHANGE_PASSWORD":
        _admin_call(
            pool_id,
            username,
            lambda c: c.admin_create_user,
            Username=username,
            MessageAction="RESEND",
            DesiredDeliveryMediums=["EMAIL"],
        )
        return "reinvited"
    _admin_call(pool_id, username, lambda c: c.admin_reset_user_password, Username=username)
    return "reset"
