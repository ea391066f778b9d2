"""An invoice run end to end through the public API of the embedded stack, phase by phase.

    python -m bench.bench_runs [--customers 1000] [--rows 1000000] [--threads 4] [--port 8870]

Starts ``python -m localaws serve`` in a subprocess with a fresh data directory under /tmp,
then, through the API only (like a reseller's script would):

1. create — a price list, N customers and 2 AWS accounts each (``--threads`` client threads);
2. ingest — a legacy CUR of ``--rows`` lines over those 2·N accounts (plus the payer's own),
   made by ``localaws/synthetic_cur.py`` and cached under ``bench/out/``, uploaded through
   ``POST /bills/upload-url``; waits until the bill is processed;
3. run — ``POST /invoice-runs`` in ``draft`` mode, polled until it is finished; inside the run,
   from the execution's history: prepare (PrepareRun), customers (the Map) and finish
   (FinishRun and the announcement).

The baseline, in the same run and on the same machine load: the pure pricing engine
(:func:`chalicelib.billing.pricing.price_usage_batch`) pricing the same customers over the same
normalized lines in one pass, in this process. The run's time is also printed as a ratio to it.
``--digest`` prints a digest of every invoice's total, to compare two versions of the code.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PERIOD = "2026-10"
PAYER = "999999999999"
PRICE_LIST: dict[str, Any] = {
    "id": "standard",
    "name": "Standard",
    "default": {"type": "markup", "percent": "10"},
    "rules": [
        {"id": "s3", "match": {"service": "AmazonS3"}, "type": "markup", "percent": "5"},
        {
            "id": "m5",
            "match": {"usage_type": "BoxUsage:m5.large"},
            "type": "discount",
            "percent": "2",
            "basis": "list",
        },
    ],
}


def customer_id(i: int) -> str:
    return f"c{i:05d}"


def account_ids(i: int) -> tuple[str, str]:
    return f"{200_000_000_000 + 2 * i:012d}", f"{200_000_000_000 + 2 * i + 1:012d}"


# --- the stack in a subprocess ------------------------------------------------------------------


@contextmanager
def served(port: int) -> Iterator[dict[str, str]]:
    """``python -m localaws serve`` on a fresh data dir; yields its credentials file's content."""
    work = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    credentials = work / "credentials.json"
    log = (work / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localaws",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(work / "data"),
            "--credentials",
            str(credentials),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "REBILL_STAGE": "local"},
    )
    try:
        deadline = time.monotonic() + 180
        while not credentials.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the stack did not start; see {work / 'serve.log'}")
            time.sleep(0.5)
        time.sleep(0.5)
        yield {**json.loads(credentials.read_text()), "work": str(work)}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, reply = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {reply}")
        return reply


# --- phases -------------------------------------------------------------------------------------


def create(api: Api, customers: int, threads: int) -> None:
    api.ok("POST", "/price-lists", PRICE_LIST)

    def one(i: int) -> None:
        cid = customer_id(i)
        api.ok(
            "POST",
            "/customers",
            {"id": cid, "name": f"Customer {i}", "currency": "USD", "price_list_id": "standard"},
        )
        for account in account_ids(i):
            api.ok("POST", f"/customers/{cid}/accounts", {"provider": "aws", "account_id": account})

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(one, i) for i in range(customers)]:
            future.result()


def bill_file(customers: int, rows: int) -> Path:
    from localaws import synthetic_cur

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"runs-cur-{customers}c-{rows}.csv.gz"
    if not path.exists():
        started = time.perf_counter()
        accounts = [a for i in range(customers) for a in account_ids(i)]
        partial = path.with_name(path.name + ".partial")
        synthetic_cur.generate_legacy_cur(
            partial, rows=rows, period=PERIOD, payer=PAYER, accounts=accounts
        )
        partial.rename(path)
        print(f"  generated {path.name} in {time.perf_counter() - started:.0f}s", flush=True)
    return path


def _upload(api: Api, path: Path, name: str) -> str:
    upload = api.ok("POST", "/bills/upload-url", {"filename": f"bench/{name}"})
    request = urllib.request.Request(
        upload["upload_url"],
        method="PUT",
        data=path.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(request, timeout=900) as response:
        response.read()
    return str(upload["key"])


def _bill(api: Api, key: str) -> dict[str, Any]:
    """The bill record of ``key`` once it is taken in (or not), polling every status."""
    while True:
        for status in ("processed", "failed", "refused", "duplicate", "superseded"):
            for bill in api.ok("GET", f"/bills?status={status}&limit=100")["items"]:
                if bill["key"] == key:
                    return dict(bill)
        time.sleep(1)


def ingest(api: Api, path: Path) -> dict[str, Any]:
    """Upload the bill; wait until it is processed. A bill that failed for a reason worth
    retrying (the embedded S3 under heavy load) is uploaded once more under another name."""
    for attempt in range(2):
        bill = _bill(api, _upload(api, path, f"{attempt}-{path.name}"))
        if bill["status"] == "processed":
            return bill
        print(f"  the bill was not processed: {bill['status']}: {bill.get('error')}", flush=True)
        if not bill.get("retryable"):
            break
    raise RuntimeError("the bill was not processed")


def invoice_run(api: Api) -> dict[str, Any]:
    started = api.ok("POST", "/invoice-runs", {"period": PERIOD, "mode": "draft"})
    while True:
        run = api.ok("GET", f"/invoice-runs/{started['run_id']}")
        if run["status"] != "running":
            return dict(run)
        time.sleep(1)


def run_phases(endpoint: str, run_id: str) -> dict[str, float] | None:
    """Seconds of PrepareRun, the Map and FinishRun + announcement, from the execution history."""
    import boto3

    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        machine = next(
            m["stateMachineArn"]
            for m in sfn.list_state_machines()["stateMachines"]
            if m["name"].endswith("generate-invoices")
        )
        arn = machine.replace(":stateMachine:", ":execution:") + f":{run_id}"
        events: list[dict[str, Any]] = []
        token = None
        while True:
            page = sfn.get_execution_history(
                executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                break
    except Exception as error:  # the history is a bonus: the phases total is measured anyway
        print(f"  (no execution history: {type(error).__name__}: {error})")
        return None

    def at(kind: str, name: str) -> datetime | None:
        for event in events:
            details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
            if event["type"] == kind and details and details.get("name") == name:
                return event["timestamp"]  # type: ignore[no-any-return]
        return None

    start, end = events[0]["timestamp"], events[-1]["timestamp"]
    map_in, map_out = (
        at("MapStateEntered", "InvoiceCustomers"),
        at("MapStateExited", "InvoiceCustomers"),
    )
    if map_in is None or map_out is None:
        return None
    return {
        "prepare": (map_in - start).total_seconds(),
        "customers": (map_out - map_in).total_seconds(),
        "finish": (end - map_out).total_seconds(),
    }


def digest(api: Api) -> tuple[int, Decimal, str]:
    """Every invoice of the period: how many, Σ total, a hash of (customer, total) pairs."""
    pairs: list[str] = []
    total = Decimal(0)
    cursor = None
    while True:
        page = api.ok(
            "GET", f"/invoices?period={PERIOD}&limit=100" + (f"&cursor={cursor}" if cursor else "")
        )
        for invoice in page["items"]:
            pairs.append(f"{invoice['customer_id']}={invoice['total']}")
            total += Decimal(str(invoice["total"]))
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return len(pairs), total, hashlib.sha256("\n".join(sorted(pairs)).encode()).hexdigest()[:16]


def baseline(endpoint: str, customers: int) -> tuple[float, int]:
    """The pricing engine alone over the normalized lines the stack holds: seconds, lines."""
    import boto3

    from chalicelib.billing.context import CustomerPeriod
    from chalicelib.billing.pricing import price_usage_batch
    from chalicelib.billing.reference import Account, Customer, PriceList, Settings

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "data" in b["Name"])
    with tempfile.TemporaryDirectory() as tmp:
        files: list[Path] = []
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="normalized/"
        ):
            for item in page.get("Contents", []):
                if item["Key"].endswith(".parquet") and f"period={PERIOD}" in item["Key"]:
                    local = Path(tmp) / f"{len(files)}.parquet"
                    s3.download_file(bucket, item["Key"], str(local))
                    files.append(local)
        settings = Settings.from_dict({"default_price_list_id": "standard"})
        price_lists = {"standard": PriceList.from_dict(PRICE_LIST)}
        cps = [
            CustomerPeriod(
                period=PERIOD,
                customer=Customer(id=customer_id(i), currency="USD", price_list_id="standard"),
                accounts=tuple(Account(customer_id(i), "aws", a) for a in account_ids(i)),
                subscriptions=(),
                plans={},
                price_lists=price_lists,
                settings=settings,
            )
            for i in range(customers)
        ]
        started = time.perf_counter()
        summaries = price_usage_batch(cps, files, Path(tmp) / "priced.parquet")
        return time.perf_counter() - started, sum(s.lines for s in summaries.values())


def timed(label: str, work: Callable[[], Any]) -> tuple[float, Any]:
    print(f"{label}…", flush=True)
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_runs")
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8870)
    parser.add_argument("--digest", action="store_true", help="print a digest of the invoices")
    args = parser.parse_args(argv)
    os.environ.setdefault("REBILL_STAGE", "local")
    print(
        f"invoice run bench: {args.customers:,} customers × 2 AWS accounts, "
        f"{args.rows:,}-line legacy CUR, {os.cpu_count()} CPUs",
        flush=True,
    )
    path = bill_file(args.customers, args.rows)
    with served(args.port) as credentials:
        api = Api(credentials["api_url"], credentials["operator_token"])
        endpoint = credentials["aws_endpoint_url"]
        t_create, _ = timed("create", lambda: create(api, args.customers, args.threads))
        t_ingest, bill = timed("ingest", lambda: ingest(api, path))
        t_run, run = timed("run", lambda: invoice_run(api))
        phases = run_phases(endpoint, run["run_id"])
        _, (t_base, lines) = timed(
            "baseline (pricing engine alone)", lambda: baseline(endpoint, args.customers)
        )
        summary = digest(api) if args.digest else None
    n = args.customers
    print()
    print(
        f"create  {t_create:8.1f} s  ({n:,} customers + {2 * n:,} accounts, {args.threads} threads)"
    )
    print(f"ingest  {t_ingest:8.1f} s  ({bill.get('rows', args.rows):,} lines)")
    print(
        f"run     {t_run:8.1f} s  ({run['status']}, {run.get('progress')}, "
        f"{1000 * t_run / n:.0f} ms per customer)"
    )
    if phases:
        for name, seconds in phases.items():
            print(f"  {name:<10}{seconds:8.1f} s")
    print(
        f"baseline{t_base:8.1f} s  (price_usage_batch of the {n:,} customers over "
        f"{lines:,} lines, in-process)"
    )
    print(f"run / baseline: {t_run / t_base:.1f}×")
    print(f"end to end (create + ingest + run): {t_create + t_ingest + t_run:.1f} s")
    if summary:
        print(f"invoices: {summary[0]:,}, Σ total {summary[1]}, digest {summary[2]}")
    if run["status"] != "succeeded":
        print(f"errors: {run.get('errors', [])[:5]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
