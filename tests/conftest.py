"""Shared fixtures: a project served over real loopback HTTP against a SQLite file in tmp_path."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from runtime.compiler import compile_project
from runtime.projectfile import load
from runtime.server import STATE, create_app
from runtime.store import Store

# Qt tests run without a display; set before any test imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


@dataclass
class Served:
    """A running server: its base URL, an HTTP session, the SQLite file and the app state."""

    url: str
    http: aiohttp.ClientSession
    db: Path
    app: object

    @property
    def state(self):
        return self.app[STATE]

    async def call(self, method: str, path: str, **kwargs):
        """Send a request; returns (status, parsed JSON or text, headers)."""
        async with self.http.request(method, self.url + path, **kwargs) as r:
            text = await r.text()
            body = await r.json() if r.content_type == "application/json" else text
            return r.status, body, r.headers

    def rows(self, sql: str, *args):
        """Rows straight from the SQLite file (a separate connection, so only committed data)."""
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, args).fetchall()


@pytest.fixture
async def serve(tmp_path):
    """Start a server for a project (or an example's name); stops everything at the end."""
    started = []

    async def start(project, kinds=None, timeout: float = 5.0, max_body: int = 1024 * 1024):
        if isinstance(project, str):
            project = load(EXAMPLES / f"{project}.actiongraph.json")
        db = tmp_path / f"test{len(started)}.db"
        store = Store(f"sqlite+aiosqlite:///{db}", project)
        await store.open(project)
        compiled = compile_project(project, 1, kinds=kinds)
        app = create_app(compiled, store, timeout=timeout, max_body=max_body)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        http = aiohttp.ClientSession()
        started.append((server, http))
        return Served(str(server.make_url("")).rstrip("/"), http, db, app)

    yield start
    for server, http in started:
        await http.close()
        await server.close()


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content,
                                                                    policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free loopback port; its messages are in `.messages`."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    inbox.port = port
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox
    controller.stop()
