"""Assign: set a variable to a value or an expression."""

from nodes.kind import EventKind, Port, Setting


async def run(ctx, inputs, settings):
    """Output the value; the executor stores it in the `as` variable."""
    return {"value": inputs.get("value")}


EVENT = EventKind(
    id="assign",
    reads=False,
    name="Assign",
    category="Logic",
    doc="Set a variable: `as` names it (a new variable, or a global one of the action to "
        "overwrite) and `value` is a literal or an expression such as =body.price * 1.2.",
    run=run,
    inputs=(Port("value", "Any", "The value to assign."),),
    outputs=(Port("value", "Any", "The assigned value."),),
    settings=(Setting("as", "variable", "The variable to set.", required=True),),
    summary=lambda s: f"{s.get('as') or '?'} = {s.get('value')!s:.30}",
)
