"""The portal's users (operators only): invite, list, disable, enable, reset a password.

The rules are in :mod:`chalicelib.service.users`; the users are Cognito's. A user pool that
cannot be asked is a 503 (``identity_unavailable``), as when signing in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from chalicelib.api.cognito import IdentityUnavailable
from chalicelib.api.endpoint import Call, operation
from chalicelib.api.pagination import decode_cursor, page_body, position_of
from chalicelib.service import users
from chalicelib.store.records import Doc

T = TypeVar("T")
SCOPE = "users"


def _pool(question: Callable[[], T]) -> T:
    try:
        return question()
    except OSError as error:
        raise IdentityUnavailable(f"cannot ask the user pool: {error}") from None


@operation("listUsers")
def list_users(call: Call) -> Doc:
    after = decode_cursor(call.query.get("cursor"), SCOPE)
    position = None if after is None else position_of(after, str)
    docs, next_token = _pool(lambda: users.list_users(call.query["limit"], position))
    return page_body(docs, next_token, SCOPE)


@operation("inviteUser")
def invite_user(call: Call) -> Doc:
    return _pool(lambda: users.invite(call.fields))


@operation("disableUser")
def disable_user(call: Call, username: str) -> Doc:
    return _pool(lambda: users.set_enabled(username, False, call.principal.subject))


@operation("enableUser")
def enable_user(call: Call, username: str) -> Doc:
    return _pool(lambda: users.set_enabled(username, True, call.principal.subject))


@operation("resetUserPassword")
def reset_user_password(call: Call, username: str) -> Doc:
    return _pool(lambda: users.reset_password(username))
