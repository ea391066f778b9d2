"""Shared fixtures. Tests that need AWS run on the embedded AWS (one per test process)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# chalicelib reads its configuration on import: name the local stage before anything imports it.
os.environ.setdefault("REBILL_STAGE", "local")

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL_DATA = ROOT.parent / "shared" / "data" / "external"


@pytest.fixture(scope="session")
def stack() -> Iterator[object]:
    from localaws.stack import LocalStack

    with LocalStack() as running:
        yield running


@pytest.fixture
def clean_stack(stack: object) -> Iterator[object]:
    """The embedded AWS with empty tables and bucket: no test sees another's leftovers."""
    stack.reset_data()  # type: ignore[attr-defined]
    yield stack
