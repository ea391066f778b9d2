"""Which browser origins may read the API's answers.

A deployed stage answers only its portal's origin (``REBILL_PORTAL_ORIGIN``, set by ``infra/``);
a laptop stack answers any. The origin is read when it is asked for, not when ``app.py`` is
imported: ``chalice package`` writes it into the API's preflight answers from an ``app`` that may
have been imported before the stage's settings were in place (a test run synthesizes several
stages in one process).
"""

from __future__ import annotations

import os

from chalice.app import CORSConfig

ORIGIN_VARIABLE = "REBILL_PORTAL_ORIGIN"


class PortalCORS(CORSConfig):
    @property  # type: ignore[override]
    def allow_origin(self) -> str:
        return os.environ.get(ORIGIN_VARIABLE) or "*"

    @allow_origin.setter
    def allow_origin(self, value: str) -> None:
        """CORSConfig sets it once; the origin is always the stage's (above)."""


def portal_cors() -> CORSConfig:
    # Browsers may send the idempotency key and read where a new run lives.
    return PortalCORS(
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match"],
        expose_headers=["Location", "Idempotent-Replayed", "ETag"],
    )
