"""Schemathesis fuzzes every example project over real HTTP, from the OpenAPI document the server
publishes: no 5xx, answers as documented, errors in the documented Error shape with nothing of
the layers below, and a sound database afterwards (see tests/fuzzing.py for the checks).

A bounded run (a few examples per operation and phase, a fixed seed); the long run is
tests/bench/bench_fuzz.py."""

from __future__ import annotations

import pytest
from serving import EXAMPLES

pytest.importorskip("schemathesis")

from fuzzing import fuzz_project  # noqa: E402

# Sign-up and login hash passwords with Argon2 (on purpose slow): fewer examples there.
MAX_EXAMPLES = {"signup": 8}


@pytest.mark.parametrize("project", sorted(EXAMPLES.glob("*.actiongraph.json")),
                         ids=lambda p: p.name.removesuffix(".actiongraph.json"))
def test_the_fuzzer_finds_nothing(project, tmp_path):
    name = project.name.removesuffix(".actiongraph.json")
    result = fuzz_project(project, tmp_path, max_examples=MAX_EXAMPLES.get(name, 25), seed=1)
    print(result.summary())
    report = "\n".join(f"{key}\n  {detail}" for key, detail in result.failures.items())
    assert not result.failures, f"{len(result.failures)} failures:\n{report}"
    assert not result.errors, result.errors
    assert result.integrity == "ok"
    assert result.cases >= 10 * len(result.operations) > 0
