"""A real HTTP service on a free loopback port, standing in for an outside service (a weather
API, a rate service) that a project's HTTP Request events call in tests."""

from __future__ import annotations

from contextlib import asynccontextmanager

from aiohttp import web

from runtime.project import Field, Project, Trigger, Variable


@asynccontextmanager
async def local_service(routes: dict[str, object]):
    """Serve `{"/path": handler}` (GET) on 127.0.0.1; yields the base URL without a slash at
    the end; stopped on leaving."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def rate_service():
    """The outside rate service of `orders`: answers {"rate": 2}; yields its URL and the list
    of the paths it was called on."""
    calls: list[str] = []

    async def rate(request):
        calls.append(request.path)
        return web.json_response({"rate": 2})

    async with local_service({"/rate": rate}) as base:
        yield f"{base}/rate", calls


def orders(url: str) -> Project:
    """POST /v1/orders: n1 asks an outside service (at `url`) for a rate, n2 creates an order
    with it, n3 updates the order's note; GET /v1/orders/count counts the orders."""
    p = Project(name="Orders")
    p.settings.allow_private_http = True  # the "outside" service listens on loopback
    p.add_model("Orders", [Field("total", "Decimal"), Field("note", "Text")])
    p.add_endpoint("Order", "POST", "/v1/orders", [Variable("amount", "Number", "body")])
    a = p.add_action("Order", Trigger("endpoint", endpoint="Order"), response_value="=order")
    rate = a.add_event("http_request", url=url, **{"as": "rate"})
    made = a.add_event("create", after=rate.id, model="Orders",
                       values={"total": "=body.amount * rate.body.rate", "note": "first"},
                       **{"as": "order"})
    a.add_event("update", after=made.id, model="Orders", record="=order",
                values={"note": "checked"}, **{"as": "checked"})
    p.add_endpoint("Count", "GET", "/v1/orders/count", [])
    count = p.add_action("Count", Trigger("endpoint", endpoint="Count"), response_value="=n")
    count.add_event("query", model="Orders", **{"as": "rows"})
    count.add_event("math", after="n1", operation="round", value="=len(rows)", places=0,
                    **{"as": "n"})
    return p
