"""Export a project for a server: a folder to copy to a machine and run with gunicorn.

`export_server(project_path, out_dir)` (and `actiongraph export-server FILE DIR`) writes:

- the project file, its secrets replaced by `${NAME}` references (runtime.environ): the token
  secret by `${ACTIONGRAPH_SECRET}`, a non-empty SMTP password by `${ACTIONGRAPH_SMTP_PASSWORD}`;
  no secret is ever written in clear;
- `requirements.txt`: the runtime's dependencies with the exact versions installed here (every
  package they pull in too), plus gunicorn and asyncpg; nothing of the editor (no Qt);
- the Actiongraph runtime itself (`runtime/`, `nodes/`, `resources/schema/`, Python files
  only): the very code that wrote the export, so the server reads the file format it was made
  for; commands run from the folder (`python -m runtime.cli`, gunicorn adds it to the path);
- `.env.example`: every environment variable the server reads, without values;
- `README.md`: how to install and start it, with gunicorn or `serve --workers`.
"""

from __future__ import annotations

import importlib.metadata as metadata
import platform
import re
import shutil
import sys
from pathlib import Path

from runtime.compiler import check_project
from runtime.environ import DB_ENV, PROJECT_ENV, SECRET_ENV, SMTP_PASSWORD_ENV, references, with_references
from runtime.errors import ProjectError
from runtime.host import GRACEFUL_TIMEOUT
from runtime.projectfile import dumps, load, write_atomic
from runtime.workers import ENV, WORKER_CLASS

ROOT = Path(__file__).resolve().parent.parent
SERVER_PACKAGES = ("gunicorn", "asyncpg")  # added to the runtime's own dependencies
VENDORED = (("runtime", "*.py"), ("nodes", "*.py"), ("resources", "__init__.py"),
            ("resources/schema", "*.json"))
REQUIREMENT_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?[^;]*(?:;(.*))?$")
EXTRA_RE = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


class DeployError(Exception):
    """Why an export cannot be written (the folder is not empty, a package is missing...)."""


def export_server(project_path: str | Path, out_dir: str | Path, *, force: bool = False
                  ) -> list[Path]:
    """Write the deployment folder for a project file; returns every file written, sorted.

    Raises ProjectError when the project does not load or has problems, DeployError when
    `out_dir` is a file or a folder that is not empty (unless `force`: then the files are
    written over, and the runtime folders are replaced)."""
    project_path = Path(project_path)
    out = Path(out_dir)
    project = load(project_path)
    errors = [p for p in check_project(project) if p.severity == "error"]
    if errors:  # warnings (an event nothing reaches) do not stop a server either
        raise ProjectError(errors, str(project_path))
    if out.exists() and not out.is_dir():
        raise DeployError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DeployError(f"{out} is not empty: choose a new or empty folder, or overwrite it "
                          f"(--force)")
    requirements = requirements_text()
    exported = with_references(project)
    name = project_path.name
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = [_write(out / name, dumps(exported)),
                   _write(out / "requirements.txt", requirements),
                   _write(out / ".env.example", env_example(exported, name)),
                   _write(out / "README.md", readme(exported, name))]
        written += _copy_runtime(out)
    except OSError as e:
        raise DeployError(f"cannot write {e.filename or out}: {e.strerror}") from None
    return sorted(written)


def _write(path: Path, text: str) -> Path:
    write_atomic(path, text)
    path.chmod(0o644)  # no secret in any of these files; readable like the code beside them
    return path


def _copy_runtime(out: Path) -> list[Path]:
    written = []
    for top in {folder.split("/")[0] for folder, _ in VENDORED}:
        shutil.rmtree(out / top, ignore_errors=True)  # no stale module from an older export
    for folder, pattern in VENDORED:
        target = out / folder
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted((ROOT / folder).glob(pattern)):
            shutil.copyfile(source, target / source.name)
            written.append(target / source.name)
    return written


# -- requirements.txt --------------------------------------------------------------------

def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse(requirement: str) -> tuple[str, set[str], str]:
    m = REQUIREMENT_RE.match(requirement)
    if not m:
        raise DeployError(f"cannot read the requirement {requirement!r}")
    extras = {_canonical(x) for x in (m.group(2) or "").split(",") if x.strip()}
    return m.group(1), extras, (m.group(3) or "").strip()


def _applies(marker: str, extras: set[str]) -> bool | None:
    """Whether a requirement's marker holds here for the extras asked for (None: unknown)."""
    if not marker:
        return True
    try:
        from packaging.markers import Marker
    except ImportError:  # without packaging: extras by hand, other markers by what is installed
        wanted = EXTRA_RE.findall(marker)
        if wanted:
            return any(_canonical(x) in extras for x in wanted)
        return None
    m = Marker(marker)
    return any(m.evaluate({"extra": extra}) for extra in sorted(extras) or [""])


def runtime_requirements() -> list[str]:
    """Actiongraph's own dependencies without extras (the editor's are an extra)."""
    try:
        requires = metadata.requires("actiongraph") or []
    except metadata.PackageNotFoundError:
        requires = None
    if requires is None:  # run from a folder without being installed: read pyproject.toml
        import tomllib

        try:
            data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        except OSError:
            raise DeployError("cannot tell Actiongraph's dependencies: it is not installed and "
                              "pyproject.toml is missing") from None
        requires = data["project"]["dependencies"]
    return [r for r in requires if "extra" not in (_parse(r)[2])]


def pinned() -> dict[str, tuple[str, str]]:
    """Every package the runtime needs (and gunicorn, asyncpg), as installed:
    canonical name -> (name, version); a server package not installed here has version ""."""
    found: dict[str, tuple[str, str]] = {}
    todo = [(*_parse(r)[:2], True) for r in runtime_requirements()]
    todo += [(name, set(), False) for name in SERVER_PACKAGES]
    seen: set[tuple[str, frozenset]] = set()
    while todo:
        name, extras, required = todo.pop()
        key = (_canonical(name), frozenset(extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if required:
                raise DeployError(f"{name} is not installed here, and the runtime needs it: "
                                  f"pip install {name}") from None
            if name in SERVER_PACKAGES:
                found.setdefault(_canonical(name), (name, ""))
            continue
        found[_canonical(name)] = (dist.metadata["Name"], dist.version)
        for requirement in dist.requires or []:
            sub, sub_extras, marker = _parse(requirement)
            applies = _applies(marker, extras)
            if applies is False:
                continue
            todo.append((sub, sub_extras, applies is True and required))
    return found


def requirements_text() -> str:
    """requirements.txt: `name==version` lines, sorted, with a header saying where they came from."""
    lines = [
        "# The Actiongraph runtime's dependencies, pinned to the versions installed where this",
        f"# folder was exported (Python {platform.python_version()}, {sys.platform} "
        f"{platform.machine()}), with gunicorn and asyncpg",
        "# (PostgreSQL). Nothing of the editor: no Qt. Actiongraph itself is not listed: its",
        "# runtime is in this folder (runtime/, nodes/, resources/). Install with",
        "#     python3 -m venv .venv && .venv/bin/pip install -r requirements.txt",
    ]
    for _, (name, version) in sorted(pinned().items()):
        lines.append(f"{name}=={version}" if version else
                     f"{name}  # not installed where this was exported: pin it when you install it")
    return "\n".join(lines) + "\n"


# -- .env.example and README.md ------------------------------------------------------------

def env_example(project, file_name: str) -> str:
    """The environment template: every variable the server reads, with no value filled in."""
    refs = references(project)
    lines = [
        f'# The environment of the Actiongraph server for "{project.name}".',
        "# Copy to .env, fill in, keep it out of git (it holds secrets). Load it before starting,",
        "# e.g. `set -a; . ./.env; set +a`, systemd's EnvironmentFile= or docker --env-file.",
        "",
        "# The project file to serve (read by every gunicorn worker).",
        f"{PROJECT_ENV}={file_name}",
        "# The database, a SQLAlchemy URL. PostgreSQL for several workers or machines; SQLite",
        "# (sqlite+aiosqlite:////srv/app/data.db) for one machine. Default: NAME.db beside the file.",
        f"{DB_ENV}=postgresql+asyncpg://USER:PASSWORD@localhost:5432/DATABASE",
    ]
    listed = {PROJECT_ENV, DB_ENV}
    for where, name in refs.items():
        if name in listed:
            continue
        listed.add(name)
        if name == SECRET_ENV:
            lines += ["# Signs login tokens (settings.secret). The same value on every worker and",
                      "# machine; changing it logs everyone out. Make one with",
                      '#     python3 -c "import secrets; print(secrets.token_urlsafe(32))"']
        elif where == "settings.mail.password":
            mail = project.settings.mail
            lines.append(f"# The SMTP password (settings.mail.password) of {mail.username or 'the user'} "
                         f"at {mail.host}:{mail.port}.")
        else:
            lines.append(f"# {where} (the project file says ${{{name}}}).")
        lines.append(f"{name}=")
    if project.environment:
        lines += ["", "# The project's environment values (env.NAME in its expressions)."]
    for v in project.environment:
        if v.name in listed:
            continue
        listed.add(v.name)
        lines.append(f"# env.{v.name}" + (f": {v.description}" if v.description else "")
                     + (" (a secret)" if v.secret else ""))
        lines.append(f"{v.name}=")
    if SMTP_PASSWORD_ENV not in listed:
        lines += ["# The SMTP password, if the project's mail server needs one: then set",
                  f'# settings.mail.password to "${{{SMTP_PASSWORD_ENV}}}" in the project file.',
                  f"# {SMTP_PASSWORD_ENV}="]
    lines += ["", "# gunicorn with runtime.gunicorn_conf: the address and the number of workers.",
              "ACTIONGRAPH_BIND=127.0.0.1:8080", "ACTIONGRAPH_WORKERS=2",
              f"# ACTIONGRAPH_GRACEFUL_TIMEOUT={GRACEFUL_TIMEOUT}", "", "# Optional."]
    for name, what in ENV.items():
        if name not in (PROJECT_ENV, DB_ENV):
            lines.append(f"# {name}=".ljust(36) + f"# {what}")
    return "\n".join(lines) + "\n"


def readme(project, file_name: str) -> str:
    """README.md of the folder: install, configure, start, check."""
    return f"""# {project.name}: the server

This folder runs the Actiongraph project `{file_name}` on a server, without the editor.
It was written by `actiongraph export-server`; the project's secrets are not in it (the
project file refers to environment variables, see `.env.example`).

- `{file_name}`: the project. Its secrets are `${{NAME}}` references, read from the environment
  when the server starts; a variable that is not set stops the start with its name.
- `requirements.txt`: the exact versions of the runtime's dependencies, gunicorn and asyncpg.
- `runtime/`, `nodes/`, `resources/`: the Actiongraph runtime that made this export (no
  editor, no Qt). Run the commands below from this folder, so Python finds it.
- `.env.example`: every environment variable the server reads.

## Install

```sh
python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
cp .env.example .env   # then fill in the database URL and the secrets
```

## Start

With gunicorn (several workers; `runtime.gunicorn_conf` binds `$ACTIONGRAPH_BIND`, starts
`$ACTIONGRAPH_WORKERS` workers, and migrates the database once in the master before forking):

```sh
set -a; . ./.env; set +a
.venv/bin/gunicorn -c python:runtime.gunicorn_conf
```

or with every option on the command line (each worker then migrates under a database lock):

```sh
.venv/bin/gunicorn 'runtime.gunicorn_app:app' --worker-class {WORKER_CLASS} \\
    --workers 4 --bind 127.0.0.1:8080 --graceful-timeout {GRACEFUL_TIMEOUT}
```

or with Actiongraph's own command (the same gunicorn underneath; one process without `--workers`):

```sh
set -a; . ./.env; set +a
.venv/bin/python -m runtime.cli serve {file_name} --workers 4 --host 127.0.0.1 --port 8080
```

Bind to `127.0.0.1` behind a reverse proxy (nginx, Caddy) or a load balancer; `0.0.0.0` to
listen on every interface. SIGTERM stops gracefully: no new connections, the requests in flight
finish (up to the graceful timeout, {GRACEFUL_TIMEOUT} s), then the workers exit.

A scheduled action runs once per scheduled time across all workers and machines sharing the
database. Use PostgreSQL (`{DB_ENV}=postgresql+asyncpg://...`) for several machines; SQLite works
for several workers on one machine.

## Check

- `GET /healthz`: 200 `{{"status": "ok"}}` while the process answers (liveness).
- `GET /readyz`: 200 when the project is compiled and the database answers; 503 with the
  reason otherwise (readiness: take the instance out of the load balancer).
- Every request is one JSON line on stdout: time, method, path, status, ms, endpoint, action,
  error, event, source and the worker's pid (`ACTIONGRAPH_LOG_FORMAT=text` for short lines).
"""
