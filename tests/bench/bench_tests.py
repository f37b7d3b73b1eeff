"""Bench: 200 tests of the posts example with `runtime.testing.run_tests` (target under 10 s,
each test on a fresh scratch database, served over loopback HTTP).

    .venv/bin/python tests/bench/bench_tests.py [N]
"""

from __future__ import annotations

import asyncio
import copy
import sys
import time
from pathlib import Path

from runtime import testing
from runtime.projectfile import load

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "posts.actiongraph.json"
TARGET_S = 10.0


def project_with(n: int):
    """The posts example with its tests repeated to `n` tests."""
    project = load(EXAMPLE)
    base = list(project.tests)
    project.tests = []
    for i in range(n):
        test = copy.deepcopy(base[i % len(base)])
        test.name, test.id = f"{test.name} #{i + 1}", f"t{i + 1}"
        project.tests.append(test)
    return project


def main(n: int = 200) -> int:
    """Run the bench; print the figure; exit 1 when a test fails."""
    project = project_with(n)
    started = time.perf_counter()
    results = asyncio.run(testing.run_tests(project))
    seconds = time.perf_counter() - started
    failed = [r for r in results if not r.passed]
    for r in failed[:5]:
        print(testing.result_line(r))
    ms = sorted(r.ms for r in results)
    print(f"{len(results)} tests of the posts example in {seconds:.2f} s "
          f"({seconds / len(results) * 1000:.1f} ms a test; median {ms[len(ms) // 2]:.1f} ms, "
          f"slowest {ms[-1]:.1f} ms; target under {TARGET_S:g} s for 200), {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
