"""Loop: run the `each` branch once for every item of a list, then go on by `done`."""

from nodes.kind import Each, EventKind, Port, Setting


async def run(ctx, inputs, settings):
    """Hand the list to the executor, which runs `each` per item."""
    items = inputs.get("list")
    return Each([] if items is None else items)


EVENT = EventKind(
    id="loop",
    reads=False,
    name="Loop",
    category="Logic",
    doc="For each item of a list (e.g. =body.items or the records of a Query), run the events "
        "on the `each` port with the item and its index as variables, then continue on `done`. "
        "A Break inside the branch stops the loop early. Runs at most 10,000 times per request; "
        "the item and index variables exist only inside the branch.",
    run=run,
    inputs=(Port("list", "List", "The list to go through.", required=True),),
    outputs=(Port("item", "Any", "The current item."),
             Port("index", "Number", "The position of the current item, from 0.")),
    settings=(
        Setting("as", "variable", "The variable holding the current item.", default="item"),
        Setting("index_as", "variable", "The variable holding its index.", default="index"),
    ),
    flow_out=("each", "done"),
    loops=True,
    summary=lambda s: f"each {s.get('as') or 'item'} in {s.get('list')!s:.24}",
)
