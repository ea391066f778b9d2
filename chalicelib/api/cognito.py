"""Cognito user-pool JWTs, verified with joserfc against the pool's published keys.

A token is accepted when its RS256 signature verifies with a key of the pool's JWKS, it is
not expired, its issuer is the pool, and it was issued to the app client: an ID token names
the client in ``aud``, an access token in ``client_id``. Operators are members of the
``operators`` group; a customer user carries its customer id in ``custom:customer_id``, which
is in ID tokens only — for an access token it is read from the user (``GetUser``).

A valid signature is not enough: a user who is disabled, deleted or signed out (``GlobalSignOut``)
loses access within :data:`REVOCATION_BOUND_SECONDS` (300 s), for both kinds of token:

* every token: the user is looked up (``AdminGetUser`` by the token's user name) and must still
  exist, with the token's ``sub`` (a user deleted and created again under the same name has a
  new one), and be enabled;
* an access token: Cognito itself is asked about the token (``GetUser``), which refuses it once
  the user signed out, was disabled or deleted;
* an ID token: no Cognito API says whether an ID token's session was signed out, but a sign-out
  revokes the refresh token, so no new ID token follows. An ID token is therefore accepted for
  :data:`REVOCATION_BOUND_SECONDS` after it was issued (``iat``); clients refresh it (the portal
  does so on the first 401).

What a Lambda container learnt about a user or an access token is reused for
``cognito_recheck_seconds`` (at most the bound), in bounded per-container caches.

Where operators must have a second factor (``operator_mfa``: deployed stages), an operator whose
user has no authenticator app (TOTP) set up is refused with ``mfa_required`` (403): the portal
then takes them through setting one up with Cognito, and every later sign-in asks for its code.
The user pool allows TOTP for everyone and Cognito cannot require it per group, so this is
where it is required.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from chalicelib.config import REVOCATION_BOUND_SECONDS
from chalicelib.errors import MfaRequired, RebillError, Unauthorized
from chalicelib.store import cognito

OPERATORS_GROUP = "operators"
CUSTOMER_ID_CLAIM = "custom:customer_id"
ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 30  # clock skew between Cognito and the Lambda
JWKS_MAX_AGE = 3600.0
JWKS_MIN_REFRESH = 30.0  # an unknown key id refetches the keys, at most this often
ID_TOKEN_MAX_AGE = REVOCATION_BOUND_SECONDS
CACHE_ENTRIES = 1000  # per cache and Lambda container: a container serves a limited set of users

V = TypeVar("V")


class IdentityUnavailable(RebillError):
    """The user pool's keys cannot be fetched: nobody can be authenticated right now."""

    code = "identity_unavailable"


@dataclass(frozen=True)
class CognitoUser:
    subject: str
    groups: tuple[str, ...]
    customer_id: str | None
    token_use: str
    username: str = ""


class _Keys:
    """The pool's JWK set, cached per Lambda container (thread-safe for the local server)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[KeySet, float]] = {}

    def get(self, pool_id: str, kid: str | None) -> KeySet:
        with self._lock:
            cached = self._sets.get(pool_id)
            now = time.monotonic()
            if cached is not None:
                keys, fetched = cached
                known = kid is None or any(k.kid == kid for k in keys.keys)
                if now - fetched < JWKS_MAX_AGE and (known or now - fetched < JWKS_MIN_REFRESH):
                    return keys
            try:
                keys = KeySet.import_key_set(cognito.fetch_jwks(pool_id))  # type: ignore[arg-type]
            except (OSError, ValueError, JoseError) as error:
                raise IdentityUnavailable(f"cannot read the user pool's keys: {error}") from None
            self._sets[pool_id] = (keys, now)
            return keys

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


class _Recent(Generic[V]):
    """What was last learnt per key and when, at most ``CACHE_ENTRIES`` keys (the oldest go)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[V, float]] = {}

    def get(self, key: Hashable, now: float, max_age: float, fetch: Callable[[], V]) -> V:
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and 0 <= now - cached[1] < max_age:
            return cached[0]
        value = fetch()
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= CACHE_ENTRIES:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (value, now)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


KEYS = _Keys()
STANDINGS: _Recent[cognito.UserStanding | None] = _Recent()  # (pool id, user name) → the user
SESSIONS: _Recent[dict[str, str]] = _Recent()  # access token → its user's attributes, {} revoked


def _clock() -> float:
    return time.time()


def issuer(pool_id: str) -> str:
    return f"https://cognito-idp.{cognito.pool_region(pool_id)}.amazonaws.com/{pool_id}"


def verify(
    token: str,
    pool_id: str,
    client_id: str,
    recheck_seconds: float = REVOCATION_BOUND_SECONDS,
    operator_mfa: bool = False,
) -> CognitoUser:
    """The user a Cognito token names, or Unauthorized; IdentityUnavailable when the pool
    cannot be asked. What was learnt about the user is reused for ``recheck_seconds``."""
    try:
        kid = extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError, UnicodeError):
        raise Unauthorized("the token is not a JWT") from None
    keys = KEYS.get(pool_id, kid)
    try:
        claims: dict[str, Any] = jwt.decode(token, keys, algorithms=ALGORITHMS).claims
        jwt.JWTClaimsRegistry(
            now=lambda: int(_clock()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer(pool_id)},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            token_use={"essential": True, "values": ["id", "access"]},
        ).validate(claims)
    except ExpiredTokenError:
        raise Unauthorized("the token has expired") from None
    except JoseError:
        raise Unauthorized("the token is not valid for this API") from None
    token_use = claims["token_use"]
    audience = claims.get("aud") if token_use == "id" else claims.get("client_id")
    if audience != client_id and not (isinstance(audience, list) and client_id in audience):
        raise Unauthorized("the token was issued to another application")
    groups = claims.get("cognito:groups") or []
    if not isinstance(groups, list):
        groups = []
    subject = str(claims["sub"])
    username = claims.get("cognito:username" if token_use == "id" else "username")
    if not isinstance(username, str) or not username:
        raise Unauthorized("the token names no user")
    now = _clock()
    recheck = min(max(recheck_seconds, 0), REVOCATION_BOUND_SECONDS)
    if token_use == "id" and now - float(claims["iat"]) > ID_TOKEN_MAX_AGE:
        raise Unauthorized(f"the ID token is more than {ID_TOKEN_MAX_AGE} seconds old: refresh it")
    standing = _check_standing(pool_id, username, subject, now, recheck)
    if operator_mfa and OPERATORS_GROUP in groups and not standing.totp:
        # Refusals are not cached: the operator may have set the app up a moment ago.
        standing = _check_standing(pool_id, username, subject, now, 0)
    if operator_mfa and OPERATORS_GROUP in groups and not standing.totp:
        raise MfaRequired(
            "operators must sign in with an authenticator app: set one up, then sign in again"
        )
    customer_id = claims.get(CUSTOMER_ID_CLAIM)
    if token_use == "access":
        attributes = SESSIONS.get(
            token, now, recheck, lambda: _ask(lambda: cognito.user_attributes(pool_id, token))
        )
        if not attributes:
            raise Unauthorized("the token has been revoked")
        if OPERATORS_GROUP not in groups:
            customer_id = attributes.get(CUSTOMER_ID_CLAIM)
    return CognitoUser(
        subject=subject,
        groups=tuple(str(g) for g in groups),
        customer_id=str(customer_id) if customer_id else None,
        token_use=token_use,
        username=username,
    )


def _ask(question: Callable[[], V]) -> V:
    try:
        return question()
    except OSError as error:
        raise IdentityUnavailable(f"cannot ask the user pool: {error}") from None


def _check_standing(
    pool_id: str, username: str, subject: str, now: float, recheck: float
) -> cognito.UserStanding:
    """The user's standing; Unauthorized unless it still exists as the same user and is
    enabled."""
    standing = STANDINGS.get(
        (pool_id, username),
        now,
        recheck,
        lambda: _ask(lambda: cognito.user_standing(pool_id, username)),
    )
    if standing is None or standing.subject != subject:
        raise Unauthorized("the token's user no longer exists")
    if not standing.enabled:
        raise Unauthorized("the token's user is disabled")
    return standing
