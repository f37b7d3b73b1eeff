"""Schedule triggers: parse `every 5 minutes` or a cron expression, and run scheduled actions."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy import exc as sa_exc
from sqlalchemy.schema import CreateTable

from runtime.errors import ActionError
from runtime.executor import run_action
from runtime.server import RequestRecord, ServerState

UNITS = {"s": 1, "second": 1, "seconds": 1, "sec": 1, "secs": 1,
         "m": 60, "minute": 60, "minutes": 60, "min": 60, "mins": 60,
         "h": 3600, "hour": 3600, "hours": 3600}
EVERY_RE = re.compile(r"^every\s+(?:(?P<count>[+-]?\d+)\s*)?(?P<unit>[a-z]+)$")
CRON_FIELDS = "minute hour day month weekday"


@dataclass(frozen=True)
class Schedule:
    """When an action runs: a fixed interval in seconds or a 5-field cron expression (local time)."""

    text: str
    interval: int | None = None  # seconds, for `every ...`
    cron: str | None = None

    def next_after(self, dt: datetime) -> datetime:
        """The first run strictly after `dt` (a naive `dt` is taken as local time), timezone-aware."""
        dt = dt.astimezone()
        if self.interval is not None:
            # Slots are aligned to the epoch so every worker process computes the same times.
            step = self.interval
            seconds = int(dt.timestamp() // step) * step + step
            return datetime.fromtimestamp(seconds, UTC).astimezone()
        # Cron runs in local wall-clock time; stepping in naive local time keeps DST changes right.
        local = dt.replace(tzinfo=None)
        nxt = croniter(self.cron, local).get_next(datetime)
        return nxt.astimezone()

    def next_runs(self, n: int, after: datetime | None = None) -> list[datetime]:
        """The next `n` run times after `after` (default: now)."""
        at = after if after is not None else datetime.now().astimezone()
        runs = []
        for _ in range(n):
            at = self.next_after(at)
            runs.append(at)
        return runs

    def describe(self) -> str:
        """The schedule in words: `every 5 minutes`, `cron 0 * * * *`."""
        if self.interval is None:
            return f"cron {self.cron}"
        for size, unit in ((3600, "hour"), (60, "minute"), (1, "second")):
            if self.interval % size == 0:
                count = self.interval // size
                return f"every {unit}" if count == 1 else f"every {count} {unit}s"
        return f"every {self.interval} seconds"  # unreachable: every interval divides by 1


def parse_schedule(text: str) -> Schedule:
    """Parse `every 30 seconds|5 minutes|2 hours`, `every 30s|5m|1h` or a 5-field cron expression."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the schedule is empty: write e.g. 'every 5 minutes' or a cron "
                         "expression like '0 * * * *'")
    source = " ".join(text.split())
    lowered = source.lower()
    if lowered.startswith("every"):
        compact = re.sub(r"^every\s+([+-]?\d+)([a-z]+)$", r"every \1 \2", lowered)
        match = EVERY_RE.match(compact)
        if not match or match.group("unit") not in UNITS:
            raise ValueError(f"{source!r}: write 'every N seconds', 'every N minutes' or 'every N hours' "
                             "(or 30s, 5m, 1h)")
        count = int(match.group("count")) if match.group("count") is not None else 1
        seconds = count * UNITS[match.group("unit")]
        if seconds < 1:
            raise ValueError(f"{source}: the interval must be at least 1 second")
        return Schedule(text=source, interval=seconds)
    if not source.startswith("@"):
        fields = source.split(" ")
        if len(fields) == 1:
            raise ValueError(f"{source!r}: write 'every 5 minutes', 'every 30s' or a cron expression "
                             f"like '0 * * * *' ({CRON_FIELDS})")
        if len(fields) != 5:
            raise ValueError(f"{source!r}: a cron expression has 5 fields: {CRON_FIELDS}")
    try:
        croniter(source, datetime(2000, 1, 1))
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{source!r}: not a valid cron expression ({CRON_FIELDS}): {exc}") from None
    return Schedule(text=source, cron=source)


# -- running scheduled actions ---------------------------------------------------------

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
NO_INPUTS = {"path": {}, "query": {}, "header": {}, "body": {}, "auth": {}}


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
    """Runs every action whose trigger is a schedule, at its times, on a server's state.

    Each time it wakes it reads `state.compiled`, so a swapped revision's schedules apply
    without a restart. Before a scheduled run it claims the slot in the database, so several
    workers sharing one database run each slot once."""

    def __init__(self, state: ServerState, clock: Clock | None = None):
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

    async def run_now(self, action_name: str) -> RequestRecord:
        """Run an action at once, by hand (no slot claim); reported with source "manual"."""
        if action_name not in self.state.compiled.actions:
            raise ValueError(f'unknown action "{action_name}"')
        return await self._run(action_name, "RUN", "manual")

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
            record = RequestRecord(time.time(), "SCHEDULE", f"schedule: {name}", 500,
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
        await self._run(name, "SCHEDULE", "schedule")

    async def _run(self, name: str, method: str, source: str) -> RequestRecord:
        """Run an action with no inputs and report it like a request."""
        started = time.perf_counter()
        record = RequestRecord(time.time(), method, f"schedule: {name}", 500, 0.0, action=name,
                               source=source)
        compiled = self.state.compiled
        plan = compiled.actions.get(name)
        try:
            if plan is None:
                raise ActionError(f'action "{name}" is no longer in the project', status=404)
            result = await run_action(plan, self.state.store, copy.deepcopy(NO_INPUTS),
                                      timeout=self.state.timeout, trace=self.state.trace,
                                      plans=compiled.actions, services=self.state.services)
        except ActionError as e:
            record.status, record.error, record.event, record.trace = e.status, e.logged, e.event, e.trace
            record.changes = list(getattr(e, "changes", None) or [])
        except Exception as e:  # noqa: BLE001 - the last guard, as in dispatch: report, go on
            log.exception('schedule: unexpected error in action "%s"', name)
            record.error = f"{type(e).__name__}: {e}"
        else:
            record.status, record.result = result.status, result
            record.trace, record.changes = result.trace, result.changes
        record.ms = (time.perf_counter() - started) * 1000
        self.counts["failed" if record.error else "ran"] += 1
        self.state.report(record)
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
            from sqlalchemy.dialects.postgresql import insert

            async with store.transaction() as tx:
                won = (await tx.conn.execute(
                    insert(SLOTS).values(action=name, slot=slot).on_conflict_do_nothing()
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
