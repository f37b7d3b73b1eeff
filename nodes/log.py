"""Log: write a message to the server log (and the run's trace), then go on."""

from nodes.kind import EventKind, Port, Setting
from nodes.values import FUNCTIONS

LEVELS = ("debug", "info", "warning", "error")
MAX_MESSAGE = 10_000  # characters; a log line is for reading, not for storing data


async def run(ctx, inputs, settings):
    """Log the message at the chosen level; the flow continues."""
    message = inputs.get("message")
    text = message if isinstance(message, str) else FUNCTIONS["str"](message)
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE]}… ({len(text) - MAX_MESSAGE:,} more characters)"
    ctx.log(text, settings.get("level") or "info")
    return None


EVENT = EventKind(
    id="log",
    reads=False,
    name="Log",
    category="Logic",
    doc="Write `message` to the server log at the chosen level (debug, info, warning or "
        "error), with the action and event named; in the editor it shows in the run's trace. "
        "The message is text or an expression such as =concat(\"new order \", str(order.id)); "
        "objects and lists are written as JSON, and a message longer than 10,000 characters is "
        "cut. Nothing else changes: the flow goes on to the next event.",
    run=run,
    inputs=(Port("message", "Any", "What to write (text or an expression).", required=True),),
    settings=(Setting("level", "choice", "How important the message is.", default="info",
                      choices=LEVELS),),
    summary=lambda s: f"{s.get('level') or 'info'}: {s.get('message')!s:.26}",
)
