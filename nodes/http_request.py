"""HTTP Request: call another web service and use its answer."""

import asyncio
import random
from email.utils import parsedate_to_datetime

from nodes.kind import EventKind, Flow, Port, Setting

IDEMPOTENT = ("GET", "PUT", "DELETE")  # retried by default; POST and PATCH only when asked
BACKOFF, MAX_DELAY = 0.25, 10.0  # seconds: the first retry waits up to 0.25 s, then doubling


def _retried(status: int) -> bool:
    """An answer worth asking again: too many requests, or a server error (not "not
    implemented")."""
    return status == 429 or status >= 500 and status != 501


def _retry_after(response: dict, now) -> float | None:
    """The seconds a Retry-After header asks for (a number or an HTTP date), or None."""
    value = next((v for k, v in (response.get("headers") or {}).items()
                  if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


async def _send(ctx, client, url, inputs, settings) -> dict:
    """One request, retried (`retries` times at most) after a timeout, a connection error or
    a 429/5xx answer, with exponential backoff and jitter; a Retry-After is honoured when it
    ends before the run's time limit. Raises ValueError when no answer came."""
    method = settings["method"]
    retries = max(0, int(settings.get("retries") or 0))
    if method not in IDEMPOTENT and not settings.get("retry_unsafe"):
        retries = 0
    attempt = 0
    while True:
        try:
            response = await client.request(
                method, url, headers=inputs.get("headers"), query=inputs.get("query"),
                body=inputs.get("body"), body_type=settings["body_type"],
                timeout=float(settings["timeout"]), max_bytes=int(settings["max_bytes"]))
        except ValueError as e:
            if attempt >= retries or not getattr(e, "retryable", False):
                raise ValueError(f"{e} (after {attempt + 1} attempts)" if attempt else str(e)) \
                    from None
            response, wanted = None, None
        else:
            if attempt >= retries or not _retried(response["status"]):
                return response
            wanted = _retry_after(response, ctx.now())
        delay = min(MAX_DELAY, BACKOFF * 2 ** attempt) * random.uniform(0.5, 1.0)
        if wanted is not None:
            delay = max(delay, wanted)
        remaining = getattr(ctx, "remaining", lambda: None)()
        if remaining is not None and delay >= remaining:
            if response is not None:  # asked to wait past the run's time limit: that answer
                return response
            raise ValueError(f"no answer from {url} after {attempt + 1} attempts")
        await asyncio.sleep(delay)
        attempt += 1
        ctx.log(f"retrying {method} {url} (attempt {attempt + 1} of {retries + 1})", "debug")


async def run(ctx, inputs, settings):
    """Send the request; on failure leave by `error` (or fail the run when it is not wired)."""
    client = ctx.service("http")
    if client is None:
        raise ctx.error("outgoing HTTP is not available in this run")
    url = inputs.get("url")
    if not isinstance(url, str) or not url:
        raise ctx.error("url is empty", status=500)
    try:
        response = await _send(ctx, client, url, inputs, settings)
    except ValueError as e:
        return Flow("error", {"response": None, "error": str(e)})
    if settings.get("fail_on_status") and response["status"] >= 400:
        return Flow("error", {"response": response,
                              "error": f"{url} answered {response['status']}"})
    return {"response": response, "error": None}


EVENT = EventKind(
    id="http_request",
    reads=False,
    name="HTTP Request",
    category="Integrations",
    doc="Call a web service: method, URL, headers, query and a JSON, form or text body. The "
        "answer is stored as {status, headers, body} (JSON bodies parsed). When the call fails "
        "(no answer within the timeout, a response larger than the limit, an error status if "
        "`fail_on_status` is set), the flow leaves by the `error` port with the message in "
        "`error`; leave `error` unwired to fail the whole action instead. With `retries`, a "
        "timeout, a connection error or a 429/5xx answer is retried with exponential backoff "
        "and jitter (a Retry-After is honoured within the run's time limit); only GET, PUT "
        "and DELETE unless `retry_unsafe` is set. Link-local and cloud "
        "metadata addresses are refused unless the project settings allow them.",
    run=run,
    inputs=(
        Port("url", "Text", "The URL, e.g. =concat('https://api.example.com/users/', body.id).",
             required=True),
        Port("headers", "Any", "Request headers, as an object."),
        Port("query", "Any", "Query parameters, as an object."),
        Port("body", "Any", "The request body."),
    ),
    outputs=(Port("response", "Record", "The answer: status, headers, body."),
             Port("error", "Text", "Why the call failed (on the error port).")),
    settings=(
        Setting("method", "choice", "The HTTP method.", default="GET",
                choices=("GET", "POST", "PUT", "PATCH", "DELETE")),
        Setting("body_type", "choice", "How the body is sent.", default="json",
                choices=("json", "form", "text")),
        Setting("timeout", "integer", "Seconds to wait for the answer.", default=10),
        Setting("max_bytes", "integer", "The largest answer accepted, in bytes.",
                default=1024 * 1024),
        Setting("fail_on_status", "boolean", "Treat an answer of 400 or more as a failure.",
                default=False),
        Setting("retries", "integer", "How many times to ask again after a timeout, a "
                "connection error or a 429/5xx answer (0: never).", default=0),
        Setting("retry_unsafe", "boolean", "Retry POST and PATCH too (only when the service "
                "makes repeating them harmless, e.g. with an idempotency key).", default=False),
        Setting("as", "variable", "Store the answer in this variable.", default=""),
        Setting("error_as", "variable", "Store the failure message in this variable.",
                default=""),
    ),
    flow_out=("next", "error"),
    fail_port="error",
    summary=lambda s: f"{s.get('method') or 'GET'} {s.get('url')!s:.28}",
)
