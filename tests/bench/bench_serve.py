"""Benchmark: the `shoes` graph endpoint against a hand-written aiohttp handler (same insert).

Both servers run as their own processes with the same Python, the same SQLAlchemy engine
settings (runtime.store.create_engine) and each its own SQLite file; both log one line per
request to stdout (sent to a file). wrk, in another process, loads them in turn A/B/A/B so
that drift is shared, and we print requests/s and p99 latency of each and the ratio.

    .venv/bin/python tests/bench/bench_serve.py            # about a minute
    .venv/bin/pytest tests/bench -s -m bench               # the same, as a test

Needs wrk (Debian: `apt-get install -y wrk`). Exit status: 0 when the graph endpoint reaches
the target ratio of requests/s (default 0.9), 1 when it does not, 2 when it could not measure.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROJECT = ROOT / "resources" / "examples" / "shoes.actiongraph.json"
PATH = "/v1/create_shoe"
BODY = '{"shoe_type":"Boot","price":89.5}'
BANNER = "Press Ctrl+C to stop."
TARGET = 0.9
WRK_TIMEOUT = 10  # seconds
NOISY_PCT = 15  # % of one CPU used by other processes during a run: worth a warning

LUA = f"""\
wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""

INSTALL = """\
wrk is not installed; this benchmark needs it as its load generator.
Install it from Debian's packages:

    apt-get update && apt-get install -y wrk

(or put a wrk binary on PATH, or pass --wrk /path/to/wrk), then run again."""


class BenchError(RuntimeError):
    """Something stopped the measurement (a server that did not start, wrk failing)."""


@dataclass
class Result:
    """One wrk run against one server."""

    server: str
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int = 0
    socket_errors: int = 0
    cpu_ms: float | None = None  # the server's CPU time per request (all its threads)
    other_pct: float | None = None  # CPU used meanwhile by neither the server nor wrk, % of 1 CPU


@dataclass
class Server:
    """A server process whose stdout (banner, then one log line per request) goes to a file."""

    name: str
    argv: list[str]
    port: int
    db: Path
    log: Path
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start it and wait until it prints the banner (it is listening then)."""
        out = open(self.log, "wb")
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=_default_sigint)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if BANNER in text:
                return
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode} before "
                                 f"listening:\n{text}")
            time.sleep(0.02)
        self.stop()
        raise BenchError(f"{self.name} did not print {BANNER!r} within {timeout:g} s:\n"
                         + self.log.read_text(errors="replace"))

    def stop(self) -> None:
        """Ctrl+C, then SIGTERM, then SIGKILL, each if the one before did not stop it."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                return
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def rows(self) -> int:
        with sqlite3.connect(self.db) as conn:
            return conn.execute('SELECT count(*) FROM "Shoes"').fetchone()[0]

    def logged(self) -> int:
        """How many request lines it logged."""
        with open(self.log, errors="replace") as f:
            return sum(1 for line in f if f" {PATH} " in line)


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) a process has used so far; None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU time the whole machine has been busy (all CPUs, incl. time stolen by the host)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of the children this process has waited for (here: the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _default_sigint() -> None:
    # A shell starting us in the background ignores SIGINT, and children inherit that;
    # the servers stop cleanly on Ctrl+C only if SIGINT has its default meaning.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise BenchError(f"cannot read the latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(text: str) -> dict:
    """Requests/sec, the 50% and 99% latencies, the request count and errors of wrk's report."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    count = re.search(r"^\s+(\d+) requests in", text, re.M)
    if not (rps and p50 and p99 and count):
        raise BenchError(f"cannot read wrk's report:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "rps": float(rps.group(1)),
        "p50_ms": _ms(p50.group(1)),
        "p99_ms": _ms(p99.group(1)),
        "requests": int(count.group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(g) for g in sock.groups()) if sock else 0,
    }


def run_wrk(wrk: str, script: Path, url: str, seconds: float, threads: int,
            connections: int) -> dict:
    # --timeout above the SQLite busy timeout (5 s): a slow answer is latency, not an error.
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            f"--timeout={WRK_TIMEOUT}s", "--latency", "-s", str(script), url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed ({done.returncode}):\n"
                         f"{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def servers(work: Path) -> list[Server]:
    """The graph server (the real CLI) and the hand-written one, not started yet."""
    py = sys.executable
    cli = Path(py).with_name("actiongraph")
    graph_cmd = [str(cli)] if cli.exists() else [py, "-m", "runtime.cli"]
    gport, hport = free_port(), free_port()
    gdb, hdb = work / "graph.db", work / "handwritten.db"
    return [
        # --log-format text: the same per-request line as handwritten.py logs
        Server("graph", graph_cmd + ["serve", str(PROJECT), "--port", str(gport),
                                     "--db", f"sqlite+aiosqlite:///{gdb}", "--log-format", "text"],
               gport, gdb, work / "graph.log"),
        Server("handwritten", [py, str(HERE / "handwritten.py"), "--port", str(hport),
                               "--db", f"sqlite+aiosqlite:///{hdb}"],
               hport, hdb, work / "handwritten.log"),
    ]


def check_same_answer(pair: list[Server]) -> None:
    """Both answer the benchmark's request with 200 and the same shape of record."""
    import json
    import urllib.request

    shapes = []
    for s in pair:
        req = urllib.request.Request(s.url, data=BODY.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 200:
                raise BenchError(f"{s.name} answered {r.status}")
            record = json.loads(r.read())
        shapes.append({k: type(v).__name__ for k, v in record.items()})
        if record.get("shoe_type") != "Boot" or record.get("price") != 89.5 or "id" not in record:
            raise BenchError(f"{s.name} answered {record}")
    if shapes[0] != shapes[1]:
        raise BenchError(f"the two servers answer differently: {shapes}")


def bench(args) -> list[Result]:
    work = Path(tempfile.mkdtemp(prefix="actiongraph-bench-"))
    script = work / "post.lua"
    script.write_text(LUA)
    pair = servers(work)
    try:
        for s in pair:
            s.start()
        check_same_answer(pair)
        if args.warmup > 0:
            for s in pair:
                run_wrk(args.wrk, script, s.url, args.warmup, args.threads, args.connections)
        results: list[Result] = []
        for r in range(1, args.rounds + 1):
            for s in pair:
                print(f"  round {r}: {s.name:<11} {args.duration:g} s ...", end="", flush=True)
                before = cpu_seconds(s.proc.pid), machine_busy_seconds(), children_cpu_seconds()
                started = time.monotonic()
                m = run_wrk(args.wrk, script, s.url, args.duration, args.threads,
                            args.connections)
                wall = time.monotonic() - started
                after = cpu_seconds(s.proc.pid), machine_busy_seconds(), children_cpu_seconds()
                if None not in before and None not in after:
                    server, busy, wrk = (a - b for a, b in zip(after, before, strict=True))
                    m["cpu_ms"] = server * 1000 / max(1, m["requests"])
                    m["other_pct"] = max(0.0, busy - server - wrk) * 100 / wall
                print(f" {m['rps']:8.1f} req/s  p99 {m['p99_ms']:7.2f} ms", flush=True)
                results.append(Result(s.name, r, **m))
        return results
    finally:
        for s in pair:
            s.stop()
        for s in pair:
            if s.db.exists():
                print(f"  {s.name}: {s.rows()} rows in its database, {s.logged()} requests logged")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"  (kept {work})")


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def summary(results: list[Result], name: str) -> dict:
    mine = [r for r in results if r.server == name]
    return {
        "rps": _mean([r.rps for r in mine]) or 0.0,
        "p50_ms": _mean([r.p50_ms for r in mine]),
        "p99_ms": _mean([r.p99_ms for r in mine]),
        "requests": sum(r.requests for r in mine),
        "non_2xx": sum(r.non_2xx for r in mine),
        "socket_errors": sum(r.socket_errors for r in mine),
        "cpu_ms": _mean([r.cpu_ms for r in mine]),
        "other_pct": _mean([r.other_pct for r in mine]),
    }


def _row(name: str, rnd: str, d: dict) -> str:
    cpu = "" if d["cpu_ms"] is None else f"{d['cpu_ms']:.2f}"
    other = "" if d["other_pct"] is None else f"{d['other_pct']:.0f}%"
    return (f"{name:<12} {rnd:>5} {d['rps']:>9.1f} {d['p50_ms']:>8.2f} {d['p99_ms']:>8.2f} "
            f"{cpu:>10} {d['requests']:>9} {d['non_2xx']:>7} {d['socket_errors']:>8} {other:>6}")


def report(results: list[Result], target: float) -> float:
    """Print the table and the ratios; returns the ratio of requests/s graph/handwritten."""
    print()
    print(f"{'server':<12} {'round':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'cpu ms/req':>10} {'requests':>9} {'non-2xx':>7} {'sock err':>8} {'other':>6}")
    for r in results:
        print(_row(r.server, str(r.round), vars(r)))
    g, h = summary(results, "graph"), summary(results, "handwritten")
    print(_row("graph", "mean", g))
    print(_row("handwritten", "mean", h))
    ratio = g["rps"] / h["rps"] if h["rps"] else 0.0
    by_round = {}
    for r in results:
        by_round.setdefault(r.round, {})[r.server] = r.rps
    rounds = [d["graph"] / d["handwritten"] for d in by_round.values()
              if d.get("handwritten") and "graph" in d]
    print()
    print(f"requests/s  graph/handwritten: {ratio:.3f}  (target >= {target:g}: "
          f"{'met' if ratio >= target else 'NOT met'}); per round: "
          + " ".join(f"{x:.2f}" for x in rounds))
    if h["p99_ms"]:
        print(f"p99 latency graph/handwritten: {g['p99_ms'] / h['p99_ms']:.3f}")
    if g["cpu_ms"] and h["cpu_ms"]:
        print(f"CPU/request graph/handwritten: {g['cpu_ms'] / h['cpu_ms']:.3f}")
    others = [r.other_pct for r in results if r.other_pct is not None]
    if others and max(others) > NOISY_PCT:
        print(f"note: something else used up to {max(others):.0f}% of a CPU during the runs "
              f"(column 'other'); on a {os.cpu_count()}-CPU machine that skews the figures, "
              f"run again when it is quiet")
    return ratio


def parse_args(argv: list[str] | None = None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=8, help="seconds per wrk run (default 8)")
    p.add_argument("--rounds", type=int, default=3, help="A/B rounds (default 3)")
    p.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per server")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    p.add_argument("--target", type=float, default=TARGET,
                   help="least acceptable ratio of requests/s graph/handwritten (default 0.9)")
    p.add_argument("--wrk", default=None, help="the wrk binary (default: wrk on PATH)")
    p.add_argument("--keep", action="store_true", help="keep the databases and logs")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.wrk = args.wrk or shutil.which("wrk")
    if not args.wrk or not Path(args.wrk).exists():
        print(INSTALL, file=sys.stderr)
        return 2
    print(f"shoes: graph server vs hand-written aiohttp, POST {PATH} {BODY}")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, "
          f"{args.rounds} rounds A/B, {args.warmup:g} s warm-up each; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    try:
        results = bench(args)
    except (BenchError, OSError, subprocess.SubprocessError) as e:
        print(f"\nbenchmark failed: {e}", file=sys.stderr)
        return 2
    ratio = report(results, args.target)
    if any(r.non_2xx or r.socket_errors for r in results):
        print("some requests failed (see non-2xx / sock err): the figures are not comparable",
              file=sys.stderr)
        return 2
    return 0 if ratio >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
