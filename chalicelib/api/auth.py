"""Who is calling: ``Authorization: Bearer <token>`` becomes a :class:`Principal`.

Two kinds of bearer token, one code path in AWS and on the embedded AWS:

* Cognito user-pool JWTs (ID or access token) of people signing in to the portal, verified in
  :mod:`chalicelib.api.cognito`, which also refuses them within 300 s of the user being
  disabled, deleted or signed out. Members of the ``operators`` group are operators; other users
  are customers and must carry ``custom:customer_id``.
* API tokens for machine clients (an ERP), ``rbl_<id>_<secret>``: shown once when created; only
  the SHA-256 of the whole token is stored, under its id, so a token is looked up by id and
  compared in constant time, and revoked by deleting it. A customer's token is bound to the
  customer's incarnation (:mod:`chalicelib.store.access`): deleting the customer revokes its
  tokens, and a customer created again with the same id does not bring them back.

Roles: an operator may do everything; a customer reads its own invoices and their CSVs, and
anything belonging to another customer is "not found", never "forbidden".
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.api import cognito
from chalicelib.config import get_config
from chalicelib.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from chalicelib.store import access, reference

TOKEN_PREFIX = "rbl_"
ROLES = ("operator", "customer")
_API_TOKEN = re.compile(r"^rbl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class Principal:
    role: str  # operator | customer
    customer_id: str | None = None
    subject: str = ""  # "token:<id>" or "user:<cognito sub>": who, for idempotency keys
    name: str = ""  # the API token's name or the user's name, for people to read

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def require_role(self, roles: list[str]) -> None:
        if self.role not in roles:
            raise Forbidden("this needs the operator role")

    def require_customer_access(self, customer_id: str, what: str) -> None:
        """A customer sees only its own things; anything else is 'not found', not 'forbidden'."""
        if not self.is_operator and self.customer_id != customer_id:
            raise NotFound(f"{what} not found")


# --- API tokens -------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_INTERNAL_FIELDS = ("token_sha256", "customer_uid")


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _INTERNAL_FIELDS}


def create_api_token(name: str, role: str, customer_id: str | None = None) -> dict[str, Any]:
    """A new token: the returned ``token`` is the only time the secret is seen."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    incarnation: str | None = None
    if role == "customer":
        if not customer_id:
            raise InvalidInput("a customer token needs customer_id", field="customer_id")
        reference.get_document("customer", customer_id)  # NotFound for an unknown customer
        incarnation = access.ensure_customer_incarnation(customer_id)
        if incarnation is None:
            raise NotFound(f"customer {customer_id!r} not found")
    elif customer_id:
        raise InvalidInput("an operator token has no customer_id", field="customer_id")
    token_id = secrets.token_hex(8)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    doc = {
        "id": token_id,
        "name": name,
        "role": role,
        "customer_id": customer_id if role == "customer" else None,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "token_sha256": _digest(token),
    }
    if incarnation is not None:
        doc["customer_uid"] = incarnation
    if not access.put_api_token(doc):  # the customer was deleted meanwhile
        raise NotFound(f"customer {customer_id!r} not found")
    return {**_public(doc), "token": token}


def revoke_api_token(token_id: str) -> None:
    if not access.delete_api_token(token_id):
        raise NotFound(f"API token {token_id!r} not found")


def list_api_tokens(limit: int, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
    docs, last = access.page_api_tokens(limit, after)
    return [_public(doc) for doc in docs], last


def _api_token_principal(token: str) -> Principal:
    match = _API_TOKEN.match(token)
    doc = access.get_api_token(match.group(1)) if match else None
    if doc is None or not hmac.compare_digest(doc["token_sha256"], _digest(token)):
        raise Unauthorized("unknown or revoked token")
    if doc["role"] == "customer":
        # Bound to the customer as it was when the token was made: gone with it, and a token
        # from before incarnations were recorded (no customer_uid) is refused too.
        bound = doc.get("customer_uid")
        if not bound or access.customer_incarnation(doc["customer_id"]) != bound:
            raise Unauthorized("unknown or revoked token")
    return Principal(
        role=doc["role"],
        customer_id=doc.get("customer_id"),
        subject=f"token:{doc['id']}",
        name=str(doc.get("name") or ""),
    )


# --- Cognito users ----------------------------------------------------------------------------


def _cognito_principal(token: str) -> Principal:
    config = get_config()
    if not config.cognito_user_pool_id:
        raise Unauthorized("unknown token")
    user = cognito.verify(
        token,
        config.cognito_user_pool_id,
        config.cognito_client_id,
        recheck_seconds=config.cognito_recheck_seconds,
        operator_mfa=config.operator_mfa_required,
    )
    if cognito.OPERATORS_GROUP in user.groups:
        return Principal(role="operator", subject=f"user:{user.subject}", name=user.username)
    if not user.customer_id:
        raise Forbidden("this user is neither an operator nor linked to a customer")
    return Principal(role="customer", customer_id=user.customer_id, subject=f"user:{user.subject}")


def authenticate(authorization: str | None) -> Principal:
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    if token.startswith(TOKEN_PREFIX):
        return _api_token_principal(token)
    if token.count(".") == 2:
        return _cognito_principal(token)
    raise Unauthorized("unknown token")
