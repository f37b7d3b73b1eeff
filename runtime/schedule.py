"""Schedule triggers as text: parse `every 5 minutes` or a cron expression, and when they fall.

Pure parsing and arithmetic on times: the compiler checks schedules with it, the editor explains
them, and the scheduler (runtime.scheduler) runs actions at the times it gives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import croniter

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
