"""The portal's users, administered by operators: invite an operator or a customer's user,
list them, disable, enable, reset a password. The users live in the Cognito user pool
(:mod:`chalicelib.store.cognito`); this module holds the rules:

* a customer's user is linked to a customer that exists (``custom:customer_id``, which the
  sign-in code reads); an operator is a member of the ``operators`` group and has no customer;
* an email has one user (a second invitation of it is a conflict, not a second account);
* an operator cannot disable themself (nobody would be left to enable them).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from chalicelib.config import get_config
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.service import reference as rules
from chalicelib.store import cognito
from chalicelib.store.records import Doc

ROLES = ("operator", "customer")


def _pool() -> str:
    pool_id = get_config().cognito_user_pool_id
    if not pool_id:
        raise NotFound("this stage has no Cognito user pool: its users cannot be administered")
    return pool_id


def _doc(user: cognito.PoolUser, operators: set[str]) -> Doc:
    operator = user.username in operators
    return {
        "username": user.username,
        "email": user.email,
        "role": "operator" if operator else "customer" if user.customer_id else None,
        "customer_id": None if operator else user.customer_id,
        "enabled": user.enabled,
        "status": user.status,
        "created_at": user.created_at,
    }


def list_users(limit: int, after: str | None) -> tuple[list[Doc], str | None]:
    pool_id = _pool()
    users, next_token = cognito.list_users(pool_id, limit, after)
    operators = cognito.operator_usernames(pool_id)
    return [_doc(user, operators) for user in users], next_token


def username_for(email: str) -> str:
    """A user name from the email's local part and a random suffix: the pool signs in with the
    email (an alias), and an alias cannot also be the user name."""
    local = re.sub(r"[^a-z0-9._-]+", "-", email.split("@", 1)[0].lower()).strip("-._")
    return f"{local[:40] or 'user'}-{secrets.token_hex(3)}"


def invite(body: dict[str, Any]) -> Doc:
    email = str(body["email"]).strip()
    role = body["role"]
    customer_id = body.get("customer_id")
    if role == "customer":
        if not customer_id:
            raise InvalidInput("a customer's user needs customer_id", field="customer_id")
        rules.must_exist("customer", customer_id, "customer_id")
    elif customer_id:
        raise InvalidInput("an operator has no customer_id", field="customer_id")
    pool_id = _pool()
    if cognito.users_with_email(pool_id, email):
        raise Conflict(f"a user with the email {email!r} exists already", field="email")
    user = cognito.invite_user(
        pool_id,
        username_for(email),
        email,
        operator=role == "operator",
        customer_id=customer_id if role == "customer" else None,
    )
    return _doc(user, {user.username} if role == "operator" else set())


def _user(pool_id: str, username: str) -> Doc:
    user = cognito.get_user(pool_id, username)
    return _doc(user, cognito.operator_usernames(pool_id))


def set_enabled(username: str, enabled: bool, caller_subject: str) -> Doc:
    pool_id = _pool()
    user = cognito.get_user(pool_id, username)
    if not enabled and caller_subject == f"user:{user.subject}":
        raise Conflict("you cannot disable yourself: another operator can", field="username")
    cognito.set_enabled(pool_id, username, enabled)
    return _user(pool_id, username)


def reset_password(username: str) -> Doc:
    pool_id = _pool()
    user = cognito.get_user(pool_id, username)
    if not user.enabled:
        raise Conflict(f"user {username!r} is disabled: enable it first", field="username")
    done = cognito.reset_password(pool_id, username, user.status)
    return {**_user(pool_id, username), "reset": done}
