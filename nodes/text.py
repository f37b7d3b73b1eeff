"""Text: join, format, upper, lower, trim, split, regex match and replace, slug."""

import asyncio
import re
import unicodedata

import regex

from nodes.kind import EventKind, InputProblem, Port, Setting, describe_value
from nodes.values import FUNCTIONS, MAX_LENGTH, EvaluationError

OPERATIONS = ("join", "format", "upper", "lower", "trim", "split", "regex_match",
              "regex_replace", "slug")
MAX_PATTERN = 200  # characters of a regular expression
MAX_TEXT = 100_000  # characters a regular expression is run on
# The `regex` module can stop a match that backtracks too long, which `re` cannot: a short
# pattern such as (a|aa)+$ can otherwise hold a worker for hours on a few dozen characters.
REGEX_SECONDS = 0.5

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}|[{}]")
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe",
                       "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th",
                       "Þ": "th", "ı": "i"})
_NOT_SLUG = re.compile(r"[^a-z0-9]+")




async def run(ctx, inputs, settings):
    """Apply the chosen operation; regular expressions run off the event loop, time-limited."""
    operation = settings["operation"]
    try:
        if operation == "regex_match":
            return await asyncio.to_thread(_match, inputs, settings.get("ignore_case"))
        if operation == "regex_replace":
            result = await asyncio.to_thread(_replace, inputs, settings.get("ignore_case"))
            return {"result": result}
        return {"result": _COMPUTE[operation](inputs)}
    except InputProblem as e:
        raise ctx.error(f"{operation}: {e}") from None
    except EvaluationError as e:
        raise ctx.error(f"{operation}: {e.message}") from None




def _text(inputs, name: str = "text") -> str:
    value = inputs.get(name)
    if not isinstance(value, str):
        raise InputProblem(f"`{name}` must be text, got {describe_value(value)}")
    return value


def _join(inputs):
    values = inputs.get("list")
    if not isinstance(values, (list, tuple)):
        raise InputProblem(f"`list` must be a list, got {describe_value(values)}")
    separator = inputs.get("separator")
    return FUNCTIONS["join"](values, "" if separator is None else _text(inputs, "separator"))


def _format(inputs):
    template = _text(inputs)
    values = inputs.get("values")
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise InputProblem(f"`values` must be an object of name: value, got {describe_value(values)}")
    parts, size = [], 0
    for piece, match in _pieces(template):
        if match is not None:
            piece = _fill(match, values)
        size += len(piece)
        if size > MAX_LENGTH:
            raise InputProblem(f"the result would be longer than {MAX_LENGTH:,} characters")
        parts.append(piece)
    return "".join(parts)


def _pieces(template: str):
    """(literal text, None) and (placeholder, its name) in order; {{ and }} are braces."""
    at = 0
    for m in _PLACEHOLDER.finditer(template):
        yield template[at:m.start()], None
        token = m.group()
        if token in ("{{", "}}"):
            yield token[0], None
        elif m.group(1) is None:
            raise InputProblem(f'unexpected "{token}" at character {m.start() + 1} of the template: '
                           f'write {token * 2} for a brace, or {{name}} for a value')
        else:
            yield token, m.group(1)
        at = m.end()
    yield template[at:], None


def _fill(name: str, values: dict) -> str:
    value, seen = values, []
    for key in name.split("."):
        if not isinstance(value, dict) or key not in value:
            where = f'"{".".join(seen)}"' if seen else "values"
            known = ", ".join(sorted(map(str, value))[:20]) if isinstance(value, dict) else ""
            detail = f" (it has: {known})" if known else ""
            raise InputProblem(f"the template uses {{{name}}}, but {where} has no \"{key}\"{detail}")
        value, seen = value[key], [*seen, key]
    return "" if value is None else FUNCTIONS["str"](value)


def _split(inputs):
    separator = inputs.get("separator")
    if separator in (None, ""):
        return FUNCTIONS["split"](_text(inputs))
    return FUNCTIONS["split"](_text(inputs), _text(inputs, "separator"))


def _slug(inputs) -> str:
    folded = unicodedata.normalize("NFKD", _text(inputs).lower().translate(_FOLD))
    return _NOT_SLUG.sub("-", folded.encode("ascii", "ignore").decode()).strip("-")


def _compiled(inputs, ignore_case):
    pattern = _text(inputs, "pattern")
    if len(pattern) > MAX_PATTERN:
        raise InputProblem(f"`pattern` is {len(pattern):,} characters long; at most {MAX_PATTERN}")
    text = _text(inputs)
    if len(text) > MAX_TEXT:
        raise InputProblem(f"`text` is {len(text):,} characters long; a regular expression runs on "
                       f"at most {MAX_TEXT:,}")
    try:
        return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0), text
    except regex.error as e:
        raise InputProblem(f'`pattern` "{pattern}" is not a valid regular expression: {e}') from None


def _match(inputs, ignore_case) -> dict:
    compiled, text = _compiled(inputs, ignore_case)
    try:
        found = compiled.search(text, timeout=REGEX_SECONDS, concurrent=True)
    except TimeoutError:
        raise _slow(compiled.pattern) from None
    if found is None:
        return {"result": None, "matched": False, "groups": []}
    return {"result": found.group(), "matched": True, "groups": list(found.groups())}


def _replace(inputs, ignore_case) -> str:
    compiled, text = _compiled(inputs, ignore_case)
    replacement = inputs.get("replacement")
    replacement = "" if replacement is None else _text(inputs, "replacement")
    size = len(text)

    def expand(found):
        nonlocal size
        try:
            new = found.expand(replacement)
        except (regex.error, IndexError) as e:
            raise InputProblem(f'`replacement` "{replacement}" is not valid: {e}') from None
        size += len(new) - len(found.group())
        if size > MAX_LENGTH:
            raise InputProblem(f"the result would be longer than {MAX_LENGTH:,} characters")
        return new

    try:
        return compiled.sub(expand, text, timeout=REGEX_SECONDS, concurrent=True)
    except TimeoutError:
        raise _slow(compiled.pattern) from None


def _slow(pattern: str) -> InputProblem:
    return InputProblem(f'`pattern` "{pattern}" took longer than {REGEX_SECONDS} s and was stopped; '
                    "it probably backtracks (nested repeats such as (a+)+): simplify it")


_COMPUTE = {
    "join": _join,
    "format": _format,
    "upper": lambda inputs: FUNCTIONS["upper"](_text(inputs)),
    "lower": lambda inputs: FUNCTIONS["lower"](_text(inputs)),
    "trim": lambda inputs: FUNCTIONS["trim"](_text(inputs)),
    "split": _split,
    "slug": _slug,
}


def _summary(settings) -> str:
    operation = settings.get("operation") or "?"
    if operation == "join":
        return f"join {settings.get('list')!s:.24}"
    if operation.startswith("regex"):
        return f"{operation.replace('_', ' ')} /{settings.get('pattern')!s:.20}/"
    return f"{operation} {settings.get('text')!s:.24}"


EVENT = EventKind(
    id="text",
    reads=False,
    name="Text",
    category="Text",
    doc="Work with text; `operation` chooses what. join: the items of `list` with `separator` "
        "between them. format: fill the `text` template's {name} placeholders (or {user.name}) "
        "from the `values` object, e.g. \"Hello {name}\"; {{ and }} are literal braces and a "
        "name missing from `values` fails the action, naming it. upper, lower, trim (spaces at "
        "both ends) and slug (\"Crème brûlée!\" -> creme-brulee) change `text`; split cuts it "
        "at each `separator` (at spaces when empty) into a list. regex_match finds the first "
        "place the regular expression `pattern` matches: `result` is the matched text (null "
        "when none), `matched` whether it matched and `groups` the captured groups. "
        "regex_replace replaces every match by `replacement` (\\1 or \\g<name> insert a group). "
        "A pattern has at most 200 characters, runs on at most 100,000 characters of text and "
        "is stopped after half a second.",
    run=run,
    inputs=(
        Port("text", "Text", "The text to work on; for format, the template."),
        Port("list", "List", "join: the items to join."),
        Port("separator", "Text", "join: put between items; split: where to cut (empty: at "
             "spaces).", default=""),
        Port("values", "Record", "format: the object whose values fill the placeholders "
             "(e.g. {\"name\": \"=user.name\"})."),
        Port("pattern", "Text", "regex_match, regex_replace: the regular expression "
             "(Python syntax, e.g. ^(\\d{4})-(\\d{2})$)."),
        Port("replacement", "Text", "regex_replace: what replaces each match.", default=""),
    ),
    outputs=(
        Port("result", "Any", "The new text (a list for split; the matched text or null for "
             "regex_match)."),
        Port("matched", "Boolean", "regex_match: whether the pattern matched."),
        Port("groups", "List", "regex_match: the captured groups, in order (null for a group "
             "that took no part)."),
    ),
    settings=(
        Setting("operation", "choice", "What to do with the text.", default="format",
                choices=OPERATIONS),
        Setting("ignore_case", "boolean", "regex_match, regex_replace: let upper and lower "
                "case letters match each other.", default=False),
        Setting("as", "variable", "Store the result in this variable.", default=""),
        Setting("matched_as", "variable", "regex_match: store whether it matched in this "
                "variable.", default=""),
        Setting("groups_as", "variable", "regex_match: store the groups in this variable.",
                default=""),
    ),
    summary=_summary,
)
