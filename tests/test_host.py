"""The Host: one served project, the one way to deploy a revision and to run an action."""

from __future__ import annotations

import asyncio

import pytest
from conftest import EXAMPLES

from runtime.cli import BUILTINS, Command, arg, commands, main
from runtime.compiler import compile_project
from runtime.errors import MigrationError, ProjectError, StaleRevision
from runtime.host import HOST, Host, ServeConfig, StartupError
from runtime.project import Field, Project, Trigger
from runtime.projectfile import load

pytestmark = pytest.mark.both_databases  # deploys migrate and runs write: SQLite and PostgreSQL


def reporting() -> Project:
    p = Project(name="Reports")
    p.add_model("Reports", [Field("note", "Text")])
    p.add_action("Nightly", Trigger("schedule", schedule="every 1 hours")).add_event(
        "create", model="Reports", values={"note": "nightly"})
    p.add_action("Broken", Trigger("schedule", schedule="every 1 hours")).add_event(
        "raise_error", status=503, message="the feed is down")
    return p


@pytest.fixture
async def host(database):
    opened = []

    async def open_(project, **kwargs) -> Host:
        h = await Host.open(ServeConfig(db=database.url(f"h{len(opened)}"), schedules=False),
                            project, **kwargs)
        opened.append(h)
        return h

    yield open_
    for h in opened:
        await h.close()


async def test_run_fills_one_record_and_reports_it(host):
    h = await host(reporting())
    seen = []
    h.listeners.append(seen.append)
    record = await h.run("Nightly", source="schedule")
    assert (record.status, record.source, record.method, record.action) == (200, "schedule",
                                                                            "SCHEDULE", "Nightly")
    assert record.revision == 1 and record.error is None and record.failure is None
    assert record.inputs == {"path": {}, "query": {}, "header": {}, "body": {}, "auth": {}}
    assert [c.model for c in record.changes] == ["Reports"] and record.ms > 0
    assert seen == [record]

    failed = await h.run("Broken")
    assert failed.status == 503 and failed.source == "manual" and failed.method == "RUN"
    assert failed.failure is not None and failed.failure.message == "the feed is down"
    assert failed.error == "the feed is down" and failed.response is None

    gone = await h.run("Nowhere")
    assert gone.status == 404 and 'action "Nowhere" is no longer in the project' in gone.error
    assert seen == [record, failed, gone]


async def test_a_dry_run_writes_nothing(host):
    h = await host(reporting())
    record = await h.run("Nightly", dry_run=True)
    assert record.status == 200 and record.dry_run and len(record.changes) == 1
    async with h.store.transaction(writes=False) as tx:
        assert await tx.select("Reports") == []


async def test_deploy_is_the_only_swap_and_refuses_a_stale_revision(host):
    h = await host(reporting())
    newer = reporting()
    newer.models[0].fields.append(Field("colour", "Text"))
    compiled = await h.deploy(newer, 2)
    assert h.revision == 2 and h.compiled is compiled and "colour" in h.store.tables["Reports"].c
    assert (await h.run("Nightly")).revision == 2
    with pytest.raises(StaleRevision, match="revision 2 is not newer than the one served"):
        await h.deploy(newer, 2)
    broken = reporting()
    broken.actions[0].events["n1"].settings["model"] = "Nope"
    with pytest.raises(ProjectError):
        await h.deploy(broken, 3)
    losing = reporting()  # drops the colour field that now holds data
    await h.run("Nightly")
    async with h.store.transaction() as tx:
        await tx.update("Reports", tx.by_id("Reports", 1), {"colour": "red"})
    with pytest.raises(MigrationError):
        await h.deploy(losing, 4)
    assert h.revision == 2  # the last good one serves


async def test_deploy_takes_a_plan_compiled_once_by_the_caller(host, monkeypatch):
    h = await host(reporting())
    plan = compile_project(reporting(), 5)
    import runtime.host

    def compiling_again(*args, **kwargs):
        raise AssertionError("the Host compiled a revision it was handed")

    monkeypatch.setattr(runtime.host, "compile_project", compiling_again)
    assert await h.deploy(plan.project, 5, compiled=plan) is plan
    with pytest.raises(ValueError, match="revision 5, not 6"):
        await h.deploy(plan.project, 6, compiled=plan)


async def test_deploys_one_at_a_time_in_revision_order(host):
    h = await host(reporting())
    results = await asyncio.gather(h.deploy(reporting(), 3), h.deploy(reporting(), 2),
                                   return_exceptions=True)
    assert results[0].revision == 3 and isinstance(results[1], StaleRevision)
    assert h.revision == 3


async def test_the_app_starts_the_scheduler_and_closing_it_closes_the_host(database):
    config = ServeConfig(db=database.url(), schedules=True)
    h = await Host.open(config, reporting())
    app = h.app()
    assert app[HOST] is h and h.app() is app
    from aiohttp.test_utils import TestServer

    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    assert h.scheduler._task is not None and not h.scheduler._task.done()
    await server.close()
    assert h.scheduler._task is None
    await h.close()  # a second close does nothing


async def test_open_reads_the_file_or_says_why_not(tmp_path):
    h = await Host.open(ServeConfig(project=str(EXAMPLES / "shoes.actiongraph.json"),
                                    db=f"sqlite+aiosqlite:///{tmp_path / 'shoes.db'}"))
    try:
        assert h.project.name == load(EXAMPLES / "shoes.actiongraph.json").name
        assert h.changes  # the tables were made
    finally:
        await h.close()
    with pytest.raises(StartupError, match="nothing to serve"):
        await Host.open(ServeConfig(db="sqlite+aiosqlite://"))
    with pytest.raises(StartupError, match="cannot use the database URL"):
        await Host.open(ServeConfig(db="nosuchdb://x"), reporting())


def test_serve_config_from_the_environment():
    env = {"ACTIONGRAPH_PROJECT": "p.actiongraph.json", "ACTIONGRAPH_TIMEOUT": "2.5",
           "ACTIONGRAPH_ALLOW_DATA_LOSS": "1", "ACTIONGRAPH_LOG_FORMAT": "text"}
    config = ServeConfig.from_env(env)
    assert (config.project, config.timeout, config.allow_data_loss, config.log_format) == (
        "p.actiongraph.json", 2.5, True, "text")
    assert config.url.endswith("/p.db")
    with pytest.raises(StartupError, match="ACTIONGRAPH_TIMEOUT='soon' is not a number"):
        ServeConfig.from_env({**env, "ACTIONGRAPH_TIMEOUT": "soon"})
    with pytest.raises(StartupError, match="ACTIONGRAPH_PROJECT is not set"):
        ServeConfig.from_env({})


# -- the command table ----------------------------------------------------------------------

def test_every_built_in_command_is_one_entry_of_the_table():
    names = [c.name for c in BUILTINS]
    assert names == ["serve", "export-server", "check", "test", "generate-api", "openapi", "runs"]
    assert list(commands())[:len(names)] == names


def test_a_plug_in_command_registers_like_a_built_in(monkeypatch, capsys):
    import runtime.cli

    said = []
    hello = Command("hello", "say hello", lambda args: said.append(args.name) or 3,
                    (arg("name"),))

    class EntryPoint:  # what importlib.metadata gives for `hello = "somewhere:hello"`
        name, value = "hello", "somewhere:hello"

        def load(self):
            return hello

    class Replacing(EntryPoint):
        name, value = "serve", "elsewhere:serve"

    monkeypatch.setattr(runtime.cli, "_entry_points", lambda: [EntryPoint(), Replacing()])
    assert commands()["serve"] is BUILTINS[0]  # a plug-in cannot replace a built-in
    assert main(["hello", "Ann"]) == 3 and said == ["Ann"]
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "hello (from somewhere)" in capsys.readouterr().out


async def test_a_refused_model_change_says_so_and_the_database_can_be_served_as_it_is(database):
    url = database.url()
    h = await Host.open(ServeConfig(db=url, schedules=False), reporting())
    await h.run("Nightly")
    await h.close()
    changed = reporting()
    changed.models[0].fields[0].kind = "Integer"  # the text "nightly" would be lost
    with pytest.raises(StartupError, match="was not changed") as refused:
        await Host.open(ServeConfig(db=url, schedules=False), changed)
    assert isinstance(refused.value.migration, MigrationError)
    # The editor's stand-in: an empty project on the database as it is, no table dropped.
    stand_in = await Host.open(ServeConfig(db=url, schedules=False), Project(name="Reports"),
                               migrate=False)
    await stand_in.close()
    assert database.rows(url, "select note from Reports") == [("nightly",)]
