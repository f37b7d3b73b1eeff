"""Benchmark: many concurrent clients writing through real `actiongraph serve` processes on SQLite,
then a check that every 2xx answer has its row and nothing was lost, duplicated or locked.

    .venv/bin/python tests/bench/bench_load.py                        # about half a minute
    .venv/bin/python tests/bench/bench_load.py --clients 64 --requests 200 --processes 2

Two workloads, each against its own server(s) and SQLite file:
- shoes: POST /v1/create_shoe with a unique marker per request;
- posts: POST /v1/posts, PUT /v1/posts/{id} twice, GET /v1/posts/{id}, and DELETE every third.
With --processes 2 (the default) two server processes share one SQLite file, as two gunicorn
workers would, so writers also queue across processes (SQLite's busy timeout).

Prints requests/s, p50 and p99 latency and the counts (acknowledged, rows, lost, duplicates, ...).
Exit status: 0 when every check passed, 1 when one did not (the problems are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: the shared load code and the serve helper

from loadcheck import load_and_check  # noqa: E402


async def run(example: str, folder: Path, clients: int, requests: int, processes: int):
    return await load_and_check(example, folder, clients, requests, processes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--requests", type=int, default=100, help="requests per client (100)")
    parser.add_argument("--processes", type=int, default=2,
                        help="server processes sharing one SQLite file (2)")
    parser.add_argument("--only", choices=["shoes", "posts"], help="run one workload")
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="actiongraph-load-"))
    failed = False
    print(f"{args.clients} clients x {args.requests} requests, {args.processes} server "
          f"process(es) per SQLite file")
    try:
        for example in [args.only] if args.only else ["shoes", "posts"]:
            result = asyncio.run(run(example, folder, args.clients, args.requests, args.processes))
            print(result.summary(), flush=True)
            for line in result.failures[:10] + result.problems:
                print("  ", line)
            failed = failed or bool(result.failures or result.problems)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("FAILED" if failed else "ok: every 2xx has its row; nothing lost, duplicated or locked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
