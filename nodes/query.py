"""Query: read one record or a list of records from a data model."""

from nodes.kind import EventKind, Port, Setting, model_summary


async def run(ctx, inputs, settings):
    """Select rows by the Where filter, ordered and paged; one record or a list."""
    model = settings["model"]
    limit = inputs.get("limit")
    offset = inputs.get("offset") or 0
    if settings.get("one"):
        rows = await ctx.db.select(model, settings.get("where"), settings.get("order") or (),
                                   limit=1, offset=offset)
        if not rows and settings.get("if_none") == "404":
            raise ctx.error(f"no {model} record matches", status=404)
        return {"result": rows[0] if rows else None}
    rows = await ctx.db.select(model, settings.get("where"), settings.get("order") or (),
                               limit=None if limit is None else int(limit), offset=int(offset))
    return {"result": rows}


EVENT = EventKind(
    id="query",
    name="Query",
    category="Data",
    doc="Read records of a data model that match a Where filter (fields compared with "
        "=, !=, <, <=, >, >=, contains, starts with, in, is null; combined with and/or), "
        "ordered by fields, with a limit and offset for paging. With `one` set it yields the "
        "first record or null (or answers 404 when `if_none` is 404); otherwise a list, capped "
        "at 1000 rows.",
    run=run,
    inputs=(
        Port("limit", "Number", "At most this many records (empty: up to 1000)."),
        Port("offset", "Number", "Skip this many records first.", default=0),
    ),
    outputs=(Port("result", "Any", "The record (one) or the list of records."),),
    settings=(
        Setting("model", "model", "The data model to read.", required=True),
        Setting("where", "where", "Which records; empty means all.", default=None),
        Setting("order", "order", "Sort by these fields.", default=[]),
        Setting("one", "boolean", "Yield one record instead of a list.", default=False),
        Setting("if_none", "choice", "With `one`: what to do when nothing matches.",
                default="null", choices=("null", "404")),
        Setting("as", "variable", "Store the result in this variable.", default=""),
    ),
    summary=model_summary("from"),
)
