"""Benchmark: `actiongraph serve --workers N` on the shoes example, 1 worker against 2.

    .venv/bin/python tests/bench/bench_workers.py                       # SQLite
    .venv/bin/python tests/bench/bench_workers.py --pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

For each database (SQLite; PostgreSQL too with --pg, the URL of a server where the benchmark may
create and drop databases) it starts the real CLI with 1 worker (the single-process server) and
with 2 (gunicorn, aiohttp's worker), loads `POST /v1/create_shoe` with wrk (or, without wrk, an
aiohttp client with as many connections) after a warm-up, and prints requests/s, p50 and p99,
the rows written, and the scaling ratio requests/s(2 workers) / requests/s(1 worker).

Reading the figures: on a 2-CPU machine wrk takes most of one CPU, so 2 workers cannot double
anything; SQLite has one writer at a time across processes, so writes scale less than reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROJECT = ROOT / "resources" / "examples" / "shoes.actiongraph.json"
PATH = "/v1/create_shoe"
BODY = '{"shoe_type": "x", "price": 10}'  # the shoes example's endpoint takes the record itself
LUA = f"""\
wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""


sys.path.insert(0, str(Path(__file__).resolve().parent))  # the wrk report reader of bench_serve
from bench_serve import BenchError, parse_wrk  # noqa: E402


@dataclass
class Result:
    database: str
    workers: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    rows: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- databases -----------------------------------------------------------------------------

class Databases:
    """Fresh databases: SQLite files in a folder, or databases on a PostgreSQL server."""

    def __init__(self, folder: Path, pg: str | None):
        self.folder, self.pg, self.made = folder, pg, []

    def new(self, kind: str, name: str) -> str:
        if kind == "sqlite":
            return f"sqlite+aiosqlite:///{self.folder / name}.db"
        from sqlalchemy.engine import make_url

        db = f"bench_workers_{os.getpid()}_{name}"
        self._pg([f'DROP DATABASE IF EXISTS "{db}"', f'CREATE DATABASE "{db}"'])
        self.made.append(db)
        return make_url(self.pg).set(drivername="postgresql+asyncpg", database=db) \
            .render_as_string(hide_password=False)

    def rows(self, url: str) -> int:
        if url.startswith("sqlite"):
            with sqlite3.connect(url.split("///", 1)[1]) as conn:
                return conn.execute('SELECT count(*) FROM "Shoes"').fetchone()[0]
        return asyncio.run(self._pg_fetch(url, 'SELECT count(*) FROM "Shoes"'))

    def drop(self) -> None:
        if self.made:
            self._pg([f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)' for db in self.made])

    def _pg(self, statements: list[str]) -> None:
        asyncio.run(self._pg_run(self.pg, statements))

    @staticmethod
    def _dsn(url: str) -> str:
        return re.sub(r"^postgresql\+asyncpg://", "postgresql://", url)

    async def _pg_run(self, url: str, statements: list[str]) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._dsn(url), timeout=10)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    async def _pg_fetch(self, url: str, sql: str) -> int:
        import asyncpg

        conn = await asyncpg.connect(self._dsn(url), timeout=10)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()


# -- the server --------------------------------------------------------------------------------

class Server:
    """`actiongraph serve` with N workers in its own session (killed whole at the end)."""

    def __init__(self, workers: int, url: str, work: Path):
        self.port = free_port()
        self.log = work / f"serve-{workers}-{self.port}.log"
        self.argv = [sys.executable, "-m", "runtime.cli", "serve", str(PROJECT), "--port",
                     str(self.port), "--db", url, "--workers", str(workers)]
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"serve was not ready within {timeout:g} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers left behind, if any
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(10)


# -- load ------------------------------------------------------------------------------------

def wrk(wrk_path: str, url: str, seconds: float, connections: int, threads: int, script: Path):
    argv = [wrk_path, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--latency", "--timeout", "10s", "-s", str(script), url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode:
        raise BenchError(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    r = parse_wrk(done.stdout)
    return r["rps"], r["p50_ms"], r["p99_ms"], r["requests"], r["non_2xx"] + r["socket_errors"]


async def _aiohttp_load(url: str, seconds: float, connections: int):
    import aiohttp

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    headers = {"Content-Type": "application/json"}

    async def client(session):
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                async with session.post(url, data=BODY, headers=headers) as r:
                    await r.read()
                    if r.status >= 300:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        await asyncio.gather(*(client(session) for _ in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] if latencies else 0.0

    return len(latencies) / elapsed, pct(50), pct(99), len(latencies), errors


def load(args, url: str, seconds: float, script: Path):
    if args.wrk:
        return wrk(args.wrk, url, seconds, args.connections, args.threads, script)
    return asyncio.run(_aiohttp_load(url, seconds, args.connections))


# -- main ------------------------------------------------------------------------------------

def measure(args, dbs: Databases, kind: str, workers: int, work: Path, script: Path) -> Result:
    url = dbs.new(kind, f"w{workers}")
    server = Server(workers, url, work)
    try:
        server.start()
        target = f"http://127.0.0.1:{server.port}{PATH}"
        load(args, target, args.warmup, script)
        rps, p50, p99, requests, errors = load(args, target, args.duration, script)
    finally:
        server.stop()
    if args.keep:
        print(f"  log: {server.log}")
    return Result(kind, workers, rps, p50, p99, requests, errors, dbs.rows(url))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg", metavar="URL", help="a PostgreSQL server to measure too (SQLAlchemy URL "
                                               "of a database the benchmark may CREATE DATABASE from)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of load per run (10)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per run (2)")
    p.add_argument("--connections", type=int, default=32, help="concurrent connections (32)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (1 2)")
    p.add_argument("--wrk", default=shutil.which("wrk"), help="wrk binary (default: on PATH; "
                                                               "without it an aiohttp client)")
    p.add_argument("--keep", action="store_true", help="keep the databases and the servers' logs")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    script = work / "post.lua"
    script.write_text(LUA)
    dbs = Databases(work, args.pg)
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    print(f"shoes: POST {PATH} {BODY}; {args.connections} connections, {args.duration:g} s per run "
          f"after {args.warmup:g} s warm-up; load from {'wrk' if args.wrk else 'aiohttp'}; "
          f"{os.cpu_count()} CPUs")
    results: list[Result] = []
    try:
        for kind in kinds:
            for workers in args.workers:
                r = measure(args, dbs, kind, workers, work, script)
                results.append(r)
                print(f"  {kind:<10} {workers} worker{'s' if workers > 1 else ' '}  "
                      f"{r.rps:8.0f} req/s  p50 {r.p50_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms  "
                      f"{r.requests} requests, {r.errors} errors, {r.rows} rows", flush=True)
    except BenchError as e:
        print(f"could not measure: {e}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            try:
                dbs.drop()
            except Exception as e:  # noqa: BLE001 - say so, but keep the figures
                print(f"could not drop the benchmark databases: {e}", file=sys.stderr)
            shutil.rmtree(work, ignore_errors=True)
    print()
    for kind in kinds:
        by = {r.workers: r for r in results if r.database == kind}
        base = by.get(min(by))
        for workers, r in sorted(by.items()):
            if r is not base:
                print(f"{kind}: {workers} workers / {base.workers}: requests/s x{r.rps / base.rps:.2f}, "
                      f"p99 x{r.p99_ms / base.p99_ms:.2f}")
    print(json.dumps([r.__dict__ for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
