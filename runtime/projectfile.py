"""The project file: canonical JSON text, located load errors, atomic saves."""

from __future__ import annotations

import json
import os
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from runtime.errors import Problem, ProjectError
from runtime.project import FORMAT, Project, from_data, locate, to_data
from runtime.seed import seed_problems

SUFFIX = ".actiongraph.json"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
SCHEMA_PATH = RESOURCES / "schema" / "actiongraph.schema.json"
INLINE_WIDTH = 120


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of the project file."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def dumps(project: Project) -> str:
    """The project as canonical file text: stable key order, small objects on one line."""
    return _write(to_data(project), 0) + "\n"


def _write(value: Any, indent: int, rows: bool = False) -> str:
    """`rows`: the lists inside are written one item per line (seed rows: a row, a line)."""
    inline = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if not isinstance(value, (dict, list)) or not value:
        return inline
    nested = value.values() if isinstance(value, dict) else value
    flat = all(not isinstance(v, (dict, list)) or not _deep(v) for v in nested)
    if flat and indent + len(inline) <= INLINE_WIDTH and indent > 0 and not rows:
        return inline
    pad = "  " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: "
                 f"{_write(v, indent + 1, rows or (indent == 0 and k == 'seed'))}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    items = [f"{pad}{_write(v, indent + 1)}" for v in value]
    return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"


def _deep(value: Any) -> bool:
    """Whether a container holds containers (and so is not written on one line)."""
    items = value.values() if isinstance(value, dict) else value
    return any(isinstance(v, (dict, list)) and v for v in items)


def loads(text: str, path: str | None = None) -> Project:
    """Parse file text; raises ProjectError with every structural problem located."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProjectError([Problem(f"line {e.lineno} column {e.colno}",
                                    f"not valid JSON: {e.msg}")], path) from None
    return from_checked_data(data, path)


def from_checked_data(data: Any, path: str | None = None) -> Project:
    """Validate data against the schema, then build the project."""
    if not isinstance(data, dict):
        raise ProjectError([Problem("", "a project file holds a JSON object")], path)
    fmt = data.get("format")
    if isinstance(fmt, int) and fmt > FORMAT:
        raise ProjectError([Problem("format", f"made by a newer Actiongraph (format {fmt}; "
                                              f"this one reads format {FORMAT})")], path)
    validator = jsonschema.Draft202012Validator(schema())
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(Problem(locate(data, list(error.absolute_path)), _message(error)))
    if problems:
        raise ProjectError(problems, path)
    problems = seed_problems(data)  # seed rows against the models: needs a well-formed file
    if problems:
        raise ProjectError(problems, path)
    return from_data(data)


def _message(error: jsonschema.ValidationError) -> str:
    """A schema error in users' words."""
    if error.validator == "enum":
        return f"{json.dumps(error.instance)} is not one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is missing")
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key")
    if error.validator == "pattern" and str(error.instance).startswith("${"):
        return (f"{json.dumps(error.instance)} is not a reference to an environment variable: "
                "write exactly ${NAME} (letters, digits and _)")
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        return "expected a condition {field, op, value} or a group {and|or|not: ...}"
    return error.message


def load(path: str | os.PathLike) -> Project:
    """Read a project file; raises ProjectError naming the file and every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ProjectError([Problem("", f"cannot read the file: {e.strerror}")], str(path)) from None
    except UnicodeDecodeError:
        raise ProjectError([Problem("", "the file is not UTF-8 text")], str(path)) from None
    return loads(text, str(path))


def save(project: Project, path: str | os.PathLike) -> None:
    """Write the project atomically: a temporary file beside it, fsync, then rename."""
    write_atomic(Path(path), dumps(project))


STALE_TEMPORARY_S = 3600  # a temporary file this old is left over, whoever made it


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files of `path` left by a save that was killed half-way: those made by
    a process that no longer runs (the pid is in the name), or older than an hour."""
    prefix = f".{path.name}."
    try:
        names = [n for n in os.listdir(path.parent or ".")
                 if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        leftover = (path.parent or Path(".")) / name
        pid = name[len(prefix):].split("-", 1)[0]
        try:
            if not (pid.isdigit() and _running(int(pid))) or \
                    time.time() - leftover.stat().st_mtime > STALE_TEMPORARY_S:
                leftover.unlink()
        except OSError:
            continue


def _running(pid: int) -> bool:
    """Whether a process runs (on systems where that cannot be asked cheaply: assume it does)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_atomic(path: Path, text: str) -> None:
    """Replace a file's content so that a crash leaves either the old or the new file."""
    path = Path(path)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp",
                               dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
