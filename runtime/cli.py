"""The `actiongraph` command: serve a project headless, check a project file, open the editor."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path

from aiohttp import web

from runtime.compiler import check_project, compile_project
from runtime.errors import MigrationError, ProjectError
from runtime.projectfile import load
from runtime.scheduler import Scheduler
from runtime.server import STATE, create_app
from runtime.store import Store, default_url

COMMANDS_GROUP = "actiongraph.commands"  # other packages (the editor) add subcommands here


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command in ("serve", "check"):
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        return {"serve": serve, "check": check}[args.command](args)
    if args.command is None:
        return _plugin("open", unknown, parser)
    # Subcommands from other packages parse their own options (e.g. open --screenshot X FILE).
    return _plugin(args.command, unknown + args.rest, parser)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="actiongraph",
        description="Design back-end actions visually; serve them headless.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser("serve", help="serve a project's endpoints over HTTP")
    s.add_argument("file", help="the project file (NAME.actiongraph.json)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    s.add_argument("--db", help="SQLAlchemy database URL (default: NAME.db beside the file)")
    s.add_argument("--timeout", type=float, default=5.0,
                   help="seconds an action run may take before it is stopped (default 5)")
    s.add_argument("--max-body", type=int, default=1024 * 1024,
                   help="largest request body in bytes (default 1 MiB)")
    s.add_argument("--allow-data-loss", action="store_true",
                   help="let a model change drop fields or tables that hold data")
    c = sub.add_parser("check", help="check a project file and list every problem")
    c.add_argument("file")
    for ep in _plugins():
        p = sub.add_parser(ep.name, help=f"{ep.name} (from {ep.value.split(':')[0]})",
                           add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _plugins():
    return [ep for ep in entry_points(group=COMMANDS_GROUP) if ep.name not in ("serve", "check")]


def _plugin(name: str, rest: list[str], parser: argparse.ArgumentParser) -> int:
    for ep in _plugins():
        if ep.name == name:
            return int(ep.load()(rest) or 0)
    if name == "open":
        parser.print_help()
        return 0
    parser.error(f"unknown command {name}")
    return 2


def _load(path: str):
    """Load and compile a project, or print its problems; returns (project, compiled) or None."""
    try:
        project = load(path)
        return project, compile_project(project)
    except ProjectError as e:
        e.path = e.path or path
        print(e.describe(), file=sys.stderr)
        return None


def check(args) -> int:
    """`actiongraph check FILE`: every problem with its place, or a one-line summary."""
    try:
        project = load(args.file)
    except ProjectError as e:
        print(e.describe(), file=sys.stderr)
        return 1
    problems = check_project(project)
    if problems:
        print(ProjectError(problems, args.file).describe(), file=sys.stderr)
        return 1
    n = len(project.actions)
    print(f"{args.file}: ok: {_count(len(project.models), 'model')}, "
          f"{_count(len(project.endpoints), 'endpoint')}, {_count(n, 'action')}, "
          f"{_count(sum(len(a.events) for a in project.actions), 'event')}")
    return 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def serve(args) -> int:
    """`actiongraph serve FILE`: answer HTTP requests until Ctrl+C."""
    loaded = _load(args.file)
    if loaded is None:
        return 1
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        level=logging.INFO, stream=sys.stdout)
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    try:
        return asyncio.run(_serve(args, *loaded))
    except KeyboardInterrupt:
        print("stopped")
        return 0


async def _serve(args, project, compiled) -> int:
    url = args.db or default_url(args.file)
    store = Store(url, project)
    try:
        changes = await store.open(project, allow_data_loss=args.allow_data_loss)
    except MigrationError as e:
        print(f"The database {url} was not changed:\n{e}", file=sys.stderr)
        await store.close()
        return 1
    app = create_app(compiled, store, timeout=args.timeout, max_body=args.max_body)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, args.host, args.port).start()
    except OSError as e:
        await runner.cleanup()
        print(f"cannot listen on {args.host}:{args.port}: {e.strerror} "
              f"(try another --port)", file=sys.stderr)
        return 1
    base = f"http://{'localhost' if args.host in ('127.0.0.1', '::1') else args.host}:{args.port}"
    print(f'Actiongraph serving "{project.name}" ({Path(args.file).name}) at {base}')
    print(f"Database: {_safe(url)}")
    for line in changes:
        print(f"  migrated: {line}")
    for plan in compiled.endpoints:
        e = plan.endpoint
        target = f"-> {plan.action.action.name}" if plan.action else "(no action)"
        print(f"  {e.method:<6} {base}{e.path}  {e.name} {target}")
    scheduler = Scheduler(app[STATE])
    scheduler.start()
    schedules = scheduler.schedules()
    for name, when in scheduler.next_runs().items():
        print(f"  SCHEDULE {name}: {schedules[name].describe()}, next run {when:%Y-%m-%d %H:%M:%S %Z}")
    print("Press Ctrl+C to stop.", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await scheduler.stop()
        await runner.cleanup()
    return 0


def _safe(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


if __name__ == "__main__":
    sys.exit(main())
