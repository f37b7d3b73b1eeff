"""gunicorn settings for an Actiongraph project: `gunicorn -c python:runtime.gunicorn_conf`.

With this file gunicorn runs `runtime.gunicorn_app:app` in aiohttp's GunicornWebWorker, binds
127.0.0.1:8080 (ACTIONGRAPH_BIND, or gunicorn's --bind), and before it forks any worker the
master loads the project, resolves its `${NAME}` references, compiles it and migrates the
database once (a problem stops it there with a clear message). Options on gunicorn's command
line win over these, e.g. `gunicorn -c python:runtime.gunicorn_conf -w 4 -b 0.0.0.0:8000`.
"""

import os as _os
import sys as _sys

wsgi_app = "runtime.gunicorn_app:app"
worker_class = "aiohttp.GunicornWebWorker"
bind = [_os.environ.get("ACTIONGRAPH_BIND") or "127.0.0.1:8080"]
if _os.environ.get("ACTIONGRAPH_WORKERS"):
    workers = int(_os.environ["ACTIONGRAPH_WORKERS"])
graceful_timeout = int(_os.environ.get("ACTIONGRAPH_GRACEFUL_TIMEOUT") or 30)
proc_name = "actiongraph"
control_socket_disable = True  # its default path is shared by every gunicorn a user runs
accesslog = None  # the workers write one JSON line per request themselves
# On Linux each worker binds its own socket (SO_REUSEPORT), so the kernel spreads connections
# across workers instead of one worker taking most keep-alive connections; gunicorn's
# --reuse-port on the command line turns it on elsewhere, ACTIONGRAPH_REUSE_PORT=0 off. A Unix
# socket, systemd's sockets or a USR2 re-exec keep one shared socket (on_starting).
reuse_port = (_os.environ.get("ACTIONGRAPH_REUSE_PORT", "").strip().lower()
              not in ("0", "false", "no", "off") and _sys.platform.startswith("linux"))


def on_starting(server):
    """In the master, before the workers: load, compile and migrate once, or stop clearly."""
    from runtime.host import ServeConfig, StartupError
    from runtime.workers import own_sockets_possible, prepare

    if server.cfg.reuse_port and not own_sockets_possible(server.cfg.address):
        server.cfg.set("reuse_port", False)  # a Unix socket or sockets handed in: share them

    try:
        prepared = prepare(ServeConfig.from_env())
    except StartupError as e:
        print(e, file=_sys.stderr, flush=True)
        _sys.exit(1)
    for line in prepared.changes:
        server.log.info("migrated: %s", line)
