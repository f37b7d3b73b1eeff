"""Update: change one record, or every record matching a Where filter."""

from nodes.kind import EventKind, Port, Raises, Setting, model_summary


async def run(ctx, inputs, settings):
    """Apply the mapped field values to the given record, or to all records matching Where."""
    model = settings["model"]
    source = inputs.get("source") or {}
    if not isinstance(source, dict):
        raise ctx.error(f"source must be a record or an object, got {type(source).__name__}")
    known = ctx.fields(model)
    values = {k: v for k, v in source.items() if k in known}
    values.update(settings.get("values") or {})
    record = inputs.get("record")
    if record is not None:
        if not isinstance(record, dict) or "id" not in record:
            raise ctx.error("record must be a record with an id")
        rows = await ctx.db.update(model, ctx.db.by_id(model, record["id"]), values)
        if not rows:
            raise ctx.error(f"{model} record {record['id']} no longer exists", status=404)
        return {"result": rows[0]}
    return {"result": await ctx.db.update(model, settings.get("where"), values)}


def _result(at) -> dict:
    """The record when one is given, otherwise the list of updated records."""
    record = at.record(at.settings.get("model"))
    return record if at.given("record") else {"type": "array", "items": record}


EVENT = EventKind(
    id="update",
    name="Update",
    category="Data",
    doc="Update records of a data model. Wire or name one record in `record` (e.g. "
        "=PostToUpdate, a Model variable loaded by its id) to update just that one; leave it "
        "empty to update every record matching the Where filter. Only the mapped fields change; "
        "wire an object into `source` (e.g. =body.changes, the fields a PATCH request gave) to "
        "change just the fields it has. Outputs the updated record, or the list of updated "
        "records.",
    run=run,
    inputs=(
        Port("record", "Record", "The record to update (its id is used)."),
        Port("source", "Record", "An object whose fields (only those it has) are changed, e.g. "
             "=body.changes; the mapped `values` win over it."),
    ),
    outputs=(Port("result", "Any", "The updated record, or list of records.", schema=_result),),
    settings=(
        Setting("model", "model", "The data model to update.", required=True),
        Setting("values", "field_map", "The fields to change and their new values.", default={}),
        Setting("where", "where", "Without `record`: which records to update.", default=None),
        Setting("as", "variable", "Store the result in this variable.", default=""),
    ),
    errors=(
        Raises(404, "the given record no longer exists", only=lambda at: at.given("record")),
        Raises(422, "a value does not fit its field"),
        Raises(409, "the change would repeat the value of a unique field",
               only=lambda at: at.unique(at.settings.get("model"))),
    ),
    writes=True,
    summary=model_summary("in"),
)
