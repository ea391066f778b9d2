"""Authentication: Cognito JWTs from moto's user pool (real RS256 tokens, verified against the
pool's JWKS) and API tokens (hashed, shown once, revocable)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.stack

PASSWORD = "Correct-horse-1"


@pytest.fixture
def users(clean_stack: Any, reference_data: Any) -> dict[str, str]:
    """Fresh Cognito users (the pool outlives the per-test data): operator, acme, nobody."""
    from localaws import cognito

    suffix = uuid.uuid4().hex[:8]
    names = {role: f"{role}-{suffix}" for role in ("operator", "acme", "nobody")}
    cognito.create_user(clean_stack, names["operator"], PASSWORD, operator=True)
    cognito.create_user(clean_stack, names["acme"], PASSWORD, customer_id="acme")
    cognito.create_user(clean_stack, names["nobody"], PASSWORD)
    return names


def _tokens(stack: Any, username: str, client_id: str | None = None) -> dict[str, Any]:
    from localaws import cognito

    return cognito.sign_in(stack, username, PASSWORD, client_id)


def _moto_key() -> Any:
    from joserfc.jwk import RSAKey
    from moto.utilities.utils import load_resource

    return RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


def _claims(token: str) -> dict[str, Any]:
    from joserfc.jws import extract_compact

    claims: dict[str, Any] = json.loads(extract_compact(token.encode()).payload)
    return claims


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")


def _sign(claims: dict[str, Any], key: Any) -> str:
    from joserfc import jwt

    return jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, key)


def test_an_operators_id_and_access_tokens(
    api: Api, clean_stack: Any, users: dict[str, str]
) -> None:
    tokens = _tokens(clean_stack, users["operator"])
    for kind in ("IdToken", "AccessToken"):
        reply = api.get("/customers", tokens[kind])
        assert reply.status == 200, (kind, reply)
        assert {c["id"] for c in reply.json["items"]} == {"acme", "globex"}


def test_a_customer_users_tokens_carry_its_customer(
    api: Api, clean_stack: Any, users: dict[str, str], make_invoice: Any
) -> None:
    own = make_invoice("acme")
    other = make_invoice("globex")
    tokens = _tokens(clean_stack, users["acme"])
    assert _claims(tokens["IdToken"])["custom:customer_id"] == "acme"
    # Access tokens do not carry custom attributes: the customer is read from the user.
    assert "custom:customer_id" not in _claims(tokens["AccessToken"])
    for kind in ("IdToken", "AccessToken"):
        token = tokens[kind]
        listed = api.get("/invoices", token).json["items"]
        assert [i["id"] for i in listed] == [own["id"]], kind
        assert api.get(f"/invoices/{other['id']}", token).status == 404
        assert api.get("/customers", token).status == 403


def test_a_user_without_group_or_customer_is_refused(
    api: Api, clean_stack: Any, users: dict[str, str]
) -> None:
    token = _tokens(clean_stack, users["nobody"])["IdToken"]
    assert api.get("/invoices", token).status == 403


def test_a_bad_signature_is_refused(api: Api, clean_stack: Any, users: dict[str, str]) -> None:
    from joserfc.jwk import RSAKey

    real = _tokens(clean_stack, users["operator"])["IdToken"]
    forged = _sign(_claims(real), RSAKey.generate_key(2048))
    reply = api.get("/customers", forged)
    assert (reply.status, reply.json["code"]) == (401, "unauthorized")
    header, payload, signature = real.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    assert api.get("/customers", tampered).status == 401
    assert api.get("/customers", f"{header}.{payload}.").status == 401


def test_an_expired_token_is_refused(api: Api, clean_stack: Any, users: dict[str, str]) -> None:
    claims = _claims(_tokens(clean_stack, users["operator"])["IdToken"])
    now = int(time.time())
    expired = _sign({**claims, "iat": now - 7200, "exp": now - 3600}, _moto_key())
    reply = api.get("/customers", expired)
    assert (reply.status, reply.json["message"]) == (401, "the token has expired")
    # The same claims, still valid, pass: the refusal was the expiry.
    assert api.get("/customers", _sign({**claims, "exp": now + 600}, _moto_key())).status == 200


def test_a_token_for_another_app_client_or_pool_is_refused(
    api: Api, clean_stack: Any, users: dict[str, str]
) -> None:
    idp = clean_stack.client("cognito-idp")
    other_client = idp.create_user_pool_client(
        UserPoolId=clean_stack.env["COGNITO_USER_POOL_ID"],
        ClientName=f"other-{uuid.uuid4().hex[:6]}",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    tokens = _tokens(clean_stack, users["operator"], other_client)
    for kind in ("IdToken", "AccessToken"):
        reply = api.get("/customers", tokens[kind])
        assert (reply.status, reply.json["message"]) == (
            401,
            "the token was issued to another application",
        ), kind
    claims = _claims(_tokens(clean_stack, users["operator"])["IdToken"])
    other_pool = claims["iss"].rsplit("/", 1)[0] + "/us-east-1_Other"
    assert api.get("/customers", _sign({**claims, "iss": other_pool}, _moto_key())).status == 401
    # An unsigned token ("alg": "none") names no key of the pool.
    unsigned = f"{_b64({'alg': 'none', 'kid': 'dummy'})}.{_b64(claims)}."
    assert api.get("/customers", unsigned).status == 401


def test_api_tokens_are_stored_hashed_shown_once_and_revocable(
    api: Api, reference_data: Any
) -> None:
    from chalicelib.store.tables import ReferenceItem

    created = api.post(
        "/api-tokens", body={"name": "erp", "role": "customer", "customer_id": "acme"}
    )
    assert created.status == 201, created
    token, token_id = created.json["token"], created.json["id"]
    stored = ReferenceItem.get("API_TOKEN", token_id).doc
    assert token not in json.dumps(stored)
    assert stored["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    listed = api.get("/api-tokens").json["items"]
    mine = next(t for t in listed if t["id"] == token_id)
    assert "token" not in mine and "token_sha256" not in mine
    assert mine["customer_id"] == "acme"

    assert api.get("/invoices", token).status == 200
    assert api.get("/invoices", token[:-1] + ("A" if token[-1] != "A" else "B")).status == 401
    assert api.delete(f"/api-tokens/{token_id}").status == 204
    assert api.get("/invoices", token).status == 401
    assert api.delete(f"/api-tokens/{token_id}").status == 404


def test_api_token_roles_and_customers_are_checked(api: Api, reference_data: Any) -> None:
    for body, status, field in (
        ({"name": "a", "role": "customer"}, 400, "customer_id"),
        ({"name": "a", "role": "operator", "customer_id": "acme"}, 400, "customer_id"),
        ({"name": "a", "role": "admin"}, 400, "role"),
        ({"name": "a", "role": "customer", "customer_id": "nobody"}, 404, None),
    ):
        reply = api.post("/api-tokens", body=body)
        assert (reply.status, reply.json.get("field")) == (status, field), body
    operator = api.post("/api-tokens", body={"name": "ci", "role": "operator"}).json["token"]
    assert api.get("/customers", operator).status == 200


def test_missing_or_malformed_authorization(api: Api) -> None:
    for header in ("", "Basic dXNlcjpwYXNz", "Bearer", "Bearer rbl_nope", "Bearer a.b.c"):
        reply = api.get("/customers", None, headers={"Authorization": header} if header else {})
        assert (reply.status, reply.json["code"]) == (401, "unauthorized"), header


# --- revocation: a deleted customer's tokens ---------------------------------------------------


def test_deleting_a_customer_revokes_its_tokens_and_recreating_it_revives_none(
    api: Api, reference_data: Any, customer_token: Any
) -> None:
    from tests.api.conftest import customer_body

    old = customer_token("initech")
    globex = customer_token("globex")
    assert api.get("/invoices", old).status == 200
    assert api.delete("/customers/initech").status == 204
    assert api.get("/invoices", old).status == 401
    listed = api.get("/api-tokens").json["items"]
    assert [t["customer_id"] for t in listed if t["customer_id"] == "initech"] == []

    assert api.post("/customers", body=customer_body("initech")).status == 201
    reply = api.get("/invoices", old)
    assert (reply.status, reply.json["code"]) == (401, "unauthorized")
    new = customer_token("initech")
    assert api.get("/invoices", new).status == 200
    assert api.get("/invoices", globex).status == 200  # another customer's tokens are untouched


def test_a_token_outliving_its_customer_in_storage_is_still_refused(
    api: Api, reference_data: Any, customer_token: Any
) -> None:
    """A token record left behind (written by a request racing the delete) matches no later
    incarnation of the customer."""
    from chalicelib.store.tables import ReferenceItem
    from tests.api.conftest import customer_body

    token = customer_token("initech")
    token_id = token.split("_")[1]
    leftover = ReferenceItem.get("API_TOKEN", token_id)
    assert api.delete("/customers/initech").status == 204
    leftover.save()  # as if written just after the delete's sweep
    assert api.get("/invoices", token).status == 401
    assert api.post("/customers", body=customer_body("initech")).status == 201
    assert api.get("/invoices", token).status == 401
    # Tokens stored without an incarnation (made before they were recorded) are refused too.
    doc = {k: v for k, v in leftover.doc.items() if k != "customer_uid"}
    ReferenceItem("API_TOKEN", token_id, kind="api_token", doc=doc).save()
    assert api.get("/invoices", token).status == 401


def test_a_token_for_a_customer_deleted_meanwhile_is_not_written(
    api: Api, reference_data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.api.auth import create_api_token
    from chalicelib.errors import NotFound
    from chalicelib.store import access

    real = access.ensure_customer_incarnation

    def then_deleted(customer_id: str) -> str | None:
        uid = real(customer_id)
        assert api.delete(f"/customers/{customer_id}").status == 204
        return uid

    tokens_before = api.get("/api-tokens").json["items"]
    monkeypatch.setattr(access, "ensure_customer_incarnation", then_deleted)
    with pytest.raises(NotFound):
        create_api_token("erp", "customer", "globex")
    assert api.get("/api-tokens").json["items"] == tokens_before


def test_customers_from_before_incarnations_get_one_with_their_first_token(
    api: Api, reference_data: Any
) -> None:
    from chalicelib.store.tables import ReferenceItem

    ReferenceItem("CUSTOMER#acme", "INCARNATION").delete()  # as stored before this existed
    created = api.post(
        "/api-tokens", body={"name": "erp", "role": "customer", "customer_id": "acme"}
    )
    assert created.status == 201, created
    assert "customer_uid" not in created.json
    assert api.get("/invoices", created.json["token"]).status == 200
    assert api.get("/customers/acme/accounts").json["items"]  # accounts unaffected
    assert api.get("/customers/acme/subscriptions").json["items"]


# --- revocation: Cognito users ----------------------------------------------------------------

RECHECK = 60  # seconds a container trusts what it learnt about a user, in these tests


class Clock:
    """The API's clock, moved forward instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, users: dict[str, str]) -> Clock:
    """The API's clock, and users rechecked every RECHECK seconds (from empty caches)."""
    import dataclasses

    from chalicelib.api import auth, cognito
    from chalicelib.config import get_config

    config = dataclasses.replace(get_config(), cognito_recheck_seconds=RECHECK)
    monkeypatch.setattr(auth, "get_config", lambda: config)
    fake = Clock()
    monkeypatch.setattr(cognito, "_clock", fake.now)
    cognito.STANDINGS.clear()
    cognito.SESSIONS.clear()
    return fake


def _statuses(api: Api, tokens: dict[str, str]) -> dict[str, int]:
    return {name: api.get("/invoices", token).status for name, token in tokens.items()}


def _both(prefix: str, tokens: dict[str, Any]) -> dict[str, str]:
    return {f"{prefix} {kind}": tokens[kind] for kind in ("IdToken", "AccessToken")}


@pytest.mark.parametrize("action", ["disable", "delete"])
def test_a_disabled_or_deleted_user_loses_access_once_the_recheck_passes(
    api: Api, clean_stack: Any, users: dict[str, str], clock: Clock, action: str
) -> None:
    idp = clean_stack.client("cognito-idp")
    pool = clean_stack.env["COGNITO_USER_POOL_ID"]
    acme = _both("acme", _tokens(clean_stack, users["acme"]))
    operator = _both("operator", _tokens(clean_stack, users["operator"]))
    assert set(_statuses(api, {**acme, **operator}).values()) == {200}

    if action == "disable":
        idp.admin_disable_user(UserPoolId=pool, Username=users["acme"])
    else:
        idp.admin_delete_user(UserPoolId=pool, Username=users["acme"])
    # Within the recheck interval the container still trusts what it learnt: that is the bound.
    clock.advance(RECHECK - 5)
    assert set(_statuses(api, acme).values()) == {200}
    clock.advance(10)
    assert _statuses(api, {**acme, **operator}) == {
        "acme IdToken": 401,
        "acme AccessToken": 401,
        "operator IdToken": 200,
        "operator AccessToken": 200,
    }
    if action == "delete":
        # A new user under the same name is another user: the old tokens stay refused.
        from localaws import cognito

        cognito.create_user(clean_stack, users["acme"], PASSWORD, customer_id="acme")
        clock.advance(RECHECK + 1)
        assert set(_statuses(api, acme).values()) == {401}
        fresh = _both("new acme", _tokens(clean_stack, users["acme"]))
        assert set(_statuses(api, fresh).values()) == {200}


@pytest.mark.parametrize("how", ["own", "admin"])
def test_a_signed_out_user_loses_access_with_id_and_access_tokens(
    api: Api, clean_stack: Any, users: dict[str, str], clock: Clock, how: str
) -> None:
    from botocore.exceptions import ClientError

    from chalicelib.config import REVOCATION_BOUND_SECONDS

    idp = clean_stack.client("cognito-idp")
    signed_in = _tokens(clean_stack, users["acme"])
    acme = _both("acme", signed_in)
    operator_tokens = _tokens(clean_stack, users["operator"])
    operator = _both("operator", operator_tokens)
    assert set(_statuses(api, {**acme, **operator}).values()) == {200}

    if how == "own":
        idp.global_sign_out(AccessToken=signed_in["AccessToken"])  # the portal's "Sign out"
    else:
        idp.admin_user_global_sign_out(
            UserPoolId=clean_stack.env["COGNITO_USER_POOL_ID"], Username=users["acme"]
        )
    # The refresh token is revoked with it: no new ID token can follow the one held.
    with pytest.raises(ClientError, match="NotAuthorized"):
        idp.initiate_auth(
            ClientId=clean_stack.env["COGNITO_CLIENT_ID"],
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": signed_in["RefreshToken"]},
        )
    clock.advance(RECHECK + 1)
    # Cognito refuses the access token itself; the ID token lives on until its age runs out.
    assert _statuses(api, acme) == {"acme IdToken": 200, "acme AccessToken": 401}
    clock.advance(REVOCATION_BOUND_SECONDS - RECHECK)
    reply = api.get("/invoices", acme["acme IdToken"])
    assert (reply.status, reply.json["message"]) == (
        401,
        f"the ID token is more than {REVOCATION_BOUND_SECONDS} seconds old: refresh it",
    )
    assert api.get("/invoices", acme["acme AccessToken"]).status == 401
    # Not signed out: the access token still works, and an ID token as fresh as a refreshed
    # one would be is accepted — the refusal above was its age, not a blanket one.
    assert api.get("/invoices", operator["operator AccessToken"]).status == 200
    now = int(clock.now())
    refreshed = _sign(
        {**_claims(operator_tokens["IdToken"]), "iat": now, "exp": now + 3600}, _moto_key()
    )
    assert api.get("/invoices", refreshed).status == 200


def test_the_recheck_interval_is_configured_within_the_bound() -> None:
    from chalicelib.config import AppConfig

    assert AppConfig.from_environ({}).cognito_recheck_seconds == 300
    assert AppConfig.from_environ({"COGNITO_RECHECK_SECONDS": "0"}).cognito_recheck_seconds == 0
    for bad in ("301", "-1", "1.5", "soon"):
        with pytest.raises(ValueError, match="COGNITO_RECHECK_SECONDS"):
            AppConfig.from_environ({"COGNITO_RECHECK_SECONDS": bad})


def test_when_the_pool_cannot_be_asked_about_a_user_nobody_is_let_through(
    api: Api, clean_stack: Any, users: dict[str, str], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import cognito

    tokens = _both("operator", _tokens(clean_stack, users["operator"]))

    def unreachable(pool_id: str, username: str) -> None:
        raise OSError("AccessDeniedException: not authorized to perform cognito-idp:AdminGetUser")

    monkeypatch.setattr(cognito, "user_standing", unreachable)
    for token in tokens.values():
        reply = api.get("/customers", token)
        assert (reply.status, reply.json["code"]) == (503, "identity_unavailable")


def test_the_per_container_caches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.api import cognito

    monkeypatch.setattr(cognito, "CACHE_ENTRIES", 3)
    cache: Any = cognito._Recent()
    fetched: list[int] = []

    def fetch(n: int) -> Any:
        return lambda: fetched.append(n) or n

    for n in range(5):
        assert cache.get(n, 0.0, 60, fetch(n)) == n
    assert cache.get(4, 30.0, 60, fetch(40)) == 4  # fresh: not asked again
    assert cache.get(0, 30.0, 60, fetch(0)) == 0  # evicted: asked again
    assert cache.get(4, 61.0, 60, fetch(41)) == 41  # stale: asked again
    assert fetched == [0, 1, 2, 3, 4, 0, 41]
    assert len(cache._entries) == 3


@pytest.fixture
def operator_mfa(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    """Operators must have an authenticator app, as in a deployed stage."""
    import dataclasses

    from chalicelib.api import auth

    config = dataclasses.replace(auth.get_config(), operator_mfa_required=True)
    monkeypatch.setattr(auth, "get_config", lambda: config)


def test_an_operator_without_an_authenticator_app_is_sent_to_set_one_up(
    api: Api, clean_stack: Any, users: dict[str, str], operator_mfa: None
) -> None:
    """Where operators must have a second factor: refused with `mfa_required` until an
    authenticator app is set up (with Cognito, from the portal); then every sign-in asks for
    its code. Customers are not asked."""
    idp = clean_stack.client("cognito-idp")
    client_id = clean_stack.env["COGNITO_CLIENT_ID"]
    tokens = _tokens(clean_stack, users["operator"])
    for kind in ("IdToken", "AccessToken"):
        reply = api.get("/customers", tokens[kind])
        assert (reply.status, reply.json["code"]) == (403, "mfa_required"), kind
    acme = _tokens(clean_stack, users["acme"])
    assert api.get("/invoices", acme["IdToken"]).status == 200

    # What the portal does: associate an app, verify its first code, make it the second factor.
    assert idp.associate_software_token(AccessToken=tokens["AccessToken"])["SecretCode"]
    idp.verify_software_token(AccessToken=tokens["AccessToken"], UserCode="123456")
    idp.set_user_mfa_preference(
        AccessToken=tokens["AccessToken"],
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    challenge = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": users["operator"], "PASSWORD": PASSWORD},
    )
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    signed_in = idp.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": users["operator"], "SOFTWARE_TOKEN_MFA_CODE": "123456"},
    )["AuthenticationResult"]
    # The container that refused the operator lets them in at once (a refusal is not cached).
    for kind in ("IdToken", "AccessToken"):
        assert api.get("/customers", signed_in[kind]).status == 200, kind
