"""Condition: branch on a true/false value."""

from nodes.kind import EventKind, Flow, Port


async def run(ctx, inputs, settings):
    """Leave by `true` when the value is truthy, else by `false`."""
    return Flow("true" if inputs.get("value") else "false")


EVENT = EventKind(
    id="condition",
    reads=False,
    name="Condition",
    category="Logic",
    doc="Branch the flow: when `value` (e.g. =newUser != null or =body.price > 100) is true "
        "the events on the `true` port run, otherwise those on `false`.",
    run=run,
    inputs=(Port("value", "Boolean", "The condition to test.", required=True),),
    flow_out=("true", "false"),
    summary=lambda s: f"if {s.get('value')!s:.30}",
)
