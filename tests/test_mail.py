"""Send Email through a real SMTP server (aiosmtpd) on loopback: sent after commit, never on failure
(the outbox itself: tests/test_outbox.py)."""

import asyncio
import socket

import pytest

from runtime.compiler import check_project
from runtime.project import Field, Project, Trigger, Variable

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL


def welcome_project(port: int) -> Project:
    p = Project(name="Welcome")
    p.settings.mail.host, p.settings.mail.port = "127.0.0.1", port
    p.settings.mail.sender = "hello@shop.example"
    p.add_model("Members", [Field("email", "Text", unique=True), Field("name", "Text")])
    p.add_endpoint("Join", "POST", "/v1/join",
                   [Variable("email", "Text", "body"), Variable("name", "Text", "body")])
    a = p.add_action("Join", Trigger("endpoint", endpoint="Join"), response_value="=member",
                     response_status=201)
    made = a.add_event("create", model="Members", values={"email": "=body.email",
                                                          "name": "=body.name"}, **{"as": "member"})
    mail = a.add_event("send_email", after=made.id, to="=member.email", cc="boss@shop.example",
                       subject="=concat('Welcome, ', member.name)",
                       text="=concat('Hi ', member.name, ', thanks for joining.')",
                       html="=concat('<p>Hi <b>', member.name, '</b></p>')")
    a.add_event("condition", after=mail.id, value="=member.name != 'Mallory'")
    a.add_event("assign", after="n3", port="false", value="=1 / len('')", **{"as": "boom"})
    return p


async def test_the_mail_arrives_after_the_action_succeeds(serve, smtp):
    s = await serve(welcome_project(smtp.port))
    status, body, _ = await s.call("POST", "/v1/join", json={"email": "ann@example.org",
                                                             "name": "Ann"})
    assert status == 201, body
    [(rcpts, msg)] = await smtp.wait(1)
    assert rcpts == ["ann@example.org", "boss@shop.example"]
    assert msg["Subject"] == "Welcome, Ann" and msg["From"] == "hello@shop.example"
    assert msg.get_body(("plain",)).get_content().strip() == "Hi Ann, thanks for joining."
    assert "<b>Ann</b>" in msg.get_body(("html",)).get_content()


async def test_a_failed_run_sends_nothing(serve, smtp):
    s = await serve(welcome_project(smtp.port))
    status, body, _ = await s.call("POST", "/v1/join", json={"email": "m@example.org",
                                                             "name": "Mallory"})
    assert status == 500 and body["event"] == "n4"
    assert s.rows("select count(*) from Members") == [(0,)]
    assert s.rows("select count(*) from _actiongraph_outbox") == [(0,)]
    await s.call("POST", "/v1/join", json={"email": "ann@example.org", "name": "Ann"})
    status, body, _ = await s.call("POST", "/v1/join", json={"email": "ann@example.org",
                                                             "name": "Ann again"})
    assert status == 409
    [(rcpts, _msg)] = await smtp.wait(1)  # Ann's welcome, and neither of the failed runs' mail
    assert rcpts[0] == "ann@example.org"


async def test_bad_addresses_fail_the_run_and_an_unreachable_server_does_not(serve, smtp):
    p = welcome_project(smtp.port)
    p.actions[0].events["n2"].settings["cc"] = "not an address"
    s = await serve(p)
    status, body, _ = await s.call("POST", "/v1/join", json={"email": "a@example.org", "name": "A"})
    assert status == 422 and '"not an address" is not a mail address' in body["error"]
    assert body["event"] == "n2" and s.rows("select count(*) from Members") == [(0,)]

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    s2 = await serve(welcome_project(dead))
    status, body, _ = await s2.call("POST", "/v1/join", json={"email": "b@example.org",
                                                              "name": "B"})
    assert status == 201, body  # saved, and said so: the mail waits in the outbox
    # The server's sender, woken by the commit, tries it at once (this call may find the mail
    # claimed by it already and leave it alone): wait for the first attempt either way.
    await s2.host.sender.deliver_due()
    for _ in range(100):
        [(status, attempts, error)] = s2.rows("select status, attempts, last_error "
                                              "from _actiongraph_outbox")
        if attempts:
            break
        await asyncio.sleep(0.05)
    assert (status, attempts) == ("pending", 1) and f"127.0.0.1:{dead}" in error


def test_send_email_needs_a_recipient_and_subject():
    p = welcome_project(25)
    del p.actions[0].events["n2"].settings["to"]
    problems = [str(x) for x in check_project(p)]
    assert 'actions["Join"].events["n2"].settings.to: Send Email needs a to (wire it, or give ' \
           'a value)' in problems
