"""The Cognito user pool on the embedded AWS, shaped like the one ``infra/`` deploys.

moto's user pools issue real RS256 JWTs (``initiate_auth`` with ``USER_PASSWORD_AUTH``) and
serve the pool's keys at ``<moto endpoint>/<pool id>/.well-known/jwks.json``, so the API
verifies them with the same code as in AWS. The pool's ids exist only once it is created:
:func:`provision_user_pool` puts them into the environment (``COGNITO_USER_POOL_ID``,
``COGNITO_CLIENT_ID``) and makes the configuration read again.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.stack import LocalStack

OPERATORS_GROUP = "operators"
CUSTOMER_ID_ATTRIBUTE = "customer_id"  # custom:customer_id on a customer user
PORTAL_CLIENT = "portal"


def provision_user_pool(stack: LocalStack) -> tuple[str, str]:
    """Create the pool, its ``operators`` group and the portal's app client; a pool kept from
    an earlier run (``data_dir``) is used as it is, with its users and ids."""
    from chalicelib.config import get_config

    config = get_config()
    idp = stack.client("cognito-idp")
    pool_name = f"{config.app_name}-{config.stage}-users"
    client_name = f"{config.app_name}-{config.stage}-{PORTAL_CLIENT}"
    kept = _kept_pool(idp, pool_name, client_name)
    if kept is not None:
        return _use_pool(stack, *kept)
    pool_id: str = idp.create_user_pool(
        PoolName=pool_name,
        Schema=[
            {
                "Name": CUSTOMER_ID_ATTRIBUTE,
                "AttributeDataType": "String",
                "Mutable": True,
                "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "128"},
            }
        ],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]["Id"]
    idp.create_group(UserPoolId=pool_id, GroupName=OPERATORS_GROUP)
    client_id: str = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=client_name,
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email", f"custom:{CUSTOMER_ID_ATTRIBUTE}"],
    )["UserPoolClient"]["ClientId"]
    return _use_pool(stack, pool_id, client_id)


def _kept_pool(idp: Any, pool_name: str, client_name: str) -> tuple[str, str] | None:
    pools = idp.list_user_pools(MaxResults=60)["UserPools"]
    for pool in pools:
        if pool["Name"] != pool_name:
            continue
        clients = idp.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)
        for client in clients["UserPoolClients"]:
            if client["ClientName"] == client_name:
                return pool["Id"], client["ClientId"]
    return None


def _use_pool(stack: LocalStack, pool_id: str, client_id: str) -> tuple[str, str]:
    from chalicelib.config import get_config

    ids = {"COGNITO_USER_POOL_ID": pool_id, "COGNITO_CLIENT_ID": client_id}
    os.environ.update(ids)
    stack.env.update(ids)
    get_config.cache_clear()  # the configuration is read once; it has changed
    return pool_id, client_id


def create_user(
    stack: LocalStack,
    username: str,
    password: str,
    *,
    operator: bool = False,
    customer_id: str | None = None,
) -> None:
    """A confirmed user with a permanent password: an operator, or a customer's user."""
    pool_id = stack.env["COGNITO_USER_POOL_ID"]
    idp = stack.client("cognito-idp")
    attributes = [{"Name": "email", "Value": f"{username}@example.invalid"}]
    if customer_id:
        attributes.append({"Name": f"custom:{CUSTOMER_ID_ATTRIBUTE}", "Value": customer_id})
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=attributes,
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=password, Permanent=True
    )
    if operator:
        idp.admin_add_user_to_group(
            UserPoolId=pool_id, Username=username, GroupName=OPERATORS_GROUP
        )


def sign_in(
    stack: LocalStack, username: str, password: str, client_id: str | None = None
) -> dict[str, Any]:
    """``initiate_auth`` with USER_PASSWORD_AUTH: ``{IdToken, AccessToken, RefreshToken, …}``."""
    result: dict[str, Any] = stack.client("cognito-idp").initiate_auth(
        ClientId=client_id or stack.env["COGNITO_CLIENT_ID"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )["AuthenticationResult"]
    return result


def operator_id_token(stack: LocalStack, username: str = "operator") -> str:
    """An operator's ID token (valid one hour), creating the operator the first time."""
    password = "Local-operator-1"
    idp = stack.client("cognito-idp")
    try:
        idp.admin_get_user(UserPoolId=stack.env["COGNITO_USER_POOL_ID"], Username=username)
    except idp.exceptions.UserNotFoundException:
        create_user(stack, username, password, operator=True)
    token: str = sign_in(stack, username, password)["IdToken"]
    return token
