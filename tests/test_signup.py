"""The sign-up example end to end: real HTTP, a real database (SQLite and PostgreSQL) and a real
SMTP server (aiosmtpd)."""

import asyncio
import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from conftest import EXAMPLES

from nodes.send_email import valid_address
from runtime.projectfile import load, save

SIGNUP = EXAMPLES / "signup.actiongraph.json"
ROOT = Path(__file__).resolve().parent.parent
ANN = {"email": "ann@example.org", "name": "Ann", "password": "correct horse battery"}

pytestmark = pytest.mark.both_databases


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signup_project(smtp_port: int):
    """The example as shipped, with its mail pointed at the test's SMTP server (in memory)."""
    project = load(SIGNUP)
    project.settings.mail.host, project.settings.mail.port = "127.0.0.1", smtp_port
    return project


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def tampered(token: str) -> str:
    """The token with its claims changed to another user, keeping the original signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(int(claims["sub"]) + 1)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_the_example_is_canonical_and_checks_ok(tmp_path):
    copy = tmp_path / SIGNUP.name
    save(load(SIGNUP), copy)
    assert copy.read_bytes() == SIGNUP.read_bytes()
    out = subprocess.run([sys.executable, "-m", "runtime.cli", "check", str(SIGNUP)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok: 1 model, 3 endpoints, 3 actions, 11 events")


def test_the_example_describes_every_endpoint_and_event_and_lays_out_left_to_right():
    project = load(SIGNUP)
    assert all(e.description for e in project.endpoints)
    for action in project.actions:
        assert set(action.positions) == {"trigger", *action.events}
        for eid, event in action.events.items():
            assert event.description, (action.name, eid)
            before = [s for s, e in action.events.items() if eid in e.next.values()]
            sources = before or (["trigger"] if action.start == eid else [])
            assert all(action.positions[s][0] < action.positions[eid][0] for s in sources)


async def test_sign_up_answers_a_token_stores_a_hash_and_sends_a_welcome(serve, smtp):
    s = await serve(signup_project(smtp.port))
    status, body, _ = await s.call("POST", "/v1/signup", json=ANN)
    assert status == 201, body
    assert set(body) == {"token", "user"} and body["token"].count(".") == 2
    user = body["user"]
    assert user["email"] == "ann@example.org" and user["name"] == "Ann" and user["id"] == 1
    assert "password" not in user

    [(email, stored)] = s.rows("select email, password from Users")
    assert email == "ann@example.org"
    assert stored.startswith("$argon2id$") and ANN["password"] not in stored

    [(recipients, mail)] = await smtp.wait(1)
    assert recipients == ["ann@example.org"] and mail["To"] == "ann@example.org"
    assert mail["From"] == "Sign-up example <welcome@example.com>"
    assert mail["Subject"] == "Welcome, Ann!"
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Hi Ann,\n\nthanks for signing up") and "ann@example.org" in text
    assert "<b>Ann</b>" in mail.get_body(("html",)).get_content()

    status, me, _ = await s.call("GET", "/v1/me", headers=bearer(body["token"]))
    assert status == 200 and me == user


async def test_a_second_sign_up_with_the_same_email_is_refused_without_mail(serve, smtp):
    s = await serve(signup_project(smtp.port))
    status, _, _ = await s.call("POST", "/v1/signup", json=ANN)
    assert status == 201 and len(await smtp.wait(1)) == 1
    for email in ("ann@example.org", "  Ann@Example.ORG "):
        again = {**ANN, "email": email, "name": "Another Ann", "password": "something else"}
        status, body, _ = await s.call("POST", "/v1/signup", json=again)
        assert status == 409, body
        assert body["error"] == "an account with this email already exists"
    assert len(smtp.messages) == 1
    assert s.rows("select email, name from Users") == [("ann@example.org", "Ann")]


async def test_login_with_the_right_and_a_wrong_password(serve, smtp):
    s = await serve(signup_project(smtp.port))
    await s.call("POST", "/v1/signup", json=ANN)
    status, body, _ = await s.call("POST", "/v1/login",
                                   json={"email": "Ann@example.org", "password": ANN["password"]})
    assert status == 200, body
    assert body["user"]["name"] == "Ann" and "password" not in body["user"]
    status, me, _ = await s.call("GET", "/v1/me", headers=bearer(body["token"]))
    assert status == 200 and me["email"] == "ann@example.org" and "password" not in me

    for email, password in (("ann@example.org", "wrong"), ("bob@example.org", ANN["password"])):
        status, body, _ = await s.call("POST", "/v1/login",
                                       json={"email": email, "password": password})
        assert status == 401 and body["error"] == "wrong email or password"
        assert "token" not in body


async def test_me_needs_a_valid_token(serve, smtp):
    s = await serve(signup_project(smtp.port))
    await s.call("POST", "/v1/signup", json=ANN)
    await s.call("POST", "/v1/signup", json={**ANN, "email": "bob@example.org", "name": "Bob"})
    status, body, _ = await s.call("POST", "/v1/login", json={"email": "ann@example.org",
                                                              "password": ANN["password"]})
    token = body["token"]

    status, body, _ = await s.call("GET", "/v1/me")
    assert status == 401 and "Authorization: Bearer" in body["error"]
    status, body, _ = await s.call("GET", "/v1/me", headers=bearer(tampered(token)))
    assert status == 401 and body["error"] == "the login token is not valid"
    status, body, _ = await s.call("GET", "/v1/me", headers=bearer(token + "x"))
    assert status == 401
    status, body, _ = await s.call("GET", "/v1/me", headers=bearer(token))
    assert status == 200 and body["name"] == "Ann"


async def test_the_welcome_html_escapes_the_name(serve, smtp):
    s = await serve(signup_project(smtp.port))
    status, body, _ = await s.call("POST", "/v1/signup",
                                   json={**ANN, "name": "Ann & <i>Bob</i>"})
    assert status == 201, body
    [(_, mail)] = await smtp.wait(1)
    assert mail["Subject"] == "Welcome, Ann & <i>Bob</i>!"
    html = mail.get_body(("html",)).get_content()
    assert "<b>Ann &amp; &lt;i&gt;Bob&lt;/i&gt;</b>" in html and "<i>" not in html


async def test_a_bad_sign_up_writes_nothing_and_sends_nothing(serve, smtp):
    s = await serve(signup_project(smtp.port))
    status, body, _ = await s.call("POST", "/v1/signup", json={**ANN, "email": "not-an-address"})
    assert status == 422 and "not a mail address" in body["error"] and body["event"] == "n10"
    status, body, _ = await s.call("POST", "/v1/signup", json={**ANN, "password": ""})
    assert status == 422 and "password is empty" in body["error"]
    status, body, _ = await s.call("POST", "/v1/signup", json={"email": "a@example.org"})
    assert status == 422 and body["fields"][0]["field"] in ("body.name", "body.password")
    assert s.rows("select count(*) from Users") == [(0,)] and smtp.messages == []


@pytest.mark.parametrize("name", ["Ann\r\nBcc: eve@example.org", "Ann\nEve", "Ann\u2028Eve"])
async def test_a_name_with_a_line_break_cannot_reach_the_mail_headers(serve, smtp, name):
    s = await serve(signup_project(smtp.port))
    status, body, _ = await s.call("POST", "/v1/signup", json={**ANN, "name": name})
    assert status == 422 and body["event"] == "n10"
    assert body["error"].endswith("the subject must be one line: it has a line break")
    assert s.rows("select count(*) from Users") == [(0,)] and smtp.messages == []


@pytest.mark.parametrize("address", ["ann@example.org\rBcc", "ann\n@example.org",
                                     "Ann <ann@example.org>\x85"])
def test_an_address_with_a_line_break_is_not_a_mail_address(address):
    assert valid_address("ann@example.org") and valid_address("Ann <ann@example.org>")
    assert not valid_address(address)


async def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 30.0) -> None:
    """Return once something accepts connections on the port; fail if the server exits first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        assert proc.poll() is None, f"actiongraph serve exited with {proc.returncode}"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise TimeoutError(f"nothing listens on port {port} after {seconds} s") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def test_actiongraph_serve_signs_up_over_http(tmp_path, smtp, database):
    project = tmp_path / SIGNUP.name
    save(signup_project(smtp.port), project)
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    url = database.url("served") if database.postgresql else None
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "serve", str(project),
                             "--port", str(port), *(["--db", url] if url else [])],
                            stdout=log, stderr=subprocess.STDOUT,
                            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        await wait_for_port(port, proc)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{port}/v1/signup", json=ANN) as r:
                assert r.status == 201, await r.text()
                body = await r.json()
            me = f"http://127.0.0.1:{port}/v1/me"
            async with http.get(me, headers=bearer(body["token"])) as r:
                assert r.status == 200 and (await r.json())["email"] == "ann@example.org"
            await smtp.wait(1)  # sent by the server's background sender, after the commit
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    assert "password" not in body["user"]
    [(recipients, mail)] = await smtp.wait(1)
    assert recipients == ["ann@example.org"] and "Ann" in mail["Subject"]
    if url:
        [(stored,)] = database.rows(url, "select password from Users")
    else:
        with sqlite3.connect(tmp_path / "signup.db") as conn:
            [(stored,)] = conn.execute("select password from Users").fetchall()
    assert stored.startswith("$argon2id$")
    assert '"method": "POST", "path": "/v1/signup", "status": 201' in \
        (tmp_path / "serve.log").read_text()  # the access log: one JSON line per request
