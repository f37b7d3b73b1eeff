"""Query: read one record or a list of records from a data model."""

import math
from decimal import Decimal, InvalidOperation

from nodes.kind import EventKind, Port, Raises, Setting, describe_value, model_summary, nullable

MAX_ROWS = 1000  # a list holds at most this many records
MAX_OFFSET = 2**63 - 1  # larger offsets do not fit the database's integers (and skip all)


async def run(ctx, inputs, settings):
    """Select rows by the Where filter, ordered and paged; one record or a list."""
    model = settings["model"]
    limit = _whole(ctx, inputs.get("limit"), "limit", MAX_ROWS)
    offset = _whole(ctx, inputs.get("offset"), "offset", MAX_OFFSET) or 0
    order = _order(_sort(ctx, model, inputs.get("sort")) + list(settings.get("order") or ()))
    if settings.get("one"):
        rows = await ctx.db.select(model, settings.get("where"), order, limit=1, offset=offset)
        if not rows and settings.get("if_none") == "404":
            raise ctx.error(f"no {model} record matches", status=404)
        return {"result": rows[0] if rows else None}
    rows = await ctx.db.select(model, settings.get("where"), order,
                               limit=MAX_ROWS if limit is None else limit, offset=offset)
    return {"result": rows}


def _whole(ctx, value, name: str, cap: int) -> int | None:
    """A limit or offset as a whole number from 0 to `cap` (beyond it: clamped); None if unset.
    Compared before it is turned into an int, so 1e999999 is cheap."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise ctx.error(f'{name}: expected a whole number, got "{value[:40]}"', status=422) from None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ctx.error(f"{name}: expected a whole number, got {describe_value(value)}", status=422)
    if isinstance(value, Decimal) and value.is_nan() or isinstance(value, float) and math.isnan(value):
        raise ctx.error(f"{name}: expected a whole number, got NaN", status=422)
    return int(max(0, min(value, cap)))


def _sort(ctx, model: str, raw) -> list[tuple[str, bool]]:
    """A sort given at run time (e.g. =query.sort): `field`, `-field` for descending, several
    separated by commas. Only the model's own fields (not JSON ones) are allowed; anything else
    is a 422 naming them, so no text from a request reaches the SQL."""
    if raw is None or raw == "" or raw == []:
        return []
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    columns = ctx.columns(model)
    allowed = [name for name, kind in columns.items() if kind != "JSON"]
    order = []
    for item in items:
        text = item.strip() if isinstance(item, str) else item
        if not isinstance(text, str) or not text.lstrip("+-"):
            continue  # "a,,b" or a stray comma
        descending = text.startswith("-")
        name = text[1:] if text[0] in "+-" else text
        if name not in allowed:
            shown = name if len(name) <= 40 else name[:39] + "…"
            raise ctx.error(f'cannot sort by "{shown}": {model} has no such field (sort by '
                            f'{", ".join(allowed)}; put - in front for descending)',
                            status=422, exact=True)
        order.append((name, descending))
    return order


def _order(order: list[tuple[str, bool]]) -> tuple[tuple[str, bool], ...]:
    """Each field once (the first wins), then `id` so pages of equal values are stable."""
    seen: dict[str, bool] = {}
    for name, descending in order:
        seen.setdefault(name, descending)
    if seen and "id" not in seen:
        seen["id"] = False
    return tuple(seen.items())


def _result(at) -> dict:
    """One record (or null unless `if_none` is 404) with `one`; otherwise a list of them."""
    record = at.record(at.settings.get("model"))
    if at.settings.get("one"):
        return record if at.settings.get("if_none") == "404" else nullable(record)
    return {"type": "array", "items": record}


EVENT = EventKind(
    id="query",
    name="Query",
    category="Data",
    doc="Read records of a data model that match a Where filter (fields compared with "
        "=, !=, <, <=, >, >=, contains, starts with, in, is null; combined with and/or), "
        "ordered by fields, with a limit and offset for paging. `sort` orders by a field "
        "chosen at run time, e.g. =query.sort: `price`, or `-price` for descending (several "
        "separated by commas); a name that is not a field of the model answers 422 listing "
        "them. With `one` set it yields the first record or null (or answers 404 when "
        "`if_none` is 404); otherwise a list, capped at 1000 rows. A limit or offset below 0 "
        "counts as 0, a limit above 1000 as 1000.",
    run=run,
    inputs=(
        Port("limit", "Number", "At most this many records (empty: up to 1000)."),
        Port("offset", "Number", "Skip this many records first.", default=0),
        Port("sort", "Text", "Sort by this field first, e.g. =query.sort: `price`, or `-price` "
             "for descending; checked against the model's fields when it runs (422 otherwise). "
             "`order` then breaks ties."),
    ),
    outputs=(Port("result", "Any", "The record (one) or the list of records.", schema=_result),),
    settings=(
        Setting("model", "model", "The data model to read.", required=True),
        Setting("where", "where", "Which records; empty means all.", default=None),
        Setting("order", "order", "Sort by these fields.", default=[]),
        Setting("one", "boolean", "Yield one record instead of a list.", default=False),
        Setting("if_none", "choice", "With `one`: what to do when nothing matches.",
                default="null", choices=("null", "404")),
        Setting("as", "variable", "Store the result in this variable.", default=""),
    ),
    errors=(
        Raises(404, "no record matches (with `one` and `if_none` 404)",
               only=lambda at: at.settings.get("if_none") == "404"),
        Raises(422, "a limit, offset or sort given at run time is not valid"),
    ),
    summary=model_summary("from"),
)
