"""Masking of secrets before a run reaches the run history: headers, password fields, hashes and
login tokens, and the names a project declares (`settings.history.mask`). Masked values
become "***".

A name is secret when, lower-cased with "-" read as "_", it is one of `SECRET_NAMES`, holds
"password", "passwd" or "secret", ends in "token" or "_hash", is an auth profile's password
field, or is a name the project declares. A text value is secret wherever it appears when it
holds an Argon2 or bcrypt hash or a login token (a JWT), whatever its name."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

MASK = "***"

SECRET_NAMES = frozenset({
    "authorization", "proxy_authorization", "cookie", "set_cookie", "x_api_key", "api_key",
    "apikey", "pwd", "hash", "jwt", "session", "sessionid", "client_secret", "private_key",
})
_PARTS = ("password", "passwd", "secret")
_ENDINGS = ("token", "_hash")

# Hashes (Argon2, bcrypt) and JWTs (the Login event's tokens): secret under any name.
_SECRET_VALUE = re.compile(r"\$argon2(?:id|i|d)\$|\$2[aby]\$\d\d\$"
                           r"|eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_SECRET_VALUE_SPAN = re.compile(r"\$argon2(?:id|i|d)\$[^\s\"'&,;]*|\$2[aby]\$\d\d\$[./A-Za-z0-9]{20,}"
                                r"|eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_JSON_PAIR = re.compile(r'"((?:[^"\\]|\\.){1,80})"(\s*:\s*)("(?:[^"\\]|\\.)*"|-?[0-9][^,}\]\s]*)')
_FORM_PAIR = re.compile(r"(^|[&;]\s*)([^=&;\s]{1,80})=([^&;]*)")
_PLAIN = (int, float, bool, type(None), Decimal, dt.date, dt.datetime, dt.time)


class Masker:
    """Masks secrets in values, headers and text; built per project revision (`for_project`)."""

    def __init__(self, names: Iterable[str] = ()):
        self.names = SECRET_NAMES | {_normal(n) for n in names if n}
        self._known: dict[str, bool] = {}

    @classmethod
    def for_project(cls, project: Any) -> Masker:
        """The masker of a project: the defaults, its auth profiles' password fields and the
        names in `settings.history.mask`."""
        if project is None:
            return cls()
        settings = project.settings
        history = getattr(settings, "history", None)
        return cls([*(p.password for p in settings.auth_profiles),
                    *(history.mask if history is not None else ())])

    def secret(self, name: Any) -> bool:
        """Whether values under this name (a field, variable, port or header) are masked."""
        known = self._known.get(name)
        if known is None:
            key = _normal(str(name))
            known = (key in self.names or any(p in key for p in _PARTS)
                     or key.endswith(_ENDINGS))
            if len(self._known) < 10_000:
                self._known[name] = known
        return known

    def value(self, value: Any) -> Any:
        """A copy of a value (dicts, lists, rows) with every secret masked; other values that
        are not JSON data become text."""
        kind = type(value)
        if kind is str:
            return MASK if len(value) > 20 and _SECRET_VALUE.search(value) else value
        if kind is dict:
            secret = self.secret
            return {k: MASK if v is not None and secret(k) else self.value(v)
                    for k, v in value.items()}
        if kind is list or kind is tuple:
            return [self.value(v) for v in value]
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, Mapping):
            return self.value(dict(value))
        if isinstance(value, (bytes, bytearray)):
            return f"<{len(value)} bytes>"
        if isinstance(value, (set, frozenset)):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.value(str(value))
        return self.value(str(value))

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Headers as a dict (repeated ones joined with ", ") with the secret ones masked."""
        out: dict[str, str] = {}
        for name, text in headers:
            text = MASK if self.secret(name) else self.value(text)
            out[name] = f"{out[name]}, {text}" if name in out else text
        return out

    def text(self, text: str) -> str:
        """Text that could not be read as data (a truncated or malformed body, CSV, HTML):
        secret `"name": value` and `name=value` pairs and hash/token-looking text masked."""
        text = _JSON_PAIR.sub(self._json_pair, text)
        text = _FORM_PAIR.sub(self._form_pair, text)
        return _SECRET_VALUE_SPAN.sub(MASK, text)

    def _json_pair(self, m: re.Match) -> str:
        if not self.secret(m[1]) or m[3] == "null":
            return m[0]
        return f'"{m[1]}"{m[2]}"{MASK}"'

    def _form_pair(self, m: re.Match) -> str:
        return f"{m[1]}{m[2]}={MASK}" if self.secret(m[2]) and m[3] else m[0]


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_")
