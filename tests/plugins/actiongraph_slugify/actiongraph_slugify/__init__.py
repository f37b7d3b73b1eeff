"""Slugify: turn a title into the text of a URL (the test suite's example event plug-in)."""

import re
import unicodedata

from nodes.kind import EventKind, Port, Raises, Setting, describe_value


async def run(ctx, inputs, settings):
    """Fold accents, lower the case and join the words with the separator."""
    text = inputs.get("text")
    if not isinstance(text, str):
        raise ctx.error(f"`text` must be text, got {describe_value(text)}", 422)
    separator = settings.get("separator") or "-"
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return {"slug": separator.join(re.findall(r"[a-z0-9]+", folded))}


SLUGIFY = EventKind(
    id="slugify.slug",
    name="Slugify",
    category="Text",
    doc="Turn `text` (e.g. =body.title) into a slug for a URL: \"Crème brûlée!\" becomes "
        "creme-brulee. Text that is not text fails the action with status 422.",
    run=run,
    inputs=(Port("text", "Text", "The text to turn into a slug.", required=True),),
    outputs=(Port("slug", "Text", "The slug.", schema=lambda at: {"type": "string"}),),
    settings=(
        Setting("separator", "text", "Put between words.", default="-"),
        Setting("as", "variable", "Store the slug in this variable.", default=""),
    ),
    errors=(Raises(422, "`text` is not text"),),
    summary=lambda s: f"slug of {s.get('text')!s:.24}",
)


def events() -> tuple[EventKind, ...]:
    """The event kinds of this plug-in (the entry point names this function)."""
    return (SLUGIFY,)
