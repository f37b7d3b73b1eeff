"""Several workers: `actiongraph serve --workers N` and gunicorn's own command, as real processes
on free loopback ports: schedules fire once, SIGTERM finishes requests in flight, start-up
errors are clear, concurrent start-ups migrate once."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import shutil
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import EXAMPLES
from procs import ACTIONGRAPH, GUNICORN, Server, free_port, request, until

from runtime.project import Field, Project, Trigger
from runtime.projectfile import save


def ticking() -> Project:
    """An action scheduled every second that creates one row per run."""
    p = Project(name="Ticks")
    p.add_model("Ticks", [Field("note", "Text")])
    a = p.add_action("Tick", Trigger("schedule", schedule="every 1 second"))
    a.add_event("create", model="Ticks", values={"note": "tick"})
    return p


def _time(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


@pytest.mark.both_databases
def test_a_schedule_fires_once_per_slot_across_three_workers(tmp_path, database):
    project = tmp_path / "ticks.actiongraph.json"
    save(ticking(), project)
    url = database.url("ticks")
    port = free_port()
    server = Server(ACTIONGRAPH + ["serve", str(project), "--workers", "3", "--port", str(port),
                                   "--db", url], tmp_path, port)
    try:
        server.start().wait_ready(60)
        until(lambda: server.err().count("Booting worker") == 3, 30, "3 workers")
        # Every worker's scheduler is running once it answers; count slots from now on.
        until(lambda: database.rows(url, "select count(*) from _actiongraph_schedule")[0][0] >= 5,
              30, "five scheduled runs")
        assert server.stop() == 0
    finally:
        server.kill()
    claims = [r[0] for r in database.rows(url, "select slot from _actiongraph_schedule "
                                               "where action = 'Tick' order by slot")]
    rows = database.rows(url, "select note, created_at from Ticks order by id")
    assert len(claims) >= 5 and len(set(claims)) == len(claims)
    # One row per claimed slot: three workers running each slot would make three rows each.
    assert len(rows) == len(claims), (rows, claims)
    assert {note for note, _ in rows} == {"tick"}
    times = [_time(t) for _, t in rows]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert all(g > 0.5 for g in gaps), f"two runs of one slot: {gaps}"
    # Each run is one access line with the pid of the worker that won the slot.
    runs = [line for line in server.json_lines() if line["method"] == "SCHEDULE"]
    assert len(runs) == len(rows)
    assert all(r["status"] == 200 and r["source"] == "schedule" and r["action"] == "Tick"
               for r in runs)
    workers = {int(line.rsplit(" ", 1)[1]) for line in server.err().splitlines()
               if "Booting worker with pid" in line}
    assert len(workers) == 3 and {r["pid"] for r in runs} <= workers


class SlowService:
    """An HTTP service that answers after `delay` seconds; `.arrived` is set per request."""

    def __init__(self, delay: float):
        outer = self
        self.arrived = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.arrived.set()
                time.sleep(delay)
                body = json.dumps({"slow": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def slow_project(port: int) -> Project:
    p = Project(name="Slow")
    p.settings.allow_private_http = True
    p.add_endpoint("Slow", "GET", "/v1/slow")
    a = p.add_action("Slow", Trigger("endpoint", endpoint="Slow"), response_value="=answer.body")
    a.add_event("http_request", url=f"http://127.0.0.1:{port}/", **{"as": "answer"})
    return p


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_a_request_in_flight_finish(tmp_path, workers):
    service = SlowService(delay=2.0)
    project = tmp_path / "slow.actiongraph.json"
    save(slow_project(service.port), project)
    port = free_port()
    server = Server(ACTIONGRAPH + ["serve", str(project), "--workers", str(workers),
                                   "--port", str(port)], tmp_path, port)
    answers = []
    try:
        # Every worker up first: one still starting when SIGTERM comes is not what this test
        # is about (gunicorn lets it finish starting, then stops it).
        server.start().wait_ready(60).wait_workers(workers)
        client = threading.Thread(target=lambda: answers.append(
            request(server.url + "/v1/slow", timeout=20)))
        client.start()
        assert service.arrived.wait(10), "the request did not reach the slow service"
        started = time.monotonic()
        server.proc.send_signal(15)  # SIGTERM while the request is in flight
        client.join(20)
        assert answers == [(200, {"slow": True})]
        assert server.wait_exit(30) == 0
        assert time.monotonic() - started < 15
        with pytest.raises(OSError):  # and nothing listens any more
            request(server.url + "/healthz", timeout=2)
    finally:
        server.kill()
        service.close()
    lines = [r for r in server.json_lines() if r.get("path") == "/v1/slow"]
    assert [(r["status"], r["method"]) for r in lines] == [(200, "GET")]


@pytest.mark.parametrize("workers", [1, 3])
def test_startup_errors_are_one_clear_message(tmp_path, workers):
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    broken = tmp_path / "broken.actiongraph.json"
    data["actions"][0]["events"]["n1"]["settings"]["model"] = "Shoe"
    broken.write_text(json.dumps(data))
    secret = tmp_path / "secret.actiongraph.json"
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    data["settings"]["secret"] = "${TEST_NOT_SET_SECRET}"
    secret.write_text(json.dumps(data))
    shoes = tmp_path / "shoes.actiongraph.json"
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", shoes)
    cases = [
        (broken, [], 'unknown model "Shoe"'),
        (secret, [], "settings.secret: the environment variable TEST_NOT_SET_SECRET is not set"),
        (shoes, ["--db", f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/x.db"],
         "cannot reach the database sqlite+aiosqlite:///"),
        (shoes, ["--db", "postgresql+asyncpg://nobody@127.0.0.1:1/nothing"],
         "cannot reach the database postgresql+asyncpg://nobody@127.0.0.1:1/nothing"),
        (shoes, ["--db", "nosuchdb://x"], "cannot use the database URL nosuchdb://x"),
    ]
    for path, extra, message in cases:
        port = free_port()
        server = Server(ACTIONGRAPH + ["serve", str(path), "--workers", str(workers), "--port",
                                       str(port), *extra], tmp_path, port)
        try:
            server.start()
            assert server.wait_exit(60) == 1, server.err()
        finally:
            server.kill()
        assert message in server.err(), server.err()
        assert "Traceback" not in server.err() + server.out()
        assert "Starting gunicorn" not in server.err()  # nothing was forked


def test_workers_refuse_a_port_in_use(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        server = Server(ACTIONGRAPH + ["serve", str(EXAMPLES / "shoes.actiongraph.json"),
                                       "--workers", "2", "--port", str(port),
                                       "--db", f"sqlite:///{tmp_path / 'x.db'}"], tmp_path, port)
        try:
            server.start()
            assert server.wait_exit(30) == 1
        finally:
            server.kill()
    assert f"cannot listen on 127.0.0.1:{port}" in server.err()


def _shoe(server: Server):
    return request(server.url + "/v1/create_shoe", "POST", {"shoe_type": "Boot", "price": 89.5})


def test_gunicorn_with_the_config_module(tmp_path):
    """`gunicorn -c python:runtime.gunicorn_conf`: configured from the environment, the
    master migrates once, each worker serves."""
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", tmp_path / "shoes.actiongraph.json")
    port = free_port()
    env = {"ACTIONGRAPH_PROJECT": str(tmp_path / "shoes.actiongraph.json"),
           "ACTIONGRAPH_DB": f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}",
           "ACTIONGRAPH_BIND": f"127.0.0.1:{port}", "ACTIONGRAPH_WORKERS": "2"}
    server = Server(GUNICORN + ["-c", "python:runtime.gunicorn_conf"], tmp_path, port, env=env)
    try:
        server.start().wait_ready(60)
        statuses = [_shoe(server)[0] for _ in range(6)]
        assert statuses == [200] * 6
        status, body = request(server.url + "/healthz")
        assert status == 200 and body["status"] == "ok" and body["pid"] != server.proc.pid
        assert server.stop() == 0
    finally:
        server.kill()
    assert "migrated: created table Shoes" in server.err()
    assert server.err().count("Booting worker") == 2
    import sqlite3

    with sqlite3.connect(tmp_path / "prod.db") as conn:
        assert conn.execute("select count(*) from Shoes").fetchone() == (6,)
    assert not (tmp_path / "shoes.db").exists()  # ACTIONGRAPH_DB, not the default beside


@pytest.mark.both_databases
def test_workers_starting_together_migrate_once(tmp_path, database):
    """Plain gunicorn (no master hook): 4 workers start at once on a fresh database; the
    migration lock lets one create the tables, the others find them made."""
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", tmp_path / "shoes.actiongraph.json")
    url = database.url("fresh")
    port = free_port()
    env = {"ACTIONGRAPH_PROJECT": str(tmp_path / "shoes.actiongraph.json"),
           "ACTIONGRAPH_DB": url}
    server = Server(GUNICORN + ["runtime.gunicorn_app:app", "--worker-class",
                                "aiohttp.GunicornWebWorker", "--workers", "4", "--bind",
                                f"127.0.0.1:{port}", "--no-control-socket"],
                    tmp_path, port, env=env)
    try:
        server.start().wait_ready(60)
        until(lambda: server.err().count("Booting worker") == 4, 30, "4 workers")
        assert [_shoe(server)[0] for _ in range(8)] == [200] * 8
        assert server.stop() == 0
    finally:
        server.kill()
    assert "Traceback" not in server.err(), server.err()
    assert "exited with code" not in server.err()
    assert database.rows(url, "select count(*) from Shoes") == [(8,)]
    assert database.rows(url, "select count(*) from _actiongraph_schema") == [(1,)]


def test_gunicorn_worker_refuses_a_broken_project_clearly(tmp_path):
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    data["actions"][0]["events"]["n1"]["settings"]["model"] = "Shoe"
    (tmp_path / "broken.actiongraph.json").write_text(json.dumps(data))
    port = free_port()
    env = {"ACTIONGRAPH_PROJECT": str(tmp_path / "broken.actiongraph.json")}
    for argv, status in (
        (["-c", "python:runtime.gunicorn_conf", "--bind", f"127.0.0.1:{port}"], 1),
        (["runtime.gunicorn_app:app", "--worker-class", "aiohttp.GunicornWebWorker",
          "--bind", f"127.0.0.1:{port}", "--no-control-socket"], 4),  # gunicorn: app failed to load
    ):
        server = Server(GUNICORN + argv, tmp_path, port, env=env)
        try:
            server.start()
            assert server.wait_exit(60) == status, server.err()
        finally:
            server.kill()
        assert 'unknown model "Shoe"' in server.err()
        assert "Traceback" not in server.err(), server.err()


def _pids_of_connections(port: int, count: int) -> list[int]:
    """Open `count` keep-alive connections at once, then ask /healthz twice on each: the pid of
    the worker serving each connection (the same for both answers of one connection)."""
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(count)]
    try:
        for conn in conns:
            conn.connect()
        pids = []
        for conn in conns:
            seen = set()
            for _ in range(2):
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                assert response.status == 200
                seen.add(json.loads(response.read())["pid"])
            assert len(seen) == 1  # one connection, one worker
            pids.append(seen.pop())
        return pids
    finally:
        for conn in conns:
            conn.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balances on Linux")
@pytest.mark.parametrize("launcher", ["serve", "gunicorn"])
def test_keep_alive_connections_spread_across_workers(tmp_path, launcher):
    """Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads connections
    evenly (by address hash); with one shared socket, one worker could take them all."""
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", tmp_path / "shoes.actiongraph.json")
    project, db = tmp_path / "shoes.actiongraph.json", f"sqlite:///{tmp_path / 'x.db'}"
    port = free_port()
    if launcher == "serve":
        server = Server(ACTIONGRAPH + ["serve", str(project), "--workers", "2", "--port",
                                       str(port), "--db", db], tmp_path, port)
    else:
        env = {"ACTIONGRAPH_PROJECT": str(project), "ACTIONGRAPH_DB": db,
               "ACTIONGRAPH_BIND": f"127.0.0.1:{port}", "ACTIONGRAPH_WORKERS": "2"}
        server = Server(GUNICORN + ["-c", "python:runtime.gunicorn_conf"], tmp_path, port,
                        env=env)
    try:
        server.start().wait_ready(60)
        until(lambda: server.err().count("Booting worker") == 2, 30, "2 workers")
        workers = {int(line.rsplit(" ", 1)[1]) for line in server.err().splitlines()
                   if "Booting worker with pid" in line}
        # Both sockets bound: until the second worker listens, the first takes every connection.
        server.wait_workers(2)
        pids = _pids_of_connections(port, 32)
        assert server.stop() == 0
    finally:
        server.kill()
    assert set(pids) == workers
    # 32 connections hashed over 2 sockets: fewer than 4 on one is a chance of about 1 in 10^6.
    assert min(pids.count(pid) for pid in workers) >= 4, pids
