"""The catalogue of event kinds: built-ins are listed here, one module each."""

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


def catalogue(extra: tuple[EventKind, ...] = ()) -> dict[str, EventKind]:
    """Event kinds by id, old ids (`legacy_ids`) included."""
    kinds: dict[str, EventKind] = {}
    for kind in BUILTIN + extra:
        kinds[kind.id] = kind
        for old in kind.legacy_ids:
            kinds.setdefault(old, kind)
    return kinds
