"""What is deployed runs without the development-only libraries, and fits in Lambda.

The Lambda package must stay under Lambda's 262 MB: pyarrow (171 MB) and pandas are for tests
and benchmarks only. This imports every deployed module and invoices a customer in a process
where importing either fails; and (slow) it packages the app the way a deploy does, Linux wheels
of requirements.txt downloaded by ``chalice package``, and measures the unzipped package.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_the_real_deployment_package_fits_in_lambda(tmp_path: Path) -> None:
    """The CDK app as `cdk deploy` runs it: the real project and requirements.txt, packaged by
    chalice with the manylinux wheels for this Python (cached in .chalice/deployments/)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,21")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    import aws_cdk as cdk

    from infra.app import build
    from infra.stack import LAMBDA_UNZIPPED_LIMIT, unzipped_size

    with contextlib.chdir(tmp_path):  # chalice.cdk packages into ./chalice.out
        app = cdk.App(outdir=str(tmp_path / "cdk.out"), context={"stage": "prod"})
        stack = build(app, source_dir=ROOT)
        assembly = app.synth()
    artifact = assembly.get_stack_by_name(stack.stack_name)
    errors = [
        str(m.entry.data)
        for m in artifact.messages
        if m.level == cdk.cx_api.SynthesisMessageLevel.ERROR
    ]
    assert not errors, errors

    package = Path(stack.chalice._sam_package_dir) / "deployment.zip"
    size = unzipped_size(package)
    print(f"deployment package: {package.stat().st_size:,} bytes zipped, {size:,} unzipped")
    assert LAMBDA_UNZIPPED_LIMIT == 250 * 1024 * 1024
    assert size < LAMBDA_UNZIPPED_LIMIT
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    # Linux binaries for this interpreter, not the wheels of the machine that packaged.
    abi = f"cpython-{sys.version_info.major}{sys.version_info.minor}-x86_64-linux-gnu.so"
    assert any(n.startswith("_duckdb.") and n.endswith(abi) for n in names), abi
    assert "app.py" in names and "chalicelib/billing/invoice.py" in names
    assert not [n for n in names if n.split("/")[0] in ("pyarrow", "pandas")]


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["python3.11", "python3.12", "python3.13"])
def test_every_requirement_has_a_lambda_wheel_for_each_supported_python(
    runtime: str, tmp_path: Path
) -> None:
    """A deploy from any supported Python finds binary wheels (no source builds) that the Lambda
    runtime's glibc runs: the platforms `chalice package` asks pip for, for that version."""
    from chalice.deploy.packager import DependencyBuilder
    from chalice.utils import OSUtils

    from infra.stack import LAMBDA_RUNTIMES

    assert runtime in LAMBDA_RUNTIMES
    version = runtime.removeprefix("python")
    abi = "cp" + version.replace(".", "")
    platforms = DependencyBuilder(OSUtils())._get_pip_platforms(abi)
    command = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:"]
    command += ["--implementation", "cp", "--python-version", version, "--abi", abi]
    command += ["--abi", "abi3", "--abi", "none"]
    for platform in [*platforms, "any"]:
        command += ["--platform", platform]
    command += ["-r", str(ROOT / "requirements.txt"), "-d", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    wheels = [p.name for p in tmp_path.iterdir()]
    assert all(name.endswith(".whl") for name in wheels), wheels
    assert any(name.startswith("duckdb-") and f"-{abi}-" in name for name in wheels), wheels
