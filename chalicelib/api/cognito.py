"""Cognito user-pool JWTs, verified with joserfc against the pool's published keys.

A token is accepted when its RS256 signature verifies with a key of the pool's JWKS, it is
not expired, its issuer is the pool, and it was issued to the app client: an ID token names
the client in ``aud``, an access token in ``client_id``. Operators are members of the
``operators`` group; a customer user carries its customer id in ``custom:customer_id``, which
is in ID tokens only — for an access token it is read from the user (``GetUser``, which also
refuses tokens revoked by a sign-out).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from chalicelib.errors import RebillError, Unauthorized
from chalicelib.store import cognito

OPERATORS_GROUP = "operators"
CUSTOMER_ID_CLAIM = "custom:customer_id"
ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 30  # clock skew between Cognito and the Lambda
JWKS_MAX_AGE = 3600.0
JWKS_MIN_REFRESH = 30.0  # an unknown key id refetches the keys, at most this often


class IdentityUnavailable(RebillError):
    """The user pool's keys cannot be fetched: nobody can be authenticated right now."""

    code = "identity_unavailable"


@dataclass(frozen=True)
class CognitoUser:
    subject: str
    groups: tuple[str, ...]
    customer_id: str | None
    token_use: str


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


KEYS = _Keys()
_access_customers: dict[str, tuple[str | None, float]] = {}


def issuer(pool_id: str) -> str:
    return f"https://cognito-idp.{cognito.pool_region(pool_id)}.amazonaws.com/{pool_id}"


def verify(token: str, pool_id: str, client_id: str) -> CognitoUser:
    """The user a Cognito token names, or Unauthorized."""
    try:
        kid = extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError, UnicodeError):
        raise Unauthorized("the token is not a JWT") from None
    keys = KEYS.get(pool_id, kid)
    try:
        claims: dict[str, Any] = jwt.decode(token, keys, algorithms=ALGORITHMS).claims
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer(pool_id)},
            exp={"essential": True},
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
    customer_id = claims.get(CUSTOMER_ID_CLAIM)
    if token_use == "access" and OPERATORS_GROUP not in groups:
        customer_id = _customer_of_access_token(pool_id, token, float(claims["exp"]))
    return CognitoUser(
        subject=str(claims["sub"]),
        groups=tuple(str(g) for g in groups),
        customer_id=str(customer_id) if customer_id else None,
        token_use=token_use,
    )


def _customer_of_access_token(pool_id: str, token: str, expires: float) -> str | None:
    now = time.time()
    cached = _access_customers.get(token)
    if cached is not None and cached[1] > now:
        return cached[0]
    attributes = cognito.user_attributes(pool_id, token)
    if not attributes:
        raise Unauthorized("the token has been revoked")
    if len(_access_customers) > 1000:  # bounded: a container serves a limited set of users
        _access_customers.clear()
    customer_id = attributes.get(CUSTOMER_ID_CLAIM)
    _access_customers[token] = (customer_id, min(expires, now + 300))
    return customer_id
