"""The mail outbox: Send Email's mail is written in the run's transaction and delivered by a
background sender with retries. Real SMTP (aiosmtpd), real HTTP, SQLite and PostgreSQL, and a
real `actiongraph serve` killed between the commit and the delivery."""

import asyncio
import time

import aiohttp
import pytest
import sqlalchemy as sa
from conftest import EXAMPLES
from serving import ServeProcess

from runtime import outbox
from runtime.compiler import compile_project
from runtime.host import Host, ServeConfig
from runtime.projectfile import load, save

pytestmark = pytest.mark.both_databases

ANN = {"email": "ann@example.org", "name": "Ann", "password": "correct horse battery"}
FAST = {outbox.RETRY_ENV: "0.1", outbox.ATTEMPTS_ENV: "1000"}  # retry every 0.1 s or so
ROWS = "select status, attempts, last_error from _actiongraph_outbox order by id"


def signup(smtp_port: int):
    """The sign-up example with its mail pointed at the test's SMTP server."""
    project = load(EXAMPLES / "signup.actiongraph.json")
    project.settings.mail.host, project.settings.mail.port = "127.0.0.1", smtp_port
    return project


async def until(check, timeout: float = 10.0):
    """Wait until `check()` gives something true; returns it."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return value


async def test_a_sign_up_with_the_mail_server_down_answers_201_and_mails_when_it_is_back(
        serve, smtp):
    smtp.down()
    s = await serve(signup(smtp.port), environ=FAST)
    status, body, _ = await s.call("POST", "/v1/signup", json=ANN)
    assert status == 201, body  # saved and said so; before the outbox: 502, and the mail lost
    assert s.rows("select email from Users") == [("ann@example.org",)]
    await until(lambda: s.rows(ROWS)[0][1] >= 2)  # tried, and tried again
    [(state, _attempts, error)] = s.rows(ROWS)
    assert state == "pending" and f"127.0.0.1:{smtp.port}" in error
    assert smtp.messages == []

    smtp.up()
    [(recipients, mail)] = await smtp.wait(1)
    assert recipients == ["ann@example.org"] and mail["Subject"] == "Welcome, Ann!"
    await until(lambda: s.rows(ROWS)[0][0] == "sent")
    assert s.rows("select last_error, claimed_by from _actiongraph_outbox") == [(None, None)]
    await asyncio.sleep(0.5)  # the sender keeps going: nothing goes out twice
    assert len(smtp.messages) == 1


async def test_a_failed_run_and_a_dry_run_queue_no_mail(serve, smtp):
    s = await serve(signup(smtp.port), dry_run_header=True)
    status, _, _ = await s.call("POST", "/v1/signup", json=ANN)
    assert status == 201
    status, _, _ = await s.call("POST", "/v1/signup", json={**ANN, "name": "Ann again"})
    assert status == 409  # the e-mail is taken: the run fails, its writes are undone
    status, _, _ = await s.call("POST", "/v1/signup", json={**ANN, "email": "bob@example.org"},
                                headers={"X-Actiongraph-Dry-Run": "1"})
    assert status == 201  # answered as if done, then rolled back
    await smtp.wait(1)
    await asyncio.sleep(0.3)
    assert [r[0] for r in smtp.messages] == [["ann@example.org"]]
    assert [r[0] for r in s.rows(ROWS)] == ["sent"]


async def test_a_mail_that_cannot_be_sent_fails_after_its_attempts_and_retry_sends_it(
        serve, smtp):
    smtp.down()
    s = await serve(signup(smtp.port), environ={outbox.RETRY_ENV: "0.05",
                                                outbox.ATTEMPTS_ENV: "3"})
    status, _, _ = await s.call("POST", "/v1/signup", json=ANN)
    assert status == 201
    await until(lambda: s.rows(ROWS)[0][0] == "failed")
    [(_, attempts, error)] = s.rows(ROWS)
    assert attempts == 3 and "refused" in error.lower()
    smtp.up()
    await asyncio.sleep(0.3)
    assert smtp.messages == []  # failed stays failed until someone says Retry
    [row] = await outbox.rows(s.host.store)
    assert row.status == "failed" and row.mail.to == ["ann@example.org"]
    assert await outbox.retry(s.host.store, row.id)
    s.host.sender.wake()
    await smtp.wait(1)
    await until(lambda: s.rows(ROWS)[0][0] == "sent")
    assert not await outbox.retry(s.host.store, row.id)  # only a failed mail goes back


async def test_the_outbox_docks_retry_sends_a_waiting_mail_now_and_a_failed_one_again(
        serve, smtp):
    """The editor's Retry (app.outbox.send_now) on either database: a mail waiting for its
    next try is made due now, a failed one goes back to pending; the sender delivers each once."""
    send_now = pytest.importorskip("app.outbox").send_now
    smtp.down()
    s = await serve(signup(smtp.port), environ={outbox.RETRY_ENV: "600", outbox.ATTEMPTS_ENV: "2"})
    assert (await s.call("POST", "/v1/signup", json=ANN))[0] == 201
    await until(lambda: s.rows(ROWS)[0][1] == 1)  # tried once; the next try in ten minutes
    [row] = await outbox.rows(s.host.store)
    assert row.status == outbox.PENDING and row.next_attempt > time.time() + 500
    smtp.up()
    assert await send_now(s.host.store, row.id)
    s.host.sender.wake()
    [(recipients, _mail)] = await smtp.wait(1)
    assert recipients == ["ann@example.org"]
    await until(lambda: s.rows(ROWS)[0][:2] == ("sent", 2))
    assert not await send_now(s.host.store, row.id)  # sent: nothing to do

    smtp.down()  # a second mail, given up after its two attempts
    bob = {**ANN, "email": "bob@example.org", "name": "Bob"}
    assert (await s.call("POST", "/v1/signup", json=bob))[0] == 201
    await until(lambda: len(s.rows(ROWS)) == 2 and s.rows(ROWS)[1][1] == 1)
    newest = (await outbox.rows(s.host.store))[0]
    assert newest.mail.to == ["bob@example.org"]
    assert await send_now(s.host.store, newest.id)  # its second and last attempt, now
    s.host.sender.wake()
    await until(lambda: s.rows(ROWS)[1][0] == "failed")
    smtp.up()
    assert await send_now(s.host.store, newest.id)  # Retry: back to pending, due at once
    s.host.sender.wake()
    assert [r for r, _ in await smtp.wait(2)] == [["ann@example.org"], ["bob@example.org"]]
    await until(lambda: s.rows(ROWS)[1][0] == "sent")
    await asyncio.sleep(0.3)
    assert len(smtp.messages) == 2  # each mail once


async def test_two_hosts_on_one_database_deliver_each_mail_once(serve, smtp, database):
    smtp.down()
    s = await serve(signup(smtp.port), environ=FAST)
    other = await Host.open(ServeConfig(db=s.db_url, schedules=False, environ=FAST),
                            signup(smtp.port), compiled=compile_project(signup(smtp.port), 1))
    try:
        other.sender.start()  # a second worker (or machine), its own sender
        people = [f"user{i}@example.org" for i in range(12)]
        for i, email in enumerate(people):
            status, body, _ = await s.call("POST", "/v1/signup",
                                           json={**ANN, "email": email, "name": f"U{i}"})
            assert status == 201, body
        await until(lambda: all(r[1] >= 1 for r in s.rows(ROWS)))
        async with s.host.store.transaction() as tx:  # every one due now, past its backoff
            await tx.conn.execute(sa.update(outbox.OUTBOX).values(next_attempt=0))
        smtp.up()
        # Both senders, and more passes of each at once, race for the same rows.
        await asyncio.gather(*(h.sender.deliver_due() for h in (s.host, other) for _ in range(3)))
        await smtp.wait(len(people))
        await until(lambda: {r[0] for r in s.rows(ROWS)} == {"sent"})
        await asyncio.sleep(0.5)
        assert sorted(r[0][0] for r in smtp.messages) == sorted(people)
    finally:
        await other.close()


async def test_a_server_killed_between_commit_and_delivery_sends_the_mail_after_restart(
        tmp_path, smtp, database, monkeypatch):
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)
    smtp.down()
    project = tmp_path / "signup.actiongraph.json"
    save(signup(smtp.port), project)
    url = database.url("served")
    log = tmp_path / "serve.log"
    server = ServeProcess(project, url, log).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.url}/v1/signup", json=ANN) as r:
                assert r.status == 201, await r.text()
        await until(lambda: database.rows(url, ROWS)[0][1] >= 1)  # committed, not delivered
    finally:
        server.kill()  # SIGKILL: no clean-up, as a crash
    smtp.up()
    await asyncio.sleep(0.5)
    assert smtp.messages == [] and database.rows(url, ROWS)[0][0] == "pending"

    with ServeProcess(project, url, log):
        [(recipients, _mail)] = await smtp.wait(1, timeout=20)
        assert recipients == ["ann@example.org"]
        await until(lambda: database.rows(url, ROWS)[0][0] == "sent")
        await asyncio.sleep(0.5)
    assert len(smtp.messages) == 1, server.output()
