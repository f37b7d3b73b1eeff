"""Delete: remove one record, or every record matching a Where filter."""

from nodes.kind import EventKind, Port, Raises, Setting, model_summary


async def run(ctx, inputs, settings):
    """Delete the given record, or all records matching Where; output how many went."""
    model = settings["model"]
    record = inputs.get("record")
    if record is not None:
        if not isinstance(record, dict) or "id" not in record:
            raise ctx.error("record must be a record with an id")
        where = ctx.db.by_id(model, record["id"])
    else:
        where = settings.get("where")
        if where is None and not settings.get("all"):
            raise ctx.error("refusing to delete every record: set a Where filter, or `all`")
    return {"count": len(await ctx.db.delete(model, where))}


EVENT = EventKind(
    id="delete",
    name="Delete",
    category="Data",
    doc="Delete records of a data model: the one given in `record`, or every record matching "
        "the Where filter (an empty filter deletes nothing unless `all` is set). Outputs how "
        "many records were deleted.",
    run=run,
    inputs=(Port("record", "Record", "The record to delete (its id is used)."),),
    outputs=(Port("count", "Number", "How many records were deleted.",
                  schema=lambda at: {"type": "integer", "minimum": 0}),),
    settings=(
        Setting("model", "model", "The data model to delete from.", required=True),
        Setting("where", "where", "Without `record`: which records to delete.", default=None),
        Setting("all", "boolean", "Allow deleting every record when Where is empty.",
                default=False),
        Setting("as", "variable", "Store the count in this variable.", default=""),
    ),
    errors=(Raises(422, "a value of the Where filter does not fit its field"),),
    writes=True,
    summary=model_summary("from"),
)
