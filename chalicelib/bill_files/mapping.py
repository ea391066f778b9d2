"""The contract between a format mapper and the normalizer: SQL for each normalized column.

A mapper (``aws_cur``, ``focus``, ``gcp``, ``azure``) looks at a file's :class:`Columns` and
returns a :class:`Mapping`: one SQL expression over the relation ``src`` per column of
:mod:`chalicelib.bill_files.schema`, plus what the normalizer needs to judge finality.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.bill_files import sql
from chalicelib.bill_files.schema import COLUMN_NAMES

# Filled by the normalizer, not by mappers.
GENERIC_COLUMNS = ("LineKey", "SourceFileId")


@dataclass(frozen=True)
class Mapping:
    format: str
    select: dict[str, str]
    # SQL for the line's invoice id, or None when the format carries none (then the bill is
    # never reported final: see chalicelib.bill_files.normalize).
    invoice_id: str | None
    # SQL for the provider's own identity of a line (AWS: line item id and time interval), or
    # None when the format has none: the line key is then made of the line's content
    # (chalicelib.bill_files.line_keys).
    line_id: str | None = None

    def __post_init__(self) -> None:
        expected = set(COLUMN_NAMES) - set(GENERIC_COLUMNS)
        missing = expected - set(self.select)
        extra = set(self.select) - expected
        if missing or extra:  # a programming error in a mapper, never a file problem
            raise ValueError(f"mapping {self.format}: missing {missing}, unexpected {extra}")


# ProviderName / provider text -> provider code (docs/design.md §4.1). Matched on lower-cased text.
PROVIDER_CODES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("aws", "amazon web services", "amazon web services, inc.", "amazon"), "aws"),
    (("microsoft", "azure", "microsoft azure", "microsoft corporation"), "azure"),
    (("google cloud", "google", "gcp", "google cloud platform", "google llc"), "gcp"),
    (("oracle", "oci", "oracle cloud infrastructure", "oracle corporation"), "oci"),
)


def provider_code(text: str) -> str:
    """SQL mapping a provider name (text, empty as NULL) to aws | azure | gcp | oci | other."""
    pairs = tuple((names, sql.lit(code)) for names, code in PROVIDER_CODES)
    return sql.case_map(f"lower({text})", pairs, "'other'")


# Normalized ChargeCategory spelled any case -> canonical spelling (FOCUS values).
def charge_category(expr: str) -> str:
    canonical = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
    pairs = tuple(((c.lower(),), sql.lit(c)) for c in canonical)
    # Values outside FOCUS are kept billable but flagged: Adjustment
    # (docs/design.md §4.2 step 3).
    return sql.case_map(f"lower({expr})", pairs, "'Adjustment'")
