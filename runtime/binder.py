"""The binder: parse and validate a request against an endpoint's variables, before any event."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from runtime.errors import FieldError, ValidationError
from runtime.kinds import KindError, convert_field, convert_variable
from runtime.project import Endpoint, Project

AUTOMATIC = ("id", "created_at")
MAX_BODY_KEY = web.AppKey("max_body", int)
JSON_TYPES = ("application/json",)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class Binder:
    """Turns one request into the `path`, `query`, `header` and `body` namespaces of an action."""

    def __init__(self, endpoint: Endpoint, project: Project):
        self.endpoint = endpoint
        # (name, kind, required, the name to look up: headers use dashes, x_client -> x-client)
        self.path = [(v.name, v.kind, True, v.name) for v in endpoint.variables
                     if v.location == "path"]
        self.query = [(v.name, v.kind, v.required, v.name) for v in endpoint.variables
                      if v.location == "query"]
        self.header = [(v.name, v.kind, v.required, v.name.replace("_", "-"))
                       for v in endpoint.variables if v.location == "header"]
        self.body: list[Callable[[dict, list[FieldError], dict], None]] = []
        self.claimed: set[str] = set(AUTOMATIC)
        self.body_required = False
        for v in endpoint.variables:
            if v.location != "body":
                continue
            self.body_required = self.body_required or v.required
            if v.kind in ("Model", "Custom Model"):
                model = project.model(v.model or "")
                fields = [f for f in (model.fields if model else [])
                          if v.kind == "Model" or f.name in v.fields]
                self.claimed.update(f.name for f in fields)
                self.body.append(_spread(v.name, [(f.name, f.kind, f.required and v.required)
                                                  for f in fields]))
            else:
                self.claimed.add(v.name)
                self.body.append(_scalar(v.name, v.kind, v.required))
        self.multipart = endpoint.request_type == "multipart"

    async def bind(self, request: web.Request, params: dict[str, str]) -> dict[str, Any]:
        """The validated variables; raises ValidationError (400, 413, 415 or 422)."""
        errors: list[FieldError] = []
        path = _convert_all("path", self.path, params, errors)
        query = _convert_all("query", self.query, request.query, errors)
        header = _convert_all("header", self.header, request.headers, errors)
        if errors:
            raise ValidationError(errors, status=400)
        body: dict[str, Any] = {}
        if self.body:
            data = await self._read_body(request)
            for bind in self.body:
                bind(data, errors, body)
            unknown = sorted(k for k in data if k not in self.claimed)
            for key in unknown:
                expected = ", ".join(sorted(self.claimed - set(AUTOMATIC))) or "nothing"
                errors.append(FieldError(f"body.{key}", f"unknown field (expected: {expected})"))
            if errors:
                raise ValidationError(errors, status=422)
        return {"path": path, "query": query, "header": header, "body": body, "auth": {}}

    async def _read_body(self, request: web.Request) -> dict[str, Any]:
        ctype = request.content_type
        try:
            if self.multipart and request.body_exists:
                if ctype not in FORM_TYPES:
                    raise ValidationError([FieldError(
                        "body", f'expected multipart/form-data, got "{ctype}"')], status=415)
                try:
                    form = await request.post()
                except (ValueError, LookupError) as e:  # LookupError: a part's unknown charset
                    raise ValidationError([FieldError("body", f"not a valid form: {e}")],
                                          status=400) from None
                return {k: _form_value(v) for k, v in form.items()}
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            limit = request.app.get(MAX_BODY_KEY)
            detail = f" of {limit} bytes" if limit else ""
            raise ValidationError([FieldError("body", f"the body is larger than the limit{detail}")],
                                  status=413) from None
        if not raw:
            if self.body_required:
                raise ValidationError([FieldError("body", "a body is required")], status=422)
            return {}
        if ctype not in JSON_TYPES and not ctype.endswith("+json"):
            raise ValidationError([FieldError("body", f'expected application/json, got "{ctype}"')],
                                  status=415)
        data = parse_json(raw)
        if not isinstance(data, dict):
            raise ValidationError([FieldError("body", "expected a JSON object")], status=422)
        return data


MAX_EXPONENT = 308  # numbers beyond a float's range are refused, as before (1e400)


def _exact(text: str) -> Decimal:
    """A JSON number with a fraction or exponent as the exact Decimal it writes (0.1 stays 0.1,
    so sums of prices in a List or JSON variable are exact, as Number variables are)."""
    value = Decimal(text)
    if value and value.adjusted() > MAX_EXPONENT:
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_json(raw: bytes) -> Any:
    """A request body as JSON; anything a JSON parser elsewhere would refuse is a 400: NaN and
    Infinity, numbers too large for a float, text with an unpaired surrogate, deep nesting."""
    def bad(message: str) -> ValidationError:
        return ValidationError([FieldError("body", message)], status=400)

    try:
        # json.loads(raw, parse_float=..., ...) made a decoder for every body
        data = _DECODE(raw.decode(json.detect_encoding(raw), "surrogatepass")
                       if isinstance(raw, (bytes, bytearray)) else raw)
    except json.JSONDecodeError as e:
        raise bad(f"not valid JSON (line {e.lineno} column {e.colno})") from None
    except UnicodeDecodeError:
        raise bad("not valid JSON (not UTF-8 text)") from None
    except ValueError as e:  # NaN, Infinity, 1e400, an integer of more than 4300 digits
        reason = "a number has too many digits" if "digits" in str(e) else str(e)
        raise bad(f"not valid JSON: {reason}") from None
    except RecursionError:
        raise bad("not valid JSON: nested too deeply") from None
    if _SURROGATE.search(raw):  # "\ud800" alone decodes to text no database can store
        try:
            json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
        except (UnicodeEncodeError, RecursionError):
            raise bad("not valid JSON: text with an unpaired surrogate (\\ud800-\\udfff)") from None
    return data


def _convert_all(location: str, specs, source, errors: list[FieldError]) -> dict[str, Any]:
    """Convert path, query or header values to their variables' kinds, collecting errors."""
    values: dict[str, Any] = {}
    for name, kind, required, key in specs:
        raw = source.get(key)
        if raw is None or raw == "":
            if required:
                errors.append(FieldError(f"{location}.{name}", "is required"
                                         + (f' (header "{key}")' if location == "header" else "")))
            values[name] = None
            continue
        try:
            values[name] = convert_variable(kind, raw)
        except KindError as e:
            errors.append(FieldError(f"{location}.{name}", str(e)))
    return values


def _form_value(value: Any) -> Any:
    if isinstance(value, web.FileField):
        content = value.file.read()
        return {"filename": value.filename, "content_type": value.content_type,
                "size": len(content), "content": content}
    return value


def _spread(name: str, fields: list[tuple[str, str, bool]]):
    """A Model or Custom Model body variable: its fields are read from the top of the body."""
    def bind(data: dict, errors: list[FieldError], body: dict) -> None:
        record = {}
        for field, kind, required in fields:
            value = data.get(field)
            if value is None:
                if required:
                    errors.append(FieldError(f"body.{field}", "is required"))
                if field in data:
                    record[field] = None
                continue
            try:
                record[field] = convert_field(kind, value)
            except KindError as e:
                errors.append(FieldError(f"body.{field}", str(e)))
        body[name] = record
    return bind


def _scalar(name: str, kind: str, required: bool):
    """A body variable read from the body's key of the same name."""
    def bind(data: dict, errors: list[FieldError], body: dict) -> None:
        value = data.get(name)
        if value is None:
            if required:
                errors.append(FieldError(f"body.{name}", "is required"))
            body[name] = None
            return
        if kind == "File" and not isinstance(value, dict):
            errors.append(FieldError(f"body.{name}", "expected a file"))
            return
        try:
            body[name] = convert_variable(kind, value)
        except KindError as e:
            errors.append(FieldError(f"body.{name}", str(e)))
    return bind


_DECODE = json.JSONDecoder(parse_float=_exact, parse_constant=_no_constant).decode
