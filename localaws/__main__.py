"""``python -m localaws serve [--demo] [--port N]``: the embedded AWS with Rebill on it."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = ROOT / ".local" / "credentials.json"


def serve(demo: bool, port: int, credentials: Path = CREDENTIALS) -> int:
    from localaws.stack import LocalStack

    print("Starting the embedded AWS…", flush=True)
    stack = LocalStack().start()
    print(f"  moto at {stack.endpoint}; DynamoDB: {stack.dynamodb_backend}", flush=True)
    from localaws.servers import Servers

    servers = Servers(port, port + 1 if port else 0)
    try:
        period = _run_demo() if demo else datetime.now(UTC).strftime("%Y-%m")
        from chalicelib.api.auth import create_api_token

        token = create_api_token("local operator", "operator")["token"]
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
        rel = credentials.relative_to(ROOT) if credentials.is_relative_to(ROOT) else credentials
        print(f"Credentials: {rel}")
        print("Try:")
        read_token = f'import json; print(json.load(open("{rel}"))["operator_token"])'
        print(f"  TOKEN=$(python3 -c '{read_token}')")
        for path in (f"/reports/billing?period={period}", f"/invoices?period={period}"):
            print(f'  curl -s -H "Authorization: Bearer $TOKEN" "{servers.api_url}{path}"')
        print("Press Ctrl-C to stop.", flush=True)
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    finally:
        print("\nStopping…", flush=True)
        servers.stop()
        stack.stop()
    return 0


def _run_demo() -> str:
    from chalicelib.service.reports import billing_report
    from chalicelib.store import bills
    from localaws import demo

    print("Loading the demo reseller: price lists, plans, customers, accounts, subscriptions…")
    period = demo.load_demo()
    for bill in bills.bills_of_period(period):
        print(
            f"  bill {bill['key']}: {bill['status']}, {bill['format']}, {bill['rows']} rows"
            + (f", error: {bill['error']['message']}" if bill.get("error") else "")
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
        "--credentials",
        type=Path,
        default=CREDENTIALS,
        help="where to write api_url, portal_url and operator_token (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.demo, args.port, args.credentials.resolve())
    return 2


if __name__ == "__main__":
    sys.exit(main())
