"""A small writing load on real `actiongraph serve` processes (two of them on one SQLite file,
as two workers would be): every 2xx has its row, nothing is lost or written twice, and nothing
says "database is locked". The long run with figures is tests/bench/bench_load.py."""

from __future__ import annotations

import shutil

import pytest
from loadcheck import check_logs, check_posts, check_shoes, posts_load, shoes_load
from serving import EXAMPLES, ServeProcess

CLIENTS, PER_CLIENT = 16, 20


@pytest.mark.parametrize("example", ["shoes", "posts"])
async def test_concurrent_writers_lose_nothing(tmp_path, example):
    project = tmp_path / f"{example}.actiongraph.json"
    shutil.copy(EXAMPLES / f"{example}.actiongraph.json", project)
    db = tmp_path / f"{example}.db"
    servers = [ServeProcess(project, f"sqlite:///{db}", tmp_path / f"serve{i}.log") for i in (1, 2)]
    try:
        for server in servers:  # one after the other: the first one creates the tables
            server.start()
        urls = [s.url for s in servers]
        if example == "shoes":
            result, acked = await shoes_load(urls, CLIENTS, PER_CLIENT)
        else:
            result, expected = await posts_load(urls, CLIENTS, PER_CLIENT)
    finally:
        for server in servers:
            server.stop()
    if example == "shoes":
        check_shoes(result, db, acked)
    else:
        check_posts(result, db, expected)
    check_logs(result, *(s.output() for s in servers))
    print(result.summary())
    assert result.failures == [], result.failures[:5]
    assert result.problems == [], result.problems
    assert result.requests >= CLIENTS * PER_CLIENT
