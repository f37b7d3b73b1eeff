"""Math event: each operation, its errors, and a real run over HTTP."""

from decimal import Decimal

import pytest

from nodes.math import EVENT as MATH
from runtime.errors import ActionError
from runtime.executor import Context
from runtime.project import Project, Trigger, Variable


async def math(operation, **inputs):
    return (await MATH.run(Context(db=None, fields={}), inputs, {"operation": operation}))["result"]


@pytest.mark.parametrize("operation, inputs, expected", [
    ("round", {"value": 2.345, "places": 2}, 2.35),
    ("round", {"value": 2.5}, 3),
    ("round", {"value": -2.5, "places": 0}, -3),
    ("round", {"value": Decimal("1.005"), "places": 2}, Decimal("1.01")),
    ("round", {"value": 1234, "places": Decimal(-2)}, 1200),
    ("floor", {"value": -1.5}, -2),
    ("ceil", {"value": Decimal("1.01")}, 2),
    ("abs", {"value": -7}, 7),
    ("min", {"list": [3, 1.5, Decimal("2")]}, 1.5),
    ("max", {"list": [3, 1.5, 8]}, 8),
    ("sum", {"list": [0.1, Decimal("0.2"), 1]}, Decimal("1.3")),
    ("sum", {"list": []}, 0),
    ("average", {"list": [1, 2, 3, 4]}, 2.5),
    ("average", {"list": [Decimal("1.1"), Decimal("2.2")]}, Decimal("1.65")),
])
async def test_operations(operation, inputs, expected):
    result = await math(operation, **inputs)
    assert result == expected and type(result) is type(expected)


async def test_random_numbers_stay_in_their_range():
    seen = {await math("random_integer", min=1, max=3) for _ in range(200)}
    assert seen == {1, 2, 3}
    assert await math("random_integer", min=5, max=5) == 5
    fractions = [await math("random") for _ in range(50)]
    assert all(0 <= f < 1 for f in fractions) and len(set(fractions)) > 1


@pytest.mark.parametrize("operation, inputs, message", [
    ("round", {"value": "12"}, "round: `value` must be a number, got text"),
    ("round", {}, "round: `value` must be a number, got null"),
    ("round", {"value": True}, "round: `value` must be a number, got true/false"),
    ("round", {"value": 1.5, "places": 1.5}, "round: `places` must be a whole number, got 1.5"),
    ("round", {"value": 1.5, "places": 500}, "round: round() decimals must be a whole number"),
    ("floor", {"value": Decimal("1e9999")}, "floor: `value` is too large"),
    ("floor", {"value": float("inf")}, "floor: `value` must be a finite number"),
    ("sum", {"list": [1, None]}, "sum: item 1 of `list` is null, not a number"),
    ("average", {"list": []}, "average: `list` is empty"),
    ("max", {"list": "1,2"}, "max: `list` must be a list of numbers, got text"),
    ("random_integer", {"min": 5, "max": 1}, "random_integer: `min` (5) is larger than `max` (1)"),
    ("random_integer", {"min": 1}, "random_integer: `max` must be a number, got null"),
])
async def test_bad_input_is_a_clear_error(operation, inputs, message):
    with pytest.raises(ActionError) as e:
        await math(operation, **inputs)
    assert e.value.message.startswith(message)


def test_the_face_shows_the_operation():
    assert MATH.describe({"operation": "round", "value": "=body.price", "places": 2}) \
        == "round(=body.price, 2)"
    assert MATH.describe({"operation": "sum", "list": "=body.items"}) == "sum of =body.items"
    assert MATH.describe({"operation": "random_integer", "min": 1, "max": 6}) == "random 1..6"


async def test_math_over_http(serve):
    p = Project(name="Math")
    p.add_endpoint("Stats", "POST", "/v1/stats", [Variable("prices", "List", "body"),
                                                   Variable("places", "Number", "body")])
    a = p.add_action("Stats", Trigger("endpoint", endpoint="Stats"),
                     response_value={"average": "=avg", "total": "=total", "top": "=top"})
    n1 = a.add_event("math", operation="average", list="=body.prices")
    n2 = a.add_event("math", after=n1.id, operation="round", places="=body.places",
                     **{"as": "avg"})
    a.wire(n1.id, "result", n2.id, "value")
    n3 = a.add_event("math", after=n2.id, operation="sum", list="=body.prices", **{"as": "total"})
    a.add_event("math", after=n3.id, operation="max", list="=body.prices", **{"as": "top"})
    s = await serve(p)
    status, body, _ = await s.call("POST", "/v1/stats", json={"prices": [10, 20, 25],
                                                            "places": 1})
    assert status == 200, body
    assert body == {"average": 18.3, "total": 55, "top": 25}
    status, body, _ = await s.call("POST", "/v1/stats", json={"prices": [], "places": 1})
    assert status == 500 and body["event"] == "n1" and body["event_kind"] == "math"
    assert body["error"] == "Math event n1: average: `list` is empty"
