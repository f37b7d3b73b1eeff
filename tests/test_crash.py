"""Crash safety with real processes: a server SIGKILLed under writing load loses no acknowledged
write and leaves a sound database; an editor killed while saving leaves the old file or the new
one, never half of one, and nothing that breaks the next load."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from crash_saver import version
from serving import EXAMPLES, ROOT, ServeProcess

SAVER = Path(__file__).resolve().parent / "crash_saver.py"

# -- the server: SIGKILL under writing load -------------------------------------------------------

CLIENTS = 8


async def _write_until_killed(url: str, tag: str, acked: set[str], failed: list[str]) -> None:
    """CLIENTS clients creating shoes with unique markers until the server is gone."""
    numbers = itertools.count()

    async def client(http: aiohttp.ClientSession, c: int) -> None:
        while True:
            marker = f"{tag}-{c}-{next(numbers)}"
            try:
                async with http.post(url + "/v1/create_shoe",
                                     json={"shoe_type": marker, "price": 10}) as r:
                    body = await r.json(content_type=None)
                    if r.status == 200 and body.get("shoe_type") == marker:
                        acked.add(marker)
                    else:
                        failed.append(f"{r.status} {body}")
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                return  # the server was killed

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await asyncio.gather(*(client(http, c) for c in range(CLIENTS)))


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _markers(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("select shoe_type from Shoes")}


async def test_a_server_killed_under_load_keeps_every_acknowledged_write(tmp_path):
    project = tmp_path / "shoes.actiongraph.json"
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", project)
    db = tmp_path / "x.db"
    acked: set[str] = set()
    for round_ in range(3):
        server = ServeProcess(project, f"sqlite:///{db}", tmp_path / "serve.log")
        await asyncio.to_thread(server.start)
        failed: list[str] = []
        load = asyncio.ensure_future(_write_until_killed(server.url, f"r{round_}", acked, failed))
        await asyncio.sleep(random.uniform(0.6, 1.2))
        before = len(acked)
        server.proc.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        await asyncio.wait_for(load, 15)
        await asyncio.to_thread(server.proc.wait, 10)
        assert failed == [], failed[:5]
        assert before > 20, f"too few writes before the kill ({before}): {server.output()[-2000:]}"
        # Restarted on the same database: sound, and every acknowledged write is there.
        with ServeProcess(project, f"sqlite:///{db}", tmp_path / "serve.log") as again:
            assert _integrity(db) == "ok"
            missing = acked - _markers(db)
            assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {sorted(missing)[:3]}"
            async with aiohttp.ClientSession() as http:
                async with http.post(again.url + "/v1/create_shoe",
                                     json={"shoe_type": f"after-{round_}", "price": 1}) as r:
                    assert r.status == 200
    assert "database is locked" not in (tmp_path / "serve.log").read_text()
    assert len(_markers(db)) >= len(acked) + 3


# -- the editor: SIGKILL while saving --------------------------------------------------------------

def _kill_while_saving(tmp_path: Path, mode: str, rounds: int, budget: float) -> tuple[int, int]:
    """Kill a saving process `rounds` times (within `budget` seconds); check the file after each
    kill. Returns (kills, kills that caught a save half-way: its temporary file was left)."""
    from runtime.projectfile import dumps, load

    path = tmp_path / "growing.actiongraph.json"
    old = dumps(version(0))
    path.write_text(old)
    texts = {0: old}

    def text(k: int) -> str:
        if k not in texts:
            texts[k] = dumps(version(k))
        return texts[k]

    started, killed, torn = time.monotonic(), 0, 0
    for round_ in range(rounds):
        if time.monotonic() - started > budget:
            break
        start = random.randint(50, 200)  # a file of 50-200 KB
        proc = subprocess.Popen([sys.executable, str(SAVER), mode, str(path), str(start)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        first = proc.stdout.readline()  # saving is under way ...
        assert first.strip() == str(start), proc.stderr.read()
        time.sleep(random.uniform(0, 0.15))  # ... kill it at a random moment
        proc.send_signal(signal.SIGKILL)
        rest = proc.communicate(timeout=10)[0].split()
        killed += 1
        torn += bool(_leftovers(tmp_path))
        last = int(rest[-1]) if rest else start
        on_disk = path.read_text(encoding="utf-8")
        # The last version reported saved, or the one after it (saved, not yet reported).
        assert on_disk in (text(last), text(last + 1)), f"round {round_}: a torn or odd file"
        assert load(path).name in (f"Shoes v{last}", f"Shoes v{last + 1}")
        texts = {k: v for k, v in texts.items() if k >= last}
    return killed, torn


def _leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


@pytest.mark.parametrize("mode", ["runtime", "document"])
def test_an_editor_killed_while_saving_leaves_the_old_or_the_new_file(tmp_path, mode):
    if mode == "document":
        pytest.importorskip("PySide6")
    killed, torn = _kill_while_saving(tmp_path, mode, rounds=40, budget=8)
    assert killed >= (10 if mode == "runtime" else 5)
    print(f"{mode}: {killed} saving processes killed, {torn} of them half-way through a write")
    from runtime.projectfile import load, save

    # Temporary files of killed saves do not stop the file from loading; the next save clears them.
    path = tmp_path / "growing.actiongraph.json"
    project = load(path)
    save(project, path)
    assert _leftovers(tmp_path) == []
    assert load(path) == project
