"""Login: check an identifier and a password against a users model and issue a token."""

from nodes.hash_password import off_loop
from nodes.kind import EventKind, Port, Raises, Setting


async def run(ctx, inputs, settings):
    """Find the user by identifier, verify the password hash, sign a token for the profile."""
    auth = ctx.service("auth")
    if auth is None:
        raise ctx.error("login tokens are not available in this run")
    profile = auth.profiles[settings["profile"]]
    identifier, password = inputs.get("identifier"), inputs.get("password")
    wrong = f"wrong {profile.identifier} or password"
    if not identifier or not password:
        raise ctx.error(wrong, status=401, exact=True)
    rows = await ctx.db.select(profile.model,
                               ctx.db.by_field(profile.model, profile.identifier, identifier),
                               limit=1)
    # Argon2 takes ~0.1-0.5 s on purpose: verify off the event loop so other requests go on.
    if not rows or not await off_loop(auth.verify, str(password),
                                      str(rows[0].get(profile.password) or "")):
        raise ctx.error(wrong, status=401, exact=True)
    user = {k: v for k, v in rows[0].items() if k != profile.password}
    return {"token": auth.issue(profile.name, user["id"]), "user": user}


EVENT = EventKind(
    id="login",
    name="Login",
    category="Security",
    doc="Log a user in: find the record of the auth profile's users model whose identifier "
        "field (e.g. email) matches, check the password against the stored hash (made by Hash "
        "Password), and issue a signed token that expires after the profile's lifetime. A wrong "
        "identifier or password answers 401 and says no more. The user is output without the "
        "password field. Clients send the token as 'Authorization: Bearer TOKEN' to endpoints "
        "that use the profile.",
    run=run,
    inputs=(Port("identifier", "Text", "What the user logs in with, e.g. =body.email.",
                 required=True),
            Port("password", "Text", "The password as typed, e.g. =body.password.",
                 required=True)),
    outputs=(Port("token", "Text", "The signed login token.",
                  schema=lambda at: {"type": "string", "description": "A login token (JWT)."}),
             Port("user", "Record", "The logged-in user, without the password.",
                  schema=lambda at: at.user(at.settings.get("profile") or ""))),
    settings=(
        Setting("profile", "auth_profile", "The auth profile to log in to.", required=True),
        Setting("as", "variable", "Store the token in this variable.", default="token"),
        Setting("user_as", "variable", "Store the user in this variable.", default=""),
    ),
    errors=(Raises(401, "the identifier or the password is wrong"),),
    summary=lambda s: f"to {s.get('profile') or '?'}",
)
