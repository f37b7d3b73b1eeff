"""CORS in a real browser: headless Chromium loads a page from one local origin whose script signs
up through the sign-up example served on another origin, with that origin allowed and without."""

import asyncio
import json
import os
import re
import shutil
import sys
from html import unescape

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import EXAMPLES

from runtime.project import CorsSettings
from runtime.projectfile import load

ANN = {"email": "ann@example.org", "name": "Ann", "password": "correct horse battery"}
RESULT = re.compile(r'<pre id="result">(.*?)</pre>', re.S)

# The page's script: is the API there at all (a no-cors request, which CORS does not stop), then
# sign up (JSON: a preflighted request) and read who is logged in with the token (Authorization:
# preflighted too). What happened goes into the DOM, which --dump-dom prints.
PAGE = """<!doctype html>
<html><head><title>front end</title></head><body><pre id="result">pending</pre>
<script>
const API = %(api)s, result = {};
async function main() {
  try {
    result.reachable = (await fetch(API + "/healthz", {mode: "no-cors"})).type;
  } catch (e) {
    result.reachable = String(e);
  }
  try {
    const r = await fetch(API + "/v1/signup", {method: "POST", body: JSON.stringify(%(user)s),
                                               headers: {"Content-Type": "application/json"}});
    result.status = r.status;
    result.body = await r.json();
    const me = await fetch(API + "/v1/me",
                           {headers: {"Authorization": "Bearer " + result.body.token}});
    result.me = {status: me.status, body: await me.json()};
  } catch (e) {
    result.error = String(e);
  }
}
main().finally(() => {
  document.getElementById("result").textContent = JSON.stringify(result);
});
</script></body></html>
"""


def chromium() -> str:
    """The browser's program; skips the test (fails it in CI) when it is not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = ("Chromium is not installed: the CORS browser test needs it "
               "(sudo apt-get install chromium; .ci/run installs it)")
    if os.environ.get("CI"):
        pytest.fail(message + ". CI must run the browser test.", pytrace=False)
    pytest.skip(message)


async def page_server(page: dict) -> TestServer:
    """A tiny static server on its own port (origin A) serving the front end's page."""
    async def index(request: web.Request) -> web.Response:
        return web.Response(text=PAGE % page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def run_page(program: str, url: str, profile) -> tuple[dict, str]:
    """Load the page in headless Chromium until its script is done: what it wrote, and the
    browser's log (its console says why a request was blocked)."""
    proc = await asyncio.create_subprocess_exec(
        program, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--enable-logging=stderr",
        "--virtual-time-budget=30000", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    dom, log = out.decode(errors="replace"), err.decode(errors="replace")
    found = RESULT.search(dom)
    assert proc.returncode == 0 and found, f"Chromium exited {proc.returncode}:\n{dom}\n{log}"
    text = unescape(found.group(1))
    assert text != "pending", f"the page's script did not finish:\n{log}"
    return json.loads(text), log


def signup(smtp_port: int, origins: list[str]):
    project = load(EXAMPLES / "signup.actiongraph.json")
    project.settings.mail.host, project.settings.mail.port = "127.0.0.1", smtp_port
    project.settings.cors = CorsSettings(origins=origins)
    return project


@pytest.fixture
async def front_end():
    """The page's server (origin A); set `page["api"]` before loading it."""
    page = {"api": "null", "user": json.dumps(ANN)}
    server = await page_server(page)
    yield page, str(server.make_url("/")), f"http://127.0.0.1:{server.port}"
    await server.close()


async def test_a_page_on_an_allowed_origin_signs_up_and_gets_its_token(serve, smtp, front_end,
                                                                      tmp_path):
    program = chromium()
    page, url, origin = front_end
    s = await serve(signup(smtp.port, [origin]))
    assert s.url != origin  # another port: another origin
    page["api"] = json.dumps(s.url)
    result, log = await run_page(program, url, tmp_path / "profile")
    assert "error" not in result, (result, log)
    assert result["status"] == 201, result
    token, user = result["body"]["token"], result["body"]["user"]
    assert token.count(".") == 2 and user["email"] == ANN["email"]
    assert result["me"] == {"status": 200, "body": user}  # the token works from the page too
    [(email, name)] = s.rows("select email, name from Users")
    assert (email, name) == (ANN["email"], ANN["name"])


async def test_a_page_on_another_origin_is_blocked_and_its_sign_up_never_runs(serve, smtp,
                                                                            front_end, tmp_path):
    program = chromium()
    page, url, origin = front_end
    s = await serve(signup(smtp.port, ["https://app.example.com"]))
    runs = []
    s.state.listeners.append(runs.append)
    page["api"] = json.dumps(s.url)
    result, log = await run_page(program, url, tmp_path / "profile")
    # The server answers (a no-cors request gets through, opaque), yet the page may not call it.
    assert result["reachable"] == "opaque", result
    assert result["error"] == "TypeError: Failed to fetch" and "status" not in result, result
    # Chromium's console (--enable-logging=stderr) says why: a CORS error, at the preflight.
    blocked = [line for line in log.splitlines() if "blocked by CORS policy" in line]
    assert blocked and "/v1/signup" in blocked[0] and "preflight" in blocked[0], log
    # The preflight was refused, so the browser never sent the sign-up: no run, no row.
    assert [r.path for r in runs if r.method == "POST"] == []
    assert s.rows("select count(*) from Users") == [(0,)]
    assert smtp.messages == []


if __name__ == "__main__":  # pragma: no cover - run by hand: python tests/test_cors_browser.py
    sys.exit(pytest.main([__file__, "-v"]))
