"""The embedded Lambda runtime: moto's invocation path reaches the real Chalice handlers.

This replaces a private moto method (docs/design.md §3). If a moto upgrade moves it, these tests
fail loudly instead of the stack silently echoing canned payloads.
"""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any

import pytest

from localaws.stack import MOTO_LAMBDA_PATCH_POINT

pytestmark = pytest.mark.stack


def test_moto_still_has_the_patch_point() -> None:
    module_name, class_name, method = MOTO_LAMBDA_PATCH_POINT
    cls = getattr(importlib.import_module(module_name), class_name)
    assert callable(getattr(cls, method))
    from moto.awslambda.models import LambdaFunction

    # moto's own call sites pass the event as the `event` keyword.
    source = inspect.getsource(LambdaFunction.invoke)
    assert "self._invoke_lambda(event=" in source


def test_direct_invoke_runs_the_real_handler(clean_stack: Any) -> None:
    from chalicelib.config import get_config
    from chalicelib.store import invoices

    payload = {
        "run_id": "run-dispatch",
        "batch": {"batch": 0, "customer_ids": ["acme"]},
        "error": {
            "Error": "MissingFxRate",
            "Cause": json.dumps(
                {"errorMessage": "no USD→EUR rate for 2026-10", "errorType": "MissingFxRate"}
            ),
        },
    }
    response = clean_stack.client("lambda").invoke(
        FunctionName=get_config().function_name("record_failure"), Payload=json.dumps(payload)
    )
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read())["status"] == "failed"
    [result] = invoices.run_results("run-dispatch")
    assert result["error"] == {"type": "MissingFxRate", "message": "no USD→EUR rate for 2026-10"}


def test_handler_errors_surface_as_lambda_function_errors(clean_stack: Any) -> None:
    from chalicelib.config import get_config

    response = clean_stack.client("lambda").invoke(
        FunctionName=get_config().function_name("finish_run"), Payload=json.dumps({})
    )
    assert response.get("FunctionError") == "Handled"
    body = json.loads(response["Payload"].read())
    assert body["errorType"] == "KeyError"
