"""Hash Password: turn a password into an Argon2id hash that is safe to store."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher

from nodes.kind import EventKind, Port, Raises, Setting

# argon2-cffi's defaults (RFC 9106's low-memory profile): salted Argon2id, 64 MiB, 3 passes.
HASHER = PasswordHasher()
# A hash takes tens of milliseconds of CPU and 64 MiB: off the event loop, a few at a time.
_POOL = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="password")


async def off_loop(function, *args):
    """Run a password function in the password threads, so other requests go on meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, function, *args)


async def run(ctx, inputs, settings):
    """Hash the password with a fresh random salt."""
    password = inputs.get("password")
    if password is None or password == "":
        raise ctx.error("password is empty", 422)
    if not isinstance(password, str):
        raise ctx.error(f"password must be text, got {type(password).__name__}")
    return {"hash": await off_loop(HASHER.hash, password)}


EVENT = EventKind(
    id="hash_password",
    reads=False,
    name="Hash Password",
    category="Security",
    doc="Turn `password` (e.g. =body.password) into a hash to store in place of the password, "
        "for example in the password field of a Create user. It uses Argon2id with a fresh "
        "random salt, so the same password gives a different hash each time; Verify Password "
        "checks a password against it. A missing or empty password fails the action with "
        "status 422. Never store or return the password itself.",
    run=run,
    inputs=(Port("password", "Text", "The password to hash.", required=True),),
    outputs=(Port("hash", "Text", "The hash (text starting with $argon2id$) to store.",
                  schema=lambda at: {"type": "string"}),),
    settings=(Setting("as", "variable", "Store the hash in this variable.", default=""),),
    errors=(Raises(422, "the password is missing or empty"),),
    summary=lambda s: f"{s.get('password')!s:.24}" + (f" as {s['as']}" if s.get("as") else ""),
)
