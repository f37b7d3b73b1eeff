"""The `actiongraph` command: serve a project headless, check a project file, open the editor.

Every subcommand is one `Command` in a table: its name, help line, arguments and handler.
The built-ins are `BUILTINS`; other packages add theirs through the `actiongraph.commands`
entry point (the editor's `open`), and `commands()` registers both the same way. Adding a
command is adding one entry.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from nodes import package_of
from nodes import problems as plugin_problems
from runtime import logs
from runtime.compiler import CompiledProject, check_project
from runtime.deploy import DeployError
from runtime.deploy import export_server as write_server_folder
from runtime.docs import render_docs_html
from runtime.errors import ProjectError
from runtime.generate import GenerateError
from runtime.generate import generate_api as add_rest_api
from runtime.history import MODES as HISTORY_MODES
from runtime.history_cli import runs_command
from runtime.host import GRACEFUL_TIMEOUT, Host, ServeConfig, StartupError, load_project
from runtime.openapi import build_openapi, dumps
from runtime.project import Project
from runtime.projectfile import load, save, write_atomic
from runtime.seed import describe, seed_empty_database
from runtime.server import MAX_BODY
from runtime.testing import test_command
from runtime.workers import Prepared, banner, base_url, serve_workers

COMMANDS_GROUP = "actiongraph.commands"  # other packages (the editor) add subcommands here


# -- the table of commands -----------------------------------------------------------------

@dataclass(frozen=True)
class Argument:
    """One argument of a command, as `argparse.ArgumentParser.add_argument` takes it."""

    names: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


def arg(*names: str, **options: Any) -> Argument:
    """An argument: `arg("--port", type=int, default=8080, help="...")`."""
    return Argument(names, options)


@dataclass(frozen=True)
class Command:
    """One subcommand: name, help line, arguments and handler.

    With `arguments` (a tuple, maybe empty) the handler gets the parsed arguments
    (argparse.Namespace) and extra words are refused; with `arguments=None` the command parses
    its own: the handler gets the rest of the command line as a list of words. Either way it
    returns the exit status."""

    name: str
    help: str
    run: Callable[[Any], int | None]
    arguments: tuple[Argument, ...] | None = ()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    table = commands()
    parser = _parser(table.values())
    args, unknown = parser.parse_known_args(argv)
    if args.command is None:  # a bare `actiongraph [options]` opens the editor when installed
        if "open" not in table:
            parser.print_help()
            return 0
        return int(table["open"].run(unknown) or 0)
    command = table[args.command]
    if command.arguments is None:
        return int(command.run(unknown + args.rest) or 0)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return int(command.run(args) or 0)


def commands() -> dict[str, Command]:
    """Every command by name: the built-ins, then the plug-ins' (a plug-in cannot replace a
    built-in, nor an earlier plug-in)."""
    table: dict[str, Command] = {}
    for command in [*BUILTINS, *(_from_entry_point(ep) for ep in _entry_points())]:
        table.setdefault(command.name, command)
    return table


def _entry_points() -> Iterable[EntryPoint]:
    return entry_points(group=COMMANDS_GROUP)


def _from_entry_point(ep: EntryPoint) -> Command:
    """A plug-in's command, loaded only when it runs (the editor's import of Qt is slow).

    The entry point names a Command, or a function taking the rest of the command line."""
    def run(rest: list[str]) -> int:
        target = ep.load()
        if isinstance(target, Command):
            if target.arguments is None:
                return int(target.run(rest) or 0)
            sub = argparse.ArgumentParser(prog=f"actiongraph {ep.name}", description=target.help)
            _add_arguments(sub, target.arguments)
            return int(target.run(sub.parse_args(rest)) or 0)
        return int(target(rest) or 0)

    return Command(ep.name, f"{ep.name} (from {ep.value.split(':')[0]})", run, None)


def _parser(table: Iterable[Command] | None = None) -> argparse.ArgumentParser:
    """The parser of every command (default: all registered ones)."""
    parser = argparse.ArgumentParser(
        prog="actiongraph",
        description="Design back-end actions visually; serve them headless.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in commands().values() if table is None else table:
        if command.arguments is None:
            p = sub.add_parser(command.name, help=command.help, add_help=False)
            p.add_argument("rest", nargs=argparse.REMAINDER)
        else:
            _add_arguments(sub.add_parser(command.name, help=command.help), command.arguments)
    return parser


def _add_arguments(parser: argparse.ArgumentParser, arguments: Iterable[Argument]) -> None:
    for a in arguments:
        parser.add_argument(*a.names, **a.options)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not 1 or more")
    return value


# -- the built-in commands -------------------------------------------------------------------

def _checked(path: str):
    """The project of a file without errors (its warnings printed), or None after printing
    every problem."""
    try:
        project = load(path)
    except ProjectError as e:
        print(e.describe(), file=sys.stderr)
        return None
    problems = check_project(project)
    errors = [p for p in problems if p.severity == "error"]
    for warning in (p for p in problems if p.severity != "error"):
        print(f"warning: {path}: {warning}", file=sys.stderr)  # reported; it still serves
    if errors:
        print(ProjectError(errors, path).describe(), file=sys.stderr)
        return None
    return project


def check(args) -> int:
    """`actiongraph check FILE`: every problem with its place, or a one-line summary."""
    for line in plugin_problems():  # a broken plug-in, whether this project uses it or not
        print(f"warning: {line}", file=sys.stderr)
    project = _checked(args.file)
    if project is None:
        return 1
    n = len(project.actions)
    used = sorted({p for a in project.actions for e in a.events.values()
                   if (p := package_of(e.kind))})
    print(f"{args.file}: ok: {_count(len(project.models), 'model')}, "
          f"{_count(len(project.endpoints), 'endpoint')}, {_count(n, 'action')}, "
          f"{_count(sum(len(a.events) for a in project.actions), 'event')}"
          + (f" (plug-ins: {', '.join(used)})" if used else ""))
    return 0


def generate_api(args) -> int:
    """`actiongraph generate-api FILE MODEL`: add a model's REST endpoints and actions, save."""
    try:
        project = load(args.file)
        report = add_rest_api(project, args.model)
    except ProjectError as e:
        print(e.describe(), file=sys.stderr)
        return 1
    except GenerateError as e:
        print(f"{args.file}: {e}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    if report.changed:
        save(project, args.file)
        print(f"saved {args.file}")
    else:
        print(f"nothing to add; {args.file} is unchanged")
    return 0


def export_server(args) -> int:
    """`actiongraph export-server FILE DIR`: the folder to deploy a project with gunicorn."""
    try:
        written = write_server_folder(args.file, args.dir, force=args.force)
    except ProjectError as e:
        e.path = e.path or args.file
        print(e.describe(), file=sys.stderr)
        return 1
    except DeployError as e:
        print(f"cannot export: {e}", file=sys.stderr)
        return 1
    out = Path(args.dir)
    top = sorted({p.relative_to(out).parts[0] for p in written})
    print(f"{args.dir}: {len(written)} files ({', '.join(top)})")
    print(f"Next: read {out / 'README.md'}; the secrets go in the environment (.env.example).")
    return 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def openapi(args) -> int:
    """`actiongraph openapi FILE [-o OUT] [--html]`: the API's document, for front-end developers."""
    project = _checked(args.file)
    if project is None:
        return 1
    spec = build_openapi(project, args.server)
    text = render_docs_html(spec) if args.html else dumps(spec)
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        write_atomic(Path(args.output), text)
    except OSError as e:
        print(f"cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 1
    what = "API docs page" if args.html else "OpenAPI document"
    print(f"{args.output}: {what} of {_count(len(project.endpoints), 'endpoint')}", file=sys.stderr)
    return 0


def serve(args: argparse.Namespace) -> int:
    """`actiongraph serve FILE`: answer HTTP requests until Ctrl+C (or SIGTERM)."""
    config = ServeConfig(project=args.file, db=args.db, host=args.host, port=args.port,
                         timeout=args.timeout, max_body=args.max_body,
                         allow_data_loss=args.allow_data_loss, log_format=args.log_format,
                         docs=not args.no_docs, workers=args.workers,
                         graceful_timeout=args.graceful_timeout, history=args.history,
                         history_db=args.history_db, environment=args.environment)
    if config.workers > 1:
        if args.seed and asyncio.run(_seed_only(config)):
            return 1
        return serve_workers(config)
    try:
        project, compiled = load_project(config.project, config.environ)
    except StartupError as e:
        print(e, file=sys.stderr)
        return 1
    logs.setup(config.log_format)
    try:
        return asyncio.run(_serve(config, project, compiled, seed=args.seed))
    except KeyboardInterrupt:
        print("stopped")
        return 0


async def _serve(config: ServeConfig, project: Project | None = None,
                 compiled: CompiledProject | None = None, seed: bool = False) -> int:
    try:
        host = await Host.open(config, project, compiled=compiled)
    except StartupError as e:  # a refused migration, an unreachable database: no traceback
        print(e, file=sys.stderr)
        return 1
    if seed and not await _seed(host.store, host.project):
        await host.close()
        return 1
    try:
        await host.listen()
    except OSError as e:  # the Host is closed
        print(f"cannot listen on {config.host}:{config.port}: {e.strerror} "
              f"(try another --port)", file=sys.stderr)
        return 1
    prepared = Prepared(host.project, host.compiled, config.url, host.changes)
    print("\n".join(banner(prepared, config.project, base_url(config.host, config.port),
                            docs=config.docs)), flush=True)
    stop = asyncio.Event()  # SIGTERM: stop listening, finish the requests in flight, then exit
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await host.close()
    return 0


async def _seed_only(config: ServeConfig) -> int:
    """--seed with workers: seed once, before they start; 0 when done, 1 after printing why not."""
    try:
        host = await Host.open(config)
    except StartupError as e:
        print(e, file=sys.stderr)
        return 1
    try:
        return 0 if await _seed(host.store, host.project) else 1
    finally:
        await host.close()


async def _seed(store, project) -> bool:
    """Add the seed rows to an empty database and say what happened; False if a row was refused."""
    try:
        added, full = await seed_empty_database(store, project)
    except ProjectError as e:
        print(f"Seed rows not added: {e.describe()}", file=sys.stderr)
        return False
    if full:
        print(f"Seed: nothing added, the database holds rows already ({', '.join(full)})")
    elif added:
        print(f"Seed: added {describe(added)}")
    else:
        print("Seed: the project has no seed rows")
    return True


BUILTINS: tuple[Command, ...] = (
    Command("serve", "serve a project's endpoints over HTTP", serve, (
        arg("file", help="the project file (NAME.actiongraph.json)"),
        arg("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"),
        arg("--port", type=int, default=8080, help="port (default 8080)"),
        arg("--db", help="SQLAlchemy database URL (default: NAME.db beside the file)"),
        arg("--timeout", type=float, default=5.0,
            help="seconds an action run may take before it is stopped (default 5)"),
        arg("--max-body", type=int, default=MAX_BODY,
            help="largest request body in bytes (default 1 MiB)"),
        arg("--allow-data-loss", action="store_true",
            help="let a model change drop fields or tables that hold data"),
        arg("--workers", type=_positive, default=1,
            help="worker processes; more than 1 runs gunicorn with aiohttp's worker (default 1)"),
        arg("--graceful-timeout", type=_positive, default=GRACEFUL_TIMEOUT,
            help="seconds a stopping server has to finish its requests (default 30)"),
        arg("--log-format", choices=logs.FORMATS, default="json",
            help="one JSON line per request (default) or a short text line"),
        arg("--no-docs", action="store_true",
            help="do not serve the API docs (/docs and /openapi.json)"),
        arg("--seed", action="store_true",
            help="add the project's seed rows to a database whose tables are all empty"),
        arg("--history", choices=HISTORY_MODES, default="errors",
            help="run history: errors (default) records failed runs whole, full every run with "
                 "its trace, off nothing (see `actiongraph runs`)"),
        arg("--history-db", metavar="URL",
            help="where the run history goes: a file or database URL (default: NAME.runs.db "
                 "beside the project, or the --db database when it is PostgreSQL)"),
        arg("--environment", default="production", metavar="NAME",
            help="which .env.NAME file beside the project gives the project's environment "
                 "values after the process environment (default production; then .env)"),
    )),
    Command("export-server", "write a folder to deploy a project on a server", export_server, (
        arg("file", help="the project file"),
        arg("dir", help="the folder to write (new or empty)"),
        arg("--force", action="store_true", help="write into a folder that is not empty"),
    )),
    Command("check", "check a project file and list every problem", check, (arg("file"),)),
    Command("test", "run a project's tests on scratch databases (exit status 1 when one fails)",
            test_command, (
        arg("file", help="the project file"),
        arg("-k", action="append", metavar="NAME",
            help="only the tests whose name holds NAME (case-insensitive; may be repeated)"),
        arg("--junit", metavar="OUT.xml", help="also write the results as JUnit XML"),
        arg("--db", metavar="URL",
            help="run on PostgreSQL (postgresql+asyncpg://...: a database per test, made from a "
                 "template); default: SQLite files in a temporary folder"),
    )),
    Command("generate-api", "add list/get/create/replace/update/delete endpoints and actions "
                            "for a data model to a project file", generate_api, (
        arg("file", help="the project file (saved in place)"),
        arg("model", help="the data model, e.g. Shoes"),
    )),
    Command("openapi", "write a project's OpenAPI 3.1 document (or its docs page)", openapi, (
        arg("file", help="the project file"),
        arg("-o", "--output", metavar="OUT", help="write to this file (default: stdout)"),
        arg("--html", action="store_true",
            help="write the readable API docs page (HTML) instead of the JSON document"),
        arg("--server", metavar="URL",
            help="the server URL to put in the document, e.g. https://api.example.com"),
    )),
    Command("runs", "list recorded runs, or show one with its trace (`runs show ID`)",
            runs_command, None),
)


if __name__ == "__main__":
    sys.exit(main())
