"""What each event of an action was when the editor's live server ran it: a digest per event
(runtime.replaydiff.action_digests) for each revision that served runs, kept in the run
history's file beside the runs (`NAME.runs.db`, table `_actiongraph_event_digests`), so that
History can mark the events of an old run that have changed since, across restarts.

The editor numbers its revisions from 1 each time it starts, so a revision is found by its
number and the start of the editor session that served it (the newest session that started
before the run)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

TABLE = "_actiongraph_event_digests"


class EventSnapshots:
    """Digests of events per (session, revision, action) in a SQLite file (blocking calls: use
    them off the loop)."""

    def __init__(self, path: str | Path, session: float):
        self.path = Path(path)
        self.session = session  # epoch seconds the editor's server started
        self.saved: set[tuple[int, str]] = set()

    def save(self, revision: int, action: str, digests: dict[str, str]) -> None:
        """Keep the digests of an action's events as served in `revision` of this session
        (`saved` lists what was handed in already, so that a caller saves each once)."""
        with closing(_connect(self.path)) as conn, conn:
            conn.execute(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?)",
                         (self.session, revision, action, json.dumps(digests)))
        self.saved.add((revision, action))

    def find(self, revision: int | None, action: str | None, started: float
             ) -> dict[str, str] | None:
        """The digests recorded for the revision that ran an action at `started`, or None."""
        if revision is None or action is None or not self.path.exists():
            return None
        with closing(_connect(self.path)) as conn:
            row = conn.execute(
                f"SELECT digests FROM {TABLE} WHERE revision = ? AND action = ? AND session <= ? "
                "ORDER BY session DESC LIMIT 1", (revision, action, started + 1.0)).fetchone()
        return json.loads(row[0]) if row else None


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=2.0)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (session REAL, revision INTEGER, "
                 "action TEXT, digests TEXT, PRIMARY KEY (session, revision, action))")
    return conn
