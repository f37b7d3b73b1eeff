"""Raise Error: stop the action with an HTTP status and a message; all its writes are undone."""

from nodes.kind import EventKind, Port, Raises, Setting
from nodes.values import FUNCTIONS


async def run(ctx, inputs, settings):
    """Fail the run with the status and message (the executor rolls the action back)."""
    status = settings.get("status") or 400
    if not 400 <= status <= 599:
        raise ctx.error(f"status must be an error status from 400 to 599, got {status}")
    message = inputs.get("message")
    raise ctx.error(message if isinstance(message, str) else FUNCTIONS["str"](message), status,
                    exact=True)


EVENT = EventKind(
    id="raise_error",
    reads=False,
    name="Raise Error",
    category="Logic",
    doc="Stop the action here and answer with an error: the HTTP `status` (400 to 599, e.g. "
        "403 forbidden, 404 not found, 409 conflict) and `message`, e.g. \"this email is "
        "already registered\" or =concat(\"no stock for \", body.sku). Everything the action "
        "wrote before is undone, and no event after it runs. Put it on a Condition's branch to "
        "refuse a request.",
    run=run,
    inputs=(Port("message", "Text", "What went wrong, for the caller (text or an expression).",
                 required=True),),
    settings=(Setting("status", "integer", "The HTTP status code, 400 to 599.", default=400),),
    flow_out=(),  # nothing runs after it
    errors=(Raises(lambda at: at.settings.get("status") or 400, "the flow reaches it"),),
    summary=lambda s: f"{s.get('status') or 400} {s.get('message')!s:.26}",
)
