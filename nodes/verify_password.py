"""Verify Password: check a password against a stored Argon2 hash."""

import functools
import secrets

from argon2.exceptions import InvalidHashError, VerificationError

from nodes.hash_password import HASHER, off_loop
from nodes.kind import EventKind, Port, Raises, Setting


@functools.cache
def _decoy() -> str:
    """A hash of a random password: checked instead of a missing hash, so that a wrong user
    name takes as long to refuse as a wrong password (timing does not tell which)."""
    return HASHER.hash(secrets.token_urlsafe(16))


def _verify(stored, password) -> bool:
    """Whether password matches the stored hash; anything that is not a valid hash is False."""
    usable = isinstance(stored, str) and stored.startswith("$argon2")
    if not isinstance(password, str):
        password, usable = "", False
    try:
        return HASHER.verify(stored if usable else _decoy(), password) and usable
    except (VerificationError, InvalidHashError):
        return False


async def run(ctx, inputs, settings):
    """Output whether the password matches; answer 401 instead when `if_invalid` says so."""
    valid = await off_loop(_verify, inputs.get("hash"), inputs.get("password"))
    if not valid and settings.get("if_invalid", "401") == "401":
        raise ctx.error("the password is not correct", 401, exact=True)
    return {"valid": valid}


EVENT = EventKind(
    id="verify_password",
    reads=False,
    name="Verify Password",
    category="Security",
    doc="Check `password` (e.g. =body.password) against `hash`, a hash made by Hash Password "
        "(e.g. =user.password). By default a wrong password stops the action with status 401 "
        "and undoes its writes, so nothing after this event runs for a caller who failed. Set "
        "`if_invalid` to continue to go on either way and branch yourself with a Condition on "
        "`valid`. A missing, empty or malformed hash counts as a wrong password and takes just "
        "as long to check, so callers cannot tell an unknown user from a wrong password (for "
        "a user that may not exist, write =user.password if user else null).",
    run=run,
    inputs=(
        Port("password", "Text", "The password given by the caller.", required=True),
        Port("hash", "Text", "The stored hash to check against.", required=True),
    ),
    outputs=(Port("valid", "Boolean", "Whether the password matches the hash."),),
    settings=(
        Setting("if_invalid", "choice", "What a wrong password does: answer 401 and stop, or "
                "continue with `valid` false.", default="401", choices=("401", "continue")),
        Setting("as", "variable", "Store whether it matched in this variable.", default=""),
    ),
    errors=(Raises(401, "the password is wrong (unless `if_invalid` is continue)",
                   only=lambda at: at.settings.get("if_invalid", "401") == "401"),),
    summary=lambda s: "check password" + (" (401 if wrong)" if s.get("if_invalid", "401") == "401"
                                          else ""),
)
