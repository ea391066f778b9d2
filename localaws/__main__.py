"""``python -m localaws serve [--demo] [--port N] [--data-dir DIR [--reset]] [--outbox DIR]``: the
embedded AWS with Rebill on it, keeping its data in ``DIR`` across restarts (``make run``:
``.local/data``) or, without it, in memory, and writing every email SES accepted as an ``.eml``
file into the outbox (default with ``--data-dir``: its sibling ``outbox/``, so ``make run``'s is
``.local/outbox/``); ``python -m localaws reset [--data-dir DIR]``: delete that data.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localaws.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = ROOT / ".local" / "credentials.json"
DATA_DIR = ROOT / ".local" / "data"


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def reset(data_dir: Path, credentials: Path) -> int:
    """Delete the data directory and the credentials file; say what went."""
    from localaws import persistence

    try:
        held = persistence.reset(data_dir)
    except persistence.DataDirError as error:
        print(f"Not reset: {error}", file=sys.stderr)
        return 1
    if held:
        print(f"Deleted {_shown(data_dir)}/:")
        for line in held:
            print(f"  {line}")
    else:
        print(f"Nothing to delete in {_shown(data_dir)}/")
    if credentials.is_file():
        credentials.unlink()
        print(f"Deleted {_shown(credentials)} (its operator token is void with the data)")
    print("Kept: .venv/ and .local/tools/ (the installed tools).")
    return 0


def serve(
    demo: bool,
    port: int,
    credentials: Path = CREDENTIALS,
    data_dir: Path | None = None,
    use_dynamodb_local: bool | None = None,
    outbox_dir: Path | None = None,
) -> int:
    import os

    from localaws import persistence
    from localaws.outbox import Outbox
    from localaws.stack import LocalStack

    print("Starting the embedded AWS…", flush=True)
    try:
        stack = LocalStack(data_dir=data_dir, use_dynamodb_local=use_dynamodb_local).start()
    except persistence.DataDirError as error:
        print(f"Not started: {error}", file=sys.stderr)
        return 1
    print(f"  moto at {stack.endpoint}; DynamoDB: {stack.dynamodb_backend}", flush=True)
    if data_dir is None:
        print("  data: in memory, gone when the stack stops (no --data-dir)")
    else:
        kept = ", ".join(stack.restored)
        print(f"  data: {_shown(data_dir)}/" + (f" (kept: {kept})" if kept else " (new)"))
    from localaws.servers import Servers

    servers = Servers(port, port + 1 if port else 0)
    if port:  # the link in invoice emails
        from chalicelib.config import get_config

        os.environ["REBILL_PORTAL_URL"] = f"http://127.0.0.1:{port + 1}/"
        get_config.cache_clear()
    outbox = None if outbox_dir is None else Outbox(outbox_dir).start()
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        period = _demo_or_kept(stack, demo) or datetime.now(UTC).strftime("%Y-%m")
        token = _operator_token(credentials)
        servers.start()
        credentials.parent.mkdir(parents=True, exist_ok=True)
        credentials.write_text(
            json.dumps(
                {
                    "api_url": servers.api_url,
                    "portal_url": servers.portal_url,
                    "operator_token": token,
                    "aws_endpoint_url": stack.endpoint,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"\nAPI:    {servers.api_url}\nPortal: {servers.portal_url}")
        rel = _shown(credentials)
        print(f"Credentials: {rel}")
        if outbox_dir is not None:
            print(f"Emails: {_shown(outbox_dir)}/ (what customers would receive, as .eml files)")
        print("Try:")
        read_token = f'import json; print(json.load(open("{rel}"))["operator_token"])'
        print(f"  TOKEN=$(python3 -c '{read_token}')")
        for path in (f"/reports/billing?period={period}", f"/invoices?period={period}"):
            print(f'  curl -s -H "Authorization: Bearer $TOKEN" "{servers.api_url}{path}"')
        print("Press Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    finally:
        print("\nStopping…", flush=True)
        if outbox is not None:
            outbox.stop()
        servers.stop()
        stack.stop()
    return 0


def _demo_or_kept(stack: LocalStack, demo: bool) -> str | None:
    """Load the demo into an empty stack only; the period to show, if any."""
    from localaws import persistence

    loaded = persistence.demo_loaded(stack.data)
    if stack.is_empty():
        if not demo:
            return None
        period = _run_demo()
        if stack.data is not None:
            persistence.record_demo(stack.data, period)
        return period
    if demo:
        if loaded is None:
            print(
                "The stack holds data but no complete demo (interrupted while loading?): "
                "not loading it again; `make reset` starts over."
            )
        else:
            print(f"The demo ({loaded['period']}) is loaded already: `make reset` starts over.")
    return loaded["period"] if loaded else None


def _operator_token(credentials: Path) -> str:
    """The token the credentials file holds while it still works, else a new one."""
    from chalicelib.api.auth import authenticate, create_api_token
    from chalicelib.errors import Unauthorized

    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        kept = json.loads(credentials.read_text())["operator_token"]
        with contextlib.suppress(Unauthorized):
            if authenticate(f"Bearer {kept}").role == "operator":
                return str(kept)
    token: str = create_api_token("local operator", "operator")["token"]
    return token


def _run_demo() -> str:
    from chalicelib.service.reports import billing_report
    from chalicelib.store import bills
    from localaws import demo

    print("Loading the demo reseller: price lists, plans, customers, accounts, subscriptions…")
    period = demo.load_demo()
    for bill in bills.bills_of_period(period):
        error = bill.get("error")
        print(
            f"  bill {bill['key']}: {bill['status']}, {bill['format']}, {bill['rows']} rows"
            + (f", error: {error['message']}" if error else "")
        )
    print(f"Generating the invoices of {period} (state machine generate-invoices)…", flush=True)
    run = demo.run_invoices(period)
    counts = run.get("counts", {})
    print(f"  run {run['run_id']}: {run['status']} — {counts}")
    for error in run.get("errors", []):
        print(f"  ! {error['customer_id']}: {error.get('type')}: {error.get('message')}")
    print(f"\nBilling report {period}\n")
    print(demo.format_report(billing_report(period)))
    return period


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localaws")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run the embedded AWS with Rebill deployed on it")
    serve_parser.add_argument("--demo", action="store_true", help="load the demo and run invoices")
    serve_parser.add_argument("--port", type=int, default=8000, help="API port (portal: port+1)")
    serve_parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the data here across restarts (`make run`: .local/data); "
        "without it everything is in memory and gone at stop",
    )
    serve_parser.add_argument(
        "--reset", action="store_true", help="delete --data-dir first (as `reset` does)"
    )
    serve_parser.add_argument(
        "--dynamodb",
        choices=("auto", "local", "moto"),
        default="auto",
        help="DynamoDB Local (needs Java), moto's, or the first there is (default: auto)",
    )
    serve_parser.add_argument(
        "--outbox",
        type=Path,
        help="write each email SES accepts here as an .eml file (default with --data-dir: "
        "its sibling outbox/, e.g. .local/outbox)",
    )
    reset_parser = sub.add_parser("reset", help="delete the data a stack kept")
    reset_parser.add_argument(
        "--data-dir",
        type=Path,
        default=DATA_DIR,
        help="the directory to delete (default: %(default)s)",
    )
    for command in (serve_parser, reset_parser):
        command.add_argument(
            "--credentials",
            type=Path,
            default=CREDENTIALS,
            help="where the operator token is written (default: %(default)s)",
        )
    args = parser.parse_args(argv)
    credentials = args.credentials.resolve()
    data_dir = args.data_dir.resolve() if args.data_dir else None
    if args.command == "reset":
        assert data_dir is not None
        return reset(data_dir, credentials)
    if args.command == "serve":
        if args.reset:
            if data_dir is None:
                parser.error("--reset needs --data-dir")
            if (status := reset(data_dir, credentials)) != 0:
                return status
        dynamodb_local = {"auto": None, "local": True, "moto": False}[args.dynamodb]
        outbox = args.outbox.resolve() if args.outbox else None
        if outbox is None and data_dir is not None:
            outbox = data_dir.parent / "outbox"
        return serve(args.demo, args.port, credentials, data_dir, dynamodb_local, outbox)
    return 2


if __name__ == "__main__":
    sys.exit(main())
