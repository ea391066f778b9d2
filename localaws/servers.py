"""Serve the Chalice API and the static portal on 127.0.0.1, each in a thread."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PORTAL_DIR = ROOT / "portal"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Servers:
    def __init__(self, api_port: int, portal_port: int) -> None:
        self.api_port = api_port
        self.portal_port = portal_port
        self._threads: list[threading.Thread] = []
        self._api: Any = None
        self._portal: Any = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.portal_port}/"

    def start(self) -> None:
        from chalice.config import Config
        from chalice.local import create_local_server

        from app import app

        self._api = create_local_server(
            app, Config.create(chalice_app=app), "127.0.0.1", self.api_port
        )
        self.api_port = self._api.server.server_address[1]
        handler = functools.partial(_Quiet, directory=str(PORTAL_DIR))
        self._portal = http.server.ThreadingHTTPServer(("127.0.0.1", self.portal_port), handler)
        self.portal_port = self._portal.server_address[1]
        for target in (self._api.serve_forever, self._portal.serve_forever):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        if self._api is not None:
            self._api.shutdown()
        if self._portal is not None:
            self._portal.shutdown()
