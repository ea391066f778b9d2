"""The stages of an invoice run (docs/design.md §4.4): PrepareRun, then one task per batch of
customers that prices, composes, taxes and saves every customer of the batch.

PrepareRun snapshots the period's current bill data and the reference data (one scan), maps
accounts to customers and writes the work list as batches of at most :data:`BATCH_SIZE`
customers: each batch is one item of the state machine's Map. A batch task parses the shared
reference data once, reads what it needs of DynamoDB in batched reads, prices all its customers
in one DuckDB pass over their bill partitions, then composes, taxes and saves each customer's
invoice. One customer's failure is recorded for that customer and never stops the others of its
batch. The work passes between the stages as S3 objects under ``runs/<run id>/``
(:mod:`chalicelib.store.run_files`); the state machine carries only small JSON. Every stage is
safe to run again.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb

from chalicelib.billing.context import CustomerPeriod
from chalicelib.billing.invoice import compose_invoice, compute_tax
from chalicelib.billing.pricing import PricedUsage, price_usage, price_usage_batch
from chalicelib.config import get_config
from chalicelib.errors import BillingError, NotFound
from chalicelib.observability import logger
from chalicelib.service.customer_period import SharedReference, customer_period, rollover_balances
from chalicelib.service.run_invoices import save_invoice_over
from chalicelib.store import bills, invoices, objects, reference
from chalicelib.store.records import Doc
from chalicelib.store.run_files import (
    accounts_key,
    batch_priced_key,
    batch_summaries_key,
    batch_work_key,
    customers_key,
    period_inputs_key,
    reference_key,
)

# Customers per Map item. A batch of 100 prices ~1% of a 10,000-customer month in one pass and
# saves its invoices in well under a minute; see docs/scaling.md.
BATCH_SIZE = 100
# Concurrent downloads and invoice saves within one batch task (S3 and DynamoDB round trips).
IO_THREADS = 8
# Results are recorded this many at a time (one BatchWriteItem): the run's progress moves while
# a batch works, and a batch task that dies keeps the results it recorded.
RESULTS_AT_ONCE = 25

T = TypeVar("T")
R = TypeVar("R")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _in_threads(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    if len(items) <= 1 or IO_THREADS <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(min(IO_THREADS, len(items))) as pool:
        return list(pool.map(work, items))


# --- PrepareRun -------------------------------------------------------------------------------


def prepare_run(run_id: str, period: str, mode: str, wanted: list[str] | None) -> list[Doc]:
    """Snapshot the period's current bill data and the reference data, map accounts to
    customers, write the work list (``customers_key``: one item per batch); the batches, each
    ``{"batch": n, "customer_ids": [...]}``."""
    snapshot = reference.snapshot()
    customers = [doc["id"] for doc in snapshot["customers"]]
    if wanted:
        customers = [c for c in customers if c in set(wanted)]
    accounts: dict[str, list[Doc]] = snapshot["accounts"]
    owners: dict[tuple[str, str], list[str]] = {}
    for customer_id in customers:
        for account in accounts.get(customer_id, []):
            owners.setdefault((account["provider"], account["account_id"]), []).append(customer_id)
    inputs: dict[str, list[str]] = {c: [] for c in customers}
    everything: set[str] = set()
    for aggregate in bills.current_aggregates(period):
        everything.add(aggregate["parquet_key"])
        for owner in owners.get((aggregate["provider"], aggregate["account_id"]), []):
            inputs[owner].append(aggregate["parquet_key"])
    by_id = {doc["id"]: doc for doc in snapshot["customers"]}
    objects.put_json(
        reference_key(run_id),
        {name: snapshot[name] for name in ("settings", "plans", "price_lists")},
    )
    # Every customer's accounts, invoiced in this run or not: the reconciliation's owners.
    objects.put_json(accounts_key(run_id), accounts)
    work: list[Doc] = []
    for number, batch in enumerate(_batches(customers, BATCH_SIZE)):
        objects.put_json(
            batch_work_key(run_id, number),
            [
                {
                    "customer": by_id[c],
                    "accounts": accounts.get(c, []),
                    "subscriptions": snapshot["subscriptions"].get(c, []),
                    "inputs": sorted(set(inputs[c])),
                }
                for c in batch
            ],
        )
        work.append({"batch": number, "customer_ids": list(batch)})
    objects.put_json(customers_key(run_id), work)
    objects.put_json(period_inputs_key(run_id), sorted(everything))
    invoices.save_run(run_doc(run_id, period, mode, wanted, len(customers)))
    return work


def run_doc(
    run_id: str, period: str, mode: str, customer_ids: list[str] | None, customer_count: int
) -> Doc:
    """The run's record as it starts (what an earlier attempt recorded is kept)."""
    existing = existing_run(run_id)
    return {
        **existing,
        "run_id": run_id,
        "period": period,
        "mode": mode,
        "customer_ids": customer_ids,
        "status": "running",
        "customer_count": customer_count,
        "started_at": existing.get("started_at") or _now(),
    }


def existing_run(run_id: str) -> Doc:
    try:
        return dict(invoices.get_run(run_id))
    except NotFound:
        return {}


# --- one batch: price → compose → tax → save for each of its customers -------------------------


@dataclass
class _Customer:
    id: str
    inputs: list[str]
    context: CustomerPeriod | None = None
    summary: PricedUsage | None = None
    priced: Path | None = None  # the Parquet file holding its priced usage groups
    result: Doc | None = None  # set once the customer is done (failed, saved, unchanged)


def _failed(customer_id: str, error: Exception) -> Doc:
    return {
        "customer_id": customer_id,
        "status": "failed",
        "error": {"type": type(error).__name__, "message": str(error)},
    }


def invoice_batch(run_id: str, period: str, mode: str, batch: int) -> list[Doc]:
    """Invoice every customer of batch ``batch`` of the run; each customer's result, recorded
    on the run (batched writes, :data:`RESULTS_AT_ONCE` at a time). A customer that fails is
    recorded as failed with its error."""
    shared = SharedReference.from_snapshot(objects.get_json(reference_key(run_id)))
    work: list[Doc] = objects.get_json(batch_work_key(run_id, batch))
    customers = [_Customer(item["customer"]["id"], item["inputs"]) for item in work]
    ids = [c.id for c in customers]
    rollover = rollover_balances(ids, period)
    for customer, item in zip(customers, work, strict=True):
        try:
            customer.context = customer_period(
                period,
                item["customer"],
                item["accounts"],
                item["subscriptions"],
                shared,
                rollover[customer.id],
            )
            for account in customer.context.accounts:
                customer.context.price_list_id(account)  # a missing price list fails it alone
        except Exception as error:  # this customer's reference data: it fails alone
            customer.result = _failed(customer.id, error)
    with tempfile.TemporaryDirectory(dir=get_config().tmp_dir) as tmp:
        _price(run_id, batch, customers, Path(tmp))
        pointers = invoices.live_pointers(ids, period)
        drafts = invoices.get_invoices([p["invoice_id"] for p in pointers.values()])
        con = duckdb.connect()  # one for the batch; each customer reads with a cursor of it
        cursors = threading.Lock()  # a connection is not for several threads at once

        def finish(customer: _Customer) -> Doc:
            if customer.result is not None:
                return customer.result
            assert customer.context is not None and customer.priced is not None
            with cursors:
                cursor = con.cursor()
            try:
                invoice = compute_tax(
                    customer.context, compose_invoice(customer.context, customer.priced, cursor)
                )
                return save_invoice_over(
                    pointers.get(customer.id),
                    drafts,
                    run_id,
                    period,
                    customer.id,
                    mode,
                    invoice,
                    customer.priced,
                    cursor,
                )
            except Exception as error:  # one customer's failure never stops the others
                logger.warning(
                    "customer invoice failed",
                    extra={"customer_id": customer.id, "error": repr(error)},
                )
                return _failed(customer.id, error)
            finally:
                cursor.close()

        results: list[Doc] = []
        try:
            for chunk in _batches(customers, RESULTS_AT_ONCE):
                done = _in_threads(finish, chunk)
                invoices.record_results(run_id, done)
                results += done
        finally:
            con.close()
    return results


def _price(run_id: str, batch: int, customers: list[_Customer], tmp: Path) -> None:
    """Price the batch's customers in one DuckDB pass over the union of their bill partitions;
    if that pass fails, price each customer alone so that the failure is its customer's only.
    Writes the batch's priced usage and its customers' summaries (the reconciliation's)."""
    pricing = [c for c in customers if c.result is None]
    keys = sorted({key for c in pricing for key in c.inputs})
    local = dict(zip(keys, objects.download_many(keys, tmp / "in", IO_THREADS), strict=True))
    out = tmp / "priced-usage.parquet"
    summaries: dict[str, PricedUsage] = {}
    one_pass = False
    if pricing:
        try:
            contexts = [c.context for c in pricing if c.context is not None]
            summaries = price_usage_batch(contexts, [local[k] for k in keys], out)
            for customer in pricing:
                customer.priced = out
            one_pass = True
        except BillingError as error:
            logger.warning("batch pricing failed: each customer alone", extra={"error": str(error)})
            for customer in pricing:
                assert customer.context is not None
                alone = tmp / "alone" / f"{customer.id}.parquet"
                try:
                    summaries[customer.id] = price_usage(
                        customer.context, [local[k] for k in customer.inputs], alone
                    )
                    customer.priced = alone
                except Exception as failure:  # its own data: it fails alone
                    customer.result = _failed(customer.id, failure)
    for customer in pricing:
        if customer.result is None and customer.id in summaries:
            customer.summary = summaries[customer.id]
    if one_pass:  # kept with the run (priced alone, each customer's file stays in the task)
        objects.upload(out, batch_priced_key(run_id, batch))
    objects.put_json(
        batch_summaries_key(run_id, batch),
        {c.id: c.summary.to_dict() for c in customers if c.summary is not None},
    )


def record_batch_failure(
    run_id: str, customer_ids: list[str], error_type: str, message: str
) -> list[Doc]:
    """A batch task failed as a whole (after its retries): every customer of the batch that has
    no result yet is recorded as failed with that error; the run goes on with the others."""
    done = invoices.results_of(run_id, customer_ids)
    failed: list[Doc] = [
        {"customer_id": c, "status": "failed", "error": {"type": error_type, "message": message}}
        for c in customer_ids
        if c not in done
    ]
    invoices.record_results(run_id, failed)
    return failed


def batch_summaries(run_id: str, batches: int) -> Mapping[str, Doc]:
    """Every priced customer's summary, as the run's batches wrote them (one read per batch)."""
    found: dict[str, Doc] = {}
    for batch in range(batches):
        key = batch_summaries_key(run_id, batch)
        if objects.head(key) is not None:
            found.update(objects.get_json(key))
    return found
