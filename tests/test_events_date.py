"""Date event: now, add, subtract, format, parse, difference; all in UTC; and over HTTP."""

from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from nodes.date import EVENT as DATE
from runtime.errors import ActionError
from runtime.executor import Context
from runtime.project import Project, Trigger, Variable

NOON = datetime(2024, 5, 31, 12, 0, tzinfo=UTC)


async def date_event(operation, unit="days", **inputs):
    ctx = Context(db=None, fields={})
    return (await DATE.run(ctx, inputs, {"operation": operation, "unit": unit}))["result"]


async def test_now_is_aware_utc_and_current():
    before = datetime.now(UTC)
    now = await date_event("now")
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)


async def test_now_asks_the_runtime_clock_when_there_is_one():
    ctx = Context(db=None, fields={})
    if not hasattr(ctx, "service"):
        pytest.skip("this runtime offers no services")
    paris = timezone(timedelta(hours=2))
    ctx.runner = SimpleNamespace(services={"clock": lambda: datetime(2024, 1, 1, 9, tzinfo=paris)})
    out = await DATE.run(ctx, {}, {"operation": "now", "unit": "days"})
    assert out["result"] == datetime(2024, 1, 1, 7, tzinfo=UTC) and out["result"].tzinfo is UTC


@pytest.mark.parametrize("operation, unit, inputs, expected", [
    ("add", "days", {"date": NOON, "amount": 1}, datetime(2024, 6, 1, 12, tzinfo=UTC)),
    ("add", "hours", {"date": "2024-05-31T23:30:00Z", "amount": 1.5},
     datetime(2024, 6, 1, 1, tzinfo=UTC)),
    ("add", "weeks", {"date": date(2024, 2, 26), "amount": 1}, datetime(2024, 3, 4, tzinfo=UTC)),
    ("subtract", "minutes", {"date": "2024-05-31T12:00:00+02:00", "amount": 30},
     datetime(2024, 5, 31, 9, 30, tzinfo=UTC)),
    ("subtract", "seconds", {"date": datetime(2024, 1, 1), "amount": 1},
     datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("difference", "days", {"date": "2024-05-01", "other": NOON}, 30.5),
    ("difference", "hours", {"date": NOON, "other": "2024-05-31T10:00:00Z"}, -2),
    ("difference", "weeks", {"date": date(2024, 1, 1), "other": date(2024, 1, 15)}, 2),
])
async def test_arithmetic(operation, unit, inputs, expected):
    result = await date_event(operation, unit, **inputs)
    assert result == expected and type(result) is type(expected)
    if isinstance(result, datetime):
        assert result.utcoffset() == timedelta(0)


async def test_format_and_parse():
    assert await date_event("format", date=NOON) == "2024-05-31T12:00:00Z"
    assert await date_event("format", date="2024-05-31T14:00:00+02:00",
                            pattern="%d/%m/%Y %H:%M") == "31/05/2024 12:00"
    assert await date_event("parse", date="31/05/2024", pattern="%d/%m/%Y") \
        == datetime(2024, 5, 31, tzinfo=UTC)
    assert await date_event("parse", date="2024-05-31 14:00 +0200", pattern="%Y-%m-%d %H:%M %z") \
        == datetime(2024, 5, 31, 12, tzinfo=UTC)
    assert await date_event("parse", date="2024-05-31T12:00:00Z") == NOON
    assert await date_event("parse", date="2024-05-31") == datetime(2024, 5, 31, tzinfo=UTC)


@pytest.mark.parametrize("operation, inputs, status, message", [
    ("parse", {"date": "31/13/2024", "pattern": "%d/%m/%Y"}, 422,
     'parse: `date` "31/13/2024" does not fit the pattern "%d/%m/%Y"'),
    ("parse", {"date": "next tuesday"}, 422,
     'parse: `date` "next tuesday" is not a date like 2024-05-31 or 2024-05-31T14:30:00Z'),
    ("add", {"date": NOON, "amount": "3"}, 500, "add: `amount` must be a number, got text"),
    ("add", {"amount": 3}, 500, "add: `date` must be a date or a date and time, got null"),
    ("add", {"date": NOON, "amount": 10**7}, 500, "add: 10000000 days from 2024-05-31T12:00:00+00:00"
     " is outside the years 1 to 9999"),
    ("difference", {"date": NOON, "other": 5}, 500,
     "difference: `other` must be a date or a date and time, got a number"),
    ("format", {"date": NOON, "pattern": "%" * 201}, 500, "format: `pattern` is 201 characters"),
])
async def test_errors_name_the_input_and_the_problem(operation, inputs, status, message):
    with pytest.raises(ActionError) as e:
        await date_event(operation, **inputs)
    assert e.value.message.startswith(message) and e.value.status == status


async def test_dates_over_http(serve):
    p = Project(name="Dates")
    p.add_endpoint("Due", "POST", "/v1/due", [Variable("start", "Text", "body"),
                                              Variable("days", "Number", "body")])
    a = p.add_action("Due", Trigger("endpoint", endpoint="Due"),
                     response_value={"due": "=due", "label": "=label", "left": "=left"})
    n1 = a.add_event("date", operation="parse", date="=body.start", pattern="%d.%m.%Y",
                     **{"as": "start"})
    n2 = a.add_event("date", after=n1.id, operation="add", date="=start", amount="=body.days",
                     unit="days", **{"as": "due"})
    n3 = a.add_event("date", after=n2.id, operation="format", date="=due",
                     pattern="%A %d %B %Y", **{"as": "label"})
    a.add_event("date", after=n3.id, operation="difference", unit="hours", date="=start",
                other="=due", **{"as": "left"})
    s = await serve(p)
    status, body, _ = await s.call("POST", "/v1/due", json={"start": "28.02.2024", "days": 2})
    assert status == 200, body
    assert body == {"due": "2024-03-01T00:00:00Z", "label": "Friday 01 March 2024", "left": 48}
    status, body, _ = await s.call("POST", "/v1/due", json={"start": "2024-02-28", "days": 2})
    assert status == 422 and body["event"] == "n1"
    assert body["error"] == ('Date event n1: parse: `date` "2024-02-28" does not fit the pattern '
                             '"%d.%m.%Y"')
