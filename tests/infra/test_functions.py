"""One registry of Lambda functions (chalicelib.functions): app.py, the state machines'
substitutions and .chalice/config.json all name and size the same functions."""

from __future__ import annotations

import json

from chalicelib import functions
from chalicelib.workflow.definitions import STATE_MACHINES
from tests.infra.conftest import ROOT


def test_chalice_config_sizes_every_function_as_the_registry_does() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["lambda_functions"]
    assert config == {
        f.name: {"lambda_memory_size": f.memory_mb, "lambda_timeout": f.timeout_seconds}
        for f in functions.ALL
    }


def test_app_declares_exactly_the_registered_functions() -> None:
    from app import app

    declared = {f.name for f in app.pure_lambda_functions}
    assert declared == set(functions.WORKFLOW_FUNCTIONS)


def test_every_function_a_state_machine_calls_is_registered() -> None:
    called = {
        sub.name
        for machine in STATE_MACHINES
        for sub in machine.substitutions.values()
        if sub.kind == "function"
    }
    assert called and called <= set(functions.WORKFLOW_FUNCTIONS)
