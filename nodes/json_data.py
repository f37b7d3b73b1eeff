"""JSON: parse text into data, turn data into text, or get a value by its path."""

import json
import re

from nodes.kind import EventKind, InputProblem, Port, Raises, Setting, describe_value
from nodes.values import json_default

OPERATIONS = ("parse", "stringify", "get")
MAX_PATH = 500
_MISSING = object()
# One step of a path: `name` (after a dot unless first), `[0]`, `[-1]` or `["any key"]`.
_STEP = re.compile(r"(?:^|\.)(?P<key>[^.\[\]\"']+)|\[(?P<index>-?\d+)\]"
                   r"|\[(?P<quote>[\"'])(?P<quoted>.*?)(?P=quote)\]")




async def run(ctx, inputs, settings):
    """Parse `text`, stringify `value`, or get what `path` points at in `value`."""
    operation = settings["operation"]
    try:
        if operation == "parse":
            result = _parse(inputs.get("text"))
        elif operation == "stringify":
            result = _stringify(inputs.get("value"), settings.get("pretty"))
        else:
            result = _get(inputs.get("value"), inputs.get("path"), settings.get("if_missing"))
    except InputProblem as e:
        raise ctx.error(f"{operation}: {e}", e.status) from None
    return {"result": result}




def _parse(text):
    if isinstance(text, dict) and isinstance(text.get("content"), bytes):
        text = text["content"]  # an uploaded File
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputProblem("`text` is not UTF-8 text", 422) from None
    if not isinstance(text, str):
        raise InputProblem(f"`text` must be text (or a File), got {describe_value(text)}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputProblem(f"`text` is not valid JSON: {e.msg} (line {e.lineno} column {e.colno})",
                       422) from None
    except (ValueError, RecursionError) as e:
        detail = "it is nested too deeply" if isinstance(e, RecursionError) else str(e)
        raise InputProblem(f"`text` cannot be read as JSON: {detail}", 422) from None


def _stringify(value, pretty: bool) -> str:
    try:
        if pretty:
            return json.dumps(value, default=json_default, ensure_ascii=False, allow_nan=False,
                              indent=2)
        return json.dumps(value, default=json_default, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise InputProblem(f"`value` cannot be written as JSON: {e}") from None
    except RecursionError:
        raise InputProblem("`value` is nested too deeply (or holds itself)") from None


def _steps(path: str) -> list[str | int]:
    """`a.b[0]["c d"]` as ["a", "b", 0, "c d"]."""
    steps: list[str | int] = []
    at = 0
    while at < len(path):
        m = _STEP.match(path, at)
        if m is None or m.end() == at:
            raise InputProblem(f'`path` "{path}" is not a path like a.b[0].c (stuck at character '
                           f"{at + 1})")
        if m.group("key") is not None:
            steps.append(m.group("key"))
        elif m.group("index") is not None:
            steps.append(int(m.group("index")))
        else:
            steps.append(m.group("quoted"))
        at = m.end()
    return steps


def _get(value, path, if_missing: str):
    if path is None or path == "":
        return value
    if not isinstance(path, str):
        raise InputProblem(f"`path` must be text such as a.b[0].c, got {describe_value(path)}")
    if len(path) > MAX_PATH:
        raise InputProblem(f"`path` is {len(path):,} characters long; at most {MAX_PATH}")
    here, walked = value, ""
    for step in _steps(path):
        found = _step(here, step)
        if found is _MISSING:
            if if_missing == "error":
                place = f'"{walked}"' if walked else "`value`"
                raise InputProblem(f'nothing at "{path}": {place} is {describe_value(here)}'
                               f"{_has_no(here, step)}", 422)
            return None
        here = found
        walked += f"[{step}]" if isinstance(step, int) else (f".{step}" if walked else step)
    return here


def _step(here, step):
    """The value `step` leads to from `here`, or _MISSING."""
    if isinstance(here, dict):
        return here.get(step if isinstance(step, str) else str(step), _MISSING)
    if isinstance(here, (list, tuple)):
        index = int(step) if isinstance(step, str) and step.lstrip("-").isdigit() else step
        if isinstance(index, int) and -len(here) <= index < len(here):
            return here[index]
    return _MISSING


def _has_no(here, step) -> str:
    if isinstance(here, dict):
        return f' with no key "{step}"'
    if isinstance(here, (list, tuple)):
        return f" of {len(here)} item{'s' if len(here) != 1 else ''}, with no [{step}]"
    return ""


def _summary(settings) -> str:
    operation = settings.get("operation") or "?"
    if operation == "parse":
        return f"parse {settings.get('text')!s:.24}"
    if operation == "get":
        return f"{settings.get('value')!s:.16} at {settings.get('path')!s:.16}"
    return f"stringify {settings.get('value')!s:.20}"


EVENT = EventKind(
    id="json",
    reads=False,
    name="JSON",
    category="Data",
    doc="Work with JSON; `operation` chooses what. parse: read the JSON `text` (or an "
        "uploaded File) into objects, lists, numbers, text, true/false and null; text that is "
        "not JSON fails the action with status 422, saying where. stringify: write `value` as "
        "JSON text (indented when `pretty`; dates as ISO text). get: the value at `path` inside "
        "`value`, e.g. order.lines[0].sku, items[-1] (the last) or [\"odd key\"].x; when "
        "nothing is there it gives null, or fails with 422 if `if_missing` is error.",
    run=run,
    inputs=(
        Port("text", "Any", "parse: the JSON text, or a File variable."),
        Port("value", "Any", "stringify: the value to write; get: the value to look into."),
        Port("path", "Text", "get: where to look, e.g. a.b[0].c (empty: the value itself)."),
    ),
    outputs=(Port("result", "Any", "The parsed data, the JSON text, or the value found."),),
    settings=(
        Setting("operation", "choice", "What to do.", default="parse", choices=OPERATIONS),
        Setting("pretty", "boolean", "stringify: indent the JSON text over several lines.",
                default=False),
        Setting("if_missing", "choice", "get: what to do when nothing is at `path`.",
                default="null", choices=("null", "error")),
        Setting("as", "variable", "Store the result in this variable.", default=""),
    ),
    errors=(Raises(422, "parse: the text is not JSON; get: nothing is at `path` (with "
                   "`if_missing` error)"),),
    summary=_summary,
)
