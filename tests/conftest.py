"""Shared fixtures: a project served over real loopback HTTP against a SQLite file in tmp_path,
or (for modules marked `both_databases`) also against a fresh database on a throwaway PostgreSQL."""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from runtime.compiler import compile_project
from runtime.host import Host, ServeConfig
from runtime.projectfile import load
from tests import display

# The editor tests run on a real X display (a private Xvfb unless one is given); chosen before
# any test imports Qt.
PLATFORM = display.start()

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


# -- databases: SQLite files, and fresh databases on a throwaway PostgreSQL cluster -----------

POSTGRES_ENV = "ACTIONGRAPH_TEST_POSTGRES"  # e.g. postgresql+asyncpg://user:pass@host/postgres
NO_POSTGRES = ("PostgreSQL not installed: apt-get install postgresql (or set "
               f"{POSTGRES_ENV}=postgresql+asyncpg://USER:PASSWORD@HOST:PORT/postgres to use a "
               "server of your own)")


def pytest_configure(config):
    config.addinivalue_line("markers", "both_databases: run the test on SQLite and on PostgreSQL "
                                       "(through the `database` fixture, which `serve` uses)")
    config.addinivalue_line("markers", "postgresql: the PostgreSQL run of a both_databases test "
                                       "(deselect with -m 'not postgresql')")


def pytest_generate_tests(metafunc):
    if "database" in metafunc.fixturenames and \
            metafunc.definition.get_closest_marker("both_databases") is not None:
        metafunc.parametrize("database", ["sqlite", pytest.param("postgresql",
                                                                 marks=pytest.mark.postgresql)],
                             indirect=True)


def _asyncpg_dsn(url: str) -> str:
    """An asyncpg DSN from a SQLAlchemy URL (`postgresql+asyncpg://` -> `postgresql://`)."""
    return re.sub(r"^postgresql\+asyncpg://", "postgresql://", url)


def _postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                     key=lambda f: int(re.sub(r"\D", "", f.split("/")[-2]) or 0))
    for folder in reversed(folders):
        if os.access(f"{folder}/initdb", os.X_OK) and os.access(f"{folder}/pg_ctl", os.X_OK):
            return Path(folder)
    return None


class PostgresCluster:
    """A PostgreSQL server the tests make databases on (ours or one given), and a client for it
    on an event loop in a thread of its own: tests call it while their own loop runs (that loop
    waits, which is fine for a server in another process). It keeps a few empty databases made
    ahead and drops used ones without waiting, so a test seldom waits for either."""

    AHEAD = 2

    def __init__(self, admin_url: str):
        self.admin_url = admin_url  # a SQLAlchemy URL to a database that is never dropped
        self._numbers = itertools.count(1)
        self._prefix = f"t{os.getpid()}_"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="postgres test client")
        self._thread.start()
        self._admin = None  # an asyncpg pool on the admin database (on our loop)
        self._ahead: list[asyncio.Task] = []  # databases being made, oldest first
        self._drops: set[asyncio.Task] = set()
        self._conns: dict[str, object] = {}  # url -> asyncpg connection for `rows`

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def url_of(self, name: str) -> str:
        """The URL of database `name` on this server."""
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(drivername="postgresql+asyncpg", database=name) \
            .render_as_string(hide_password=False)

    def create(self) -> str:
        """A fresh empty database; returns its URL."""
        return self.url_of(self._run(self._take()))

    def drop(self, urls: list[str]) -> None:
        """Drop databases made by `create` (in the background), closing what is left open."""
        if urls:
            self._run(self._drop(urls))

    def rows(self, url: str, sql: str, args: tuple) -> list[tuple]:
        """Rows of one statement (committed at once) on a connection of our own."""
        return self._run(self._rows(url, sql, args))

    def close(self) -> None:
        """Wait for the drops, close every connection and stop the client's loop."""
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    # -- on the client's loop --------------------------------------------------------------
    async def _pool(self):
        import asyncpg

        if self._admin is None:
            self._admin = await asyncpg.create_pool(_asyncpg_dsn(self.admin_url), min_size=1,
                                                    max_size=2, timeout=10)
        return self._admin

    async def _make(self) -> str:
        name = f"{self._prefix}{next(self._numbers)}"
        pool = await self._pool()
        await pool.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await pool.execute(f'CREATE DATABASE "{name}"')
        return name

    async def _take(self) -> str:
        while len(self._ahead) < self.AHEAD + 1:
            self._ahead.append(asyncio.ensure_future(self._make()))
        return await self._ahead.pop(0)

    async def _drop(self, urls: list[str]) -> None:
        from sqlalchemy.engine import make_url

        for url in urls:
            conn = self._conns.pop(url, None)
            if conn is not None:
                await conn.close()
        pool = await self._pool()
        for url in urls:
            task = asyncio.ensure_future(pool.execute(
                f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
            self._drops.add(task)
            task.add_done_callback(self._drops.discard)

    async def _rows(self, url: str, sql: str, args: tuple) -> list[tuple]:
        import asyncpg

        conn = self._conns.get(url)
        if conn is None or conn.is_closed():
            conn = self._conns[url] = await asyncpg.connect(
                _asyncpg_dsn(url), timeout=10, statement_cache_size=0,
                server_settings={"lock_timeout": "5s"})
        names = {r[0] for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "UNION SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public'")}
        return [tuple(r) for r in await conn.fetch(postgres_sql(sql, names), *args)]

    async def _close(self) -> None:
        await asyncio.gather(*self._drops, return_exceptions=True)
        made = await asyncio.gather(*self._ahead, return_exceptions=True)
        self._ahead.clear()
        await self._drop([self.url_of(n) for n in made if isinstance(n, str)])
        await asyncio.gather(*self._drops, return_exceptions=True)
        for conn in self._conns.values():
            await conn.close()
        if self._admin is not None:
            await self._admin.close()


def _run_as_postgres(argv: list, **kwargs) -> subprocess.CompletedProcess:
    """Run a PostgreSQL program; as root through `runuser -u postgres` (it refuses root)."""
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session: a throwaway cluster in a temporary folder (trust
    auth, 127.0.0.1 only, no fsync), or the server named by $ACTIONGRAPH_TEST_POSTGRES."""
    given = os.environ.get(POSTGRES_ENV)
    if given:
        cluster = PostgresCluster(given)
        yield cluster
        cluster.close()
        return
    folder = _postgres_bin()
    if folder is None:
        if os.environ.get("CI"):
            pytest.fail(f"{NO_POSTGRES}. CI must run the PostgreSQL tests.", pytrace=False)
        pytest.skip(NO_POSTGRES)
    home = Path(tempfile.mkdtemp(prefix="actiongraph-pg-"))
    if os.geteuid() == 0:
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(home, ignore_errors=True)
            pytest.fail("PostgreSQL refuses to run as root and there is no `postgres` user to run "
                        "it as (useradd --system postgres)", pytrace=False)
        os.chown(home, user.pw_uid, user.pw_gid)
    data, log = home / "data", home / "server.log"
    made = _run_as_postgres([folder / "initdb", "-D", data, "-U", "postgres", "-A", "trust",
                             "-E", "UTF8", "--no-locale", "--no-sync"], cwd=home)
    if made.returncode:
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{made.stdout}\n{made.stderr}", pytrace=False)
    started = None
    for _attempt in range(3):  # another process may take the free port first
        port = _free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        started = _run_as_postgres([folder / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60",
                                    "-o", options, "start"], cwd=home)
        if started.returncode == 0:
            break
    if started.returncode:
        text = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start:\n{started.stdout}\n{started.stderr}\n{text}",
                    pytrace=False)
    cluster = PostgresCluster(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres")
    try:
        yield cluster
        cluster.close()
    finally:
        _run_as_postgres([folder / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                         cwd=home)
        shutil.rmtree(home, ignore_errors=True)


class Database:
    """Where one test keeps its databases: SQLite files in tmp_path, or fresh databases on the
    session's PostgreSQL. The same name gives the same database within a test."""

    def __init__(self, kind: str, folder: Path, cluster: PostgresCluster | None = None):
        self.kind = kind
        self.folder = folder
        self.cluster = cluster
        self.urls: dict[str, str] = {}

    @property
    def postgresql(self) -> bool:
        return self.kind == "postgresql"

    def url(self, name: str = "test") -> str:
        """The SQLAlchemy URL of the test's database called `name` (made empty on first use)."""
        if name not in self.urls:
            if self.cluster is not None:
                self.urls[name] = self.cluster.create()
            else:
                self.urls[name] = f"sqlite+aiosqlite:///{self.folder / name}.db"
        return self.urls[name]

    def rows(self, url: str, sql: str, *args) -> list[tuple]:
        """Rows of one query on a connection of its own (so only committed data). Write SQL as
        for SQLite: mixed-case model names are quoted for PostgreSQL, `?` becomes `$n`."""
        if not url.startswith("postgresql"):
            with closing(sqlite3.connect(url.split("///", 1)[1])) as conn:
                return conn.execute(sql, args).fetchall()
        return self.cluster.rows(url, sql, args)

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.drop(list(self.urls.values()))


def postgres_sql(sql: str, names: set[str]) -> str:
    """SQL written for SQLite made right for PostgreSQL: bare names of tables and columns that
    are not all lower case quoted (Shoes -> "Shoes", as the tables were made), `?` numbered."""
    parts = re.split(r"('(?:[^']|'')*'|\"[^\"]*\")", sql)  # leave literals and quoted names alone
    numbers = itertools.count(1)
    for i in range(0, len(parts), 2):
        text = re.sub(r"\b([A-Za-z_][A-Za-z0-9_]*)\b",
                      lambda m: f'"{m[1]}"' if m[1] in names and m[1] != m[1].lower() else m[1],
                      parts[i])
        parts[i] = re.sub(r"\?", lambda _m: f"${next(numbers)}", text)
    return "".join(parts)


@pytest.fixture
def database(request, tmp_path):
    """The database kind of this test: "sqlite" unless the test is the PostgreSQL run of a
    `both_databases` test; `database.url(name)` gives a fresh database of that kind."""
    kind = getattr(request, "param", "sqlite")
    cluster = request.getfixturevalue("postgres") if kind == "postgresql" else None
    made = Database(kind, tmp_path, cluster)
    yield made
    made.close()


@dataclass
class Served:
    """A running server: its base URL, an HTTP session, its database and its Host."""

    url: str
    http: aiohttp.ClientSession
    db: Path | None  # the SQLite file (None on PostgreSQL)
    host: Host
    db_url: str = ""
    database: Database | None = None

    @property
    def app(self):
        return self.host.app()

    @property
    def state(self):
        return self.host.state

    async def call(self, method: str, path: str, **kwargs):
        """Send a request; returns (status, parsed JSON or text, headers)."""
        async with self.http.request(method, self.url + path, **kwargs) as r:
            text = await r.text()
            body = await r.json() if r.content_type == "application/json" else text
            return r.status, body, r.headers

    def rows(self, sql: str, *args):
        """Rows straight from the database (a separate connection, so only committed data); SQL
        as for SQLite (see Database.rows)."""
        if self.database is None:
            with closing(sqlite3.connect(self.db)) as conn:
                return conn.execute(sql, args).fetchall()
        return self.database.rows(self.db_url, sql, *args)


@pytest.fixture
async def serve(database):
    """Start a server for a project (or an example's name) on a fresh database of the test's
    kind (SQLite, or PostgreSQL in `both_databases` modules); stops everything at the end."""
    started = []

    async def start(project, kinds=None, timeout: float = 5.0, max_body: int = 1024 * 1024,
                    **options):  # more ServeConfig fields, e.g. history="full"
        if isinstance(project, str):
            project = load(EXAMPLES / f"{project}.actiongraph.json")
        url = database.url(f"test{len(started)}")
        db = None if database.postgresql else Path(url.split("///", 1)[1])
        # No scheduler: a test runs scheduled actions by hand (host.run) or with its own clock.
        config = ServeConfig(db=url, timeout=timeout, max_body=max_body, schedules=False,
                             **options)
        host = await Host.open(config, project, compiled=compile_project(project, 1, kinds=kinds))
        server = TestServer(host.app(), host="127.0.0.1")
        await server.start_server()
        http = aiohttp.ClientSession()
        started.append((server, http))
        return Served(str(server.make_url("")).rstrip("/"), http, db, host, url, database)

    yield start
    for server, http in started:
        await http.close()
        await server.close()


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []
        self.port = 0
        self.controller = None

    def down(self) -> None:
        """Stop the server: connections to its port are refused until `up`."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def up(self) -> None:
        """(Re)start the server on its port."""
        from aiosmtpd.controller import Controller

        if self.controller is None:
            self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list:
        """The messages once at least `count` have arrived (mail leaves after the commit, from
        the server's background sender); an AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} mails arrived"
            await asyncio.sleep(0.02)
        return self.messages

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content,
                                                                    policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free loopback port; its messages are in `.messages`."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    inbox.port = port
    inbox.up()
    yield inbox
    inbox.down()
