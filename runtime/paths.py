"""Endpoint path templates such as /v1/posts/{id}: parsed once, then matched and formatted."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class PathTemplate:
    """One endpoint path: its variables, its shape and the pattern requests are matched with."""

    text: str  # as written
    normal: str  # without a trailing slash ("/" stays "/"), as the router compares paths
    variables: tuple[str, ...]  # the names inside {}, in order
    shape: str  # the variables blanked to {}: two paths of one shape take the same requests
    pattern: re.Pattern  # one [^/]+ group per variable

    def match(self, path: str) -> dict[str, str] | None:
        """The variables of a concrete path (trailing slash ignored), or None if it does not fit."""
        found = self.pattern.match(path.rstrip("/") or "/")
        return None if found is None else dict(zip(self.variables, found.groups(), strict=True))

    def format(self, values: dict[str, object], quoted: bool = True,
               text: Callable[[object], str] = str) -> str:
        """The path with each variable's value as `text` writes it (quoted as a path segment
        unless `quoted` is off); a variable without a value (None) stays {name}."""
        def fill(m: re.Match) -> str:
            value = values.get(m.group(1))
            if value is None:
                return m.group(0)
            return quote(text(value), safe="") if quoted else text(value)
        return PLACEHOLDER.sub(fill, self.text)

    def overlaps(self, other: PathTemplate) -> bool:
        """Whether some concrete path fits both (same segment count; literals equal or a variable)."""
        mine, theirs = self.normal.split("/"), other.normal.split("/")
        return len(mine) == len(theirs) and all(
            a == b or "{" in a or "{" in b for a, b in zip(mine, theirs, strict=True))


@functools.lru_cache(maxsize=4096)
def path_template(text: str) -> PathTemplate:
    """The template of a path (cached: each path is parsed once)."""
    normal = text.rstrip("/") or "/"
    parts = PLACEHOLDER.split(normal)  # literal, name, literal, name, ..., literal
    regex = "".join("([^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts))
    return PathTemplate(text, normal, tuple(PLACEHOLDER.findall(text)), PLACEHOLDER.sub("{}", normal),
                        re.compile(f"^{regex}$"))
