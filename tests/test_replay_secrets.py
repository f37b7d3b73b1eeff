"""Replaying runs whose secrets the history masked (runtime.replaydiff.unmask): a logged-in
run gets a fresh token for the same user, signed with the server's settings; values no replay
can know (a password in a body) are named, or filled in from what the user typed."""

from __future__ import annotations

from runtime.auth import AuthService, hash_password
from runtime.masking import MASK
from runtime.project import Trigger, Variable
from runtime.replaydiff import compare, recorded_user, unmask, unmask_inputs
from runtime.runs import RunRecord
from tests.test_auth import users_project

PROFILE = "Logged-in user"


def _run(headers=None, body=None, query=None, user_id=None) -> dict:
    return {"id": 7, "endpoint": "Me", "request": {
        "method": "GET", "path": "/v1/me", "query": query or {}, "headers": headers or {},
        "body": body}, "inputs": {"auth": {"user": {"id": user_id, "name": "Ann"}}
                                  if user_id is not None else {}}}


def test_a_masked_authorization_of_a_logged_in_run_becomes_a_fresh_token_for_that_user():
    auth = AuthService.for_project(users_project())
    run = _run({"Accept": "*/*", "Authorization": MASK}, user_id=3)
    ready = unmask(run, auth, PROFILE)
    assert ready.masked == []
    assert ready.restored == ["header.Authorization (a fresh token for user #3)"]
    assert ready.headers["Accept"] == "*/*"
    assert auth.user_id(PROFILE, ready.headers["Authorization"]) == 3


def test_without_a_recorded_user_or_a_profile_the_authorization_stays_masked_and_is_left_out():
    auth = AuthService.for_project(users_project())
    for ready in (unmask(_run({"Authorization": MASK}), auth, PROFILE),  # a 401 run: no user
                  unmask(_run({"Authorization": MASK}, user_id=3), auth, None)):  # no profile now
        assert ready.masked == ["header.Authorization"]
        assert "Authorization" not in ready.headers and ready.restored == []


def test_masked_body_and_query_values_are_named_and_typed_values_fill_them():
    run = _run({"Cookie": MASK}, body={"email": "ann@example.org", "password": MASK,
                                      "cards": [{"token": MASK}]}, query={"api_key": MASK})
    ready = unmask(run)
    assert ready.masked == ["header.Cookie", "query.api_key", "body.password",
                            "body.cards[0].token"]
    assert ready.body["password"] == MASK and "Cookie" not in ready.headers
    ready = unmask(run, values={"body.password": "s3cret!", "header.Cookie": "sid=1"})
    assert ready.body == {"email": "ann@example.org", "password": "s3cret!",
                          "cards": [{"token": MASK}]}
    assert ready.headers["Cookie"] == "sid=1"
    assert ready.masked == ["query.api_key", "body.cards[0].token"]
    assert ready.restored == ["header.Cookie (typed)", "body.password (typed)"]
    # text the history could not read as data, masked inside
    assert unmask({"request": {"body": 'password=***&email=a'}}).masked == ["body"]


def test_a_manual_runs_masked_inputs_are_named_too():
    inputs, masked, restored = unmask_inputs({"body": {"pin": 1, "password": MASK}, "auth": {}},
                                             {"body.password": "x"})
    assert inputs["body"]["password"] == "x" and masked == [] and restored == ["body.password (typed)"]
    assert unmask_inputs({"body": {"password": MASK}})[1] == ["body.password"]


def test_a_comparison_with_masked_values_says_so_instead_of_a_verdict():
    then = {"status": 200, "response": {"status": 200, "body": {"token": MASK}}, "changes": []}
    now = {"status": 401, "response": {"status": 401, "body": {"error": "wrong password"}},
           "changes": []}
    c = compare(then, now, masked=["body.password"])
    assert not c.comparable
    assert c.summary() == "sent with masked values: body.password"
    assert compare(then, then).summary() == "same" and compare(then, then).comparable


async def test_a_recorded_me_run_replays_as_the_same_user_and_a_login_run_is_marked(serve):
    """Over real HTTP: the history keeps who was logged in (inputs.auth.user), so the replay
    of GET /v1/me answers 200 as that user; the login's password is named as masked."""
    s = await serve(users_project(), history="full")
    async with s.state.store.transaction() as tx:
        for email, name in (("ann@example.org", "Ann"), ("bob@example.org", "Bob")):
            await tx.insert("Users", {"email": email, "name": name,
                                      "password": hash_password("s3cret!")})
    status, body, _ = await s.call("POST", "/v1/login",
                                   json={"email": "bob@example.org", "password": "s3cret!"})
    assert status == 200
    status, me, _ = await s.call("GET", "/v1/me",
                                 headers={"Authorization": f"Bearer {body['token']}"})
    assert status == 200 and me["name"] == "Bob"
    history = s.host.history
    assert history.flush(10)
    me_run, login_run = (history.get(r["id"]) for r in history.list())
    assert me_run["request"]["headers"]["Authorization"] == MASK
    assert recorded_user(me_run) == me["id"]

    auth = s.state.services["auth"]
    ready = unmask(me_run, auth, s.host.project.endpoint("Me").auth)
    assert ready.masked == []
    status, again, _ = await s.call("GET", "/v1/me", headers=ready.headers)
    assert status == 200 and again == me
    # as the replay used to send it (the masked header left out): 401
    status, _, _ = await s.call("GET", "/v1/me", headers=unmask(me_run).headers)
    assert status == 401

    ready = unmask(login_run, auth, None)
    assert login_run["request"]["body"]["password"] == MASK
    assert ready.masked == ["body.password"]
    ready = unmask(login_run, auth, None, values={"body.password": "s3cret!"})
    status, body, _ = await s.call("POST", "/v1/login", json=ready.body)
    assert status == 200 and body["user"]["name"] == "Bob"


def test_recorded_user_reads_the_runs_inputs():
    record = RunRecord(0.0, "GET", "/", 200, 1.0, inputs={"auth": {"user": {"id": 5}}})
    assert recorded_user({"inputs": record.inputs}) == 5
    assert recorded_user({"inputs": None}) is None and recorded_user({}) is None


async def test_a_logged_in_request_refused_for_its_input_keeps_its_user_for_a_replay(serve):
    """A request that passed the login check but not input validation (422) still records who
    asked, so its replay signs in as that user instead of answering 401."""
    p = users_project()
    p.add_endpoint("Rename", "POST", "/v1/rename", [Variable("count", "Integer", "body")],
                   auth="Logged-in user")
    p.add_action("Rename", Trigger("endpoint", endpoint="Rename"), response_value="=body.count")
    s = await serve(p, history="full")
    async with s.state.store.transaction() as tx:
        await tx.insert("Users", {"email": "bob@example.org", "name": "Bob",
                                  "password": hash_password("s3cret!")})
    _, body, _ = await s.call("POST", "/v1/login",
                              json={"email": "bob@example.org", "password": "s3cret!"})
    status, _, _ = await s.call("POST", "/v1/rename", json={"count": "many"},
                                headers={"Authorization": f"Bearer {body['token']}"})
    assert status == 422
    assert s.host.history.flush(10)
    run = s.host.history.get(s.host.history.list(endpoint="Rename")[0]["id"])
    assert recorded_user(run) == body["user"]["id"]
    ready = unmask(run, s.state.services["auth"], "Logged-in user")
    assert ready.masked == [] and ready.headers["Authorization"].startswith("Bearer ")
