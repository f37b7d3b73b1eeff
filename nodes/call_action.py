"""Call Action: run another action of the project and receive its response."""

from nodes.kind import EventKind, Port, Setting


async def run(ctx, inputs, settings):
    """Run the named action in this run's transaction, with `inputs` as its variables."""
    values = inputs.get("inputs") or {}
    if not isinstance(values, dict):
        raise ctx.error(f"inputs must be an object of variable: value, got {type(values).__name__}")
    return {"result": await ctx.call_action(settings["action"], values)}


EVENT = EventKind(
    id="call_action",
    reads=False,
    calls="action",  # what the called action does with the database counts (runtime.compiler)
    name="Call Action",
    category="Logic",
    doc="Run another action of this project (usually one triggered by 'action') and store its "
        "response value. `inputs` is an object whose keys are the called action's global "
        "variables, e.g. {\"UserId\": \"=newUser.id\"}. The called action shares this run's "
        "transaction: if anything fails later, its writes are undone too.",
    run=run,
    inputs=(Port("inputs", "Any", "Values for the called action's global variables."),),
    outputs=(Port("result", "Any", "The called action's response value."),),
    settings=(
        Setting("action", "action", "The action to run.", required=True),
        Setting("as", "variable", "Store the response in this variable.", default=""),
    ),
    writes=True,  # the called action may write
    summary=lambda s: f"-> {s.get('action') or '?'}",
)
