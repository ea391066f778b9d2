"""Whether a PynamoDB write failed on its condition: the signal of every conditional write."""

from __future__ import annotations

# A single write's condition fails with the first code; a transaction carrying a failed
# condition is cancelled as a whole with the second.
_CONDITION_FAILED = ("ConditionalCheckFailedException", "TransactionCanceledException")


def condition_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) in _CONDITION_FAILED
