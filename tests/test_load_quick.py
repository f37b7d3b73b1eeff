"""A small writing load on real `actiongraph serve` processes (two of them on one SQLite file,
as two workers would be): every 2xx has its row, nothing is lost or written twice, and nothing
says "database is locked". The long run with figures is tests/bench/bench_load.py."""

from __future__ import annotations

import pytest
from loadcheck import load_and_check

CLIENTS, PER_CLIENT = 16, 20


@pytest.mark.parametrize("example", ["shoes", "posts"])
async def test_concurrent_writers_lose_nothing(tmp_path, example):
    result = await load_and_check(example, tmp_path, CLIENTS, PER_CLIENT, processes=2)
    assert result.requests >= CLIENTS * PER_CLIENT
    print(result.summary())
    assert result.failures == [], result.failures[:5]
    assert result.problems == [], result.problems
