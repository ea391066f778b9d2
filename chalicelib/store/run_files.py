"""Where an invoice run keeps its work in the data bucket: one place names every key.

``runs/<run id>/`` holds the run's snapshot of the period (``period-inputs.json``), its work list
(``customers.json``) and, per customer, the bill partitions to price (``inputs.json``), the priced
usage and its summary, and the composed and taxed invoice. ``runs/periods/<period>/`` holds the
period's latest full reconciliation.
"""

from __future__ import annotations

from chalicelib.store.objects import RUNS_PREFIX


def run_prefix(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}/"


def customers_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}customers.json"


def period_inputs_key(run_id: str) -> str:
    """Every current partition of the period, owned or not (the reconciliation reads it)."""
    return f"{run_prefix(run_id)}period-inputs.json"


def customer_prefix(run_id: str, customer_id: str) -> str:
    return f"{run_prefix(run_id)}customers/{customer_id}/"


def priced_summary_key(run_id: str, customer_id: str) -> str:
    return f"{customer_prefix(run_id, customer_id)}priced-usage.json"


def period_reconciliation_key(period: str) -> str:
    return f"{RUNS_PREFIX}periods/{period}/reconciliation.json"
