"""Fixtures of the infrastructure tests: one offline synthesis of the CDK app per stage.

``chalice package`` (run by ``chalice.cdk``) would download the Lambda wheels of
``requirements.txt``; the synthesis here packages a copy of the project with no third-party
requirements instead, so it needs no network and the template is the same.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Read by the jsii runtime (Node.js) when aws_cdk is first imported: the banner is noise here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,21")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Synthesized:
    stage: str
    stack: Any  # infra.stack.RebillStack
    template: dict[str, Any]
    template_path: Path
    warnings: list[str]
    errors: list[str]
    seconds: float


def stage_source(dest: Path) -> Path:
    """A copy of the Chalice project (app.py, chalicelib, .chalice) without requirements."""
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "app.py", dest / "app.py")
    shutil.copytree(
        ROOT / "chalicelib", dest / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    (dest / ".chalice").mkdir()
    shutil.copy2(ROOT / ".chalice" / "config.json", dest / ".chalice" / "config.json")
    (dest / "requirements.txt").write_text("")
    return dest


def synthesize(stage: str, workdir: Path, **context: str) -> Synthesized:
    import aws_cdk as cdk

    from infra.app import build

    source = stage_source(workdir / "src")
    started = time.perf_counter()
    with contextlib.chdir(workdir):  # chalice.cdk packages into ./chalice.out
        app = cdk.App(outdir=str(workdir / "cdk.out"), context={"stage": stage, **context})
        stack = build(app, source_dir=source)
        assembly = app.synth()
    seconds = time.perf_counter() - started
    artifact = assembly.get_stack_by_name(stack.stack_name)
    levels = cdk.cx_api.SynthesisMessageLevel

    def messages(level: Any) -> list[str]:
        return [str(m.entry.data) for m in artifact.messages if m.level == level]

    return Synthesized(
        stage=stage,
        stack=stack,
        template=artifact.template,
        template_path=Path(artifact.template_full_path),
        warnings=messages(levels.WARNING),
        errors=messages(levels.ERROR),
        seconds=seconds,
    )


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("prod", tmp_path_factory.mktemp("synth-prod"))


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize("dev", tmp_path_factory.mktemp("synth-dev"))


@pytest.fixture(scope="session")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """prod with the optional settings on: ``-c waf=true -c kms=true`` and an SES identity for
    invoice emails (``-c email_identity=billing@example.com``)."""
    return synthesize(
        "prod",
        tmp_path_factory.mktemp("synth-hardened"),
        waf="true",
        kms="true",
        email_identity="billing@example.com",
    )
