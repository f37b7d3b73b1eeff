"""HTTP Request: call another web service and use its answer."""

from nodes.kind import EventKind, Flow, Port, Setting


async def run(ctx, inputs, settings):
    """Send the request; on failure leave by `error` (or fail the run when it is not wired)."""
    client = ctx.service("http")
    if client is None:
        raise ctx.error("outgoing HTTP is not available in this run")
    url = inputs.get("url")
    if not isinstance(url, str) or not url:
        raise ctx.error("url is empty", status=500)
    try:
        response = await client.request(
            settings["method"], url, headers=inputs.get("headers"), query=inputs.get("query"),
            body=inputs.get("body"), body_type=settings["body_type"],
            timeout=float(settings["timeout"]), max_bytes=int(settings["max_bytes"]))
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
        "`error`; leave `error` unwired to fail the whole action instead. Link-local and cloud "
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
        Setting("as", "variable", "Store the answer in this variable.", default=""),
        Setting("error_as", "variable", "Store the failure message in this variable.",
                default=""),
    ),
    flow_out=("next", "error"),
    fail_port="error",
    summary=lambda s: f"{s.get('method') or 'GET'} {s.get('url')!s:.28}",
)
