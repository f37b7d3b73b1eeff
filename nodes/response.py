"""Response: set what the action answers, and with which status code."""

from nodes.kind import Answer, EventKind, Port, Setting


async def run(ctx, inputs, settings):
    """Set the response value and status; events after it still run."""
    ctx.respond(inputs.get("value"), settings.get("status") or 200)
    return None


EVENT = EventKind(
    id="response",
    reads=False,
    name="Response",
    category="Logic",
    doc="Set the action's response: `value` (a variable, an expression or a literal object) and "
        "the HTTP status code. It replaces the action's default response; events wired after it "
        "still run (the last Response reached wins).",
    run=run,
    inputs=(Port("value", "Any", "The response body."),),
    settings=(Setting("status", "integer", "The HTTP status code.", default=200),),
    answers=Answer(value="value", status="status", default_status=200),
    summary=lambda s: f"{s.get('status') or 200}",
)
