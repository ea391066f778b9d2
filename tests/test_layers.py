"""The layers of docs/design.md §1 hold by themselves: a layer that imports one it must not fails
here. Every import counts, the ones inside functions too.

    app.py, infra/, localaws/ ─▶ api/, workflow/ ─▶ service/ ─▶ store/ ─▶ billing/ ─▶ bill_files/
    (and every layer may use chalicelib.vocabulary, errors, functions, config, observability)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AWS_SDKS = ("boto3", "botocore", "pynamodb")

# layer -> what its modules must not import (packages of chalicelib, or top-level modules)
API, SERVICE, STORE, WORKFLOW, BILLING = (
    "chalicelib.api",
    "chalicelib.service",
    "chalicelib.store",
    "chalicelib.workflow",
    "chalicelib.billing",
)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "billing": (STORE, API, WORKFLOW, SERVICE, *AWS_SDKS),
    # The customer's documents (e-invoices) are made from the billing core's figures alone.
    "documents": (STORE, API, WORKFLOW, SERVICE, *AWS_SDKS),
    "bill_files": (STORE, API, WORKFLOW, SERVICE, BILLING, *AWS_SDKS),
    "store": (API, SERVICE, WORKFLOW),
    "service": (API, WORKFLOW, *AWS_SDKS),
    "api": (WORKFLOW, *AWS_SDKS),
    "workflow": (API, *AWS_SDKS),
}
# Modules every layer may import: they import nothing of Rebill's layers themselves.
LEAVES = ("chalicelib.vocabulary", "chalicelib.errors", "chalicelib.functions")


def imported_modules(source: str, module: str) -> Iterator[str]:
    """Every module ``source`` (the text of ``module``) imports, at any depth of the code."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield f"{base}.{node.module}" if node.module else base
            elif node.module:
                yield node.module
                # ``from chalicelib import store`` imports the package chalicelib.store
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(layer: str, files: dict[str, str]) -> list[str]:
    """``module imports forbidden`` for each forbidden import among ``files`` (module -> text)."""
    found = []
    for module, source in sorted(files.items()):
        for name in imported_modules(source, module):
            for banned in FORBIDDEN[layer]:
                if _within(name, banned):
                    found.append(f"{module} imports {name}")
    return found


def _layer_files(layer: str) -> dict[str, str]:
    folder = ROOT / "chalicelib" / layer
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): path.read_text()
        for path in sorted(folder.rglob("*.py"))
    }


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_one_it_must_not(layer: str) -> None:
    files = _layer_files(layer)
    assert files, f"chalicelib/{layer} has no modules"
    assert violations(layer, files) == []


@pytest.mark.parametrize("leaf", LEAVES)
def test_the_shared_modules_import_no_layer(leaf: str) -> None:
    path = ROOT / Path(*leaf.split(".")).with_suffix(".py")
    names = list(imported_modules(path.read_text(), leaf))
    assert [n for n in names if _within(n, "chalicelib")] == []


def test_no_two_workflow_modules_import_each_other() -> None:
    files = _layer_files("workflow")
    imports = {m: set(imported_modules(text, m)) for m, text in files.items()}
    pairs = [(a, b) for a in imports for b in imports[a] if b in imports and a in imports[b]]
    assert pairs == []


# --- the checker itself catches what it must ----------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "source"),
    [
        ("billing", "import boto3\n"),
        ("billing", "def f():\n    from chalicelib.store import invoices\n"),
        ("billing", "from chalicelib import store\n"),
        ("documents", "import boto3\n"),
        ("documents", "from chalicelib.store.objects import presigned_get\n"),
        ("bill_files", "from chalicelib.billing.money import ZERO\n"),
        ("store", "from chalicelib.service.invoices import issue_draft\n"),
        ("api", "from chalicelib.workflow.invoice_run import prepare_run\n"),
        ("api", "from ..workflow import invoice_run\n"),
        ("service", "import chalicelib.api.auth\n"),
    ],
)
def test_a_forbidden_import_is_found(layer: str, source: str) -> None:
    assert violations(layer, {f"chalicelib.{layer}.example": source}) != []


def test_an_allowed_import_is_not_a_violation() -> None:
    source = "from chalicelib.store import invoices\nfrom chalicelib.billing import lifecycle\n"
    assert violations("service", {"chalicelib.service.example": source}) == []
