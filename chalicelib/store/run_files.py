"""Where an invoice run keeps its work in the data bucket: one place names every key.

``runs/<run id>/`` holds the run's snapshot of the period (``period-inputs.json``), of the
reference data every batch shares (``reference.json``: settings, plans, price lists) and of every
customer's accounts (``accounts.json``, for the reconciliation), its work list (``customers.json``:
the batches of customers, one Map item each) and, per batch, its customers with their accounts,
subscriptions and bill partitions (``work.json``), the batch's priced usage (one Parquet file)
and every customer's priced-usage summary (one JSON file). ``runs/periods/<period>/`` holds the
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


def reference_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}reference.json"


def accounts_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}accounts.json"


def batch_prefix(run_id: str, batch: int) -> str:
    return f"{run_prefix(run_id)}batches/{batch:05d}/"


def batch_work_key(run_id: str, batch: int) -> str:
    return f"{batch_prefix(run_id, batch)}work.json"


def batch_priced_key(run_id: str, batch: int) -> str:
    return f"{batch_prefix(run_id, batch)}priced-usage.parquet"


def batch_summaries_key(run_id: str, batch: int) -> str:
    """Every priced customer of the batch: customer id → its priced-usage summary."""
    return f"{batch_prefix(run_id, batch)}priced-usage.json"


def period_reconciliation_key(period: str) -> str:
    return f"{RUNS_PREFIX}periods/{period}/reconciliation.json"
