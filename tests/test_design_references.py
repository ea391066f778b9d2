"""Every reference to the design ("docs/design.md §4.2", "[design §4.2](design.md)") names a
section that docs/design.md has, and every Markdown link between the docs finds its file."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
SEARCHED = (
    "app.py",
    "chalicelib",
    "infra",
    "localaws",
    "bench",
    "tests",
    "docs",
    "portal",
    "README.md",
)
SUFFIXES = {".py", ".md", ".js", ".html"}


def sections() -> set[str]:
    found = set()
    for line in DESIGN.read_text().splitlines():
        heading = re.match(r"#{2,3} ([0-9]+(?:\.[0-9]+)?)\.? ", line)
        if heading:
            found.add(heading.group(1))
    return found


def references(text: str) -> list[str]:
    """The section numbers a text cites, ``docs/design.md §3, §5`` giving both."""
    cited = []
    for match in re.finditer(r"design(?:\.md)? §[0-9][0-9.]*(?:, §[0-9][0-9.]*)*", text):
        cited.extend(n.rstrip(".") for n in re.findall(r"§([0-9][0-9.]*)", match.group(0)))
    return cited


def _files() -> list[Path]:
    files: list[Path] = []
    for name in SEARCHED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        else:
            files += [p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    return [p for p in files if p != Path(__file__).resolve()]


def test_the_design_has_the_sections_it_promises() -> None:
    assert {"1", "2", "3", "4.1", "4.2", "4.3", "4.4", "4.5", "5.1", "6", "9"} <= sections()


def test_every_design_reference_names_an_existing_section() -> None:
    known = sections()
    broken = [
        f"{path.relative_to(ROOT)}: §{number}"
        for path in _files()
        for number in references(path.read_text(errors="replace"))
        if number not in known
    ]
    assert broken == []


def test_no_reference_to_a_design_outside_the_repository() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path in _files()
        if re.search(r"\bDESIGN(\.md)? §", path.read_text(errors="replace"))
    ]
    assert stale == []


def test_links_between_the_docs_find_their_files() -> None:
    missing = []
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:\s]+\.md)(?:#[^)]*)?\)", doc.read_text()):
            if not (doc.parent / target).is_file():
                missing.append(f"{doc.relative_to(ROOT)} → {target}")
    assert missing == []


def test_the_reference_reader_reads_both_forms() -> None:
    assert references("see docs/design.md §4.2 step 3") == ["4.2"]
    assert references("([design §1, §5](design.md))") == ["1", "5"]
    assert references("(DESIGN §4.1)") == []
