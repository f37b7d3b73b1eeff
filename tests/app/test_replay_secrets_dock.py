"""Replaying runs whose secrets the history masked, in the editor on the real display: a
`/v1/me` run (Authorization: Bearer *** in the history) replays as the same user with a fresh
token; a login run (its password masked) is marked "sent with masked values: body.password"
instead of showing a diff, and replays properly once the password is typed."""

from __future__ import annotations

import shutil

import aiohttp
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from runtime.masking import MASK
from tests.app.conftest import EXAMPLES
from tests.app.test_history_dock import _listed, _until, open_window  # noqa: F401 - a fixture
from tests.app.test_tour import as_the_app_does

pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")
PASSWORD = "correct horse 42"


@pytest.fixture
def signup_copy(tmp_path):
    """A copy of the sign-up example (Sign up, Log in, and Me behind the "Logged-in user")."""
    target = tmp_path / "signup.actiongraph.json"
    shutil.copyfile(EXAMPLES / "signup.actiongraph.json", target)
    return target


async def _call(base: str, method: str, path: str, body=None, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s:
        async with s.request(method, base + path, json=body, headers=headers) as r:
            return r.status, await r.json()


async def test_a_logged_in_run_replays_as_its_user_and_a_login_run_asks_for_the_password(
        open_window, signup_copy, qtbot, shot):  # noqa: F811 - the fixture imported above
    window = await open_window(signup_copy, 19880)
    live, panel = window.live, window.live.log
    base = live.server.base_url
    status, made = await _call(base, "POST", "/v1/signup",
                               {"email": "ann@example.org", "name": "Ann", "password": PASSWORD})
    assert status == 201, made
    status, login = await _call(base, "POST", "/v1/login",
                                {"email": "ann@example.org", "password": PASSWORD})
    assert status == 200, login
    status, me = await _call(base, "GET", "/v1/me", token=login["token"])
    assert status == 200 and me["name"] == "Ann"
    rows = await _listed(panel, 3)
    me_id, login_id, _signup_id = (r["id"] for r in rows)
    me_run = await panel.get(me_id)
    assert me_run["request"]["headers"]["Authorization"] == MASK  # as the history keeps it

    results = await panel.replay([me_id, login_id])
    c = results[me_id]
    assert (c.status_then, c.status_now) == (200, 200), c.error_now
    assert c.same and c.masked == [] and c.body_now["id"] == me["id"]
    assert c.restored == [f"header.Authorization (a fresh token for user #{me['id']})"]
    assert panel.model.verdicts[me_id] == "same"

    c = results[login_id]
    assert c.masked == ["body.password"] and not c.comparable
    assert panel.model.verdicts[login_id] == "sent with masked values: body.password"
    column = {r["id"]: panel.model.data(panel.model.index(i, 6))
              for i, r in enumerate(panel.model.rows)}
    assert (column[me_id], column[login_id]) == ("same", "masked")
    assert panel.count.text() == "Replayed 2: 0 changed, 1 the same, 1 sent with masked values"

    # the current replay shown is the first; open the login's
    panel.select_ids([login_id])
    await _until(lambda: panel.replay_view.run is not None
                 and panel.replay_view.run["id"] == login_id)
    view = panel.replay_view
    assert "sent with masked values: body.password" in view.verdict.text()
    diff = view.diff_view.toPlainText()
    assert "Sent with masked values: body.password" in diff and "Differences" not in diff
    assert view.secrets.isVisible() and list(view.fields) == ["body.password"]
    window.resize(1400, 900)
    live.show_dock("log")
    window.resizeDocks([live.docks["log"]], [470], Qt.Orientation.Vertical)
    panel.split.setSizes([600, 800])
    await as_the_app_does(lambda: shot(window, "replay_masked"))

    # typed once: the replay sends it and compares for real
    qtbot.keyClicks(view.fields["body.password"], PASSWORD)
    button = view.secrets.findChild(QPushButton, "replayWithValues")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    await _until(lambda: panel.model.verdicts.get(login_id) == "same")
    c = view.comparisons[login_id][1]
    assert c.comparable and (c.status_then, c.status_now) == (200, 200)
    assert c.restored == ["body.password (typed)"]
    assert not view.secrets.isVisible()
    assert "No differences" in view.diff_view.toPlainText()
    # kept for this session: a second replay needs no typing
    c = (await panel.replay([login_id]))[login_id]
    assert c.same and c.comparable
    await live.shutdown()
