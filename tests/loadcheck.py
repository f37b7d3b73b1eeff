"""Writing load against real `actiongraph serve` processes, and the check that follows it: every
2xx answer has its row, nothing is written twice or lost, no "database is locked" anywhere.

Shared by tests/test_load_quick.py (a small run CI asserts) and tests/bench/bench_load.py (a long
run that prints figures)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

LOCKED = "database is locked"


@dataclass
class LoadResult:
    """What one load run did, as the clients saw it."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, one per answered request
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # non-2xx answers, refused connections
    problems: list[str] = field(default_factory=list)  # what the check after the run found
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        statuses = " ".join(f"{k}x{v}" for k, v in sorted(self.statuses.items()))
        return (f"{self.name}: {self.requests} requests in {self.seconds:.1f} s = {self.rps:.0f} "
                f"requests/s, p50 {self.percentile(50):.1f} ms, p99 {self.percentile(99):.1f} ms; "
                f"statuses {statuses}; {counts}; failures {len(self.failures)}, "
                f"problems {len(self.problems)}")


class _Client:
    """One HTTP client: times each request and notes anything but the expected answer."""

    def __init__(self, http: aiohttp.ClientSession, result: LoadResult):
        self.http, self.result = http, result

    async def call(self, method: str, url: str, expect: int, **kwargs):
        started = time.perf_counter()
        try:
            async with self.http.request(method, url, **kwargs) as r:
                text = await r.text()
                status = r.status
        except (TimeoutError, aiohttp.ClientError) as e:
            self.result.failures.append(f"{method} {url}: {type(e).__name__}: {e}")
            return None, None
        self.result.latencies.append(time.perf_counter() - started)
        self.result.statuses[status] += 1
        if LOCKED in text:
            self.result.problems.append(f"{method} {url}: {LOCKED!r} in the answer")
        if status != expect:
            self.result.failures.append(f"{method} {url}: {status} {text[:200]}")
            return status, None
        return status, text


async def _run(name: str, urls: list[str], clients: int, work) -> LoadResult:
    result = LoadResult(name)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        started = time.perf_counter()
        await asyncio.gather(*(work(_Client(http, result), urls[c % len(urls)], c)
                               for c in range(clients)))
        result.seconds = time.perf_counter() - started
    return result


# -- shoes: POST /v1/create_shoe ---------------------------------------------------------------

async def shoes_load(urls: list[str], clients: int, per_client: int,
                     tag: str = "shoe") -> tuple[LoadResult, set[str]]:
    """Each client creates `per_client` shoes with unique markers; returns the acknowledged ones."""
    acked: set[str] = set()

    async def work(client: _Client, url: str, c: int) -> None:
        for i in range(per_client):
            marker = f"{tag}-{c}-{i}"
            status, text = await client.call("POST", url + "/v1/create_shoe", 200,
                                             json={"shoe_type": marker, "price": 10})
            if text is not None:
                acked.add(marker)

    return await _run("shoes", urls, clients, work), acked


def check_shoes(result: LoadResult, db: Path, acked: set[str], tag: str = "shoe") -> None:
    """Every acknowledged shoe is in the table once; nothing else with our markers is."""
    with sqlite3.connect(db) as conn:
        rows = [r[0] for r in conn.execute("select shoe_type from Shoes where shoe_type like ?",
                                           (f"{tag}-%",))]
        result.counts["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counted = Counter(rows)
    duplicates = sorted(m for m, n in counted.items() if n > 1)
    lost = sorted(acked - set(counted))
    unacknowledged = sorted(set(counted) - acked)
    result.counts.update(acknowledged=len(acked), rows=len(rows), lost=len(lost),
                         duplicates=len(duplicates), unacknowledged=len(unacknowledged))
    if not result.counts["integrity"]:
        result.problems.append("PRAGMA integrity_check is not ok")
    for what, markers in (("lost", lost), ("duplicated", duplicates),
                          ("written without a 2xx", unacknowledged)):
        if markers:
            result.problems.append(f"{len(markers)} shoes {what}, e.g. {markers[:3]}")


# -- posts: create, update twice, read, delete every third ------------------------------------

async def posts_load(urls: list[str], clients: int, per_client: int,
                     tag: str = "post") -> tuple[LoadResult, dict[str, tuple[int, str | None]]]:
    """Each client sends about `per_client` requests: POST /v1/posts, PUT /v1/posts/{id} twice,
    GET /v1/posts/{id}, and DELETE /v1/posts/{id} for every third post. Returns, per marker,
    (id, the caption the last acknowledged write left, or None when it was deleted)."""
    import json

    expected: dict[str, tuple[int, str | None]] = {}

    async def work(client: _Client, url: str, c: int) -> None:
        sent = 0
        for n in itertools.count():
            if sent >= per_client:
                return
            marker = f"{tag}-{c}-{n}"
            status, text = await client.call("POST", url + "/v1/posts", 201,
                                             json={"user": marker, "caption": "new", "likes": n})
            sent += 1
            if text is None:
                continue
            post_id = json.loads(text)["id"]
            expected[marker] = (post_id, "new")
            for v in (1, 2):
                caption = f"{marker}-v{v}"
                status, text = await client.call("PUT", f"{url}/v1/posts/{post_id}", 200,
                                                 json={"caption": caption})
                sent += 1
                if text is not None:
                    expected[marker] = (post_id, caption)
            status, text = await client.call("GET", f"{url}/v1/posts/{post_id}", 200)
            sent += 1
            if text is not None and json.loads(text)["caption"] != expected[marker][1]:
                client.result.problems.append(f"GET /v1/posts/{post_id} read a stale caption")
            if n % 3 == 2:
                status, text = await client.call("DELETE", f"{url}/v1/posts/{post_id}", 200)
                sent += 1
                if text is not None:
                    expected[marker] = (post_id, None)

    return await _run("posts", urls, clients, work), expected


def check_posts(result: LoadResult, db: Path, expected: dict[str, tuple[int, str | None]],
                tag: str = "post") -> None:
    """Every acknowledged create, update and delete is what the table holds, once."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute('select id, user, caption from Posts where user like ?',
                            (f"{tag}-%",)).fetchall()
        result.counts["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    by_marker: dict[str, list[tuple[int, str]]] = {}
    for post_id, user, caption in rows:
        by_marker.setdefault(user, []).append((post_id, caption))
    lost, wrong, duplicates, undeleted, unacknowledged = [], [], [], [], []
    for marker, (post_id, caption) in expected.items():
        found = by_marker.get(marker, [])
        if len(found) > 1:
            duplicates.append(marker)
        elif caption is None:
            if found:
                undeleted.append(marker)
        elif not found:
            lost.append(marker)
        elif found[0] != (post_id, caption):
            wrong.append(f"{marker}: {found[0]} != {(post_id, caption)}")
    unacknowledged = sorted(set(by_marker) - set(expected))
    result.counts.update(created=len(expected),
                         deleted=sum(1 for v in expected.values() if v[1] is None),
                         rows=len(rows), lost=len(lost), duplicates=len(duplicates),
                         stale=len(wrong), undeleted=len(undeleted),
                         unacknowledged=len(unacknowledged))
    if not result.counts["integrity"]:
        result.problems.append("PRAGMA integrity_check is not ok")
    for what, items in (("lost", lost), ("duplicated", duplicates), ("with a stale caption", wrong),
                        ("not deleted", undeleted), ("written without a 2xx", unacknowledged)):
        if items:
            result.problems.append(f"{len(items)} posts {what}, e.g. {items[:3]}")


def check_logs(result: LoadResult, *outputs: str) -> None:
    """No server printed "database is locked" (or a traceback)."""
    for text in outputs:
        if LOCKED in text:
            result.problems.append(f"a server printed {LOCKED!r}")
        if "Traceback" in text:
            result.problems.append("a server printed a traceback")


async def load_and_check(example: str, folder: Path, clients: int, per_client: int,
                         processes: int = 2) -> LoadResult:
    """Copy an example into `folder`, serve it from `processes` real `actiongraph serve`
    processes sharing one SQLite file, load it, stop them, then check every row and log."""
    import shutil

    from serving import EXAMPLES, ServeProcess

    project = folder / f"{example}.actiongraph.json"
    shutil.copy(EXAMPLES / f"{example}.actiongraph.json", project)
    db = folder / f"{example}.db"
    servers = [ServeProcess(project, f"sqlite:///{db}", folder / f"{example}-{i}.log")
               for i in range(processes)]
    try:
        for server in servers:  # one after the other: the first one creates the tables
            server.start()
        urls = [s.url for s in servers]
        if example == "shoes":
            result, acked = await shoes_load(urls, clients, per_client)
        else:
            result, expected = await posts_load(urls, clients, per_client)
    finally:
        for server in servers:
            server.stop()
    if example == "shoes":
        check_shoes(result, db, acked)
    else:
        check_posts(result, db, expected)
    check_logs(result, *(s.output() for s in servers))
    return result
