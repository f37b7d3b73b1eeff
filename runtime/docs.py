"""A readable, self-contained API docs page made from an OpenAPI document.

Plain HTML with inline CSS and no scripts, so it works offline, saved as a file, and inside the
editor's QTextBrowser (which knows a subset of HTML 4: tables and attributes, no flexbox or
grid). Layout is therefore done with tables, colours with `bgcolor` and `<font>` where Qt
ignores CSS.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from runtime.openapi import NULL, primary, resolve_ref

METHOD_COLOURS = {"get": "#1565c0", "post": "#2e7d32", "put": "#b45309", "patch": "#00796b",
                  "delete": "#c62828"}
METHODS = ("get", "post", "put", "patch", "delete")
TEXT = "#1f2328"
MUTED = "#57606a"
LINE = "#d0d7de"
CODE_BG = "#f6f8fa"
HEAD_BG = "#eef1f4"

STYLE = f"""
body {{ font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans", Helvetica, Arial, sans-serif;
       color: {TEXT}; background-color: #ffffff; font-size: 14px; }}
h1 {{ font-size: 26px; margin-bottom: 4px; }}
h2 {{ font-size: 20px; margin-top: 28px; border-bottom: 1px solid {LINE}; }}
h3 {{ font-size: 17px; margin-top: 6px; margin-bottom: 4px; }}
h4 {{ font-size: 14px; margin-top: 14px; margin-bottom: 4px; color: {MUTED}; }}
code, pre {{ font-family: "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
            font-size: 13px; }}
pre {{ margin: 0; white-space: pre-wrap; }}
table.grid {{ border-collapse: collapse; margin-top: 2px; }}
table.grid th {{ text-align: left; background-color: {HEAD_BG}; }}
table.grid td, table.grid th {{ border: 1px solid {LINE}; vertical-align: top; }}
.muted {{ color: {MUTED}; }}
.req {{ color: #c62828; font-weight: bold; }}
a {{ color: #0969da; text-decoration: none; }}
"""


def render_docs_html(spec: dict[str, Any]) -> str:
    """The docs page of an OpenAPI document: contents, every endpoint, data models, errors."""
    return _Page(spec).render()


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _anchor(kind: str, name: str) -> str:
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    return "".join(f"<p>{_inline(p)}</p>" for p in parts)


def _inline(text: str) -> str:
    """Escape, keep line breaks, and show `code` spans as code."""
    escaped = _e(text).replace("\n", "<br>")
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def _badge(method: str) -> str:
    colour = METHOD_COLOURS.get(method, "#444444")
    return (f'<td bgcolor="{colour}" align="center" width="84" nowrap '
            f'style="background-color:{colour}; white-space:nowrap">'
            f'<font color="#ffffff"><b>{_e(method.upper())}</b></font></td>')


def _grid(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<table class="grid" border="1" cellspacing="0" cellpadding="6" '
            f'style="border-collapse:collapse; border-color:{LINE}" width="100%">'
            f'<tr bgcolor="{HEAD_BG}">{head}</tr>{body}</table>')


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return (f'<table width="100%" cellspacing="0" cellpadding="8" border="0">'
            f'<tr><td bgcolor="{CODE_BG}" style="background-color:{CODE_BG}">'
            f"<pre>{_e(text)}</pre></td></tr></table>")


class _Page:
    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.components = spec.get("components") or {}
        self.schemas = self.components.get("schemas") or {}
        server_error = (self.components.get("responses") or {}).get("ServerError") or {}
        ref = ((server_error.get("content") or {}).get("application/json") or {}).get("schema") or {}
        self.error_name = ref.get("$ref", "#/Error").rsplit("/", 1)[-1]
        self.operations = [
            (path, method, op)
            for path, item in (spec.get("paths") or {}).items()
            for method, op in item.items() if method in METHODS and isinstance(op, dict)
        ]

    # -- pieces ----------------------------------------------------------------------------------
    def deref(self, item: dict, section: str) -> dict:
        ref = item.get("$ref", "") if isinstance(item, dict) else ""
        if ref.startswith(f"#/components/{section}/"):
            return (self.components.get(section) or {}).get(ref.rsplit("/", 1)[-1], {})
        return item

    def label(self, schema: Any) -> str:
        """A short type for people: `integer`, `array of Posts`, `string (date), or null`."""
        if not isinstance(schema, dict):
            return "any"
        nullable = False
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            nullable = NULL in branches
            kept = [b for b in branches if b != NULL and not b.get("deprecated")]
            if len(kept) > 1:
                text = " or ".join(self.label(b) for b in kept)
                return text + (", or null" if nullable else "")
        types = schema.get("type")
        if isinstance(types, list) and "null" in types:
            nullable = True
        text = self._label(primary(schema))
        return text + (", or null" if nullable and text != "null" else "")

    def _label(self, schema: dict) -> str:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return f'<a href="#{_anchor("model", name)}">{_e(name)}</a>'
        if "const" in schema:
            return f"<code>{_e(json.dumps(schema['const'], ensure_ascii=False))}</code>"
        if "enum" in schema:
            return "one of " + ", ".join(f"<code>{_e(json.dumps(v))}</code>" for v in schema["enum"])
        if "allOf" in schema:
            return self.label(schema["allOf"][-1])
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            if len(kinds) != 1:
                return " or ".join(kinds) or "null"
            kind = kinds[0]
        if kind == "array":
            items = schema.get("items")
            if schema.get("maxItems") == 0:
                return "empty array"
            return "array of " + self.label(items) if items else "array"
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "binary":
                return "file"
            return f"string ({_e(fmt)})" if fmt else "string"
        if kind == "object":
            keys = list(schema.get("properties") or {})
            if keys and len(keys) <= 4:
                return "object (" + ", ".join(f"<code>{_e(k)}</code>" for k in keys) + ")"
            return "object"
        if kind:
            return _e(kind)
        return "any JSON"

    def lenient(self) -> str:
        """One note on the lenient input forms (deprecated branches) instead of one per field."""
        titles: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("deprecated") and node.get("title") and node["title"] not in titles:
                    titles.append(node["title"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.spec.get("paths"))
        if not titles:
            return ""
        return (f'<p><font color="{MUTED}">Send values as the types below. The server also '
                f'accepts, without relying on it: {_e("; ".join(titles))}. The OpenAPI document '
                "lists these as deprecated alternatives.</font></p>")

    def required_mark(self, required: bool) -> str:
        return '<span class="req"><font color="#c62828"><b>yes</b></font></span>' if required \
            else f'<font color="{MUTED}">no</font>'

    def fields_table(self, schema: dict, required_column: bool = True) -> str:
        schema = resolve_ref(schema, self.schemas)
        properties = schema.get("properties") or {}
        if not properties:
            return ""
        required = set(schema.get("required") or [])
        rows = []
        for name, prop in properties.items():
            description = prop.get("description", "") if isinstance(prop, dict) else ""
            row = [f"<code>{_e(name)}</code>", self.label(prop), self.required_mark(name in required),
                   _inline(description)]
            rows.append(row if required_column else row[:2] + row[3:])
        headers = ["Field", "Type", "Required", "Description"]
        return _grid(headers if required_column else ["Field", "Type", "Description"], rows)

    # -- sections --------------------------------------------------------------------------------
    def render(self) -> str:
        info = self.spec.get("info") or {}
        title = info.get("title") or "API"
        servers = self.spec.get("servers") or []
        base = servers[0]["url"].rstrip("/") if servers else ""
        spec_link = f"{base}/openapi.json" if base else "openapi.json"
        head = [f"<h1>{_e(title)}</h1>",
                f'<p class="muted"><font color="{MUTED}">API version {_e(info.get("version", ""))}'
                f' &middot; OpenAPI {_e(self.spec.get("openapi", ""))}'
                + (f" &middot; server <code>{_e(base)}</code>" if base else "")
                + f' &middot; <a href="{_e(spec_link)}">openapi.json</a></font></p>',
                _paragraphs(info.get("description", "")), self.lenient()]
        parts = ["\n".join(head), self.contents(), self.auth_section()]
        parts += [self.operation(path, method, op) for path, method, op in self.operations]
        parts += [self.models_section(), self.errors_section()]
        body = "\n".join(p for p in parts if p)
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{_e(title)} API</title><style>{STYLE}</style></head>\n"
                f'<body bgcolor="#ffffff" text="{TEXT}">\n{body}\n</body></html>\n')

    def contents(self) -> str:
        if not self.operations:
            return "<h2>Endpoints</h2><p>This project has no endpoints yet.</p>"
        rows = []
        for path, method, op in self.operations:
            anchor = _anchor("op", op.get("operationId") or f"{method}{path}")
            lock = f' <font color="{MUTED}">(login)</font>' if op.get("security") else ""
            rows.append(f'<tr>{_badge(method)}<td><a href="#{anchor}"><code>{_e(path)}</code></a>'
                        f'</td><td>{_e(op.get("summary", ""))}{lock}</td></tr>')
        return ('<h2><a name="contents" id="contents"></a>Endpoints</h2>'
                '<table cellspacing="2" cellpadding="5" border="0">' + "".join(rows) + "</table>")

    def auth_section(self) -> str:
        schemes = self.components.get("securitySchemes") or {}
        if not schemes:
            return ""
        rows = [[f"<code>{_e(name)}</code>", _inline(s.get("description", ""))]
                for name, s in schemes.items()]
        return ('<h2><a name="auth" id="auth"></a>Logging in</h2>'
                "<p>Endpoints marked <i>login</i> need a token: send "
                "<code>Authorization: Bearer TOKEN</code> with the token a login endpoint "
                "answers.</p>" + _grid(["Auth profile", "How"], rows))

    def operation(self, path: str, method: str, op: dict) -> str:
        anchor = _anchor("op", op.get("operationId") or f"{method}{path}")
        out = [f'<p><a name="{anchor}" id="{anchor}"></a></p>',
               f"<h2>{_e(op.get('summary') or path)}</h2>",
               f'<table cellspacing="0" cellpadding="6" border="0"><tr>{_badge(method)}'
               f'<td><code><b>{_e(path)}</b></code></td></tr></table>',
               _paragraphs(op.get("description", ""))]
        security = op.get("security") or []
        if security:
            names = ", ".join(f"<code>{_e(n)}</code>" for req in security for n in req)
            out.append(f'<p><b>Login:</b> a bearer token of {names} '
                       f'(<a href="#auth">how</a>).</p>')
        else:
            out.append(f'<p><font color="{MUTED}">No login needed.</font></p>')
        params = op.get("parameters") or []
        if params:
            rows = []
            for p in params:
                p = self.deref(p, "parameters")
                rows.append([f"<code>{_e(p.get('name'))}</code>", _e(p.get("in", "")),
                             self.label(p.get("schema")),
                             self.required_mark(bool(p.get("required"))),
                             _inline(p.get("description", "")),
                             f"<code>{_e(json.dumps(p['example'], ensure_ascii=False))}</code>"
                             if "example" in p else ""])
            out.append("<h4>Parameters</h4>" + _grid(
                ["Name", "In", "Type", "Required", "Description", "Example"], rows))
        body = op.get("requestBody")
        if body:
            body = self.deref(body, "requestBodies")
            for media, content in (body.get("content") or {}).items():
                need = "required" if body.get("required") else "optional"
                out.append(f"<h4>Request body <font color=\"{MUTED}\">({_e(media)}, {need})"
                           f"</font></h4>")
                if body.get("description"):
                    out.append(_paragraphs(body["description"]))
                out.append(self.fields_table(content.get("schema") or {}))
                examples = content.get("examples") or {}
                if examples:
                    for x in examples.values():
                        out.append(f"<p>Example: {_e(x.get('summary', ''))}</p>" + _code(x.get("value")))
                elif "example" in content:
                    out.append("<p>Example:</p>" + _code(content["example"]))
        out.append("<h4>Responses</h4>")
        rows = []
        samples = []
        for status, response in (op.get("responses") or {}).items():
            response = self.deref(response, "responses")
            contents = response.get("content") or {}
            media = next(iter(contents), "")
            schema = contents.get(media, {}).get("schema") if media else None
            what = (f"{self.label(schema)} <font color=\"{MUTED}\">({_e(media)})</font>"
                    if media else f'<font color="{MUTED}">no body</font>')
            rows.append([f"<b>{_e(status)}</b>", _inline(response.get("description", "")), what])
            if media and str(status).startswith("2"):
                example = contents[media].get("example")
                if example is not None or "example" in contents[media]:
                    samples.append((status, example))
        out.append(_grid(["Status", "Meaning", "Body"], rows))
        for status, example in samples:
            out.append(f"<p>Example answer ({_e(status)}):</p>" + _code(example))
        out.append('<p><a href="#contents">&uarr; contents</a></p>')
        return "\n".join(x for x in out if x)

    def models_section(self) -> str:
        names = [n for n in self.schemas if self.schemas[n].get("properties") and n != self.error_name]
        if not names:
            return ""
        out = ['<h2><a name="models" id="models"></a>Data models</h2>',
               "<p>The records endpoints answer with: every field is always there (null when it "
               "has no value). <code>id</code> and <code>created_at</code> are set by the "
               "server.</p>"]
        for name in names:
            anchor = _anchor("model", name)
            out.append(f'<h3><a name="{anchor}" id="{anchor}"></a>{_e(name)}</h3>')
            out.append(self.fields_table(self.schemas[name], required_column=False))
        return "\n".join(out)

    def errors_section(self) -> str:
        error = self.schemas.get(self.error_name)
        if not error:
            return ""
        anchor = _anchor("model", self.error_name)
        example = (error.get("examples") or [{"error": "something went wrong"}])[0]
        return "\n".join([
            f'<h2><a name="{anchor}" id="{anchor}"></a>Errors</h2>',
            "<p>Every error answers a JSON object with an <code>error</code> message; input "
            "errors list each refused value in <code>fields</code>, errors of an action name "
            "the action and the event that failed.</p>",
            self.fields_table(error), "<p>Example:</p>", _code(example)])
