"""A real HTTP service on a free loopback port, standing in for an outside service (a weather
API, a rate service) that a project's HTTP Request events call in tests."""

from __future__ import annotations

from contextlib import asynccontextmanager

from aiohttp import web


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
