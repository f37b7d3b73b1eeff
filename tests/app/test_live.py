"""The live server inside the editor: real HTTP on loopback, hot reload, last good revision."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from app.live import LiveServer, PortInUse, free_port
from runtime.projectfile import load
from runtime.server import DRY_RUN_HEADER, TAG_HEADER


@pytest.fixture
async def live(qapp, posts_copy, tmp_path):
    server = LiveServer()
    project = load(posts_copy)
    await server.start(project, f"sqlite+aiosqlite:///{tmp_path / 'posts.db'}",
                       free_port(18765) or 0)
    server.test_project = project
    yield server
    await server.stop()
    server.deleteLater()  # in the GUI thread, not whenever the garbage collector gets to it


async def _send(server, method, path, body=None, headers=None):
    async with aiohttp.ClientSession() as s:
        async with s.request(method, server.base_url + path, json=body,
                             headers=headers or {}) as r:
            return r.status, await r.json(content_type=None)


async def test_serves_the_project_and_logs_each_request(live):
    records = []
    live.requestLogged.connect(records.append)
    status, body = await _send(live, "POST", "/v1/posts", {"user": "ann", "caption": "hello"},
                               {TAG_HEADER: "t1"})
    assert status == 201 or status == 200
    assert body["caption"] == "hello"
    assert live.status()[0] == "ok"
    record = live.record("t1")
    assert record is records[-1]
    assert record.action == "Create post" and [s.kind for s in record.trace] == ["create"]
    assert [c.op for c in record.changes] == ["insert"]


async def test_an_edit_is_served_on_the_next_request_without_restart(live):
    project = live.test_project
    _, post = await _send(live, "POST", "/v1/posts", {"user": "ann", "caption": "hello"})
    port = live.port
    action = project.action("Get post")
    action.response_status = 203
    live.update(project)
    await live.settled()
    status, body = await _send(live, "GET", f"/v1/posts/{post['id']}")
    assert status == 203 and body["caption"] == "hello"
    assert live.port == port and live.current


async def test_a_project_with_problems_leaves_the_last_good_version_serving(live):
    project = live.test_project
    update = project.action("Update social media post")
    update.events["n1"].settings["model"] = "Postz"
    live.update(project)
    await live.settled()
    level, text = live.status()
    assert level == "stale" and "last good version" in text and "1 problem" in text
    await _send(live, "POST", "/v1/posts", {"user": "ann", "caption": "hello"})
    status, body = await _send(live, "PUT", "/v1/posts/1", {"caption": "changed"})
    assert status == 200 and body["caption"] == "changed"  # the old graph still answers
    update.events["n1"].settings["model"] = "Posts"
    live.update(project)
    await live.settled()
    assert live.status()[0] == "ok"


async def test_a_dry_run_rolls_back(live):
    _, post = await _send(live, "POST", "/v1/posts", {"user": "ann", "caption": "hello"})
    at = f"/v1/posts/{post['id']}"
    status, body = await _send(live, "PUT", at, {"caption": "gone?"},
                               {DRY_RUN_HEADER: "1", TAG_HEADER: "dry"})
    assert status == 200 and body["caption"] == "gone?"
    assert live.record("dry").dry_run
    status, body = await _send(live, "GET", at)
    assert body["caption"] == "hello"


async def test_mail_goes_to_the_outbox(live):
    from runtime.mail import Mail

    got = []
    live.mailSent.connect(got.append)
    await live.mail.send(Mail(to=["a@example.com"], subject="hi"))
    assert [m.subject for m in got] == ["hi"] and live.outbox.mails[0].to == ["a@example.com"]


async def test_a_port_in_use_is_refused_with_the_next_free_one(qapp, posts_copy, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LiveServer()
        with pytest.raises(PortInUse) as e:
            await server.start(load(posts_copy), f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", port)
        assert e.value.port == port and e.value.free and e.value.free > port
        assert not server.running and server.base_url is None
        await server.start(load(posts_copy), f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
                           e.value.free)
        assert server.base_url.endswith(f":{e.value.free}")
        await server.stop()
        assert not server.running
        server.deleteLater()


async def test_a_fresh_database_starts_with_the_projects_seed_rows(live, posts_copy, tmp_path):
    assert live.seeded == {"Posts": 3}
    status, body = await _send(live, "PUT", "/v1/posts/1", {"caption": "first Run"})
    assert status == 200 and body["user"] == "ada"  # the README tour's first Run
    await live.stop()
    await live.start(load(posts_copy), f"sqlite+aiosqlite:///{tmp_path / 'posts.db'}",
                     free_port(18765) or 0)
    assert live.seeded == {}  # the database exists: nothing is added again
    status, body = await _send(live, "GET", "/v1/posts")
    assert [p["caption"] for p in body][:1] == ["first Run"] and len(body) == 3


async def test_the_editors_live_server_is_a_host_and_each_edit_is_compiled_once(
        make_window, posts_copy, monkeypatch):
    """The window's server is a runtime.host.Host like `serve`'s; an edit is compiled once
    (the document's check for Problems is the plan served) and reaches it by Host.deploy."""
    from PySide6.QtCore import QSettings

    from runtime.compiler import Compiler
    from runtime.errors import StaleRevision
    from runtime.host import Host

    QSettings().setValue("live/port", free_port(19500))
    window = make_window()
    assert window.open_file(str(posts_copy))
    await window.live._starting
    live = window.live.server
    try:
        assert isinstance(live.host, Host), live.error
        assert live.store is live.host.store and live.state is live.host.state

        compiles, deploys = [], []
        run, deploy = Compiler.run, Host.deploy

        def counted_run(self, revision):
            compiles.append(revision)
            return run(self, revision)

        async def spied_deploy(self, project, revision, **kw):
            deploys.append((revision, kw.get("compiled") is not None))
            return await deploy(self, project, revision, **kw)

        monkeypatch.setattr(Compiler, "run", counted_run)
        monkeypatch.setattr(Host, "deploy", spied_deploy)
        document = window.document
        action = document.project.action("Get post")
        document.set_attr(action, "response_status", 203, "Status")
        await live.settled()
        assert document.problems() == []  # the Problems list: the same compile, not another
        assert len(compiles) == 1
        assert deploys == [(live.revision, True)] and live.current
        assert live.host.revision == live.revision
        served = live.host.project.action("Get post")
        assert served.response_status == 203 and served is not action  # a copy nobody edits
        async with aiohttp.ClientSession() as s:
            async with s.get(live.base_url + "/v1/posts/1") as r:
                assert r.status == 203

        with pytest.raises(StaleRevision):  # the Host refuses a revision not newer
            await live.host.deploy(live.host.project, live.revision, compiled=live.host.compiled)
        assert live.host.revision == live.revision
    finally:
        await window.live.shutdown()
