"""The portal's users, administered by operators through the API on moto's Cognito user pool:
invite (an operator, a customer's user), list, disable, enable, reset."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.stack

PASSWORD = "Correct-horse-1"


def _email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:8]}@example.test"


def _cognito_user(stack: Any, username: str) -> dict[str, Any]:
    idp = stack.client("cognito-idp")
    user: dict[str, Any] = idp.admin_get_user(
        UserPoolId=stack.env["COGNITO_USER_POOL_ID"], Username=username
    )
    user["Attributes"] = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    user["Groups"] = [
        g["GroupName"]
        for g in idp.admin_list_groups_for_user(
            UserPoolId=stack.env["COGNITO_USER_POOL_ID"], Username=username
        )["Groups"]
    ]
    return user


def _with_email(stack: Any, email: str) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = stack.client("cognito-idp").list_users(
        UserPoolId=stack.env["COGNITO_USER_POOL_ID"], Filter=f'email = "{email}"'
    )["Users"]
    return users


def _every_user(api: Api, token: Any = ...) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        reply = api.get("/users", token, **query)
        assert reply.status == 200, reply
        users += reply.json["items"]
        cursor = reply.json["next_cursor"]
        if cursor is None:
            return users


def test_inviting_a_customers_user_links_it_to_the_customer(
    api: Api, clean_stack: Any, reference_data: Any
) -> None:
    email = _email("ap")
    reply = api.post("/users", body={"email": email, "role": "customer", "customer_id": "acme"})
    assert reply.status == 201, reply
    user = reply.json
    assert user["email"] == email and user["role"] == "customer" and user["customer_id"] == "acme"
    assert user["enabled"] is True and user["status"] == "FORCE_CHANGE_PASSWORD"
    assert "@" not in user["username"]  # the email signs in as an alias, never as the name
    stored = _cognito_user(clean_stack, user["username"])
    assert stored["Attributes"]["custom:customer_id"] == "acme"  # what sign-in reads
    assert stored["Attributes"]["email_verified"] == "true"
    assert stored["Groups"] == []
    listed = {u["username"]: u for u in _every_user(api)}
    assert listed[user["username"]] == user


def test_inviting_an_operator_puts_it_in_the_operators_group(api: Api, clean_stack: Any) -> None:
    email = _email("clerk")
    reply = api.post("/users", body={"email": email, "role": "operator"})
    assert reply.status == 201, reply
    assert reply.json["role"] == "operator" and reply.json["customer_id"] is None
    assert _cognito_user(clean_stack, reply.json["username"])["Groups"] == ["operators"]
    listed = {u["username"]: u for u in _every_user(api)}
    assert listed[reply.json["username"]]["role"] == "operator"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"role": "customer"}, 400, "customer_id"),
        ({"role": "customer", "customer_id": None}, 400, "customer_id"),
        ({"role": "customer", "customer_id": "no-such-customer"}, 400, "customer_id"),
        ({"role": "operator", "customer_id": "acme"}, 400, "customer_id"),
        ({"role": "admin"}, 400, "role"),
    ],
)
def test_a_refused_invitation_creates_no_user(
    api: Api,
    clean_stack: Any,
    reference_data: Any,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    email = _email("refused")
    reply = api.post("/users", body={"email": email, **body})
    assert reply.status == status, reply
    assert reply.json["field"] == field
    assert _with_email(clean_stack, email) == []


def test_an_email_has_one_user(api: Api, clean_stack: Any, reference_data: Any) -> None:
    email = _email("twice")
    body = {"email": email, "role": "customer", "customer_id": "acme"}
    assert api.post("/users", body=body).status == 201
    again = api.post("/users", body={"email": email, "role": "operator"})
    assert again.status == 409, again
    assert again.json["field"] == "email"
    assert len(_with_email(clean_stack, email)) == 1
    assert api.post("/users", body={"email": "not an email", "role": "operator"}).status == 400


def test_disable_and_enable(api: Api, clean_stack: Any, reference_data: Any) -> None:
    body = {"email": _email("leaver"), "role": "customer", "customer_id": "acme"}
    username = api.post("/users", body=body).json["username"]
    reply = api.post(f"/users/{username}/disable", body={})  # as the portal sends it
    assert reply.status == 200, reply
    assert reply.json["enabled"] is False
    assert _cognito_user(clean_stack, username)["Enabled"] is False
    reset = api.post(f"/users/{username}/reset")
    assert reset.status == 409, reset  # enable first
    reply = api.post(f"/users/{username}/enable")
    assert reply.status == 200 and reply.json["enabled"] is True
    assert _cognito_user(clean_stack, username)["Enabled"] is True
    assert api.post("/users/nobody-here/disable").status == 404


def test_an_operator_cannot_disable_themself_but_another_operator_can(
    api: Api, clean_stack: Any
) -> None:
    from localaws import cognito

    me = f"op-{uuid.uuid4().hex[:8]}"
    cognito.create_user(clean_stack, me, PASSWORD, operator=True)
    my_token = cognito.sign_in(clean_stack, me, PASSWORD)["IdToken"]
    reply = api.post(f"/users/{me}/disable", my_token)
    assert reply.status == 409, reply
    assert "yourself" in reply.json["message"]
    assert _cognito_user(clean_stack, me)["Enabled"] is True
    assert api.get("/users", my_token).status == 200  # still signed in
    # The operator token of the fixture is another caller.
    assert api.post(f"/users/{me}/disable").status == 200
    assert _cognito_user(clean_stack, me)["Enabled"] is False


def test_reset_invites_again_or_asks_for_a_new_password(
    api: Api, clean_stack: Any, reference_data: Any
) -> None:
    invited = api.post("/users", body={"email": _email("new"), "role": "operator"}).json
    reply = api.post(f"/users/{invited['username']}/reset")
    assert reply.status == 200, reply
    assert reply.json["reset"] == "reinvited"
    assert reply.json["status"] == "FORCE_CHANGE_PASSWORD"

    body = {"email": _email("old"), "role": "customer", "customer_id": "acme"}
    confirmed = api.post("/users", body=body).json["username"]
    clean_stack.client("cognito-idp").admin_set_user_password(
        UserPoolId=clean_stack.env["COGNITO_USER_POOL_ID"],
        Username=confirmed,
        Password=PASSWORD,
        Permanent=True,
    )
    reply = api.post(f"/users/{confirmed}/reset")
    assert reply.status == 200, reply
    assert reply.json["reset"] == "reset" and reply.json["status"] == "RESET_REQUIRED"
    assert _cognito_user(clean_stack, confirmed)["UserStatus"] == "RESET_REQUIRED"


def test_only_operators_administer_users(api: Api, customer_token: Any) -> None:
    token = customer_token("acme")
    assert api.get("/users", token).status == 403
    reply = api.post("/users", token, body={"email": _email("x"), "role": "operator"})
    assert reply.status == 403
    for action in ("disable", "enable", "reset"):
        assert api.post(f"/users/someone/{action}", token).status == 403


def test_cognitos_refusals_are_4xx_and_an_unreachable_pool_a_503(
    api: Api, clean_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localaws import cognito

    # Confirmed, but with no verified email: Cognito cannot send the reset code.
    unverified = f"unverified-{uuid.uuid4().hex[:8]}"
    cognito.create_user(clean_stack, unverified, PASSWORD)
    reply = api.post(f"/users/{unverified}/reset")
    assert reply.status == 400, reply
    assert "verified" in reply.json["message"]

    from chalicelib.store import cognito as pool

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OSError("cannot administer the user pool: AccessDeniedException")

    monkeypatch.setattr(pool, "list_users", unreachable)
    reply = api.get("/users")
    assert reply.status == 503, reply
    assert reply.json["code"] == "identity_unavailable"
