"""Conditional PynamoDB writes: whether a write failed on its condition, and creating an item
only where none exists."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError
from pynamodb.models import Model

# A single write's condition fails with the first code; a transaction carrying a failed
# condition is cancelled as a whole with the second.
_CONDITION_FAILED = ("ConditionalCheckFailedException", "TransactionCanceledException")


def condition_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) in _CONDITION_FAILED


def create_item(item: Model) -> bool:
    """Save ``item`` unless an item with its key exists; False then, and nothing is written.

    Every Rebill table's hash key is ``pk``.
    """
    key: Any = type(item).pk  # type: ignore[attr-defined]
    try:
        item.save(condition=key.does_not_exist())
        return True
    except PutError as error:
        if condition_failed(error):
            return False
        raise
