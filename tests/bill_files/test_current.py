"""Which delivery is current: the rules of chalicelib.bill_files.current, case by case."""

from __future__ import annotations

from chalicelib.bill_files.current import CurrentSet, Version, decide


def version(
    report: str,
    at: str,
    accounts: tuple[str, ...] = ("aws/1", "aws/2"),
    payer: str = "P",
    provider: str = "aws",
    name: str | None = None,
) -> Version:
    return Version(
        provider=provider,
        report=report,
        version=name or f"{report}@{at}",
        delivered_at=at,
        bill_ids=(f"bill-{report}-{at}",),
        billing_accounts=(payer,),
        accounts=accounts,
        keys=(f"bills/{report}",),
    )


def never(_: Version) -> int:
    raise AssertionError("line overlap asked where the rules need none")


def test_the_first_delivery_of_a_period_is_current() -> None:
    outcome = decide({}, version("a.csv", "2026-10-05"), never)
    assert outcome.status == "current" and outcome.replaced == ()


def test_the_same_delivery_again_is_current_already() -> None:
    old = version("a.csv", "2026-10-05")
    assert decide({old.slot: old}, old, never).already


def test_a_newer_file_under_the_same_key_replaces_the_older() -> None:
    old = version("a.csv", "2026-10-05")
    new = version("a.csv", "2026-10-06")
    outcome = decide({old.slot: old}, new, never)
    assert outcome.status == "current" and outcome.replaced == (old,)


def test_a_newer_export_of_the_same_bill_under_another_name_replaces_the_older() -> None:
    old = version("cur-2026-10.csv.gz", "2026-10-05")
    new = version("cur-2026-10(1).csv.gz", "2026-10-06", accounts=("aws/1", "aws/2", "aws/3"))
    outcome = decide({old.slot: old}, new, never)
    assert outcome.status == "current" and outcome.replaced == (old,)
    assert CurrentSet("2026-10", {old.slot: old}).after(outcome, new) == {new.slot: new}


def test_an_older_export_arriving_late_is_superseded() -> None:
    current = version("b.csv", "2026-10-06")
    late = version("a.csv", "2026-10-05")
    outcome = decide({current.slot: current}, late, never)
    assert outcome.status == "superseded" and outcome.by == current


def test_a_file_lacking_accounts_whose_lines_are_current_is_refused() -> None:
    current = version("full.csv", "2026-10-05")
    part = version("part.csv", "2026-10-06", accounts=("aws/1",))
    outcome = decide({current.slot: current}, part, lambda other: 7)
    assert outcome.status == "refused" and outcome.by == current and outcome.overlap == 7
    assert outcome.message is not None
    assert "7 line(s)" in outcome.message and "bills/full.csv" in outcome.message
    assert "lacks account(s) 2" in outcome.message


def test_another_payers_file_with_the_same_lines_is_refused() -> None:
    current = version("a.csv", "2026-10-05", payer="P")
    other = version("b.csv", "2026-10-06", payer="Q")
    outcome = decide({current.slot: current}, other, lambda _: 3)
    assert outcome.status == "refused"
    assert outcome.message is not None and "billing account Q against P" in outcome.message


def test_a_file_of_other_lines_of_the_same_accounts_is_added() -> None:
    """Two exports scoped to two resource groups of one subscription: no line in both."""
    current = version("rg-a.csv", "2026-10-05", accounts=("azure/sub",), provider="azure")
    other = version("rg-b.csv", "2026-10-06", accounts=("azure/sub", "azure/sub2"), payer="Q")
    outcome = decide({current.slot: current}, other, lambda _: 0)
    assert outcome.status == "current" and outcome.replaced == ()


def test_files_of_other_accounts_are_never_compared() -> None:
    current = version("a.csv", "2026-10-05", accounts=("aws/1",), payer="P")
    other = version("b.csv", "2026-10-06", accounts=("aws/9",), payer="Q")
    outcome = decide({current.slot: current}, other, never)
    assert outcome.status == "current" and outcome.replaced == ()


def test_a_replacement_never_touches_other_bills() -> None:
    mine = version("a.csv", "2026-10-05")
    theirs = version("q.csv", "2026-10-05", accounts=("aws/9",), payer="Q")
    new = version("a2.csv", "2026-10-06")
    outcome = decide({mine.slot: mine, theirs.slot: theirs}, new, never)
    after = CurrentSet("2026-10", {mine.slot: mine, theirs.slot: theirs}).after(outcome, new)
    assert after == {theirs.slot: theirs, new.slot: new}
