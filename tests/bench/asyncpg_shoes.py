"""A hand-written aiohttp + asyncpg back end for the shoes example: the PostgreSQL yardstick.

The fastest obvious hand-written code for `POST /v1/create_shoe` on PostgreSQL: one asyncpg
pool, one `INSERT ... RETURNING id` per request (asyncpg prepares it once per connection), the
same validation and the same JSON answer as ../shared/bench/baseline_shoes.py, no access log.

    python tests/bench/asyncpg_shoes.py PORT DSN [--pool N]

DSN: postgresql://user@host:port/database (a SQLAlchemy `postgresql+asyncpg://` URL is accepted
too). The table is created when missing.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import re

import asyncpg
from aiohttp import web

CREATE = """CREATE TABLE IF NOT EXISTS shoes (
    id SERIAL PRIMARY KEY,
    shoe_type TEXT NOT NULL,
    price NUMERIC(12, 2) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL)"""
INSERT = "INSERT INTO shoes (shoe_type, price, created_at) VALUES ($1, $2, $3) RETURNING id"


def make_app(dsn: str, pool_size: int) -> web.Application:
    async def create_shoe(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("shoe_type"), str):
            return web.json_response({"error": "shoe_type: required text"}, status=422)
        price = body.get("price")
        if isinstance(price, bool) or not isinstance(price, (int, float)):
            return web.json_response({"error": "price: required number"}, status=422)
        shoe_type, amount = body["shoe_type"], decimal.Decimal(str(price))
        created_at = datetime.datetime.now(datetime.UTC)
        new_id = await request.app["pool"].fetchval(INSERT, shoe_type, amount, created_at)
        return web.json_response({"id": new_id, "shoe_type": shoe_type, "price": float(amount),
                                  "created_at": created_at.isoformat()})

    async def pool(app: web.Application):
        app["pool"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        async with app["pool"].acquire() as conn:
            await conn.execute(CREATE)
        yield
        await app["pool"].close()

    app = web.Application()
    app.cleanup_ctx.append(pool)
    app.router.add_post("/v1/create_shoe", create_shoe)
    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("port", type=int)
    p.add_argument("dsn")
    p.add_argument("--pool", type=int, default=16, help="connections in the pool (default 16)")
    args = p.parse_args()
    dsn = re.sub(r"^postgresql\+asyncpg://", "postgresql://", args.dsn)
    web.run_app(make_app(dsn, args.pool), host="127.0.0.1", port=args.port, access_log=None,
                print=None)


if __name__ == "__main__":
    main()
