"""The hand-written baseline of tests/bench/bench_serve.py: `POST /v1/create_shoe` in aiohttp.

What a developer would write by hand for the `shoes` example, with the product's settings so
the comparison is about the graph machinery only:

- the same engine (`runtime.store.create_engine`: WAL, busy timeout, synchronous=NORMAL,
  foreign keys, BEGIN IMMEDIATE) and the same table (`runtime.store.build_metadata` over the
  example's models), on its own SQLite file;
- the same aiohttp runner settings (no access log) and the same per-request log line written
  through `logging` to stdout;
- the same contract: JSON in, shoe_type must be text and price a number (422 otherwise), the
  inserted row (with id and created_at) back as JSON.

Run: python tests/bench/handwritten.py --port 8081 --db sqlite+aiosqlite:////tmp/x/hand.db
It prints "Press Ctrl+C to stop." once it is listening, like `actiongraph serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sys
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from aiohttp import web

from runtime.projectfile import load
from runtime.store import build_metadata, create_engine

ROOT = Path(__file__).resolve().parents[2]
SHOES = ROOT / "resources" / "examples" / "shoes.actiongraph.json"

log = logging.getLogger("handwritten.http")
ENGINE = web.AppKey("engine", object)
INSERT = web.AppKey("insert", object)
WRITE_LOCK = web.AppKey("write_lock", asyncio.Lock)


def _default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def create_shoe(request: web.Request) -> web.Response:
    started = time.perf_counter()
    response = await _create_shoe(request)
    log.info("%s %s %d %.1f ms", request.method, request.path, response.status,
             (time.perf_counter() - started) * 1000)
    return response


async def _create_shoe(request: web.Request) -> web.Response:
    if request.content_type != "application/json":
        return _error(415, f'expected application/json, got "{request.content_type}"')
    try:
        data = json.loads(await request.read())
    except ValueError:
        return _error(400, "not valid JSON")
    if not isinstance(data, dict):
        return _error(422, "expected a JSON object")
    shoe_type, price = data.get("shoe_type"), data.get("price")
    if shoe_type is not None and not isinstance(shoe_type, str):
        return _error(422, "shoe_type: expected text")
    if price is not None and (isinstance(price, bool) or not isinstance(price, (int, float))):
        return _error(422, "price: expected a number")
    row = {
        "shoe_type": shoe_type,
        "price": None if price is None else Decimal(repr(price)),
        "created_at": dt.datetime.now(dt.UTC),
    }
    # One writer at a time inside the process, as the product's store does for SQLite.
    async with request.app[WRITE_LOCK], request.app[ENGINE].begin() as conn:
        result = await conn.execute(request.app[INSERT], row)
        record = dict(result.mappings().one())
    return web.Response(text=json.dumps(record, default=_default, separators=(",", ":")),
                        content_type="application/json")


async def serve(port: int, url: str, host: str = "127.0.0.1") -> None:
    metadata = build_metadata(load(SHOES).models)
    table = metadata.tables["Shoes"]
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    app = web.Application(client_max_size=1024 * 1024)
    app[ENGINE] = engine
    app[INSERT] = sa.insert(table).returning(*table.columns)
    app[WRITE_LOCK] = asyncio.Lock()
    app.router.add_post("/v1/create_shoe", create_shoe)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"hand-written shoes server at http://{host}:{port}/v1/create_shoe")
    print(f"Database: {url}")
    print("Press Ctrl+C to stop.", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of its own SQLite file")
    args = parser.parse_args(argv)
    # The same logging set-up as `actiongraph serve`.
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        level=logging.INFO, stream=sys.stdout)
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(args.port, args.db, args.host))
    except KeyboardInterrupt:
        print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
