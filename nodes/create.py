"""Create: insert a new record into a data model."""

from nodes.kind import EventKind, Port, Raises, Setting, model_summary


async def run(ctx, inputs, settings):
    """Insert the mapped fields (over the fields of `source`, if given) and output the record."""
    model = settings["model"]
    known = ctx.fields(model)
    source = inputs.get("source") or {}
    if not isinstance(source, dict):
        raise ctx.error(f"source must be a record or an object, got {type(source).__name__}")
    values = {k: v for k, v in source.items() if k in known}
    values.update(settings.get("values") or {})
    return {"record": await ctx.db.insert(model, values)}


EVENT = EventKind(
    id="create",
    name="Create",
    category="Data",
    doc="Create a new record in a data model. Map each field to a literal, an expression or "
        "a variable; or wire a whole object (e.g. a Model body variable) into `source` and its "
        "matching fields are copied. `id` and `created_at` are filled in automatically. The new "
        "record, with its `id`, is stored in the `as` variable.",
    run=run,
    inputs=(Port("source", "Record", "An object whose matching fields are copied "
                 "(e.g. =body.shoe)."),),
    outputs=(Port("record", "Record", "The new record.",
                  schema=lambda at: at.record(at.settings.get("model"))),),
    settings=(
        Setting("model", "model", "The data model to insert into.", required=True),
        Setting("values", "field_map", "Field values; they win over `source`.", default={}),
        Setting("as", "variable", "Store the new record in this variable.", default=""),
    ),
    errors=(
        Raises(422, "a value does not fit its field"),
        Raises(409, "a record with the same value of a unique field exists",
               only=lambda at: at.unique(at.settings.get("model"))),
    ),
    writes=True,
    summary=model_summary("->"),
)
