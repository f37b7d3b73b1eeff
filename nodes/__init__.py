"""The catalogue of event kinds: the built-ins, listed here one module each, and the kinds of
installed plug-ins (entry point group `actiongraph.events`), both registered the same way."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from nodes import (
    assign,
    break_loop,
    call_action,
    condition,
    create,
    csv_data,
    date,
    delete,
    hash_password,
    http_request,
    json_data,
    log,
    login,
    loop,
    math,
    query,
    raise_error,
    response,
    send_email,
    text,
    update,
    verify_password,
)
from nodes.kind import EventKind

BUILTIN: tuple[EventKind, ...] = (
    create.EVENT,
    query.EVENT,
    update.EVENT,
    delete.EVENT,
    assign.EVENT,
    condition.EVENT,
    response.EVENT,
    loop.EVENT,
    break_loop.EVENT,
    call_action.EVENT,
    login.EVENT,
    send_email.EVENT,
    http_request.EVENT,
    math.EVENT,
    text.EVENT,
    date.EVENT,
    json_data.EVENT,
    csv_data.EVENT,
    log.EVENT,
    raise_error.EVENT,
    hash_password.EVENT,
    verify_password.EVENT,
)


GROUP = "actiongraph.events"
BUILTIN_NAME = "actiongraph"  # the built-ins' name among plug-ins; their ids take no prefix
plugin_log = logging.getLogger("actiongraph.plugins")


def builtin() -> tuple[EventKind, ...]:
    """The built-in event kinds, given the way a plug-in's entry point gives its own."""
    return BUILTIN


@dataclass(frozen=True)
class Plugin:
    """A source of event kinds: its entry point's name, its package, its kinds or why none."""

    name: str  # also the prefix of its kinds' ids: plug-in "acme" gives "acme.slugify"
    package: str  # the distribution and version, e.g. "actiongraph-slugify 0.1.0"
    kinds: tuple[EventKind, ...] = ()
    error: str = ""  # why it gave no kinds (it raised, or gave something else)


def register(name: str, package: str, provide: Any) -> Plugin:
    """A plug-in from the function its entry point names (called here; a failure is kept)."""
    try:
        kinds = tuple(provide())
    except Exception as e:  # a plug-in's bug must not stop the others, nor the app
        return Plugin(name, package, error=f"{type(e).__name__}: {e}")
    for kind in kinds:
        if not isinstance(kind, EventKind):
            return Plugin(name, package, error=f"it gave {type(kind).__name__}, not an EventKind")
        if name != BUILTIN_NAME and not kind.id.startswith(f"{name}."):
            return Plugin(name, package, error=f'its event kind "{kind.id}" must have an id '
                                               f'starting with "{name}."')
    return Plugin(name, package, kinds)


def load_plugins(found: Any = None) -> tuple[Plugin, ...]:
    """The built-ins, then every plug-in of the entry points `found` (default: the installed
    ones of group actiongraph.events); one that fails to load keeps its error."""
    plugins = [register(BUILTIN_NAME, BUILTIN_NAME, builtin)]
    for point in entry_points(group=GROUP) if found is None else found:
        dist = getattr(point, "dist", None)
        package = f"{dist.name} {dist.version}" if dist is not None else point.value.split(":")[0]
        try:
            provide = point.load()
        except Exception as e:  # raised on import: reported, the rest loads
            plugins.append(Plugin(point.name, package, error=f"{type(e).__name__}: {e}"))
            continue
        plugins.append(register(point.name, package, provide))
    return tuple(plugins)


@functools.cache
def plugins() -> tuple[Plugin, ...]:
    """The installed sources of event kinds, loaded once per process; each failure is logged
    once here and listed by `problems()`."""
    loaded = load_plugins()
    for plugin in loaded:
        if plugin.error:
            plugin_log.error("event plug-in %s (%s) did not load: %s", plugin.name,
                             plugin.package, plugin.error)
    return loaded


def kinds_of(loaded: tuple[Plugin, ...]) -> dict[str, EventKind]:
    """Event kinds by id, old ids (`legacy_ids`) included; the first source of an id wins."""
    kinds: dict[str, EventKind] = {}
    for plugin in loaded:
        for kind in plugin.kinds:
            kinds.setdefault(kind.id, kind)
    for plugin in loaded:
        for kind in plugin.kinds:
            for old in kind.legacy_ids:
                kinds.setdefault(old, kind)
    return kinds


@functools.cache
def _installed() -> dict[str, EventKind]:
    return kinds_of(plugins())


def catalogue(extra: tuple[EventKind, ...] = ()) -> dict[str, EventKind]:
    """Event kinds by id, old ids (`legacy_ids`) included: the built-ins, the installed
    plug-ins' and `extra`."""
    kinds = dict(_installed())
    for kind in extra:
        kinds[kind.id] = kind
        for old in kind.legacy_ids:
            kinds.setdefault(old, kind)
    return kinds


def package_of(kind_id: str, loaded: tuple[Plugin, ...] | None = None) -> str | None:
    """The package of the plug-in giving a kind, or None for a built-in or an unknown kind."""
    for plugin in plugins() if loaded is None else loaded:
        if plugin.name != BUILTIN_NAME and any(k.id == kind_id for k in plugin.kinds):
            return plugin.package
    return None


def missing(kind_id: str, loaded: tuple[Plugin, ...] | None = None) -> str:
    """Why no installed plug-in gives a kind, naming the package when it is known."""
    prefix = kind_id.split(".", 1)[0] if "." in kind_id else ""
    for plugin in plugins() if loaded is None else loaded:
        if plugin.name == prefix and plugin.error:
            return f'its plug-in "{prefix}" ({plugin.package}) did not load: {plugin.error}'
        if plugin.name == prefix:
            return f'its plug-in "{prefix}" ({plugin.package}) has no such event kind; ' \
                   "a newer version may"
    if prefix:
        return f'no installed plug-in gives "{prefix}." event kinds: install the package ' \
               "that does (with pip, beside Actiongraph)"
    return ""


def problems(loaded: tuple[Plugin, ...] | None = None) -> list[str]:
    """One line per plug-in that did not load."""
    return [f"event plug-in {p.name} ({p.package}) did not load: {p.error}"
            for p in (plugins() if loaded is None else loaded) if p.error]
