"""Bearer-token authentication for the API.

API tokens are random strings shown once; only their SHA-256 is stored. A token carries a role
(``operator`` or ``customer``) and, for customers, the customer id it may see.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import Forbidden, NotFound, Unauthorized
from chalicelib.store.tables import ReferenceItem

TOKEN_PREFIX = "rbl_"


@dataclass(frozen=True)
class Principal:
    role: str  # operator | customer
    customer_id: str | None = None
    token_id: str | None = None

    def require_operator(self) -> None:
        if self.role != "operator":
            raise Forbidden("this needs the operator role")

    def require_customer_access(self, customer_id: str, what: str) -> None:
        """A customer sees only its own things; anything else is 'not found', not 'forbidden'."""
        if self.role != "operator" and self.customer_id != customer_id:
            raise NotFound(f"{what} not found")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(name: str, role: str, customer_id: str | None = None) -> dict[str, Any]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = _digest(token)[:16]
    doc = {"id": token_id, "name": name, "role": role, "customer_id": customer_id}
    ReferenceItem("API_TOKEN", _digest(token), kind="api_token", doc=doc).save()
    return {**doc, "token": token}


def authenticate(authorization: str | None) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("missing bearer token")
    token = authorization.removeprefix("Bearer ").strip()
    try:
        doc = ReferenceItem.get("API_TOKEN", _digest(token)).doc
    except DoesNotExist:
        raise Unauthorized("unknown or revoked token") from None
    return Principal(role=doc["role"], customer_id=doc.get("customer_id"), token_id=doc["id"])
