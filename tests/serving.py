"""`actiongraph serve` in a real subprocess on a free loopback port, for tests and benchmarks that
need a real server process: to kill it, restart it, or load it from outside."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from procs import free_port  # one helper for every test

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"


class ServeProcess:
    """One `actiongraph serve FILE --db URL` process; its output goes to a file (a pipe nobody
    reads would fill up and stall the server)."""

    def __init__(self, project: str | Path, db_url: str, log: str | Path, port: int | None = None,
                 args: tuple[str, ...] = ()):
        self.project, self.db_url, self.log = Path(project), db_url, Path(log)
        self.port = port or free_port()
        self.args = tuple(args)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServeProcess:
        """Start the server and wait until it accepts connections."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "runtime.cli", "serve", str(self.project),
                 "--port", str(self.port), "--db", self.db_url, *self.args],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{self.output()}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"serve did not listen within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a crash or a power cut of the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop it as Ctrl+C would, or kill it when it does not stop."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
