"""Hash Password and Verify Password: Argon2id hashes, wrong passwords, sign-up and log-in."""

import asyncio
import time

import pytest

from nodes.hash_password import EVENT as HASH
from nodes.verify_password import EVENT as VERIFY
from runtime.errors import ActionError
from runtime.executor import Context
from runtime.project import Field, Project, Trigger, Variable

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL


def ctx():
    return Context(db=None, fields={})


async def hash_of(password):
    return (await HASH.run(ctx(), {"password": password}, {}))["hash"]


async def verify(password, hashed, if_invalid="continue"):
    out = await VERIFY.run(ctx(), {"password": password, "hash": hashed}, {"if_invalid": if_invalid})
    return out["valid"]


async def test_hash_is_salted_argon2id_and_verifies():
    first, second = await hash_of("correct horse"), await hash_of("correct horse")
    assert first.startswith("$argon2id$") and first != second
    assert "correct horse" not in first
    assert await verify("correct horse", first) is True
    assert await verify("correct horse", second) is True
    assert await verify("Correct horse", first) is False
    assert await verify("", first) is False


@pytest.mark.parametrize("hashed", [None, "", "plain text", "$argon2id$v=19$broken",
                                    "$2b$12$abcdefghijklmnopqrstuv", 42])
async def test_a_missing_or_malformed_hash_is_just_false(hashed):
    assert await verify("anything", hashed) is False


async def test_a_wrong_password_is_a_401_by_default():
    hashed = await hash_of("pw")
    with pytest.raises(ActionError) as e:
        await VERIFY.run(ctx(), {"password": "nope", "hash": hashed}, {})
    assert (e.value.status, e.value.message) == (401, "the password is not correct")
    assert await VERIFY.run(ctx(), {"password": "pw", "hash": hashed}, {}) == {"valid": True}


async def test_hashing_refuses_empty_and_non_text_passwords():
    for password, status, message in [(None, 422, "password is empty"), ("", 422, "password is empty"),
                                      (1234, 500, "password must be text, got int")]:
        with pytest.raises(ActionError) as e:
            await hash_of(password)
        assert (e.value.status, e.value.message) == (status, message)


async def test_an_unknown_user_takes_as_long_as_a_wrong_password():
    hashed = await hash_of("pw")
    await verify("x", None)  # makes the decoy once

    async def timed(value):
        started = time.perf_counter()
        for _ in range(3):
            await verify("guess", value)
        return time.perf_counter() - started

    wrong, unknown = await timed(hashed), await timed(None)
    assert unknown > wrong / 3  # the same Argon2 work, not an instant "no"


async def test_hashing_does_not_block_the_event_loop():
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    running = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(*(hash_of(f"pw{i}") for i in range(4)))
    took = time.perf_counter() - started
    running.cancel()
    assert ticks >= took / 0.005 / 4  # the loop kept ticking while Argon2 worked


def users_project() -> Project:
    p = Project(name="Users")
    p.add_model("Users", [Field("email", "Text", unique=True, required=True),
                          Field("password", "Text", required=True)])
    p.add_endpoint("Sign up", "POST", "/v1/signup", [Variable("email", "Text", "body"),
                                                     Variable("password", "Text", "body")])
    p.add_endpoint("Log in", "POST", "/v1/login", [Variable("email", "Text", "body"),
                                                   Variable("password", "Text", "body")])
    up = p.add_action("Sign up", Trigger("endpoint", endpoint="Sign up"),
                      response_value={"id": "=user.id", "email": "=user.email"},
                      response_status=201)
    hashed = up.add_event("hash_password", password="=body.password", **{"as": "hashed"})
    up.add_event("create", after=hashed.id, model="Users",
                 values={"email": "=lower(body.email)", "password": "=hashed"}, **{"as": "user"})
    login = p.add_action("Log in", Trigger("endpoint", endpoint="Log in"),
                         response_value={"welcome": "=user.email"})
    found = login.add_event("query", model="Users", one=True,
                            where={"field": "email", "op": "=", "value": "=lower(body.email)"},
                            **{"as": "user"})
    login.add_event("verify_password", after=found.id, password="=body.password",
                    hash="=user.password if user else null")
    return p


async def test_sign_up_then_log_in_over_http(serve):
    s = await serve(users_project())
    status, body, _ = await s.call("POST", "/v1/signup",
                                   json={"email": "Ann@x.org", "password": "s3cret!"})
    assert status == 201 and body == {"id": 1, "email": "ann@x.org"}
    [(stored,)] = s.rows("select password from Users")
    assert stored.startswith("$argon2id$") and "s3cret!" not in stored

    status, body, _ = await s.call("POST", "/v1/login", json={"email": "ann@X.org",
                                                              "password": "s3cret!"})
    assert status == 200 and body == {"welcome": "ann@x.org"}
    for email, password in [("ann@x.org", "wrong"), ("bob@x.org", "s3cret!")]:
        status, body, _ = await s.call("POST", "/v1/login", json={"email": email,
                                                                  "password": password})
        assert status == 401 and body["event"] == "n2"
        assert body["error"] == "the password is not correct" and body["event"] == "n2"

    status, body, _ = await s.call("POST", "/v1/signup", json={"email": "c@x.org", "password": ""})
    assert status == 422 and body["error"] == "Hash Password event n1: password is empty"
    assert s.rows("select count(*) from Users") == [(1,)]


async def test_verify_can_continue_and_branch_on_valid(serve):
    p = users_project()
    login = p.action("Log in")
    login.events["n2"].settings.update(if_invalid="continue", **{"as": "ok"})
    login.response_value = {"ok": "=ok"}
    s = await serve(p)
    await s.call("POST", "/v1/signup", json={"email": "a@x.org", "password": "pw"})
    for password, ok in [("pw", True), ("bad", False)]:
        status, body, _ = await s.call("POST", "/v1/login", json={"email": "a@x.org",
                                                                  "password": password})
        assert status == 200 and body == {"ok": ok}
