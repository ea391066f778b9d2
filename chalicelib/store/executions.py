"""Step Functions executions: start one under a name of its own, and ask how one is doing.

Execution names stay taken for 90 days, even after an execution ended: work that may be
started again (an invoice run, a report delivery) names each attempt ``<base>-<attempt>`` and
:func:`start_with_attempt_name` moves to the next attempt while a name is taken.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.store.aws import client


def execution_arn(machine_arn: str, name: str) -> str:
    return f"{machine_arn.replace(':stateMachine:', ':execution:')}:{name}"


def start(machine_arn: str, name: str, payload: Any) -> bool:
    """Start an execution named ``name``; False when an execution of that name exists already."""
    sfn = client("stepfunctions")
    try:
        sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(payload))
    except sfn.exceptions.ExecutionAlreadyExists:
        return False
    return True


def status(machine_arn: str, name: str) -> str | None:
    """``RUNNING``, ``SUCCEEDED``, … of the execution ``name``; None when there is none."""
    sfn = client("stepfunctions")
    try:
        return str(sfn.describe_execution(executionArn=execution_arn(machine_arn, name))["status"])
    except sfn.exceptions.ExecutionDoesNotExist:
        return None


@dataclass(frozen=True)
class Started:
    attempt: int
    name: str


def start_with_attempt_name(
    machine_arn: str,
    base: str,
    payload_for: Callable[[str], Any],
    claim: Callable[[int, str], bool | None],
    taken: Callable[[int, str], None] = lambda attempt, name: None,
    first_attempt: int = 1,
) -> Started | None:
    """Start one execution named ``<base>-<attempt>``, from ``first_attempt`` on.

    Before each attempt ``claim(attempt, name)`` records it and says what to do: True starts
    the execution, False moves on to the next attempt, None stops (nothing started: None).
    When the name turns out taken, ``taken(attempt, name)`` is told and the next attempt tried.
    """
    attempt = first_attempt
    while True:
        name = f"{base}-{attempt}"
        go = claim(attempt, name)
        if go is None:
            return None
        if go:
            if start(machine_arn, name, payload_for(name)):
                return Started(attempt, name)
            taken(attempt, name)
        attempt += 1
