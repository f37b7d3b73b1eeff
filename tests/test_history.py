"""The run history over real HTTP and a real database: what is recorded in each mode, masking of
secrets, a history that cannot be written, retention, and nothing at all when it is off."""

import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime import history as history_module
from runtime.history import RunHistory
from runtime.masking import MASK, Masker
from runtime.project import AuthProfile, Field, Project, Trigger, Variable
from runtime.runs import RunRecord

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
SSN = "078-05-1120"
COOKIE = "session=s3cr3t-cookie-value"

pytestmark = pytest.mark.both_databases  # the history in its own SQLite file / _actiongraph_runs


def accounts() -> Project:
    """Register (hash, create, log in), Me (needs a login) and Make, which fails in its third
    event when the price is 0."""
    p = Project(name="Accounts")
    p.add_model("Users", [Field("email", "Text"), Field("pw", "Text"), Field("ssn", "Text")])
    p.add_model("Shoes", [Field("shoe_type", "Text"), Field("price", "Decimal")])
    p.settings.auth_profiles.append(AuthProfile("members", "Users", "email", "pw"))
    p.settings.history.mask = ["ssn"]
    p.add_endpoint("Register", "POST", "/v1/register",
                   [Variable("email"), Variable("password"), Variable("ssn")])
    a = p.add_action("Register", Trigger("endpoint", endpoint="Register"), response_value="=user")
    n1 = a.add_event("hash_password", password="=body.password", **{"as": "h"})
    n2 = a.add_event("create", after=n1.id, model="Users",
                     values={"email": "=body.email", "pw": "=h", "ssn": "=body.ssn"},
                     **{"as": "user"})
    a.add_event("login", after=n2.id, profile="members", identifier="=user.email",
                password="=body.password", **{"as": "token"})
    p.add_endpoint("Me", "GET", "/v1/me", auth="members")
    p.add_action("Me", Trigger("endpoint", endpoint="Me"), response_value="=auth.user")
    p.add_endpoint("Make", "POST", "/v1/make", [Variable("shoe", "Model", "body", model="Shoes")])
    m = p.add_action("Make", Trigger("endpoint", endpoint="Make"), response_value="=ratio")
    m1 = m.add_event("create", model="Shoes", source="=body.shoe", **{"as": "made"})
    m2 = m.add_event("assign", after=m1.id, value="=body.shoe.price * 2", **{"as": "double"})
    m.add_event("assign", after=m2.id, description="divide by the price",
                value="=100 / body.shoe.price", **{"as": "ratio"})
    return p


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "runtime.cli", "runs", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def written(s) -> RunHistory:
    """The server's history once everything added so far is in the database."""
    assert s.host.history.flush(10)
    return s.host.history


def where(s) -> str:
    """The history as the CLI takes it: the runs file, or the PostgreSQL URL."""
    url = s.host.history.url
    return url.split(":///", 1)[1] if url.startswith("sqlite") else url


async def test_a_request_failing_in_its_third_event_is_found_by_runs_failed(serve):
    s = await serve(accounts(), history="full")
    status, _, _ = await s.call("POST", "/v1/make", json={"shoe_type": "Boot", "price": 4})
    assert status == 200
    status, body, _ = await s.call("POST", "/v1/make",
                                   json={"shoe_type": "Boot", "price": 0})
    assert status == 500 and body["event"] == "n3"
    history = written(s)
    if s.database.postgresql:  # the server's own database holds the table
        assert s.rows("select count(*) from _actiongraph_runs") == [(2,)]
    else:
        assert Path(where(s)).name == "test0.runs.db"

    out = cli(where(s), "--failed")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1, out.stdout
    assert "POST /v1/make  500" in lines[0] and "[n3]" in lines[0]
    assert "division by zero" in lines[0]
    run_id = lines[0].split()[0]
    assert len(cli(where(s)).stdout.splitlines()) == 2  # the successful run is there too

    out = cli("show", run_id, where(s))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "POST /v1/make -> 500" in text and "(event n3)" in text
    assert "1. create n1" in text and "2. assign n2" in text and "3. assign n3" in text
    assert "FAILED" in text.split("3. assign n3")[1]
    assert "row:     insert Shoes #2" in text, text  # rolled back; #1 is the first request's
    whole = json.loads(cli("show", run_id, where(s), "--json").stdout)
    assert [step["id"] for step in whole["trace"]] == ["n1", "n2", "n3"]
    assert whole["request"]["body"] == {"shoe_type": "Boot", "price": 0}
    assert whole["response"]["status"] == 500 and whole["response"]["body"]["event"] == "n3"
    assert whole["trace"][0]["changes"][0]["op"] == "insert"
    assert whole["trace"][0]["changes"][0]["after"]["shoe_type"] == "Boot"
    assert history.get(int(run_id)) == whole


async def test_errors_mode_records_failed_runs_whole_and_successful_ones_not(serve):
    s = await serve(accounts(), history="errors")
    assert s.state.trace is False  # errors mode does not trace
    seen = []
    s.host.listeners.append(seen.append)
    await s.call("POST", "/v1/make", json={"shoe_type": "Boot", "price": 4})
    await s.call("POST", "/v1/make?why=test", json={"shoe_type": "Boot", "price": 0})
    await s.call("POST", "/v1/make", json={"shoe_type": "Boot", "price": "abc"})
    assert seen[0].http_request is None  # a successful run is not even captured
    runs = written(s).list()
    assert [r["status"] for r in runs] == [422, 500]
    assert runs[1]["event"] == "n3" and runs[1]["action"] == "Make"
    whole = s.host.history.get(runs[1]["id"])
    assert whole["request"]["query"] == {"why": "test"}
    assert whole["request"]["headers"]["Content-Type"] == "application/json"
    assert whole["inputs"]["body"]["shoe"]["price"] == 0
    assert whole["trace"] is None and whole["response"]["body"]["event"] == "n3"
    assert s.host.history.list(status=422)[0]["error"].startswith("body.price")
    assert s.host.history.list(search="division")[0]["id"] == runs[1]["id"]
    assert s.host.history.list(endpoint="Register") == []


async def test_secrets_are_masked_everywhere(serve):
    s = await serve(accounts(), history="full")
    status, user, _ = await s.call("POST", "/v1/register", headers={"Cookie": COOKIE},
                                   json={"email": "ann@example.org", "password": PASSWORD,
                                         "ssn": SSN})
    assert status == 200, user
    hashed = s.rows("select pw from Users")[0][0]
    assert hashed.startswith("$argon2")
    written(s)
    register = s.host.history.get(s.host.history.list()[0]["id"])
    token_step = register["trace"][2]
    assert token_step["kind"] == "login" and token_step["outputs"]["token"] == MASK
    # a token of the user, for a request that sends it
    token = s.state.services["auth"].issue("members", user["id"])
    status, _, _ = await s.call("GET", "/v1/me", headers={"Authorization": f"Bearer {token}",
                                                          "Cookie": COOKIE})
    assert status == 200
    me = s.host.history.get(written(s).list()[0]["id"])

    assert register["request"]["headers"]["Cookie"] == MASK
    assert register["request"]["body"] == {"email": "ann@example.org", "password": MASK,
                                           "ssn": MASK}
    assert register["inputs"]["body"]["password"] == MASK and register["inputs"]["body"]["ssn"] == MASK
    assert register["trace"][0]["inputs"]["password"] == MASK
    assert register["trace"][0]["outputs"]["hash"] == MASK
    assert register["changes"][0]["after"]["pw"] == MASK
    assert register["changes"][0]["after"]["ssn"] == MASK
    assert register["changes"][0]["after"]["email"] == "ann@example.org"  # not all is masked
    assert register["response"]["body"]["pw"] == MASK and register["response"]["body"]["ssn"] == MASK
    assert me["request"]["headers"]["Authorization"] == MASK
    assert me["request"]["headers"]["Cookie"] == MASK
    assert me["inputs"]["auth"]["user"]["ssn"] == MASK

    stored = json.dumps([register, me])
    if not s.database.postgresql:
        with sqlite3.connect(where(s)) as conn:
            stored += json.dumps(conn.execute("select * from _actiongraph_runs").fetchall())
    else:
        stored += json.dumps(s.rows("select detail, error from _actiongraph_runs"))
    for secret in (PASSWORD, SSN, hashed, hashed[:20], token, "s3cr3t-cookie-value"):
        assert secret not in stored, secret


def test_masker_headers_text_and_values():
    m = Masker(["member_no"])
    headers = m.headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Api-Key", "k"),
                         ("Proxy-Authorization", "Basic x"), ("Accept", "text/csv")])
    assert headers == {"Set-Cookie": f"{MASK}, {MASK}", "X-Api-Key": MASK,
                       "Proxy-Authorization": MASK, "Accept": "text/csv"}
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    text = m.text('{"password": "hunter2", "member_no": 12, "note": "' + jwt + '", "a": "b"')
    assert "hunter2" not in text and "12" not in text and jwt not in text and '"a": "b"' in text
    assert m.text("user=ann&password=hunter2&next=/x") == f"user=ann&password={MASK}&next=/x"
    assert m.value({"rows": [{"api_token": "t", "Member-No": 3, "n": None, "password": None}],
                    "x": "$argon2id$v=19$m=65536,t=3,p=4$abc$def"}) == \
        {"rows": [{"api_token": MASK, "Member-No": MASK, "n": None, "password": None}], "x": MASK}


@pytest.mark.parametrize("how", ["corrupt", "locked"])
async def test_an_unwritable_history_is_reported_once_and_requests_are_answered(
        serve, database, tmp_path, caplog, how):
    if database.postgresql:
        pytest.skip("a history file of its own")
    runs = tmp_path / "broken.runs.db"
    holder = None
    if how == "corrupt":
        runs.write_bytes(b"this is not a database file at all" * 200)
    else:
        sqlite3.connect(runs).close()
        holder = sqlite3.connect(runs, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    caplog.set_level(logging.ERROR, logger="actiongraph.history")
    s = await serve(accounts(), history="full", history_db=str(runs))
    try:
        for price in (4, 0, 5, 0):
            started = time.perf_counter()
            status, _, _ = await s.call("POST", "/v1/make",
                                        json={"shoe_type": "Boot", "price": price})
            assert status == (200 if price else 500)
            assert time.perf_counter() - started < 1.0  # not waiting for the history
        assert s.host.history.flush(20)
        reports = [r for r in caplog.records if r.name == "actiongraph.history"]
        assert len(reports) == 1, [r.getMessage() for r in reports]
        assert "broken.runs.db" in reports[0].getMessage()
        assert s.host.history.problem and s.host.history.dropped == 4
        if holder is not None:  # once the lock is gone the history is written again
            holder.rollback()
            holder.close()
            holder = None
            await s.call("POST", "/v1/make", json={"shoe_type": "Boot", "price": 0})
            assert s.host.history.flush(20)
            assert s.host.history.problem is None
            assert [r["status"] for r in s.host.history.list()] == [500]
    finally:
        if holder is not None:
            holder.close()


def record(started: float, status: int = 200, path: str = "/v1/x") -> RunRecord:
    return RunRecord(started, "GET", path, status, 1.0, endpoint="X", action="X")


def test_retention_by_count_and_age(tmp_path, monkeypatch):
    monkeypatch.setattr(history_module, "PRUNE_EVERY", 0.0)  # prune after every batch
    history = RunHistory(str(tmp_path / "r.runs.db"), keep=3, days=1)
    now = time.time()
    history.add(record(now - 2 * 86400, path="/old"))  # older than a day
    assert history.flush()
    assert history.list() == []
    for n in range(6):
        history.add(record(now, path=f"/p{n}"))
        assert history.flush()
    assert [r["path"] for r in history.list()] == ["/p5", "/p4", "/p3"]
    history.close()


def test_a_full_queue_drops_runs_and_counts_them(tmp_path):
    history = RunHistory(str(tmp_path / "q.runs.db"), queue_size=2)
    history._writer = "not started"  # no writer takes runs off the queue: it only fills
    for _ in range(5):
        history.add(record(time.time()))
    assert history.dropped == 3


async def test_history_off_costs_nothing(serve, database, tmp_path):
    s = await serve(accounts())  # ServeConfig's default: off
    assert s.host.history is None and s.state.history == "off" and s.host.listeners == []
    seen = []
    s.host.listeners.append(seen.append)
    await s.call("POST", "/v1/make", json={"shoe_type": "Boot", "price": 0})
    assert seen[0].status == 500 and seen[0].http_request is None and seen[0].trace is None
    assert list(tmp_path.glob("*.runs.db")) == []
    if database.postgresql:
        assert s.rows("select count(*) from information_schema.tables "
                      "where table_name = '_actiongraph_runs'") == [(0,)]


async def test_a_new_revision_masks_the_names_it_declares(serve):
    p = accounts()
    p.settings.history.mask = []
    s = await serve(p, history="errors")
    bad = {"email": "a@b.c", "password": "", "ssn": SSN}  # an empty password: 422
    await s.call("POST", "/v1/register", json=bad)
    p.settings.history.mask = ["ssn"]
    from runtime.compiler import compile_project
    await s.host.deploy(p, 2, compiled=compile_project(p, 2))
    await s.call("POST", "/v1/register", json=bad)
    runs = written(s).list()
    newer, older = (s.host.history.get(r["id"]) for r in runs)
    assert older["request"]["body"]["ssn"] == SSN
    assert newer["request"]["body"]["ssn"] == MASK


def test_the_mask_setting_round_trips_through_the_file(tmp_path):
    from runtime.projectfile import load, save

    p = accounts()
    save(p, tmp_path / "a.actiongraph.json")
    data = json.loads((tmp_path / "a.actiongraph.json").read_text())
    assert data["settings"]["history"] == {"mask": ["ssn"]}
    assert load(tmp_path / "a.actiongraph.json").settings.history.mask == ["ssn"]
    p.settings.history.mask = []
    save(p, tmp_path / "b.actiongraph.json")  # nothing more to mask: no key, as before
    assert "history" not in json.loads((tmp_path / "b.actiongraph.json").read_text())["settings"]
    data["settings"]["history"] = {"mask": [""]}
    (tmp_path / "c.actiongraph.json").write_text(json.dumps(data))
    with pytest.raises(Exception, match="mask"):
        load(tmp_path / "c.actiongraph.json")
