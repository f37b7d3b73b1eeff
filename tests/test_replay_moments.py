"""A replay compares a recorded body (date-times kept as "+00:00") with the body on the wire
(date-times as "Z"): the same instant is no difference."""

from runtime.replaydiff import json_diff


def test_the_same_instant_written_two_ways_is_no_difference_and_another_instant_is():
    then = {"published": "2026-12-05T04:13:49.913030+00:00", "due": "2026-12-05T04:13:49Z",
            "day": "2026-12-05", "note": "2026-12-05T04:13:49 is when"}
    now = {"published": "2026-12-05T04:13:49.913030Z", "due": "2026-12-05T05:13:49Z",
           "day": "2026-12-05", "note": "2026-12-05T04:13:49 was when"}
    assert [(d.path, d.volatile) for d in json_diff(then, now)] == [("$.due", False),
                                                                  ("$.note", False)]
