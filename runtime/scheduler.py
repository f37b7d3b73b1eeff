"""Running scheduled actions at their times, once across workers (runtime.schedule parses them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.schema import CreateTable

from runtime.runs import RunRecord, Served
from runtime.schedule import Schedule, parse_schedule

log = logging.getLogger("actiongraph.schedule")

SLOT_TABLE = "_actiongraph_schedule"  # one row per (action, slot) some worker has claimed
SLOTS = sa.Table(
    SLOT_TABLE, sa.MetaData(),
    sa.Column("action", sa.Text, primary_key=True),
    sa.Column("slot", sa.Text, primary_key=True),
)
SLOT_TABLE_LOCK = 0x61637467  # PostgreSQL advisory lock held while the slot table is made
KEEP_SLOTS = timedelta(days=1)  # claims older than this are deleted as new ones are made
MAX_NAP = 1.0  # seconds; the scheduler wakes at least this often to notice a new revision


class Clock:
    """The wall clock the scheduler reads and sleeps on (tests pass one they move by hand)."""

    def now(self) -> datetime:
        """Now, timezone-aware in local time."""
        return datetime.now().astimezone()

    async def sleep_until(self, when: datetime) -> None:
        """Return at `when` (at once if it has passed)."""
        await asyncio.sleep(max(0.0, (when - self.now()).total_seconds()))


def slot_key(when: datetime) -> str:
    """A run time as the slot workers claim: ISO 8601 in UTC, sortable as text."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Scheduler:
    """Runs every action whose trigger is a schedule, at its times, on a served project.

    Each time it wakes it reads `state.compiled`, so a deployed revision's schedules apply
    without a restart. Before a scheduled run it claims the slot in the database, so several
    workers sharing one database run each slot once. Runs go through `state.run` (a Host's, or
    a bare ServerState's), like every other run."""

    def __init__(self, state: Served, clock: Clock | None = None):
        self.state = state
        self.clock = clock or Clock()
        self.counts: Counter[str] = Counter()  # ran, failed, claimed elsewhere, still running
        self._compiled: Any = None
        self._schedules: dict[str, Schedule] = {}
        self._next: dict[str, datetime] = {}
        self._running: dict[str, asyncio.Task] = {}
        self._task: asyncio.Task | None = None
        self._table_ready = False

    # -- the public API ---------------------------------------------------------------
    def start(self) -> None:
        """Start running schedules in the background (an asyncio task on the running loop)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="actiongraph scheduler")

    async def stop(self) -> None:
        """Stop the schedule loop and wait for the runs in progress (each bounded by the timeout)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        running = [t for t in self._running.values() if not t.done()]
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        self._running.clear()

    def schedules(self) -> dict[str, Schedule]:
        """The schedule of every scheduled action of the current revision."""
        self._refresh(self.clock.now())
        return dict(self._schedules)

    def next_runs(self) -> dict[str, datetime]:
        """The next run time of every scheduled action of the current revision."""
        self._refresh(self.clock.now())
        return dict(self._next)

    async def run_now(self, action_name: str) -> RunRecord:
        """Run an action at once, by hand (no slot claim); reported with source "manual"."""
        if action_name not in self.state.compiled.actions:
            raise ValueError(f'unknown action "{action_name}"')
        return await self._run(action_name, "manual")

    # -- the loop -----------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            try:
                wake = self._tick()
            except Exception:  # a bug here must not end every schedule; say so and go on
                log.exception("the scheduler failed to start due runs")
                wake = self.clock.now() + timedelta(seconds=MAX_NAP)
            await self.clock.sleep_until(wake)

    def _tick(self) -> datetime:
        """Start every due run; returns when to wake next."""
        now = self.clock.now()
        self._refresh(now)
        for name, due in list(self._next.items()):
            if due > now:
                continue
            self._next[name] = self._schedules[name].next_after(max(now, due))
            running = self._running.get(name)
            if running is not None and not running.done():
                self.counts["still running"] += 1
                log.warning('schedule: "%s" is still running; the run due at %s is skipped',
                            name, due.strftime("%Y-%m-%d %H:%M:%S"))
                continue
            self._running[name] = asyncio.create_task(self._scheduled(name, due),
                                                      name=f"schedule {name}")
        nap = now + timedelta(seconds=MAX_NAP)
        return min([nap, *self._next.values()])

    def _refresh(self, now: datetime) -> None:
        """Follow the current revision: add, drop or re-time changed schedules."""
        compiled = self.state.compiled
        if compiled is self._compiled:
            return
        schedules: dict[str, Schedule] = {}
        for action in compiled.project.actions:
            if action.trigger.type != "schedule" or action.name not in compiled.actions:
                continue
            try:
                schedules[action.name] = parse_schedule(action.trigger.schedule or "")
            except ValueError as e:  # the compiler refuses these; a hand-made plan may not
                log.error('schedule: action "%s" is not scheduled: %s', action.name, e)
        nexts = {}
        for name, schedule in schedules.items():
            kept = self._schedules.get(name) == schedule and name in self._next
            nexts[name] = self._next[name] if kept else schedule.next_after(now)
        self._compiled, self._schedules, self._next = compiled, schedules, nexts

    # -- one run ------------------------------------------------------------------------
    async def _scheduled(self, name: str, due: datetime) -> None:
        """Claim the slot; if this worker got it, run the action."""
        started = time.perf_counter()
        try:
            claimed = await self._claim(name, slot_key(due))
        except Exception as e:  # noqa: BLE001 - the database is down or locked: report it
            record = RunRecord(time.time(), "SCHEDULE", f"schedule: {name}", 500,
                               (time.perf_counter() - started) * 1000, action=name,
                               source="schedule",
                               error=f"could not claim the run due at {slot_key(due)}: "
                                     f"{type(e).__name__}: {e}")
            self.counts["failed"] += 1
            self.state.report(record)
            return
        if not claimed:
            self.counts["claimed elsewhere"] += 1
            log.debug('schedule: "%s" at %s ran in another worker', name, slot_key(due))
            return
        await self._run(name, "schedule")

    async def _run(self, name: str, source: str) -> RunRecord:
        """Run an action with no inputs; the state reports it like a request."""
        record = await self.state.run(name, None, source)
        self.counts["failed" if record.error else "ran"] += 1
        return record

    async def _claim(self, name: str, slot: str) -> bool:
        """Insert (action, slot); True when this worker's insert won."""
        store = self.state.store
        postgresql = store.engine.dialect.name == "postgresql"
        if not self._table_ready:
            async with store.transaction() as tx:
                if postgresql:  # two workers creating it at once would clash in the catalog
                    await tx.conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SLOT_TABLE_LOCK)))
                await tx.conn.execute(CreateTable(SLOTS, if_not_exists=True))
            self._table_ready = True
        old = slot_key(datetime.fromisoformat(slot.replace("Z", "+00:00")) - KEEP_SLOTS)
        if postgresql:
            # ON CONFLICT waits for a worker inserting the same slot and then does nothing: no
            # error (nor a line in the server's log) for each slot another worker won.
            async with store.transaction() as tx:
                won = (await tx.conn.execute(
                    pg_insert(SLOTS).values(action=name, slot=slot).on_conflict_do_nothing()
                    .returning(SLOTS.c.slot))).first() is not None
                if won:
                    await tx.conn.execute(sa.delete(SLOTS).where(SLOTS.c.action == name,
                                                                 SLOTS.c.slot < old))
            return won
        try:
            async with store.transaction() as tx:
                await tx.conn.execute(sa.insert(SLOTS).values(action=name, slot=slot))
                await tx.conn.execute(sa.delete(SLOTS).where(SLOTS.c.action == name,
                                                             SLOTS.c.slot < old))
        except sa_exc.IntegrityError:
            return False
        return True
