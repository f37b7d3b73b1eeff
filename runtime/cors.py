"""CORS: which browser origins may call the API (the project's `settings.cors`), as the server
answers it on every path: preflights, answers and error answers alike (runtime.server)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from runtime.errors import Problem
from runtime.project import METHODS, CorsSettings
from runtime.renderer import to_json

ANY = "*"
# An origin as a browser sends it: scheme, host and port, nothing after.
ORIGIN = re.compile(r"(?i)https?://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?")
# The editor's live server also allows these while testing (a front end on its dev server).
LOCAL_ORIGIN = re.compile(r"http://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def problems(cors: CorsSettings, where: str = "settings.cors") -> list[Problem]:
    """What is wrong with a project's CORS setting, located (`check` reports these)."""
    found: list[Problem] = []
    for i, origin in enumerate(cors.origins):
        if origin == ANY:
            if cors.credentials:
                found.append(Problem(f"{where}.origins[{i}]",
                                     '"*" (any origin) cannot go with credentials: browsers refuse '
                                     "it; list the origins that may call the API instead"))
        elif not isinstance(origin, str) or not ORIGIN.fullmatch(origin):
            hint = ""
            if isinstance(origin, str) and (m := ORIGIN.match(origin)) and m.end() < len(origin):
                hint = f' (did you mean "{m.group(0)}"?)'
            found.append(Problem(f"{where}.origins[{i}]",
                                 f"{origin!r} is not an origin: give a scheme, host and port "
                                 f"only, e.g. https://app.example.com, or \"*\"{hint}"))
    for i, method in enumerate(cors.methods):
        if method not in METHODS:
            found.append(Problem(f"{where}.methods[{i}]",
                                 f'unknown method "{method}" (one of {", ".join(METHODS)})'))
    for i, header in enumerate(cors.headers):
        if header == ANY:
            if cors.credentials:
                found.append(Problem(f"{where}.headers[{i}]",
                                     '"*" (any header) cannot go with credentials: browsers take '
                                     "it literally then; list the headers"))
        elif not isinstance(header, str) or not HEADER_NAME.fullmatch(header):
            found.append(Problem(f"{where}.headers[{i}]", f"{header!r} is not a header name"))
    if isinstance(cors.max_age, bool) or not isinstance(cors.max_age, int) or cors.max_age < 0:
        found.append(Problem(f"{where}.max_age",
                             f"{cors.max_age!r} is not a number of seconds (0 or more)"))
    return found


@dataclass(frozen=True)
class CorsPolicy:
    """A project's CORS setting ready to answer requests (made once per served revision)."""

    origins: frozenset[str]
    any_origin: bool
    local: bool  # also any http://localhost:PORT and http://127.0.0.1:PORT (the live server)
    methods: tuple[str, ...]
    headers: str
    credentials: bool
    max_age: int

    @classmethod
    def of(cls, cors: CorsSettings, *, local: bool = False) -> CorsPolicy | None:
        """The policy of a setting; None when no origin is allowed (answers stay as they are)."""
        if not cors.origins and not local:
            return None
        return cls(frozenset(o.lower() for o in cors.origins if o != ANY), ANY in cors.origins,
                   local, tuple(m for m in METHODS if m in cors.methods),
                   ", ".join(cors.headers), cors.credentials, int(cors.max_age))

    @property
    def varies(self) -> bool:
        """Whether answers depend on the Origin (not when any origin gets "*")."""
        return not (self.any_origin and not self.credentials)

    def allows(self, origin: str) -> bool:
        """Whether a browser on `origin` may read the API's answers."""
        return (self.any_origin or origin.lower() in self.origins
                or self.local and LOCAL_ORIGIN.fullmatch(origin) is not None)

    def decorate(self, headers, origin: str | None) -> None:
        """Add the CORS headers of an answer (or an error answer) to `headers`, in place."""
        if self.varies:
            _vary(headers, "Origin")
        if origin is None or not self.allows(origin):
            return
        headers["Access-Control-Allow-Origin"] = origin if self.varies else ANY
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"

    def preflight(self, origin: str, served: Iterable[str] | None, path: str) -> web.Response:
        """The answer to a preflight (OPTIONS with Access-Control-Request-Method) for a path
        serving the methods `served` (None: no endpoint there). The action never runs."""
        if not self.allows(origin):
            response = _error(403, f"origin {origin} may not call this API (settings.cors.origins)")
        elif served is None:
            response = _error(404, f"no endpoint at {path}")
        else:
            response = web.Response(status=204)
            methods = [m for m in self.methods if m in set(served)]
            response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
            if self.headers:
                response.headers["Access-Control-Allow-Headers"] = self.headers
            response.headers["Access-Control-Max-Age"] = str(self.max_age)
        self.decorate(response.headers, origin)
        _vary(response.headers, PREFLIGHT_VARY)
        return response

    def describe(self) -> dict:
        """The policy as the OpenAPI document's `x-cors` tells it."""
        origins = [ANY] if self.any_origin else sorted(self.origins)
        if self.local:
            origins += ["http://localhost:*", "http://127.0.0.1:*"]
        return {"origins": origins, "methods": list(self.methods),
                "headers": [h for h in self.headers.split(", ") if h],
                "credentials": self.credentials, "max_age": self.max_age}


def is_preflight(request: web.Request) -> bool:
    """A browser's preflight: OPTIONS with an Origin and Access-Control-Request-Method."""
    return (request.method == "OPTIONS" and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers)


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=to_json({"error": message}),
                        content_type="application/json")


def _vary(headers, names: str) -> None:
    have = [v.strip().lower() for v in headers.get("Vary", "").split(",") if v.strip()]
    if "*" in have:
        return
    add = [n for n in names.split(", ") if n.lower() not in have]
    if add:
        headers["Vary"] = ", ".join(filter(None, [headers.get("Vary", ""), *add]))
