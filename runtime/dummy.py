"""Dummy data: plausible values for fields and endpoint variables, chosen by kind and name.

Faker is an editor dependency, imported only when a `Dummy` is made, so the headless runtime
does not need it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from runtime.project import Endpoint, Field, Model, Project, path_variables

AUTOMATIC = ("id", "created_at")
TEXT_KINDS = ("Text",)
INTEGER_HINTS = {"age", "quantity", "qty", "count", "stock", "size", "likes", "views", "votes",
                 "rating", "number", "level", "position", "rank", "year", "limit", "offset", "page"}
PRICE_HINTS = {"price", "amount", "cost", "total", "balance", "fee", "salary", "subtotal", "tax"}
SENTENCE_HINTS = {"title", "caption", "subject", "headline", "summary", "name_of", "label"}
PARAGRAPH_HINTS = {"description", "text", "body", "content", "bio", "message", "comment", "notes",
                   "note", "about"}
IMAGE_HINTS = {"image", "photo", "avatar", "picture", "thumbnail", "logo", "cover"}
DATE_HINTS = {"date", "birthday", "birthdate", "dob", "day", "deadline"}
DATETIME_SUFFIXES = ("_at", "_time", "_on")


def words(name: str) -> list[str]:
    """The lower-case words of a name: `firstName`, `first_name`, `First-Name` -> first, name."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


class Dummy:
    """Makes dummy values, requests and rows; give a `seed` for repeatable output."""

    def __init__(self, seed: int | None = None, locale: str | None = None):
        import faker  # an editor dependency: imported only when dummy data is asked for

        self.faker = faker.Faker(locale) if locale else faker.Faker()
        self.seed = seed
        if seed is not None:
            self.faker.seed_instance(seed)
        self.random = self.faker.random

    # -- single values -------------------------------------------------------
    def value(self, kind: str, name: str, model_field: Field | None = None) -> Any:
        """A value for a field kind (Text, Integer, Decimal, ...) or a variable kind (Number,
        List, ...), chosen by hints in `name`: email, price, birthday, avatar, ...

        Values are JSON-friendly (dates as ISO text, prices as floats with two decimals); a Link
        is None (see `row` for linking to existing records); Model and File give None here."""
        if model_field is not None:
            kind = model_field.kind
        lowered = name.lower()
        parts = words(name)
        hint = set(parts)
        if kind == "Boolean":
            return self.random.random() < 0.5
        if kind == "Link":
            return None
        if kind in ("Model", "Custom Model", "File"):
            return None
        if kind == "Date":
            return self._date(hint).isoformat()
        if kind == "DateTime":
            return self._datetime()
        if kind == "JSON":
            return self._json(hint)
        if kind == "List":
            return self.faker.words(3)
        if kind in ("Integer", "Number", "Decimal"):
            return self._number(kind, lowered, parts, hint)
        return self._text(lowered, parts, hint)

    def _number(self, kind: str, lowered: str, parts: list[str], hint: set[str]) -> int | float:
        if lowered == "id" or lowered.endswith("_id") or (parts and parts[-1] == "id"):
            return 1
        if hint & PRICE_HINTS:
            return self._price() if kind != "Integer" else self.random.randint(1, 500)
        if hint & INTEGER_HINTS or kind == "Integer":
            if "year" in hint:
                return self.random.randint(1990, dt.date.today().year)
            if "age" in hint:
                return self.random.randint(18, 80)
            if "rating" in hint:
                return self.random.randint(1, 5)
            if "limit" in hint:
                return 10
            if "offset" in hint or "page" in hint:
                return 0 if "offset" in hint else 1
            return self.random.randint(0, 100)
        if kind == "Decimal":
            return round(self.random.uniform(0, 1000), 2)
        return self.random.randint(1, 100)

    def _price(self) -> float:
        """A price like 19.99: whole part and cents, the cents never ending in 0."""
        cents = self.random.choice((99, 95, 49, 25, 75, 19, 45, 89))
        return round(self.random.randint(1, 499) + cents / 100, 2)

    def _date(self, hint: set[str]) -> dt.date:
        if hint & {"birthday", "birthdate", "dob", "birth"}:
            return self.faker.date_of_birth(minimum_age=18, maximum_age=80)
        return self.faker.date_between(start_date="-2y", end_date="+30d")

    def _datetime(self) -> str:
        when = self.faker.date_time_between(start_date="-1y", end_date="now", tzinfo=dt.UTC)
        return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def _json(self, hint: set[str]) -> dict:
        return {"tag": self.faker.word(), "score": self.random.randint(1, 10),
                "active": self.random.random() < 0.5}

    def _text(self, lowered: str, parts: list[str], hint: set[str]) -> str:
        f = self.faker
        last = parts[-1] if parts else ""
        if "email" in hint or "mail" in hint:
            return f.email()
        if "password" in hint or "pass" in hint or "secret" in hint:
            return f.password(length=14, special_chars=True, digits=True, upper_case=True,
                              lower_case=True)
        if "username" in hint or "user" in hint or "login" in hint or "handle" in hint:
            return f.user_name()
        if lowered in ("first_name", "firstname") or {"first", "given"} & hint:
            return f.first_name()
        if lowered in ("last_name", "lastname", "surname") or {"last", "family"} & hint:
            return f.last_name()
        if "company" in hint or "organisation" in hint or "organization" in hint:
            return f.company()
        if "name" in hint or "author" in hint:
            return f.name()
        if "phone" in hint or "mobile" in hint or "tel" in hint:
            return f.phone_number()
        if hint & IMAGE_HINTS:
            return f"https://picsum.photos/seed/{f.lexify('????????')}/400/300"
        if "url" in hint or "website" in hint or "link" in hint or "homepage" in hint:
            return f.url()
        if "slug" in hint:
            return f.slug()
        if "city" in hint:
            return f.city()
        if "country" in hint:
            return f.country()
        if "address" in hint or "street" in hint:
            return f.street_address()
        if "zip" in hint or "postcode" in hint or "postal" in hint:
            return f.postcode()
        if "colour" in hint or "color" in hint:
            return f.color_name()
        if "currency" in hint:
            return f.currency_code()
        if "token" in hint or "uuid" in hint or "guid" in hint:
            return f.uuid4()
        if lowered == "id" or lowered.endswith("_id") or last == "id":
            return "1"
        if hint & PRICE_HINTS:
            return f"{self._price():.2f}"
        if hint & INTEGER_HINTS:
            return str(self.random.randint(0, 100))
        if hint & DATE_HINTS:
            return self._date(hint).isoformat()
        if lowered.endswith(DATETIME_SUFFIXES) or hint & {"time", "timestamp"}:
            return self._datetime()
        if hint & SENTENCE_HINTS:
            return f.sentence(nb_words=6).rstrip(".")
        if hint & PARAGRAPH_HINTS:
            return f.paragraph(nb_sentences=3)
        if "status" in hint or "state" in hint:
            return self.random.choice(("draft", "active", "archived"))
        if "role" in hint:
            return self.random.choice(("user", "editor", "admin"))
        if "type" in hint or "kind" in hint or "category" in hint or "tag" in hint:
            return f.word()
        return f.sentence(nb_words=4).rstrip(".")

    # -- requests and rows ---------------------------------------------------
    def request(self, endpoint: Endpoint, project: Project) -> dict[str, dict[str, Any]]:
        """Values for every variable of an endpoint: {"path", "query", "header", "body"}, each
        variable name -> value. A Model / Custom Model body variable is a dict of its model's
        fields (`to_http` spreads it on the body as the server expects); File variables are
        left out; a path variable called id (or ending in _id) gets 1."""
        out: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}, "body": {}}
        in_path = set(path_variables(endpoint.path))
        for v in endpoint.variables:
            if v.kind == "File" or v.location not in out:
                continue
            if v.kind in ("Model", "Custom Model"):
                model = project.model(v.model or "")
                out[v.location][v.name] = self.record(model, v.fields if v.kind == "Custom Model"
                                                      else None) if model else {}
                continue
            if v.location == "path" or v.name in in_path:
                words_ = words(v.name)
                if v.name.lower() == "id" or (words_ and words_[-1] == "id"):
                    out[v.location][v.name] = 1
                    continue
            out[v.location][v.name] = self.value(v.kind, v.name)
        return out

    def record(self, model: Model, fields: list[str] | None = None) -> dict[str, Any]:
        """A JSON-friendly dict of a model's fields (only `fields` when given); links left out."""
        record = {}
        for f in model.fields:
            if f.name in AUTOMATIC or (fields is not None and f.name not in fields):
                continue
            value = self.value(f.kind, f.name, f)
            if value is not None:
                record[f.name] = value
        return record

    def row(self, model: Model, project: Project | None = None,
            existing_ids: dict[str, list[int]] | None = None,
            taken: dict[str, set] | None = None) -> dict[str, Any]:
        """A row for a model (no id/created_at). A link gets a random id from
        `existing_ids[linked model]`, else None. `taken` (field name -> values already used)
        keeps unique fields unique across calls: pass the same dict for every row of a batch."""
        row: dict[str, Any] = {}
        for f in model.fields:
            if f.name in AUTOMATIC:
                continue
            if f.kind == "Link":
                ids = (existing_ids or {}).get(f.link or "")
                row[f.name] = self.random.choice(ids) if ids else None
                continue
            value = self.value(f.kind, f.name, f)
            if f.unique and taken is not None:
                value = self._unique(f, value, taken.setdefault(f.name, set()))
            row[f.name] = value
        return row

    def _unique(self, f: Field, value: Any, seen: set) -> Any:
        """A value of `f` not in `seen` (retrying, then adding a counter); remembers it."""
        tries = 0
        while value in seen and tries < 20:
            value = self.value(f.kind, f.name, f)
            tries += 1
        if value in seen:
            if isinstance(value, bool) or value is None:
                return value  # too few distinct values: leave it to the database to refuse
            if isinstance(value, (int, float)):
                value = max(v for v in seen if isinstance(v, (int, float))) + 1
            elif isinstance(value, str):
                base, n = value, 2
                while value in seen:
                    value = _suffixed(base, n)
                    n += 1
        seen.add(value)
        return value


def record_fields(endpoint: Endpoint, project: Project) -> dict[str, tuple[str, str]]:
    """Path variables that name records: variable -> (model, field), read from the Where
    filters of the endpoint's actions (`id = path.id`: the record's id), else, for a variable
    called id (or ending in _id), the endpoint's Model variable or the model its path names."""
    names = set(path_variables(endpoint.path))
    found: dict[str, tuple[str, str]] = {}
    for action in project.actions:
        if action.trigger.type != "endpoint" or action.trigger.endpoint != endpoint.name:
            continue
        filters = [(g.model, g.where) for g in action.variables if g.kind == "Model" and g.model]
        filters += [(e.settings.get("model"), e.settings.get("where"))
                    for e in action.events.values() if isinstance(e.settings.get("model"), str)]
        for model, where in filters:
            for field_name, variable in _path_conditions(where):
                if variable in names and project.model(model or ""):
                    found.setdefault(variable, (model, field_name))
    segments = [s.lower() for s in endpoint.path.split("/") if s and not s.startswith("{")]
    fallback = next((v.model for v in endpoint.variables
                     if v.kind in ("Model", "Custom Model") and project.model(v.model or "")),
                    None) or next((m.name for m in project.models if m.name.lower() in segments),
                                  None)
    for name in names - set(found):
        parts = words(name)
        if fallback and parts and parts[-1] == "id":
            found[name] = (fallback, "id")
    return found


def _path_conditions(where: Any):
    """(field, path variable) of every `field = path.NAME` condition in a Where filter."""
    if isinstance(where, list):
        for item in where:
            yield from _path_conditions(item)
    elif isinstance(where, dict):
        if "field" in where:
            value = where.get("value")
            m = re.fullmatch(r"=\s*path\.([A-Za-z_][A-Za-z0-9_]*)\s*", value) \
                if isinstance(value, str) else None
            if m and where.get("op", "=") in ("=", "=="):
                yield where["field"], m.group(1)
        for key in ("and", "or", "not"):
            yield from _path_conditions(where.get(key))


async def fill_rows(tx, model: Model, project: Project, n: int, dummy: Dummy,
                    progress=None) -> int:
    """Insert `n` rows of dummy data into `model` in the transaction `tx` (links point at
    existing rows, unique fields stay unique); `progress(i)` is awaited every 100 rows."""
    links = {f.link for f in model.fields if f.kind == "Link" and f.link}
    existing = {name: await tx.column(name, "id") for name in links
                if name in tx.store.metadata.tables}
    taken = {f.name: set(await tx.column(model.name, f.name)) for f in model.fields if f.unique}
    for i in range(n):
        row = dummy.row(model, project, existing_ids=existing, taken=taken)
        record = await tx.insert(model.name, row)
        if model.name in links:
            existing.setdefault(model.name, []).append(record["id"])
        if progress is not None and (i + 1) % 100 == 0:
            await progress(i + 1)
    return n


def _suffixed(text: str, n: int) -> str:
    """`ann@x.org`, 2 -> `ann2@x.org`; `Blue`, 2 -> `Blue 2`."""
    if "@" in text:
        user, _, domain = text.partition("@")
        return f"{user}{n}@{domain}"
    return f"{text} {n}"


def to_http(endpoint: Endpoint, request: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A filled request as HTTP parts: {"path": "/v1/posts/1", "params", "headers", "json"}.

    Path values are put in the path, query and header values become text (headers named with
    dashes, as the binder reads them), and Model / Custom Model variables are spread on the
    top level of the JSON body."""
    path = endpoint.path
    for name, value in request.get("path", {}).items():
        path = path.replace("{" + name + "}", _text(value))
    params = {k: _text(v) for k, v in request.get("query", {}).items() if v is not None}
    headers = {k.replace("_", "-"): _text(v) for k, v in request.get("header", {}).items()
               if v is not None}
    body: dict[str, Any] = {}
    spread = {v.name for v in endpoint.variables
              if v.location == "body" and v.kind in ("Model", "Custom Model")}
    for name, value in request.get("body", {}).items():
        if name in spread and isinstance(value, dict):
            body.update(value)
        else:
            body[name] = value
    return {"path": path, "params": params, "headers": headers, "json": body}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    return str(value)
