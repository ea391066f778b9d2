"""Domain errors. Code raises these; one place in the API layer maps them to HTTP."""

from __future__ import annotations


class RebillError(Exception):
    """Base of every error Rebill raises on purpose. ``code`` is stable and machine readable."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(RebillError):
    code = "invalid_input"


class NotFound(RebillError):
    code = "not_found"


class Conflict(RebillError):
    code = "conflict"


class PreconditionFailed(Conflict):
    """A conditional request (``If-Match``) named a version that is no longer the current one."""

    code = "precondition_failed"


class Unauthorized(RebillError):
    code = "unauthorized"


class Forbidden(RebillError):
    code = "forbidden"


class MfaRequired(Forbidden):
    """An operator signed in without a second factor where operators must have one."""

    code = "mfa_required"


class InvalidBillFile(RebillError):
    """A bill file that cannot be taken in. Says where: line (1-based, header = 1) and column."""

    code = "invalid_bill_file"

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        super().__init__(message, field=column)
        self.line = line
        self.column = column

    def as_record(self) -> dict[str, object]:
        record: dict[str, object] = {"message": self.message}
        if self.line is not None:
            record["line"] = self.line
        if self.column is not None:
            record["column"] = self.column
        return record


class BillingError(RebillError):
    """A customer's invoice cannot be computed (bad reference data, missing FX rate, …)."""

    code = "billing_error"


class MissingFxRate(BillingError):
    code = "missing_fx_rate"
