"""The application factory for gunicorn: `gunicorn -c python:runtime.gunicorn_conf runtime.gunicorn_app:app`.

`app` is an async factory (aiohttp's GunicornWebWorker awaits it in each worker). It reads
its configuration from the environment: ACTIONGRAPH_PROJECT (the project file, required),
ACTIONGRAPH_DB (the database URL; default NAME.db beside the file), ACTIONGRAPH_TIMEOUT,
ACTIONGRAPH_MAX_BODY, ACTIONGRAPH_ALLOW_DATA_LOSS, ACTIONGRAPH_LOG_FORMAT, and the variables the
project's `${NAME}` references name (e.g. ACTIONGRAPH_SECRET, ACTIONGRAPH_SMTP_PASSWORD).
"""

from __future__ import annotations

from aiohttp import web

from runtime.host import ServeConfig, StartupError
from runtime.workers import worker_app


async def app() -> web.Application:
    """One worker's application: a Host (load, compile, open the store; the scheduler starts
    with the application)."""
    try:
        config = ServeConfig.from_env()
    except StartupError as e:
        from gunicorn.errors import AppImportError

        raise AppImportError(str(e)) from None
    return await worker_app(config)
