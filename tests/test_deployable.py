"""What is deployed runs without the development-only libraries.

The Lambda package must stay under Lambda's 262 MB: pyarrow (171 MB) and pandas are for tests
and benchmarks only. This imports every deployed module and invoices a customer in a process
where importing either fails.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import sys
    for name in ("pyarrow", "pandas"):
        sys.modules[name] = None  # any import of it raises ImportError

    import importlib
    import pkgutil
    import tempfile
    from pathlib import Path

    import chalicelib
    for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        importlib.import_module(module.name)
    import app  # noqa: F401

    from chalicelib.billing.invoice import compose_invoice, compute_tax
    from chalicelib.billing.invoice_csv import write_invoice_csv
    from chalicelib.billing.pricing import price_usage
    from tests.billing import fixtures

    tmp = Path(tempfile.mkdtemp())
    lines = fixtures.write_lines(tmp / "lines.parquet", [fixtures.line()])
    customer_period = fixtures.context()
    price_usage(customer_period, [lines], tmp / "priced.parquet")
    invoice = compute_tax(customer_period, compose_invoice(customer_period, tmp / "priced.parquet"))
    write_invoice_csv(invoice, tmp / "priced.parquet", tmp / "invoice.csv")
    rows = (tmp / "invoice.csv").read_text().splitlines()
    print("invoiced", invoice.total, len(rows) - 1)
    """
)


def test_deployed_code_runs_without_pyarrow_and_pandas() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "REBILL_STAGE": "local", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("invoiced "), result.stdout
    assert result.stdout.split()[-1] == "1"  # one usage group in the detailed CSV
