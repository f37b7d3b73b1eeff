"""Secrets kept out of the project file: `${NAME}` references resolved from the environment.

A settings value that is exactly `${NAME}` (letters, digits and `_`, not starting with a
digit) stands for the environment variable NAME. `actiongraph serve` and every gunicorn
worker resolve the references when they start; a variable that is not set stops the start with
a message naming it. The editor keeps the reference as written (and saves it unchanged).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dotenv import dotenv_values

from runtime.errors import Problem, ProjectError
from runtime.project import Project, Settings

REFERENCE_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")

# The variables a deployment reads (besides the references a project file makes).
PROJECT_ENV = "ACTIONGRAPH_PROJECT"  # the project file (gunicorn workers)
DB_ENV = "ACTIONGRAPH_DB"  # the SQLAlchemy database URL
SECRET_ENV = "ACTIONGRAPH_SECRET"  # signs login tokens (see runtime.auth)
SMTP_PASSWORD_ENV = "ACTIONGRAPH_SMTP_PASSWORD"  # the reference an export writes for mail.password


@dataclass(frozen=True)
class Place:
    """A settings value that may hold a reference: where it is, how to read and write it."""

    where: str  # as problems name it, e.g. settings.mail.password
    get: Callable[[Settings], str]
    set: Callable[[Settings, str], None]
    secret: bool  # an export replaces a literal value with a reference
    env: str  # the variable an export refers to


def _mail(name: str) -> Place:
    def get(s: Settings) -> str:
        return getattr(s.mail, name)

    def put(s: Settings, value: str) -> None:
        setattr(s.mail, name, value)

    secret = name == "password"
    return Place(f"settings.mail.{name}", get, put, secret,
                 SMTP_PASSWORD_ENV if secret else f"ACTIONGRAPH_SMTP_{name.upper()}")


def _set_secret(s: Settings, value: str) -> None:
    s.secret = value


PLACES: tuple[Place, ...] = (
    Place("settings.secret", lambda s: s.secret, _set_secret, True, SECRET_ENV),
    *(_mail(name) for name in ("host", "username", "password", "sender")),
)


def reference(value: object) -> str | None:
    """The variable a `${NAME}` value refers to, or None for a literal value."""
    if isinstance(value, str):
        m = REFERENCE_RE.match(value)
        if m:
            return m.group(1)
    return None


def references(project: Project) -> dict[str, str]:
    """Every reference of a project: place -> variable name."""
    out = {}
    for place in PLACES:
        name = reference(place.get(project.settings))
        if name:
            out[place.where] = name
    return out


def resolve(project: Project, environ: Mapping[str, str] | None = None,
            path: str | None = None) -> Project:
    """A copy of the project with every `${NAME}` replaced by the variable's value.

    Raises ProjectError naming each variable that is not set (and an empty token secret)."""
    environ = os.environ if environ is None else environ
    found = references(project)
    if not found:
        return project
    settings = copy.deepcopy(project.settings)
    problems = []
    for place in PLACES:
        name = found.get(place.where)
        if name is None:
            continue
        value = environ.get(name)
        if value is None:
            problems.append(Problem(place.where, f"the environment variable {name} is not set "
                                                 f"(the project refers to it as ${{{name}}})"))
        elif place.where == "settings.secret" and not value:
            problems.append(Problem(place.where, f"the environment variable {name} is empty: "
                                                 f"set it to a long random string"))
        else:
            place.set(settings, value)
    if problems:
        raise ProjectError(problems, path)
    resolved = copy.copy(project)
    resolved.settings = settings
    return resolved


def with_references(project: Project) -> Project:
    """A copy of the project whose secrets are references, for a file put on a server: the token
    secret and a non-empty SMTP password become `${ACTIONGRAPH_...}`; references stay."""
    settings = copy.deepcopy(project.settings)
    for place in PLACES:
        value = place.get(settings)
        if place.secret and reference(value) is None and (value or place.env == SECRET_ENV):
            place.set(settings, f"${{{place.env}}}")
    out = copy.copy(project)
    out.settings = settings
    return out


__all__ = ["DB_ENV", "PLACES", "PROJECT_ENV", "SECRET_ENV", "SMTP_PASSWORD_ENV", "reference",
           "references", "resolve", "with_references"]


# -- environment values of actions (env.NAME) ---------------------------------------------------

ENV_FILE = ".env"


def environment_values(project: Project, folder: str | os.PathLike | None, environment: str,
                       environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values of the project's declared environment values (`env.NAME` in expressions):
    the process environment first, then `.env.ENVIRONMENT` and `.env` in the project's folder
    (`environment` is e.g. "development" for the editor's live server, "production" for
    serve). Values are never read from or written to the project file. A declared value that
    none of them sets is a ProjectError naming it and where it may be set."""
    if not project.environment:
        return {}
    env = os.environ if environ is None else environ
    files: dict[str, str] = {}
    if folder is not None:
        for name in (f"{ENV_FILE}.{environment}", ENV_FILE):  # the first file to set one wins
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                for key, value in dotenv_values(path).items():
                    if value is not None:
                        files.setdefault(key, value)
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for v in project.environment:
        value = env.get(v.name, files.get(v.name))
        if value is None:
            where = f"{ENV_FILE}.{environment} or {ENV_FILE}" + (
                f" in {folder}" if folder is not None else "")
            problems.append(Problem(f"environment.{v.name}",
                                    f"{v.name} is not set: set it in the environment or in "
                                    f"{where}" + (f" ({v.description})" if v.description
                                                  else "")))
        else:
            values[v.name] = value
    if problems:
        raise ProjectError(problems)
    return values


def write_env_file(folder: str | os.PathLike, environment: str, values: Mapping[str, str]) -> str:
    """Write the values of one environment to `.env.ENVIRONMENT` in the project's folder (the
    editor's Environment dialog); returns the file's path. Keep it out of git."""
    path = os.path.join(folder, f"{ENV_FILE}.{environment}")
    lines = [f"{name}={_quoted(value)}" for name, value in values.items() if value is not None]
    temp = path + ".tmp"
    with open(temp, "w", encoding="utf-8") as out:
        out.write("# Environment values of the project (env.NAME); keep this file out of git.\n")
        out.write("\n".join(lines) + ("\n" if lines else ""))
    os.replace(temp, path)
    return path


def _quoted(value: str) -> str:
    if value and all(c.isalnum() or c in "-_./:@+,=" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
