"""The laptop stack keeps its data: ``python -m localaws serve --data-dir DIR`` restarted on the
same directory — after a clean stop or ``kill -9`` — finds its invoices, files, tokens and users,
and its Java child never outlives it.

Each test runs the real command in a subprocess on a throwaway directory (never ``.local/``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
READY = "Press Ctrl-C to stop."

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="child processes are read from /proc"
)
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="DynamoDB Local needs Java")


class Serve:
    """``python -m localaws serve`` in a subprocess, its output collected line by line."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.credentials = tmp / "credentials.json"
        self.data_dir = tmp / "data"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "COGNITO_", "MOTO_", "REBILL_"))
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localaws",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(self.data_dir),
                "--credentials",
                str(self.credentials),
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while READY not in self.lines:
            if self.process.poll() is not None:
                self._reader.join(5)
                raise AssertionError(
                    f"the stack exited ({self.process.returncode}):\n{self.output}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"the stack was not up within {timeout} s:\n{self.output}")
            time.sleep(0.2)
        credentials: dict[str, Any] = json.loads(self.credentials.read_text())
        return credentials

    def children(self) -> list[int]:
        return children_of(self.process.pid)

    def kill(self) -> None:
        """``kill -9``: no handler, no clean-up in the stack."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        self._reader.join(5)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def serves(tmp_path: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        serve.close()


def api(credentials: dict[str, Any], token: str | None = None) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token or credentials['operator_token']}"
    return session


def aws(credentials: dict[str, Any], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=credentials["aws_endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def bucket_objects(credentials: dict[str, Any]) -> dict[str, str]:
    s3 = aws(credentials, "s3")
    [bucket] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            objects[item["Key"]] = item["ETag"]
    return objects


def csv_of(credentials: dict[str, Any], invoice_id: str) -> bytes:
    url = api(credentials).get(
        f"{credentials['api_url']}/invoices/{invoice_id}/csv", allow_redirects=False
    )
    assert url.status_code == 302, url.text
    with urllib.request.urlopen(url.headers["Location"], timeout=30) as response:
        body: bytes = response.read()
    return body


@pytest.mark.slow
@needs_java
def test_restarted_stack_finds_its_invoices_files_tokens_and_users(
    tmp_path: Path, serves: list[Serve]
) -> None:
    first = Serve(tmp_path, "--demo")
    serves.append(first)
    credentials = first.wait_ready()
    assert "Loading the demo reseller" in first.output
    operator = api(credentials)
    base = credentials["api_url"]

    invoices = operator.get(f"{base}/invoices", params={"period": "2026-10"}).json()["items"]
    numbers = {i["id"]: i["number"] for i in invoices}
    assert len(numbers) == 4, invoices
    acme = next(i["id"] for i in invoices if i["customer_id"] == "acme")
    acme_csv = csv_of(credentials, acme)
    objects = bucket_objects(credentials)
    assert any(k.startswith("bills/") for k in objects)
    assert any(k.startswith("invoices/") and k.endswith(".csv") for k in objects)

    made = operator.post(
        f"{base}/api-tokens",
        json={"name": "acme's script", "role": "customer", "customer_id": "acme"},
    )
    assert made.status_code == 201, made.text
    customer_token = made.json()["token"]

    portal = requests.get(credentials["portal_url"] + "config.json", timeout=10).json()
    idp = aws(credentials, "cognito-idp")
    pool, client = portal["cognito_user_pool_id"], portal["cognito_client_id"]
    idp.admin_create_user(UserPoolId=pool, Username="ops", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool, Username="ops", Password="Local-ops-pass-1", Permanent=True
    )
    idp.admin_add_user_to_group(UserPoolId=pool, Username="ops", GroupName="operators")
    signed_in = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ops", "PASSWORD": "Local-ops-pass-1"},
    )["AuthenticationResult"]
    by_id_token = api(credentials, signed_in["IdToken"]).get(f"{base}/customers")
    assert by_id_token.status_code == 200, by_id_token.text

    [java] = first.children()
    first.kill()  # no clean shutdown: every write must already be on disk
    assert wait_gone(java), "DynamoDB Local outlived the stack killed with kill -9"

    second = Serve(tmp_path, "--demo")
    serves.append(second)
    again = second.wait_ready(timeout=120)
    assert "Loading the demo reseller" not in second.output
    assert "The demo (2026-10) is loaded already" in second.output
    kept = f"(kept: the DynamoDB tables, moto's cognito-idp state, {len(objects)} S3 object(s))"
    assert kept in second.output
    assert again["operator_token"] == credentials["operator_token"]
    operator, base = api(again), again["api_url"]

    kept = operator.get(f"{base}/invoices", params={"period": "2026-10"}).json()["items"]
    assert {i["id"]: i["number"] for i in kept} == numbers
    assert bucket_objects(again) == objects
    assert csv_of(again, acme) == acme_csv

    as_customer = api(again, customer_token).get(f"{base}/invoices", params={"period": "2026-10"})
    assert as_customer.status_code == 200, as_customer.text
    assert {i["customer_id"] for i in as_customer.json()["items"]} == {"acme"}

    portal_again = requests.get(again["portal_url"] + "config.json", timeout=10).json()
    assert (portal_again["cognito_user_pool_id"], portal_again["cognito_client_id"]) == (
        pool,
        client,
    )
    still = api(again, signed_in["IdToken"]).get(f"{base}/customers")
    assert still.status_code == 200, still.text
    aws(again, "cognito-idp").initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ops", "PASSWORD": "Local-ops-pass-1"},
    )

    # Numbering continues: voiding takes the next number for its credit note.
    highest = max(int(n.rsplit("-", 1)[1]) for n in numbers.values())
    voided = operator.post(f"{base}/invoices/{acme}/void")
    assert voided.status_code == 200, voided.text
    note = voided.json()["credit_note"]["number"]
    assert int(note.rsplit("-", 1)[1]) == highest + 1, note

    [java] = second.children()
    assert second.stop() == 0, second.output
    assert wait_gone(java), "DynamoDB Local outlived the stack's clean stop"


@needs_java
def test_java_dies_with_a_killed_stack_and_reset_says_what_it_deletes(
    tmp_path: Path, serves: list[Serve]
) -> None:
    stack = Serve(tmp_path)
    serves.append(stack)
    credentials = stack.wait_ready(timeout=120)
    assert stack.data_dir.joinpath("dynamodb", "shared-local-instance.db").is_file()

    # A second stack on the same directory is refused and touches nothing.
    other = Serve(tmp_path)
    serves.append(other)
    assert other.process.wait(120) == 1
    other._reader.join(5)
    assert f"{stack.data_dir} is in use by another stack (pid {stack.process.pid})" in other.output
    refused = subprocess.run(
        [sys.executable, "-m", "localaws", "reset", "--data-dir", str(stack.data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1 and "in use" in refused.stderr
    assert api(credentials).get(f"{credentials['api_url']}/customers").status_code == 200

    [java] = stack.children()
    stack.kill()
    assert wait_gone(java), "DynamoDB Local outlived the stack killed with kill -9"

    reset = subprocess.run(
        [
            sys.executable,
            "-m",
            "localaws",
            "reset",
            "--data-dir",
            str(stack.data_dir),
            "--credentials",
            str(stack.credentials),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert reset.returncode == 0, reset.stderr
    assert f"{stack.data_dir / 'dynamodb'}: the DynamoDB tables" in reset.stdout
    assert f"Deleted {stack.credentials}" in reset.stdout
    assert "Kept: .venv/ and .local/tools/" in reset.stdout
    assert not stack.data_dir.exists() and not stack.credentials.exists()


def test_reset_refuses_a_directory_that_holds_no_stack_data(tmp_path: Path) -> None:
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    result = subprocess.run(
        [sys.executable, "-m", "localaws", "reset", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "holds no Rebill data" in result.stderr
    assert precious.read_text() == "keep me"


def test_moto_dynamodb_keeps_its_tables_too(tmp_path: Path, serves: list[Serve]) -> None:
    """Without Java the tables are moto's: kept as a pickle, written before each call answers."""
    first = Serve(tmp_path, "--dynamodb", "moto")
    serves.append(first)
    credentials = first.wait_ready(timeout=120)
    assert "DynamoDB: moto" in first.output
    made = api(credentials).post(
        f"{credentials['api_url']}/api-tokens", json={"name": "nightly", "role": "operator"}
    )
    assert made.status_code == 201, made.text
    first.kill()

    second = Serve(tmp_path, "--dynamodb", "moto")
    serves.append(second)
    again = second.wait_ready(timeout=120)
    assert "moto's dynamodb state" in second.output
    assert again["operator_token"] == credentials["operator_token"]
    for token in (again["operator_token"], made.json()["token"]):
        listed = api(again, token).get(f"{again['api_url']}/api-tokens")
        assert listed.status_code == 200, listed.text
    assert "nightly" in {t["name"] for t in listed.json()["items"]}
    assert second.stop() == 0

    if shutil.which("java") is not None:  # the tables are moto's: DynamoDB Local would not see them
        third = Serve(tmp_path, "--dynamodb", "local")
        serves.append(third)
        assert third.process.wait(120) == 1
        third._reader.join(5)
        assert "holds moto's DynamoDB tables: start with --dynamodb moto, or reset" in third.output
        assert (third.data_dir / "moto" / "dynamodb.pickle").is_file()
