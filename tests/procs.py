"""Servers in processes of their own for the tests: `actiongraph serve` (with or without
--workers) and gunicorn, on free loopback ports, with bounded waits; always killed at the end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACTIONGRAPH = [sys.executable, "-m", "runtime.cli"]
GUNICORN = [sys.executable, "-m", "gunicorn"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll until predicate() is truthy; returns its value; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def request(url: str, method: str = "GET", body: dict | None = None, timeout: float = 10):
    """(status, parsed JSON or text) of one request; HTTP errors are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text, ctype = r.status, r.read().decode(), r.headers.get_content_type()
    except urllib.error.HTTPError as e:
        status, text, ctype = e.code, e.read().decode(), e.headers.get_content_type()
    return status, json.loads(text) if ctype == "application/json" else text


class Server:
    """A server process in its own session (so the master and its workers are killed together);
    stdout and stderr go to files, read with `out` and `err`."""

    def __init__(self, argv: list[str], folder: Path, port: int, env: dict | None = None,
                 cwd: Path = ROOT, name: str = "server"):
        self.argv, self.port, self.cwd = argv, port, cwd
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.stdout = folder / f"{name}-{port}.out"
        self.stderr = folder / f"{name}-{port}.err"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=err, cwd=self.cwd,
                                         env=self.env, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        return self

    def out(self) -> str:
        return self.stdout.read_text(errors="replace")

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    def json_lines(self) -> list[dict]:
        """The JSON lines of stdout (the access log)."""
        return [json.loads(line) for line in self.out().splitlines() if line.startswith("{")]

    def wait_ready(self, timeout: float = 30) -> Server:
        """Wait until GET /readyz answers 200 (fails at once if the process ends)."""
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with {self.proc.returncode}:\n"
                                     f"{self.out()}\n{self.err()}")
            try:
                return request(self.url + "/readyz", timeout=2)[0] == 200
            except OSError:
                return False

        until(ready, timeout, f"{self.argv} to be ready")
        return self

    def wait_workers(self, count: int, timeout: float = 60) -> Server:
        """Wait until `count` different worker processes have answered /healthz."""
        pids: set[int] = set()

        def answered():
            status, body = request(self.url + "/healthz", timeout=2)
            if status == 200:
                pids.add(body["pid"])
            return len(pids) >= count

        until(answered, timeout, f"{count} workers to answer")
        return self

    def wait_exit(self, timeout: float = 30) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the server did not exit within {timeout:g} s") from None

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM to the process (gunicorn's master), then wait for it to exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self) -> None:
        """Whatever is left of the process group, killed (for `finally`)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
