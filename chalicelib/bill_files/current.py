"""Which files are a period's bill: the rules that keep every line counted once.

A period's bill is the set of *current versions*: each is one delivery of one report (a multi-part
AWS delivery named by its manifest, or a single file) and lists the bill files it is made of. A new
version is compared with each current one that shares an account with it:

1. **Same report** (the same manifest folder, or the same object key): the newer delivery wins.
2. **Same scope, at least as wide**: same provider and billing accounts, and every account of the
   current version is in the new one. It is a newer export of the same bill (a month-to-date
   export re-sent under another name or through another route): the newer delivery wins, the
   older version is replaced, in one switch.
3. **Otherwise**, if any line of the new version is already current in the other (same line
   key, :mod:`chalicelib.bill_files.line_keys`), the new version is *refused*: counting it would
   count those lines twice, and it does not replace the other. Lines of their own (another
   subscription, another resource group of the same account) are added beside it.

Byte-identical files are caught before any of this (the file's content hash) and recorded as
duplicates. Nothing here touches AWS: :mod:`chalicelib.service.bill_versions` reads and switches
the period's current set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Version:
    """One delivery of a report, as far as one period goes."""

    provider: str
    report: str  # the manifest's report folder, or the single file's key
    version: str  # the delivery's assembly / execution id, or the single file's bill id
    delivered_at: str  # ISO timestamp: the newer delivery wins
    bill_ids: tuple[str, ...]
    billing_accounts: tuple[str, ...]  # sorted
    accounts: tuple[str, ...]  # sorted '<provider>/<sub-account>' of the version's lines
    keys: tuple[str, ...] = ()  # the files' object keys, for messages

    @property
    def slot(self) -> str:
        return f"{self.provider}#{self.report}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "report": self.report,
            "version": self.version,
            "delivered_at": self.delivered_at,
            "bill_ids": list(self.bill_ids),
            "billing_accounts": list(self.billing_accounts),
            "accounts": list(self.accounts),
            "keys": list(self.keys),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Version:
        return cls(
            provider=str(doc["provider"]),
            report=str(doc["report"]),
            version=str(doc["version"]),
            delivered_at=str(doc["delivered_at"]),
            bill_ids=tuple(doc.get("bill_ids") or ()),
            billing_accounts=tuple(doc.get("billing_accounts") or ()),
            accounts=tuple(doc.get("accounts") or ()),
            keys=tuple(doc.get("keys") or ()),
        )

    def shares_accounts(self, other: Version) -> bool:
        return bool(set(self.accounts) & set(other.accounts))

    def covers(self, other: Version) -> bool:
        """Same scope as ``other`` and at least as wide: a newer export of the same bill."""
        return (
            self.provider == other.provider
            and self.billing_accounts == other.billing_accounts
            and set(self.accounts) >= set(other.accounts)
        )

    def describe(self) -> str:
        return self.keys[0] if self.keys else self.report


@dataclass(frozen=True)
class Outcome:
    status: Literal["current", "superseded", "refused"]
    replaced: tuple[Version, ...] = ()
    by: Version | None = None  # the newer version (superseded) or the colliding one (refused)
    overlap: int = 0  # lines of the new version already current in ``by`` (refused)
    message: str | None = None
    already: bool = False  # the version was current already (the same delivery again)


def decide(
    current: Mapping[str, Version], new: Version, overlap: Callable[[Version], int]
) -> Outcome:
    """What becomes of ``new`` among the period's ``current`` versions (by slot).

    ``overlap(other)`` counts the lines of ``new`` whose key is current in ``other``; it is asked
    only of versions that share an account with ``new`` and that ``new`` does not replace.
    """
    replaced: list[Version] = []
    for slot, other in sorted(current.items()):
        if slot == new.slot and other.version == new.version:
            return Outcome("current", already=True)
        if slot == new.slot or (other.shares_accounts(new) and new.covers(other)):
            if other.delivered_at > new.delivered_at:
                return Outcome(
                    "superseded",
                    by=other,
                    message=f"a newer delivery of the same bill is current: {other.describe()}",
                )
            replaced.append(other)
            continue
        if not other.shares_accounts(new):
            continue
        lines = overlap(other)
        if lines:
            return Outcome(
                "refused",
                by=other,
                overlap=lines,
                message=_refusal(new, other, lines),
            )
    return Outcome("current", replaced=tuple(replaced))


def _refusal(new: Version, other: Version, lines: int) -> str:
    missing = sorted(set(other.accounts) - set(new.accounts))
    if new.provider != other.provider or new.billing_accounts != other.billing_accounts:
        why = (
            f"it is not a newer export of the same bill (billing account "
            f"{', '.join(new.billing_accounts) or '-'} against "
            f"{', '.join(other.billing_accounts) or '-'})"
        )
    else:
        shown = ", ".join(a.split("/", 1)[-1] for a in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        why = f"it does not replace that file: it lacks account(s) {shown}{more} that it has"
    return (
        f"{lines} line(s) of this file are already current in {other.describe()} "
        f"(bill {other.bill_ids[0] if other.bill_ids else '-'}); {why}. Counting both would "
        "count those lines twice, so this file is refused and kept in quarantine."
    )


@dataclass
class CurrentSet:
    """A period's current versions, by slot, and the lock of the record that holds them."""

    period: str
    versions: dict[str, Version] = field(default_factory=dict)
    lock: int = 0

    def bill_ids(self) -> set[str]:
        return {bill_id for v in self.versions.values() for bill_id in v.bill_ids}

    def after(self, outcome: Outcome, new: Version) -> dict[str, Version]:
        """The versions once ``new`` is current (``outcome`` from :func:`decide`)."""
        versions = {slot: v for slot, v in self.versions.items() if v not in outcome.replaced}
        versions[new.slot] = new
        return versions
