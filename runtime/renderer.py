"""Serialise an action's response as JSON, CSV or HTML."""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Any

import orjson

from runtime.kinds import json_default

CONTENT_TYPES = {"json": "application/json", "csv": "text/csv", "html": "text/html"}


_ORJSON = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def to_json(value: Any) -> str:
    """JSON text for a response value (dates as ISO text, decimals as numbers).

    orjson writes what the json module would (UTC times end in Z, decimals through
    json_default); what it refuses (an integer beyond 64 bits, a lone surrogate, NaN, a
    nesting too deep) goes through the json module as before."""
    try:
        return orjson.dumps(value, default=json_default, option=_ORJSON).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, default=json_default, ensure_ascii=False, separators=(",", ":"))


def _rows(value: Any) -> tuple[list[str], list[list[Any]]]:
    """A value as a table: a list of records, one record, or a single value."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return ["value"], [[value]]
    columns: list[str] = []
    for item in value:
        if isinstance(item, dict):
            columns.extend(k for k in item if k not in columns)
    if not columns:
        return ["value"], [[item] for item in value]
    return columns, [[item.get(c) if isinstance(item, dict) else None for c in columns]
                     for item in value]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return to_json(value)
    encoded = json_default(value) if not isinstance(value, (str, int, float, bool)) else value
    return str(encoded).lower() if isinstance(encoded, bool) else str(encoded)


def to_csv(value: Any) -> str:
    """CSV text: a header line, then one line per record; text (made by the CSV event) is
    passed through as it is, as HTML passes text through."""
    if isinstance(value, str):
        return value
    columns, rows = _rows(value)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_cell(c) for c in row] for row in rows)
    return out.getvalue()


def to_html(value: Any) -> str:
    """An HTML page: text as it is, records as a table."""
    if isinstance(value, str):
        return value
    columns, rows = _rows(value)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return (f"<!doctype html><meta charset=utf-8><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


RENDERERS = {"json": to_json, "csv": to_csv, "html": to_html}


def render(value: Any, response_type: str) -> tuple[str, str]:
    """The body text and content type for a response value."""
    return RENDERERS[response_type](value), CONTENT_TYPES[response_type]
