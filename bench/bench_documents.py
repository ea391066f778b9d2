"""Invoice PDFs: render time of a 50-line and a 500-line invoice, and the Lambda package size.

    python -m bench.bench_documents [--repeat 5] [--package]

Renders the same invoice as an issued document would be (seller and buyer blocks, taxes,
payment instructions, PDF/A-3 with an embedded Factur-X XML), once with Latin text only and
once with a CJK customer name (which loads the 4 MB CJK font), ``--repeat`` times each, in
this process: the first render of a process also imports fpdf2 and Pillow, which is what a
cold Lambda pays. Prints the median and the slowest render, the page count and the size of
the file. ``--package`` then packages the app the way a deploy does (the CDK app, Linux wheels
of requirements.txt from ``chalice package``: as tests/test_deployable.py) and prints the
unzipped size of the deployment package against Lambda's 250 MB limit.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CII_EXAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">
</rsm:CrossIndustryInvoice>
"""
SELLER: dict[str, Any] = {
    "name": "Example Cloud",
    "legal_name": "Example Cloud GmbH",
    "tax_id": "DE136695976",
    "registration": "HRB 12345, Amtsgericht Köln",
    "address": {"lines": ["Domstraße 1"], "postal_code": "50667", "city": "Köln", "country": "DE"},
    "email": "billing@example.cloud",
    "bank": {"account_name": "Example Cloud GmbH", "iban": "DE89370400440532013000"},
    "footer": "Thank you for your business.",
}


def invoice(lines: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [
        {"kind": "subscription", "description": "Growth plan", "amount": "500.00", "quantity": 1}
    ]
    rows += [
        {
            "kind": "cloud_usage",
            "description": f"Amazon Elastic Compute Cloud, usage group {i} in eu-central-1",
            "provider": "aws",
            "service": "AmazonEC2",
            "amount": "12.34",
        }
        for i in range(lines - 1)
    ]
    return {
        "id": "acme-2026-10-1",
        "number": "INV-2026-000042",
        "kind": "invoice",
        "customer_id": "acme",
        "period": "2026-10",
        "currency": "EUR",
        "status": "issued",
        "issued_at": "2026-11-02T09:00:00+00:00",
        "issue_date": "2026-11-02",
        "due_date": "2026-12-02",
        "service_period": {"start": "2026-10-01", "end": "2026-10-31"},
        "lines": rows,
        "subtotal": "1000.00",
        "taxes": [{"name": "VAT", "rate": "19", "base": "1000.00", "amount": "190.00"}],
        "total": "1190.00",
    }


def bench_render(repeat: int) -> None:
    started = time.perf_counter()
    from pypdf import PdfReader

    from chalicelib.documents.pdf import render

    print(f"import: {time.perf_counter() - started:.2f} s")
    for name in ("Acme Trading GmbH", "Ωμέγα ООО 株式会社"):
        customer = {"name": name, "address": {"lines": ["1 Main St"], "country": "DE"}}
        for lines in (50, 500):
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                data = render(invoice(lines), SELLER, customer, "en", einvoice_xml=CII_EXAMPLE)
                times.append(time.perf_counter() - start)
            pages = len(PdfReader(io.BytesIO(data)).pages)
            print(
                f"{lines:4d} lines, customer {name!r}: median {statistics.median(times):.2f} s, "
                f"slowest {max(times):.2f} s, {pages} pages, {len(data):,} bytes"
            )


def bench_package() -> None:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,21")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    import aws_cdk as cdk

    from infra.app import build
    from infra.stack import LAMBDA_UNZIPPED_LIMIT, unzipped_size

    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        app = cdk.App(outdir=str(Path(tmp) / "cdk.out"), context={"stage": "prod"})
        stack = build(app, source_dir=ROOT)
        app.synth()
        package = Path(stack.chalice._sam_package_dir) / "deployment.zip"
        size = unzipped_size(package)
        print(
            f"deployment package: {package.stat().st_size / 2**20:.1f} MiB zipped, "
            f"{size / 2**20:.1f} MiB unzipped (limit {LAMBDA_UNZIPPED_LIMIT / 2**20:.0f} MiB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--package", action="store_true", help="also measure the Lambda package")
    args = parser.parse_args()
    bench_render(args.repeat)
    if args.package:
        bench_package()


if __name__ == "__main__":
    main()
