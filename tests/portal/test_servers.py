"""The local portal server: the static files of portal/ and the config.json it generates."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.vocabulary import PROVIDERS, portal_vocabulary
from localaws.servers import PORTAL_DIR, PortalHandler, portal_config


def test_config_of_the_embedded_stack() -> None:
    env = {
        "COGNITO_USER_POOL_ID": "eu-west-1_AbC123",
        "COGNITO_CLIENT_ID": "client123",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_REGION": "us-east-1",
    }
    assert portal_config("http://127.0.0.1:8000", env) == {
        "api_url": "http://127.0.0.1:8000",
        "region": "eu-west-1",  # the pool's own region, as its id says
        "cognito_user_pool_id": "eu-west-1_AbC123",
        "cognito_client_id": "client123",
        "cognito_endpoint": "http://127.0.0.1:5000/",
        "vocabulary": portal_vocabulary(),
    }


def test_config_without_a_user_pool() -> None:
    config = portal_config("http://api", {"AWS_REGION": "eu-central-1"})
    assert config == {
        "api_url": "http://api",
        "region": "eu-central-1",
        "cognito_user_pool_id": None,
        "cognito_client_id": None,
        "vocabulary": portal_vocabulary(),
    }


@pytest.fixture
def server() -> Iterator[str]:
    handler_class = type("Handler", (PortalHandler,), {"api_url": "http://127.0.0.1:9"})
    handler = functools.partial(handler_class, directory=str(PORTAL_DIR))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str) -> tuple[Any, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers, response.read()


def test_serves_the_portal_and_its_config(server: str) -> None:
    headers, body = fetch(server + "/")
    assert headers["Content-Type"].startswith("text/html")
    assert b'<script type="module" src="js/main.js">' in body
    headers, body = fetch(server + "/config.json")
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    config = json.loads(body)
    assert config["api_url"] == "http://127.0.0.1:9"
    # The vocabularies the portal shows, in their order (a JSON object keeps it).
    assert config["vocabulary"] == portal_vocabulary()
    assert list(config["vocabulary"]["providers"]) == list(PROVIDERS)
    headers, _ = fetch(server + "/js/main.js")
    assert headers["Content-Type"] == "text/javascript"  # ES modules need a JavaScript type


def test_portal_is_plain_static_files() -> None:
    """infra/ deploys portal/ as it is and writes config.json next to it: nothing to build, and
    no config.json of its own to shadow the deployed one."""
    assert not (PORTAL_DIR / "config.json").exists()
    assert not (PORTAL_DIR / "package.json").exists()
    modules = {p.relative_to(PORTAL_DIR).as_posix() for p in PORTAL_DIR.rglob("*.js")}
    for module in modules:
        source = (PORTAL_DIR / module).read_text()
        assert "http://" not in source.replace("http://www.w3.org/2000/svg", ""), module
        for target in re.findall(r'^import .* from "(\.[^"]+)";$', source, re.M):
            base = module.rsplit("/", 1)[0]
            resolved = (PORTAL_DIR / base / target).resolve().relative_to(PORTAL_DIR.resolve())
            assert resolved.as_posix() in modules, f"{module} imports missing {target}"
