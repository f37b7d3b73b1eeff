"""The `actiongraph` command: serve a project headless, check a project file, open the editor."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from importlib.metadata import entry_points
from pathlib import Path

from aiohttp import web

from runtime import logs
from runtime.compiler import check_project, compile_project
from runtime.environ import DB_ENV, resolve
from runtime.errors import ProjectError
from runtime.projectfile import load
from runtime.scheduler import Scheduler
from runtime.server import STATE, create_app
from runtime.store import default_url
from runtime.workers import Prepared, StartupError, banner, base_url, open_store

COMMANDS_GROUP = "actiongraph.commands"  # other packages (the editor) add subcommands here


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "openapi":
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        return openapi(args)
    if args.command in ("serve", "check", "export-server", "generate-api"):
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        return {"serve": serve, "check": check, "export-server": export_server,
                "generate-api": generate_api}[args.command](args)
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
    s.add_argument("--workers", type=_positive, default=1,
                   help="worker processes; more than 1 runs gunicorn with aiohttp's worker (default 1)")
    s.add_argument("--graceful-timeout", type=_positive, default=30,
                   help="seconds a stopping server has to finish its requests (default 30)")
    s.add_argument("--log-format", choices=("json", "text"), default="json",
                   help="one JSON line per request (default) or a short text line")
    s.add_argument("--no-docs", action="store_true",
                   help="do not serve the API docs (/docs and /openapi.json)")
    x = sub.add_parser("export-server", help="write a folder to deploy a project on a server")
    x.add_argument("file", help="the project file")
    x.add_argument("dir", help="the folder to write (new or empty)")
    x.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    c = sub.add_parser("check", help="check a project file and list every problem")
    c.add_argument("file")
    g = sub.add_parser("generate-api", help="add list/get/create/replace/update/delete endpoints "
                                            "and actions for a data model to a project file")
    g.add_argument("file", help="the project file (saved in place)")
    g.add_argument("model", help="the data model, e.g. Shoes")
    o = sub.add_parser("openapi", help="write a project's OpenAPI 3.1 document (or its docs page)")
    o.add_argument("file", help="the project file")
    o.add_argument("-o", "--output", metavar="OUT", help="write to this file (default: stdout)")
    o.add_argument("--html", action="store_true",
                   help="write the readable API docs page (HTML) instead of the JSON document")
    o.add_argument("--server", metavar="URL", help="the server URL to put in the document, "
                                                   "e.g. https://api.example.com")
    for ep in _plugins():
        p = sub.add_parser(ep.name, help=f"{ep.name} (from {ep.value.split(':')[0]})",
                           add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _plugins():
    return [ep for ep in entry_points(group=COMMANDS_GROUP)
            if ep.name not in ("serve", "check", "export-server")]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not 1 or more")
    return value


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
        project = resolve(load(path), path=path)  # ${NAME} references from the environment
        return project, compile_project(project)
    except ProjectError as e:
        e.path = e.path or path
        print(e.describe(), file=sys.stderr)
        return None


def _checked(path: str):
    """The project of a file with no problems, or None after printing every problem."""
    try:
        project = load(path)
    except ProjectError as e:
        print(e.describe(), file=sys.stderr)
        return None
    problems = check_project(project)
    if problems:
        print(ProjectError(problems, path).describe(), file=sys.stderr)
        return None
    return project


def check(args) -> int:
    """`actiongraph check FILE`: every problem with its place, or a one-line summary."""
    project = _checked(args.file)
    if project is None:
        return 1
    n = len(project.actions)
    print(f"{args.file}: ok: {_count(len(project.models), 'model')}, "
          f"{_count(len(project.endpoints), 'endpoint')}, {_count(n, 'action')}, "
          f"{_count(sum(len(a.events) for a in project.actions), 'event')}")
    return 0


def generate_api(args) -> int:
    """`actiongraph generate-api FILE MODEL`: add a model's REST endpoints and actions, save."""
    from runtime.generate import GenerateError
    from runtime.generate import generate_api as generate
    from runtime.projectfile import save

    try:
        project = load(args.file)
        report = generate(project, args.model)
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
    from runtime.deploy import DeployError
    from runtime.deploy import export_server as export

    try:
        written = export(args.file, args.dir, force=args.force)
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
    from runtime.docs import render_docs_html
    from runtime.openapi import build_openapi, dumps
    from runtime.projectfile import write_atomic

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


def serve(args) -> int:
    """`actiongraph serve FILE`: answer HTTP requests until Ctrl+C (or SIGTERM)."""
    if args.workers > 1:
        from runtime.workers import serve_workers

        return serve_workers(args)
    loaded = _load(args.file)
    if loaded is None:
        return 1
    logs.setup(args.log_format)
    try:
        return asyncio.run(_serve(args, *loaded))
    except KeyboardInterrupt:
        print("stopped")
        return 0


async def _serve(args, project, compiled) -> int:
    url = args.db or os.environ.get(DB_ENV) or default_url(args.file)
    try:
        store, changes = await open_store(url, project, allow_data_loss=args.allow_data_loss)
    except StartupError as e:  # a refused migration, an unreachable database: no traceback
        print(e, file=sys.stderr)
        return 1
    docs = not getattr(args, "no_docs", False)
    app = create_app(compiled, store, timeout=args.timeout, max_body=args.max_body, docs=docs)
    runner = web.AppRunner(app, access_log=None,
                           shutdown_timeout=getattr(args, "graceful_timeout", 30))
    await runner.setup()
    try:
        await web.TCPSite(runner, args.host, args.port).start()
    except OSError as e:
        await runner.cleanup()
        print(f"cannot listen on {args.host}:{args.port}: {e.strerror} "
              f"(try another --port)", file=sys.stderr)
        return 1
    scheduler = Scheduler(app[STATE])
    scheduler.start()
    base = base_url(args.host, args.port)
    print("\n".join(banner(Prepared(project, compiled, url, changes), args.file, base,
                            docs=docs)), flush=True)
    stop = asyncio.Event()  # SIGTERM: stop listening, finish the requests in flight, then exit
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await scheduler.stop()
        await runner.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
