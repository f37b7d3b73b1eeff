"""Typed errors that carry where they happened, so they reach users as messages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem in a project, e.g. `models["Shoes"].fields[1].kind: unknown kind`."""

    where: str
    message: str
    severity: str = "error"  # or "warning": reported, but the project still compiles and serves

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ProjectError(Exception):
    """A project file that cannot be loaded or compiled; carries every problem found."""

    def __init__(self, problems: list[Problem], path: str | None = None):
        self.problems = list(problems)
        self.path = path
        super().__init__(self.describe())

    def describe(self) -> str:
        """All problems, one per line, prefixed by the file when known."""
        head = f"{self.path}: " if self.path else ""
        count = len(self.problems)
        lines = [f"{head}{count} problem{'s' if count != 1 else ''}:"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


@dataclass
class FieldError:
    """One bad input value: the field (e.g. `body.price`) and what is wrong with it."""

    field: str
    message: str


class ValidationError(Exception):
    """Request input that does not fit the endpoint's variables; answered with a 4xx."""

    def __init__(self, errors: list[FieldError], status: int = 422, message: str | None = None):
        self.errors = errors
        self.status = status
        self.message = message or "; ".join(f"{e.field}: {e.message}" for e in errors)
        super().__init__(self.message)


class ActionError(Exception):
    """An event that failed while an action ran; the action's writes are rolled back."""

    def __init__(self, message: str, *, status: int = 500, event: str | None = None,
                 kind: str | None = None, action: str | None = None):
        self.message = message
        self.status = status
        self.event = event
        self.kind = kind
        self.action = action
        self.trace = None  # the steps run before the failure, when the run was traced
        # An unexpected failure (a bug, a database error): the client gets `message` (generic,
        # with `reference`), the server log and the editor get `detail` too.
        self.detail: str | None = None
        self.reference: str | None = None
        super().__init__(message)

    @property
    def logged(self) -> str:
        """The message with its detail, for the server log and the editor (never for clients)."""
        return f"{self.message} ({self.detail})" if self.detail else self.message


def new_reference() -> str:
    """A short id naming one unexpected error in the answer and in the server log."""
    return secrets.token_hex(4)


class MigrationError(Exception):
    """A change to the data models that would lose data, refused with what and why."""


class StaleRevision(Exception):
    """A project revision older than the one being served (like Node-RED's 409)."""
