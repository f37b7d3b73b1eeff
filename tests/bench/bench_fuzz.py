"""The long fuzzing run: Schemathesis against `actiongraph serve` of every example project (or
the files given), from the OpenAPI document the server publishes, with stateful sequences (create
then read, update, delete) on top of the examples, coverage and fuzzing phases.

    .venv/bin/python tests/bench/bench_fuzz.py                      # 200 examples, a few minutes
    .venv/bin/python tests/bench/bench_fuzz.py --max-examples 1000 my.actiongraph.json

Prints, per project, how many cases ran on how many operations and every distinct failure (a
5xx, an answer that breaks the document, an error body that is not the Error shape or shows
internals, valid data refused by the binder, invalid data accepted) with the request and the
answer; then `PRAGMA integrity_check` of the database. Exit status 0 when nothing failed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: the fuzzing harness and the serve helper

from fuzzing import fuzz_project  # noqa: E402
from serving import EXAMPLES  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("projects", nargs="*", type=Path,
                        help="project files (default: every example)")
    parser.add_argument("--max-examples", type=int, default=200,
                        help="examples per operation and phase (200)")
    parser.add_argument("--seed", type=int, help="a fixed seed (default: a new one each run)")
    parser.add_argument("--no-stateful", action="store_true", help="leave out stateful sequences")
    parser.add_argument("--max-time", type=int, help="seconds per project at most")
    args = parser.parse_args(argv)
    projects = args.projects or sorted(EXAMPLES.glob("*.actiongraph.json"))
    failed = False
    total = 0
    for project in projects:
        folder = Path(tempfile.mkdtemp(prefix="actiongraph-fuzz-"))
        try:
            result = fuzz_project(project, folder, max_examples=args.max_examples, seed=args.seed,
                                  stateful=not args.no_stateful, max_time=args.max_time)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        total += result.cases
        print(result.summary(), flush=True)
        for key, detail in result.failures.items():
            print(f"  FAIL {key}\n    {detail}")
        for error in result.errors:
            print(f"  ERROR {error}")
        failed = failed or not result.ok
    print(f"{total} cases in all: {'FAILED' if failed else 'no failures'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
