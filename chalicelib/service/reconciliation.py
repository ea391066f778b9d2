"""The reconciliation at the end of an invoice run: every cent of the period's bills accounted for.

FinishRun reads the bill data the run priced (the period's current partitions, as PrepareRun
snapshotted them, with every customer's accounts) and the priced-usage summaries each batch of
customers wrote (one file per batch, not one per customer), and checks — with the pure
:func:`chalicelib.billing.reconcile.reconcile` — that the bills' BilledCost equals what was
billed to customers, plus what the reseller retained, plus what no customer owns. The result is
kept on the run and, for a run over every customer, as the period's reconciliation that the
billing report shows.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.billing.priced_usage import PricedUsage
from chalicelib.billing.reconcile import bill_ledger, reconcile
from chalicelib.billing.reference import Account
from chalicelib.config import get_config
from chalicelib.errors import BillingError
from chalicelib.observability import logger, metrics
from chalicelib.service.invoice_stages import batch_summaries
from chalicelib.store import objects
from chalicelib.store.run_files import (
    accounts_key,
    customers_key,
    period_inputs_key,
    period_reconciliation_key,
)

Payload = dict[str, Any]


def reconcile_run(run_id: str, period: str, customer_ids: list[str], whole_period: bool) -> Payload:
    """The run's reconciliation as stored on the run (``balanced``, per currency, the gaps)."""
    accounts = [
        Account.from_dict({**doc, "customer_id": customer_id})
        for customer_id, docs in objects.get_json(accounts_key(run_id)).items()
        for doc in docs
    ]
    batches = len(objects.get_json(customers_key(run_id)))
    summaries = batch_summaries(run_id, batches)
    priced = [PricedUsage.from_dict(summaries[c]) for c in customer_ids if c in summaries]
    with tempfile.TemporaryDirectory(dir=get_config().tmp_dir) as tmp:
        bills = objects.download_many(objects.get_json(period_inputs_key(run_id)), Path(tmp))
        result = reconcile(bill_ledger(period, accounts, bills), priced)
    stored = {
        **result.to_dict(),
        "run_id": run_id,
        "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if whole_period:
        objects.put_json(period_reconciliation_key(period), stored)
    if not result.balanced:
        metrics.add_metric(name="RunsNotReconciled", unit=MetricUnit.Count, value=1)
        logger.warning("the bills do not reconcile", extra={"reconciliation": stored})
    return stored


def reconcile_run_safely(
    run_id: str, period: str, customer_ids: list[str], whole_period: bool
) -> Payload:
    """As :func:`reconcile_run`, but a reconciliation that cannot be made is reported on the run,
    not raised: the invoices are made by then, the run must close, and it says why it could not
    check them (a bill that cannot be read, or storage that did not answer)."""
    try:
        return reconcile_run(run_id, period, customer_ids, whole_period)
    except BillingError as error:
        message = str(error)
        logger.warning("reconciliation failed", extra={"error": message})
    except Exception as error:  # a check must not keep the run from closing
        message = f"the reconciliation could not be made: {type(error).__name__}: {error}"
        logger.exception("reconciliation failed")
    metrics.add_metric(name="RunsNotReconciled", unit=MetricUnit.Count, value=1)
    return {"period": period, "balanced": None, "error": message, "run_id": run_id}


def period_reconciliation(period: str) -> Payload | None:
    """The reconciliation of the latest run over every customer of ``period``, if any."""
    key = period_reconciliation_key(period)
    if objects.head(key) is None:
        return None
    stored: Payload = objects.get_json(key)
    return stored
