"""Break: stop the loop whose each branch this event is in."""

from nodes.kind import BREAK, EventKind


async def run(ctx, inputs, settings):
    """Leave the innermost loop; the flow goes on at its `done` port."""
    return BREAK


EVENT = EventKind(
    id="break",
    reads=False,
    name="Break",
    category="Logic",
    doc="Stop the enclosing Loop early: no more items are processed and the flow continues at "
        "the loop's `done` port. Only allowed inside a loop's each branch (put it after a "
        "Condition to stop when something is found).",
    run=run,
    flow_out=(),
    breaks=True,
    summary=lambda s: "leave the loop",
)
