"""CSV: read CSV text or an uploaded file into records, or write records as CSV text."""

import csv
import io
import json

from nodes.kind import EventKind, InputProblem, Port, Raises, Setting, describe_value
from nodes.values import json_default

OPERATIONS = ("parse", "build")
MAX_ROWS = 10_000




async def run(ctx, inputs, settings):
    """Parse `text` into a list of records, or build CSV text from `records`."""
    operation = settings["operation"]
    header = settings.get("header", True)
    try:
        delimiter = _delimiter(settings.get("delimiter"))
        if operation == "parse":
            result = _parse(_source(inputs.get("text")), delimiter, header)
        else:
            result = _build(inputs.get("records"), delimiter, header)
    except InputProblem as e:
        raise ctx.error(f"{operation}: {e}", e.status) from None
    return {"result": result}




def _delimiter(value) -> str:
    if value in (None, ""):
        return ","
    if value in ("\\t", "tab", "TAB"):
        return "\t"
    if not isinstance(value, str) or len(value) != 1 or value in "\"\r\n":
        raise InputProblem(f'`delimiter` must be one character such as , ; | or \\t, got "{value}"')
    return value


def _source(value) -> str:
    """The text to read: text as it is, or a File's content as UTF-8 (a BOM is dropped)."""
    if isinstance(value, dict) and isinstance(value.get("content"), bytes):
        name = value.get("filename") or "the file"
        try:
            return value["content"].decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputProblem(f'"{name}" is not UTF-8 text (save it as "CSV UTF-8")', 422) from None
    if isinstance(value, str):
        return value.removeprefix("\ufeff")
    raise InputProblem(f"`text` must be CSV text or a File, got {describe_value(value)}")


class Rows(list):
    """Parsed records that remember the line each came from: an error while looping over them
    names the CSV line (runtime.executor)."""

    lines: list[int]


def _parse(text: str, delimiter: str, header: bool) -> list:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: Rows = Rows()
    rows.lines = []
    columns: list[str] | None = None
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines, and the ",,," lines spreadsheets leave at the end
            if header and columns is None:
                columns = _columns(row)
                continue
            if len(rows) == MAX_ROWS:
                raise InputProblem(f"the CSV has more than {MAX_ROWS:,} rows; split it into smaller "
                               "files", 413)
            rows.lines.append(reader.line_num)
            if columns is None:
                rows.append(row)
            elif len(row) > len(columns):
                raise InputProblem(f"line {reader.line_num} has {len(row)} values but the header has "
                               f"{len(columns)} columns", 422)
            else:
                rows.append(dict(zip(columns, row + [None] * (len(columns) - len(row)),
                                     strict=True)))
    except csv.Error as e:
        raise InputProblem(f"line {reader.line_num} is not valid CSV: {e}", 422) from None
    return rows


def _columns(row: list[str]) -> list[str]:
    columns = [cell.strip() for cell in row]
    for i, name in enumerate(columns):
        if not name:
            raise InputProblem(f"column {i + 1} of the header row has no name", 422)
        if name in columns[:i]:
            raise InputProblem(f'two columns of the header row are called "{name}"', 422)
    return columns


def _build(records, delimiter: str, header: bool) -> str:
    if not isinstance(records, (list, tuple)):
        raise InputProblem(f"`records` must be a list of records, got {describe_value(records)}")
    columns: dict[str, None] = {}
    for i, item in enumerate(records):
        if isinstance(item, dict):
            columns.update(dict.fromkeys(map(str, item)))
        elif not isinstance(item, (list, tuple)):
            raise InputProblem(f"item {i} of `records` is {describe_value(item)}, not a record or a list")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    if header and columns:
        writer.writerow(columns)
    for item in records:
        cells = [item.get(c) for c in columns] if isinstance(item, dict) else item
        writer.writerow([_cell(c) for c in cells])
    return out.getvalue()


def _cell(value) -> str:
    """A value as CSV text: empty for null, true/false, JSON for objects and lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=json_default, ensure_ascii=False, separators=(",", ":"))
    return str(json_default(value))


def _summary(settings) -> str:
    if settings.get("operation") == "build":
        return f"build from {settings.get('records')!s:.20}"
    return f"parse {settings.get('text')!s:.24}"


EVENT = EventKind(
    id="csv",
    reads=False,
    name="CSV",
    category="Data",
    doc="Read or write CSV; `operation` chooses which. parse: read `text` (CSV text, or an "
        "uploaded File variable in UTF-8) into a list of records whose keys are the header "
        "row's column names (with `header` off, a list of lists). Every value is text (empty "
        "cells are \"\", missing ones null); Create converts them to the fields' kinds. Blank "
        "lines are skipped; a row with more values than the header, or more than 10,000 rows, "
        "fails the action with status 422 or 413, naming the line. build: write `records` (a "
        "list of records, e.g. from a Query) as CSV text with a header row of every key.",
    run=run,
    inputs=(
        Port("text", "Any", "parse: the CSV text, or a File variable (e.g. =body.upload)."),
        Port("records", "Records", "build: the records (or lists of values) to write."),
    ),
    outputs=(Port("result", "Any", "The list of records (parse) or the CSV text (build)."),),
    settings=(
        Setting("operation", "choice", "What to do.", default="parse", choices=OPERATIONS),
        Setting("delimiter", "text", "The character between values: , ; | or \\t for a tab.",
                default=","),
        Setting("header", "boolean", "The first row names the columns (parse reads it, build "
                "writes it).", default=True),
        Setting("as", "variable", "Store the result in this variable.", default=""),
    ),
    errors=(Raises(422, "parse: the text is not valid CSV or a row does not fit the header"),
            Raises(413, "parse: the CSV has more than 10,000 rows")),
    summary=_summary,
)
