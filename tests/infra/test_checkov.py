"""checkov on the synthesized prod template: every failed check is fixed or allowlisted.

checkov runs from its own virtualenv (``make checkov`` installs the pinned version into
``.local/checkov``: its dependencies clash with the project's). The allowlist is
``infra/checkov-allowlist.txt``: one line per accepted finding, with its reason.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import ROOT, Synthesized

CHECKOV = ROOT / ".local" / "checkov" / "bin" / "checkov"
ALLOWLIST = ROOT / "infra" / "checkov-allowlist.txt"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Allowed:
    check: str
    resource: str  # a logical-id pattern
    reason: str

    def matches(self, check: str, logical_id: str) -> bool:
        return check == self.check and fnmatch.fnmatchcase(logical_id, self.resource)


def read_allowlist(path: Path) -> list[Allowed]:
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        assert len(parts) == 3 and parts[0].startswith("CKV"), f"{path.name}:{number}: {line}"
        entries.append(Allowed(*parts))
    return entries


def run_checkov(template: Path) -> dict[str, Any]:
    assert CHECKOV.exists(), "checkov is not installed: run `make checkov`"
    result = subprocess.run(
        [str(CHECKOV), "-f", str(template), "--framework", "cloudformation", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: some check failed
    report = json.loads(result.stdout)
    assert isinstance(report, dict), "checkov found no CloudFormation template"
    return report


def test_the_allowlist_gives_a_reason_for_every_entry() -> None:
    entries = read_allowlist(ALLOWLIST)
    assert entries
    for entry in entries:
        assert len(entry.reason.split()) >= 5, entry
    assert Allowed("CKV_AWS_116", "Ingest*", "r").matches("CKV_AWS_116", "IngestPart")
    assert not Allowed("CKV_AWS_116", "IngestPart", "r").matches("CKV_AWS_116", "IngestBill")


def test_checkov_fails_no_check_that_is_not_allowlisted(prod: Synthesized) -> None:
    report = run_checkov(prod.template_path)
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    entries = read_allowlist(ALLOWLIST)
    failed = [
        (c["check_id"], c["resource"].split(".", 1)[1], c["check_name"])
        for c in report["results"]["failed_checks"]
    ]
    unexpected = [f for f in failed if not any(e.matches(f[0], f[1]) for e in entries)]
    assert not unexpected, "fix these or allowlist them with a reason:\n" + "\n".join(
        f"{check} {resource}: {name}" for check, resource, name in unexpected
    )
    stale = [e for e in entries if not any(e.matches(f[0], f[1]) for f in failed)]
    assert not stale, f"fixed, remove from {ALLOWLIST.name}: {stale}"
    print(f"checkov: {summary['passed']} passed, {summary['failed']} failed (all allowlisted)")
