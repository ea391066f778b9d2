"""Serve the Chalice API and the static portal on 127.0.0.1, each in a thread.

The portal is the folder ``portal/`` as ``infra/`` deploys it, plus the one file the deployment
generates next to ``index.html``: ``config.json`` (the API's URL, the Cognito user pool the
portal signs in to, the vocabularies it shows). Here it is generated on every request from the
running stack, so a pool provisioned after the servers started is picked up;
``cognito_endpoint`` points the portal's Cognito calls at moto (in AWS the portal derives
``https://cognito-idp.<region>.amazonaws.com/`` from ``region``). moto's server answers CORS
preflights, so the browser calls it directly.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
from pathlib import Path
from typing import Any

from chalicelib.vocabulary import portal_vocabulary

ROOT = Path(__file__).resolve().parents[1]
PORTAL_DIR = ROOT / "portal"
CONFIG_PATH = "/config.json"


def portal_config(api_url: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The portal's runtime configuration: the keys ``infra/`` writes, plus the local endpoint."""
    env = os.environ if environ is None else environ
    pool_id = env.get("COGNITO_USER_POOL_ID", "")
    region = pool_id.split("_", 1)[0] if pool_id else env.get("AWS_REGION", "us-east-1")
    config: dict[str, Any] = {
        "api_url": api_url,
        "region": region,
        "cognito_user_pool_id": pool_id or None,
        "cognito_client_id": env.get("COGNITO_CLIENT_ID") or None,
        "vocabulary": portal_vocabulary(),
    }
    endpoint = env.get("AWS_ENDPOINT_URL_COGNITO_IDP") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        config["cognito_endpoint"] = endpoint.rstrip("/") + "/"
    return config


class PortalHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of ``portal/`` and the generated ``config.json``; nothing is cached."""

    api_url = ""
    extensions_map = {  # noqa: RUF012 (the base class's attribute, extended)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".css": "text/css",
        ".svg": "image/svg+xml",
        ".json": "application/json",
    }

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == CONFIG_PATH:
            body = json.dumps(portal_config(self.api_url), indent=2).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


NO_ROUTE = {"code": "not_found", "message": "no such route"}


def api_handler_class() -> type:
    """Chalice's local request handler, answering like the deployed stage's gateway responses
    (``infra/``): a path no route matches is a 404 in the API's error shape (Chalice's emulation
    of API Gateway answers 403 and echoes the Authorization header back), and a method the
    HTTP server does not know (TRACE, …) reaches the app, which answers 405, instead of the
    server's HTML page."""
    from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalGatewayException

    class ApiRequestHandler(ChaliceRequestHandler):
        def _send_error_response(self, error: LocalGatewayException) -> None:
            if isinstance(error, ForbiddenError):  # the app has no authorizers: no route
                body = json.dumps(NO_ROUTE)
                self._send_http_response(404, {"Content-Type": "application/json"}, body)
                return
            super()._send_error_response(error)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

    return ApiRequestHandler


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
        from chalice.local import CustomLocalChalice, create_local_server

        from app import app

        if isinstance(app, CustomLocalChalice):
            # Served before in this process: Chalice made the app a local one then, and doing
            # it again would make the class its own base.
            app.__class__ = CustomLocalChalice.__bases__[1]
        config = Config.create(chalice_app=app)
        self._api = create_local_server(app, config, "127.0.0.1", self.api_port)
        self._api.server.RequestHandlerClass = functools.partial(
            api_handler_class(), app_object=app, config=config
        )
        self.api_port = self._api.server.server_address[1]
        handler_class = type("Handler", (PortalHandler,), {"api_url": self.api_url})
        handler = functools.partial(handler_class, directory=str(PORTAL_DIR))
        self._portal = http.server.ThreadingHTTPServer(("127.0.0.1", self.portal_port), handler)
        self._portal.daemon_threads = True
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
            self._portal.server_close()
