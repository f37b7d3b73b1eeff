"""Schedule triggers: parsing, the compiler's check, and scheduled runs against a real database
(SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from runtime.cli import _serve
from runtime.compiler import check_project, compile_project
from runtime.host import Host, ServeConfig
from runtime.project import Field, Project, Trigger
from runtime.projectfile import save
from runtime.scheduler import SLOT_TABLE, Clock, Scheduler, parse_schedule

pytestmark = pytest.mark.both_databases  # the runs and slot claims: SQLite and PostgreSQL

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


class HandClock(Clock):
    """A clock the test moves by hand; the scheduler's sleeps end when it passes their time."""

    def __init__(self, start: datetime = T0):
        self.t = start
        self.moved = asyncio.Condition()
        self.sleepers: list[datetime] = []  # when each sleeping scheduler wants to wake

    def now(self) -> datetime:
        return self.t

    async def sleep_until(self, when: datetime) -> None:
        self.sleepers.append(when)
        try:
            async with self.moved:
                await self.moved.wait_for(lambda: self.t >= when)
        finally:
            self.sleepers.remove(when)

    async def step(self, seconds: float, schedulers: int = 1) -> None:
        """Move to T0 + seconds and wait until every scheduler has woken, started what is due
        and gone back to sleep (the runs it started may still be going)."""
        when = T0 + timedelta(seconds=seconds)
        async with self.moved:
            self.t = max(self.t, when)
            self.moved.notify_all()
        await until(lambda: sum(1 for d in self.sleepers if d > when) == schedulers)


async def until(predicate, timeout: float = 5.0):
    """Wait (without blocking the loop) until predicate() is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def ticking(schedule: str = "every 1 seconds", name: str = "Tick", model: str = "Ticks",
            fail: bool = False) -> Project:
    p = Project(name="Ticks")
    p.add_model("Ticks", [Field("note", "Text")])
    p.add_model("Tocks", [Field("note", "Text")])
    a = p.add_action(name, Trigger("schedule", schedule=schedule))
    if fail:
        a.add_event("raise_error", status=503, message="the feed is down")
    else:
        a.add_event("create", model=model, values={"note": name})
    return p


class Setup:
    """A Host on a database (its own scheduler off: tests start one on a clock of theirs), its
    server state, and the records it reported."""

    def __init__(self, database, url: str, project: Project):
        self.database = database
        self.url = url
        self.project = project
        self.records = []

    async def open(self) -> Setup:
        self.host = await Host.open(ServeConfig(db=self.url, schedules=False), self.project)
        self.store, self.state = self.host.store, self.host.state
        self.host.listeners.append(self.records.append)
        return self

    async def swap(self, project: Project, revision: int) -> None:
        await self.host.deploy(project, revision)

    def rows(self, sql: str):
        return self.database.rows(self.url, sql)


@pytest.fixture
async def setups(database):
    made = []

    async def make(project: Project, db_name: str = "ticks") -> Setup:
        s = await Setup(database, database.url(db_name), project).open()
        made.append(s)
        return s

    yield make
    for s in made:
        await s.host.close()


# -- parsing ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds", "words"), [
    ("every 30 seconds", 30, "every 30 seconds"),
    ("every 5 minutes", 300, "every 5 minutes"),
    ("every 2 hours", 7200, "every 2 hours"),
    ("every 30s", 30, "every 30 seconds"),
    ("every 5m", 300, "every 5 minutes"),
    ("every 1h", 3600, "every hour"),
    ("Every  1 second", 1, "every second"),
    ("every 90 seconds", 90, "every 90 seconds"),
])
def test_intervals_parse(text, seconds, words):
    schedule = parse_schedule(text)
    assert schedule.interval == seconds and schedule.cron is None
    assert schedule.describe() == words


def test_cron_parses_and_describes_itself():
    schedule = parse_schedule(" 0  *  * * * ")
    assert (schedule.cron, schedule.describe()) == ("0 * * * *", "cron 0 * * * *")


@pytest.mark.parametrize(("text", "message"), [
    ("", "the schedule is empty"),
    ("   ", "the schedule is empty"),
    ("every 0 minutes", "every 0 minutes: the interval must be at least 1 second"),
    ("every 5 days", "'every 5 days': write 'every N seconds', 'every N minutes' or 'every N hours'"),
    ("every minutes 5", "'every minutes 5': write 'every N seconds'"),
    ("* * *", "'* * *': a cron expression has 5 fields: minute hour day month weekday"),
    ("* * * * * *", "'* * * * * *': a cron expression has 5 fields"),
    ("61 * * * *", "'61 * * * *': not a valid cron expression"),
    ("0 0 * * funday", "'0 0 * * funday': not a valid cron expression"),
    ("hourly", "'hourly': write 'every 5 minutes', 'every 30s' or a cron expression"),
])
def test_bad_schedules_say_what_is_wrong(text, message):
    with pytest.raises(ValueError) as e:
        parse_schedule(text)
    assert str(e.value).startswith(message)


def test_interval_runs_are_aligned_so_every_worker_computes_the_same_times():
    after = datetime(2030, 1, 1, 12, 3, 7, tzinfo=UTC)
    runs = parse_schedule("every 5 minutes").next_runs(3, after)
    assert [r.astimezone(UTC) for r in runs] == [
        datetime(2030, 1, 1, 12, 5, tzinfo=UTC), datetime(2030, 1, 1, 12, 10, tzinfo=UTC),
        datetime(2030, 1, 1, 12, 15, tzinfo=UTC)]
    assert all(r.tzinfo is not None for r in runs)
    exact = datetime(2030, 1, 1, 12, 5, tzinfo=UTC)
    assert parse_schedule("every 5m").next_after(exact) == exact + timedelta(minutes=5)


def test_next_runs_default_to_after_now():
    before = datetime.now(UTC)
    [first, second] = parse_schedule("every 1 seconds").next_runs(2)
    assert before < first <= before + timedelta(seconds=1) and second - first == timedelta(seconds=1)


def test_cron_runs_in_local_time_across_a_daylight_saving_change(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        after = datetime(2024, 3, 29, 12, 0, tzinfo=UTC)  # clocks go forward on March 31
        runs = parse_schedule("0 9 * * *").next_runs(2, after)
        assert [(r.hour, r.utcoffset()) for r in runs] == [(9, timedelta(hours=1)),
                                                           (9, timedelta(hours=2))]
        assert [r.astimezone(UTC) for r in runs] == [datetime(2024, 3, 30, 8, 0, tzinfo=UTC),
                                                     datetime(2024, 3, 31, 7, 0, tzinfo=UTC)]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_compiler_locates_a_bad_or_empty_schedule():
    problems = [str(p) for p in check_project(ticking("every 0 minutes"))]
    assert problems == ['actions["Tick"].trigger.schedule: every 0 minutes: the interval must be '
                        'at least 1 second']
    problems = [str(p) for p in check_project(ticking(""))]
    assert len(problems) == 1 and problems[0].startswith(
        'actions["Tick"].trigger.schedule: the schedule is empty')
    assert check_project(ticking("*/5 * * * *")) == []


# -- running -----------------------------------------------------------------------------

async def test_a_scheduled_action_runs_at_its_time_and_writes_its_row(setups):
    s = await setups(ticking())
    clock = HandClock()
    scheduler = Scheduler(s.state, clock)
    assert scheduler.next_runs() == {"Tick": T0 + timedelta(seconds=1)}
    scheduler.start()
    try:
        await clock.step(1)
        await until(lambda: len(s.records) == 1)
        assert s.rows("select count(*) from Ticks") == [(1,)]
        [record] = s.records
        assert (record.method, record.path, record.action, record.source, record.status) == \
            ("SCHEDULE", "schedule: Tick", "Tick", "schedule", 200)
        assert record.error is None and [c.op for c in record.changes] == ["insert"]
        assert scheduler.next_runs() == {"Tick": T0 + timedelta(seconds=2)}
        await clock.step(2)
        await until(lambda: len(s.records) == 2)
        assert s.rows("select count(*) from Ticks") == [(2,)]
    finally:
        await scheduler.stop()
    assert s.rows(f"select action, slot from {SLOT_TABLE} order by slot") == [
        ("Tick", "2030-01-01T12:00:01Z"), ("Tick", "2030-01-01T12:00:02Z")]


async def test_a_hot_swap_adds_and_removes_schedules_without_a_restart(setups):
    s = await setups(ticking())
    clock = HandClock()
    scheduler = Scheduler(s.state, clock)
    scheduler.next_runs()
    scheduler.start()
    try:
        await clock.step(1)
        await until(lambda: len(s.records) == 1)
        await s.swap(ticking("every 1 seconds", name="Tock", model="Tocks"), 2)
        await clock.step(2)  # the loop reads revision 2: Tick is gone, Tock is due at 12:00:03
        for second in (3, 4, 5):
            await clock.step(second)
            await until(lambda n=second: len(s.records) == n - 1)
        assert [r.action for r in s.records] == ["Tick", "Tock", "Tock", "Tock"]
        assert s.rows("select count(*) from Ticks") == [(1,)]
        assert s.rows("select count(*) from Tocks") == [(3,)]
        await s.swap(ticking("every 1 hour", name="Tock", model="Tocks"), 3)  # a changed schedule
        await clock.step(6)
        await clock.step(7)
        assert len(s.records) == 4
        assert scheduler.next_runs() == {"Tock": datetime(2030, 1, 1, 13, tzinfo=UTC)}
    finally:
        await scheduler.stop()


async def test_a_failing_run_is_reported_and_the_next_still_happens(setups):
    s = await setups(ticking(fail=True))
    clock = HandClock()
    scheduler = Scheduler(s.state, clock)
    scheduler.next_runs()
    scheduler.start()
    try:
        for second in (1, 2):
            await clock.step(second)
            await until(lambda n=second: len(s.records) == n)
    finally:
        await scheduler.stop()
    assert [(r.source, r.status, r.error, r.event) for r in s.records] == \
        [("schedule", 503, "the feed is down", "n1")] * 2
    assert scheduler.counts["failed"] == 2


async def test_two_workers_on_one_database_run_each_slot_once(setups):
    a = await setups(ticking())
    b = await setups(ticking())  # the same file with its own engine, as another process has
    clock = HandClock()
    schedulers = [Scheduler(a.state, clock), Scheduler(b.state, clock)]
    for scheduler in schedulers:
        scheduler.next_runs()
        scheduler.start()

    def handled():
        return sum(sc.counts["ran"] + sc.counts["claimed elsewhere"] for sc in schedulers)

    try:
        for second in (1, 2, 3):
            await clock.step(second, schedulers=2)
            await until(lambda n=second: handled() == 2 * n)
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
    assert sum(sc.counts["ran"] for sc in schedulers) == 3
    assert sum(sc.counts["claimed elsewhere"] for sc in schedulers) == 3
    assert len(a.records) + len(b.records) == 3
    assert a.rows("select count(*) from Ticks") == [(3,)]


async def test_run_now_runs_by_hand_and_reports_it_as_manual(setups):
    s = await setups(ticking("0 3 * * *"))
    scheduler = Scheduler(s.state, HandClock())
    record = await scheduler.run_now("Tick")
    assert (record.method, record.source, record.status, record.action) == ("RUN", "manual", 200, "Tick")
    assert s.records == [record]
    assert s.rows("select count(*) from Ticks") == [(1,)]
    record = await scheduler.run_now("Tick")  # manual runs claim no slot: both run
    assert s.rows("select count(*) from Ticks") == [(2,)]
    with pytest.raises(ValueError, match='unknown action "Tik"'):
        await scheduler.run_now("Tik")


async def test_a_run_still_going_is_not_started_twice_and_stop_lets_it_finish(setups):
    release = asyncio.Event()
    calls = []

    async def slow(request):
        calls.append(request.path)
        await release.wait()
        return web.json_response({"ok": True})

    upstream = web.Application()
    upstream.router.add_get("/slow", slow)
    server = TestServer(upstream, host="127.0.0.1")
    await server.start_server()
    p = ticking()
    p.settings.allow_private_http = True
    p.actions[0].add_event("http_request", after="n1", url=str(server.make_url("/slow")))
    s = await setups(p)
    clock = HandClock()
    scheduler = Scheduler(s.state, clock)
    scheduler.next_runs()
    scheduler.start()
    try:
        await clock.step(1)
        await until(lambda: len(calls) == 1)
        for second in (2, 3):
            await clock.step(second)
            assert scheduler.counts["still running"] == second - 1
        stopping = asyncio.create_task(scheduler.stop())
        release.set()
        await stopping  # the run in progress finished (and was reported), not cancelled
        assert len(calls) == 1 and [r.status for r in s.records] == [200]
        assert s.rows("select count(*) from Ticks") == [(1,)]
    finally:
        release.set()
        await scheduler.stop()
        await s.state.services["http"].close()
        await server.close()


async def test_serve_runs_a_schedule_headless(tmp_path, capsys, database):
    project = ticking("every 1 seconds")
    path = tmp_path / "ticks.actiongraph.json"
    save(project, path)
    url = database.url("served") if database.postgresql else None
    config = ServeConfig(project=str(path), db=url, port=0)
    task = asyncio.create_task(_serve(config, project, compile_project(project)))
    db = tmp_path / "ticks.db"

    def ticks():
        # Never wait on a lock here: this runs on the loop that must finish the migration.
        if url is not None:
            try:  # PostgreSQL: a table not yet committed is not there yet for this connection
                return database.rows(url, "select count(*) from Ticks")[0][0]
            except Exception:  # noqa: BLE001 - not migrated yet
                return 0
        if not db.exists():
            return 0
        try:
            with sqlite3.connect(db, timeout=0) as conn:
                return conn.execute("select count(*) from Ticks").fetchone()[0]
        except sqlite3.OperationalError:  # not migrated yet, or locked while it is
            return 0

    try:
        await until(lambda: ticks() >= 1, timeout=5)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    out = capsys.readouterr().out
    assert "  SCHEDULE Tick: every second, next run " in out


async def test_migrations_leave_the_slot_table_alone(setups):
    s = await setups(ticking())
    scheduler = Scheduler(s.state, HandClock())
    scheduler.next_runs()
    scheduler.start()
    try:
        await scheduler.clock.step(1)
        await until(lambda: len(s.records) == 1)
    finally:
        await scheduler.stop()
    smaller = ticking()
    smaller.models = [m for m in smaller.models if m.name != "Tocks"]
    changes = await s.store.open(smaller, allow_data_loss=True)
    assert changes == ["removed table Tocks"]
    assert s.rows(f"select action, slot from {SLOT_TABLE}") == [("Tick", "2030-01-01T12:00:01Z")]
