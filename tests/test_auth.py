"""Auth profiles and Login over real HTTP: tokens, 401 and 403, auth.user in the action."""

import datetime as dt

import jwt
import pytest

from runtime.auth import hash_password
from runtime.compiler import check_project
from runtime.project import AuthProfile, Field, Project, Trigger, Variable

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL


def users_project() -> Project:
    p = Project(name="Users")
    p.add_model("Users", [Field("email", "Text", unique=True), Field("name", "Text"),
                          Field("password", "Text"), Field("role", "Text", default="member")])
    p.settings.auth_profiles = [
        AuthProfile("Logged-in user", model="Users", lifetime=600),
        AuthProfile("Admin", model="Users", rule="=user.role == 'admin'"),
    ]
    p.add_endpoint("Login", "POST", "/v1/login",
                   [Variable("email", "Text", "body"), Variable("password", "Text", "body")])
    login = p.add_action("Login", Trigger("endpoint", endpoint="Login"),
                         response_value={"token": "=token", "user": "=user"})
    login.add_event("login", profile="Logged-in user", identifier="=body.email",
                    password="=body.password", **{"as": "token", "user_as": "user"})
    p.add_endpoint("Me", "GET", "/v1/me", auth="Logged-in user")
    p.add_action("Me", Trigger("endpoint", endpoint="Me"), response_value="=auth.user")
    p.add_endpoint("Admin area", "GET", "/v1/admin", auth="Admin")
    p.add_action("Admin area", Trigger("endpoint", endpoint="Admin area"),
                 response_value={"hello": "=auth.user.name"})
    return p


async def add_user(s, email, name, password, role="member"):
    async with s.state.store.transaction() as tx:
        await tx.insert("Users", {"email": email, "name": name, "role": role,
                                  "password": hash_password(password)})


async def test_login_then_call_endpoints_behind_profiles(serve):
    p = users_project()
    s = await serve(p)
    await add_user(s, "ann@example.org", "Ann", "s3cret!", role="admin")
    await add_user(s, "bob@example.org", "Bob", "hunter22")

    status, body, _ = await s.call("POST", "/v1/login",
                                   json={"email": "ann@example.org", "password": "nope"})
    assert status == 401 and body["error"].endswith("wrong email or password")
    status, body, _ = await s.call("POST", "/v1/login",
                                   json={"email": "ann@example.org", "password": "s3cret!"})
    assert status == 200, body
    assert body["user"]["name"] == "Ann" and "password" not in body["user"]
    ann = {"Authorization": f"Bearer {body['token']}"}
    claims = jwt.decode(body["token"], p.settings.secret, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 600

    status, body, _ = await s.call("GET", "/v1/me", headers=ann)
    assert status == 200 and body["email"] == "ann@example.org" and "password" not in body
    status, body, _ = await s.call("GET", "/v1/admin", headers=ann)
    assert status == 401 and "not for" in body["error"]  # a token is for one profile

    status, body, _ = await s.call("GET", "/v1/me")
    assert status == 401 and "Authorization: Bearer" in body["error"]
    status, body, _ = await s.call("GET", "/v1/me", headers={"Authorization": "Bearer x.y.z"})
    assert status == 401 and "not valid" in body["error"]
    expired = jwt.encode({"sub": "1", "prf": "Logged-in user",
                          "exp": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)},
                         p.settings.secret, algorithm="HS256")
    status, body, _ = await s.call("GET", "/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert status == 401 and "expired" in body["error"]
    forged = jwt.encode({"sub": "1", "prf": "Logged-in user",
                         "exp": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)},
                        "not the secret of this project at all", algorithm="HS256")
    status, _, _ = await s.call("GET", "/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert status == 401


async def test_an_auth_rule_that_fails_is_a_403(serve):
    p = users_project()
    p.actions[0].events["n1"].settings["profile"] = "Admin"
    s = await serve(p)
    await add_user(s, "ann@example.org", "Ann", "pw-ann", role="admin")
    await add_user(s, "bob@example.org", "Bob", "pw-bob")
    tokens = {}
    for who, pw in (("ann", "pw-ann"), ("bob", "pw-bob")):
        status, body, _ = await s.call("POST", "/v1/login",
                                       json={"email": f"{who}@example.org", "password": pw})
        assert status == 200
        tokens[who] = {"Authorization": f"Bearer {body['token']}"}
    status, body, _ = await s.call("GET", "/v1/admin", headers=tokens["ann"])
    assert status == 200 and body == {"hello": "Ann"}
    status, body, _ = await s.call("GET", "/v1/admin", headers=tokens["bob"])
    assert status == 403 and "user.role == 'admin'" in body["error"]


def test_auth_is_checked_at_compile_time():
    p = users_project()
    p.endpoints[1].auth = "Loged-in user"
    p.settings.auth_profiles[1].rule = "=usr.role == 'admin'"
    p.add_endpoint("Open", "GET", "/v1/open")
    p.add_action("Open", Trigger("endpoint", endpoint="Open"), response_value="=auth.user")
    problems = [str(x) for x in check_project(p)]
    assert 'endpoints["Me"].auth: unknown auth profile "Loged-in user" (did you mean ' \
           '"Logged-in user"?)' in problems
    assert any(m.startswith('settings.auth_profiles["Admin"].rule: unknown variable "usr"')
               for m in problems)
    assert 'actions["Open"].response.value: the endpoint has no auth variable "user"' in problems
