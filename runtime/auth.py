"""Auth profiles: signed login tokens (PyJWT) and the check an endpoint with a profile makes."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from runtime.environ import SECRET_ENV, reference  # SECRET_ENV overrides the project's secret
from runtime.errors import ActionError
from runtime.project import AuthProfile, Project

log = logging.getLogger("actiongraph.auth")
ALGORITHM = "HS256"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2 hash of a password (salted; safe to store)."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """Whether a password matches an Argon2 hash (a malformed hash is just False)."""
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass
class AuthService:
    """Issues and checks the login tokens of one project."""

    secret: str
    profiles: dict[str, AuthProfile]
    rules: dict[str, Callable[[dict], Any]]

    @classmethod
    def for_project(cls, project: Project, rules: dict[str, Callable[[dict], Any]] | None = None
                    ) -> AuthService:
        """The service for a project: its secret (or $ACTIONGRAPH_SECRET) and profiles."""
        secret = os.environ.get(SECRET_ENV) or project.settings.secret
        name = reference(secret)
        if name:  # `${NAME}` not resolved (the editor serves the file as written)
            secret = os.environ.get(name, "")
        if not secret:
            secret = os.urandom(32).hex()
            if project.settings.auth_profiles:
                log.warning("the project has no secret: login tokens last until the server stops "
                            "(set %s or save the project from the editor)", SECRET_ENV)
        return cls(secret, {p.name: p for p in project.settings.auth_profiles}, rules or {})

    def verify(self, password: str, hashed: str) -> bool:
        """Whether a password matches a stored hash."""
        return verify_password(password, hashed)

    def issue(self, profile: str, user_id: int) -> str:
        """A signed token for a user, valid for the profile's lifetime."""
        p = self.profiles[profile]
        now = dt.datetime.now(dt.UTC)
        claims = {"sub": str(user_id), "prf": profile, "iat": now,
                  "exp": now + dt.timedelta(seconds=p.lifetime)}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def user_id(self, profile: str, authorization: str | None) -> int:
        """The user id in a valid `Bearer` token for a profile; raises ActionError 401."""
        if not authorization:
            raise ActionError("this endpoint needs a login: send 'Authorization: Bearer TOKEN'",
                              status=401)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ActionError("the Authorization header must be 'Bearer TOKEN'", status=401)
        try:
            claims = jwt.decode(token.strip(), self.secret, algorithms=[ALGORITHM],
                                options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise ActionError("the login token has expired: log in again", status=401) from None
        except jwt.InvalidTokenError:
            raise ActionError("the login token is not valid", status=401) from None
        if claims.get("prf") != profile:
            raise ActionError(f'the login token is not for "{profile}"', status=401)
        try:
            return int(claims["sub"])
        except ValueError:
            raise ActionError("the login token is not valid", status=401) from None

    def check_rule(self, profile: str, user: dict) -> None:
        """Raise ActionError 403 when the profile's rule fails for the user."""
        rule = self.rules.get(profile)
        if rule is not None and not rule({"user": user}):
            raise ActionError(f'not allowed: "{profile}" requires '
                              f"{self.profiles[profile].rule.lstrip('=')}", status=403)
