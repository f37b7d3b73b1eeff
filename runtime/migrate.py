"""Bring the database to the shape of the data models when a server starts, keeping every row."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime.errors import MigrationError
from runtime.kinds import KindError, convert_field, json_default
from runtime.project import FIELD_KINDS, Model
from runtime.tables import AUTOMATIC, ID_TYPE, UTCDateTime, build_metadata, column_type, utcnow

SCHEMA_TABLE = "_actiongraph_schema"  # one row: the shape of the models last applied
SHAPE_FORMAT = 1
TEMP_PREFIX = "_actiongraph_new_"  # a table being rebuilt
RENAME_PREFIX = "_actiongraph_renaming_"  # a table on its way to a name another table frees
BATCH = 500
ALLOW = "--allow-data-loss"

SCHEMA = sa.Table(
    SCHEMA_TABLE, sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("shape", sa.Text, nullable=False),
    sa.Column("applied_at", UTCDateTime(), nullable=False),
)

# How a value that does not fit a kind is described in a refusal: (one, many).
NOT_A = {
    "Text": ("is not text", "are not text"),
    "Integer": ("is not a whole number", "are not whole numbers"),
    "Decimal": ("is not a number", "are not numbers"),
    "Boolean": ("is not true or false", "are not true or false"),
    "Date": ("is not a date like 2024-05-31", "are not dates like 2024-05-31"),
    "DateTime": ("is not a date and time", "are not dates and times"),
    "JSON": ("is not JSON data", "are not JSON data"),
    "Link": ("is not a record id", "are not record ids"),
}


async def migrate(engine: AsyncEngine, models: list[Model], *,
                  allow_data_loss: bool = False) -> list[str]:
    """Bring the database to the shape of `models`; returns what changed (nothing: [])."""
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        # SQLite ignores this pragma inside a transaction, so it is set before BEGIN. With it
        # off, dropping a rebuilt table neither fails nor sets the links pointing at it to NULL.
        foreign_keys = await conn.run_sync(_foreign_keys, None) if sqlite else False
        if foreign_keys:
            await conn.run_sync(_foreign_keys, False)
        try:
            await conn.begin()
            try:
                lines = await conn.run_sync(lambda sync: _Migration(
                    sync, models, allow_data_loss).run())
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()
        finally:
            if foreign_keys:
                await conn.run_sync(_foreign_keys, True)
    return lines


def _foreign_keys(conn: sa.Connection, on: bool | None) -> bool:
    """Read (`on` None) or set SQLite's foreign key enforcement, outside any transaction."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if on is None:
            cursor.execute("PRAGMA foreign_keys")
            return bool(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
        return on
    finally:
        cursor.close()


# -- shapes: what the models look like, as far as the database is concerned -----------------

@dataclass
class _Field:
    """A field as the database sees it; `link` is the linked model's key."""

    key: str
    name: str
    kind: str | None  # None: a column of a type no kind makes (found in an older database)
    unique: bool = False
    link: str | None = None
    sql: str = ""  # the column's SQL type, shown when kind is None

    def data(self) -> dict:
        """The field as JSON data for the bookkeeping table."""
        return {"id": self.key, "name": self.name, "kind": self.kind, "unique": self.unique,
                "link": self.link}


@dataclass
class _Model:
    """A model as the database sees it: a table with fields."""

    key: str
    name: str
    fields: list[_Field]

    def data(self) -> dict:
        """The model as JSON data for the bookkeeping table."""
        return {"id": self.key, "name": self.name, "fields": [f.data() for f in self.fields]}


def _key(item_id: str, name: str) -> str:
    """The stable id, or the name marked with `~` for an item saved without one."""
    return item_id or "~" + name


def _shape(models: list[Model]) -> list[_Model]:
    """The shapes of the project's models; duplicate ids or names are a MigrationError."""
    problems = []
    keys: dict[str, str] = {}
    for m in models:
        key = _key(m.id, m.name)
        if key in keys.values() or m.name in keys:
            problems.append(f"{m.name}: two data models share this name or id ({key})")
        keys[m.name] = key
    shapes = []
    for m in models:
        fields: list[_Field] = []
        for f in m.fields:
            key = _key(f.id, f.name)
            if f.name in AUTOMATIC:
                problems.append(f"{m.name}.{f.name}: {f.name} is made automatically")
            if any(x.key == key or x.name == f.name for x in fields):
                problems.append(f"{m.name}.{f.name}: two fields share this name or id ({key})")
            link = keys.get(f.link, "~" + str(f.link)) if f.kind == "Link" and f.link else None
            if link is not None and f.link not in keys:
                problems.append(f"{m.name}.{f.name}: links to {f.link}, which is not a data model")
            fields.append(_Field(key, f.name, f.kind, bool(f.unique), link))
        shapes.append(_Model(keys[m.name], m.name, fields))
    if problems:
        raise MigrationError("\n".join(problems))
    return shapes


def _from_data(data: dict) -> list[_Model]:
    """Shapes from the bookkeeping table's JSON."""
    return [_Model(m["id"], m["name"], [
        _Field(f["id"], f["name"], f["kind"], f["unique"], f["link"]) for f in m["fields"]])
        for m in data["models"]]


def _pair(olds: list, news: list) -> list[list]:
    """Match old and new items by key; by name only where one side was saved without an id."""
    by_key = {o.key: o for o in olds}
    pairs = [[by_key.get(n.key), n] for n in news]
    used = {o.key for o, _ in pairs if o is not None}
    left = {o.name: o for o in olds if o.key not in used}
    for pair in pairs:
        o = left.get(pair[1].name)
        if pair[0] is None and o is not None and "~" in (o.key[:1], pair[1].key[:1]):
            pair[0] = o
            used.add(o.key)
            del left[o.name]
    return pairs + [[o, None] for o in olds if o.key not in used]


# -- the plan -------------------------------------------------------------------------------

@dataclass
class _Tally:
    """What a pass over a field's values found; `first*` hold (row id, value)."""

    converted: int = 0
    bad: int = 0
    first_bad: tuple | None = None
    cleared: int = 0  # links to the old target's records
    first_cleared: tuple | None = None
    dangling: int = 0  # links to records the target does not have
    first_dangling: tuple | None = None
    repeated: int = 0
    first_repeated: tuple | None = None  # (row id, value, id of the row that had it first)
    seen: dict = field(default_factory=dict)


@dataclass
class _FieldPlan:
    """One field's change: added (no old), removed (no new) or kept."""

    old: _Field | None
    new: _Field | None
    convert: bool = False  # kind changed: every value goes through convert_field
    relink: bool = False  # link target changed: existing links are cleared
    check_links: bool = False  # values must be ids of the target's records
    check_unique: bool = False  # values must not repeat
    link_changed: bool = False
    values: int = 0  # non-empty values of a removed field
    first: tuple | None = None
    tally: _Tally = field(default_factory=_Tally)

    @property
    def kept(self) -> bool:
        """The field exists before and after."""
        return self.old is not None and self.new is not None

    @property
    def kind_changed(self) -> bool:
        """The kept field changes kind."""
        return self.kept and self.old.kind != self.new.kind

    @property
    def unique_changed(self) -> bool:
        """The kept field turns unique on or off."""
        return self.kept and self.old.unique != self.new.unique


@dataclass
class _Plan:
    """One model's change: created (no old), removed (no new) or kept."""

    old: _Model | None
    new: _Model | None
    adopted: bool = False  # a table found without bookkeeping, matched by names
    fields: list[_FieldPlan] = field(default_factory=list)
    rows: int = 0
    rebuild: bool = False


class _Migration:
    """One migration on one connection inside one transaction."""

    def __init__(self, conn: sa.Connection, models: list[Model], allow_data_loss: bool):
        self.conn = conn
        self.models = list(models)
        self.allow = allow_data_loss
        self.dialect = conn.dialect
        self.metadata = build_metadata(self.models)
        self.lines: list[str] = []
        self.refusals: list[str] = []
        self.recorded: str | None = None
        self.tables: set[str] = set()
        self.plans: list[_Plan] = []
        self.old_names: dict[str, str] = {}  # old model key -> table name before
        self.tables_before: dict[str, str] = {}  # new model key -> table name before

    def quote(self, name: str) -> str:
        """An identifier quoted for this database."""
        return self.dialect.identifier_preparer.quote(name)

    # -- steps ------------------------------------------------------------------------
    def run(self) -> list[str]:
        """Plan, check every change against the rows, then apply all or nothing."""
        new = _shape(self.models)
        inspector = sa.inspect(self.conn)
        self.tables = set(inspector.get_table_names())
        old = self._existing(inspector, self._read_recorded())
        self._plan(inspector, old, new)
        violations = self._foreign_key_violations()
        for plan in self.plans:
            self._check(plan)
        if self.refusals:
            raise MigrationError(_refusal_message(self.refusals))
        self._apply()
        if self._foreign_key_violations() > violations:
            raise MigrationError("the changed tables hold links to records that do not exist; "
                                 "nothing was changed. Please report this as a bug.")
        self._record(new)
        return self.lines

    def _read_recorded(self) -> list[_Model] | None:
        """The shape last applied, or None for a database without bookkeeping."""
        if SCHEMA_TABLE not in self.tables:
            return None
        text = self.conn.execute(sa.select(SCHEMA.c.shape).where(SCHEMA.c.id == 1)).scalar()
        if text is None:
            return None
        data = json.loads(text)
        if data.get("format") != SHAPE_FORMAT:
            raise MigrationError(f"{SCHEMA_TABLE}: unknown format {data.get('format')!r}; this "
                                 "database was migrated by a newer Actiongraph.")
        self.recorded = text
        return _from_data(data)

    def _existing(self, inspector, recorded: list[_Model] | None) -> list[_Model]:
        """The recorded shape, less the tables and columns someone removed by hand."""
        out = []
        for m in recorded or []:
            if m.name in self.tables:
                columns = {c["name"] for c in inspector.get_columns(m.name)}
                out.append(_Model(m.key, m.name, [f for f in m.fields if f.name in columns]))
        return out

    def _plan(self, inspector, old: list[_Model], new: list[_Model]) -> None:
        """Pair old and new models, adopt tables found by name, and decide each field's change."""
        pairs = _pair(old, new)
        old_names = {o.name for o in old}
        adopt = [p for p in pairs
                 if p[0] is None and p[1].name in self.tables and p[1].name not in old_names]
        owner = {o.name: o.key for o in old} | {n.name: n.key for _, n in adopt}
        for pair in adopt:
            pair[0] = self._reflect(inspector, pair[1], owner)
            if pair[0] is None:
                pairs.remove(pair)
        adopted = {id(p[0]) for p in adopt if p[0] is not None}
        renamed_keys = {o.key: n.key for o, n in pairs if o is not None and n is not None}
        self.old_names = {o.key: o.name for o in old} | {n.key: n.name for _, n in adopt}
        self.tables_before = {n.key: o.name for o, n in pairs if o is not None and n is not None}
        for o, n in pairs:
            plan = _Plan(o, n, adopted=o is not None and id(o) in adopted)
            self.plans.append(plan)
            if o is None or n is None:
                continue
            if o.name.lower() != n.name.lower() and n.name.lower() in _lower(self.tables) \
                    and n.name.lower() not in _lower(old_names):
                self.refusals.append(
                    f"{o.name}: cannot rename the model to {n.name}: a table called {n.name} "
                    "already exists that is not a data model. Rename or remove that table, "
                    "or choose another name.")
            old_field_names = _lower(f.name for f in o.fields)
            for of, nf in _pair(o.fields, n.fields):
                fp = _FieldPlan(of, nf)
                plan.fields.append(fp)
                if fp.kept:
                    self._plan_field(fp, renamed_keys)
                    if of.name != nf.name and nf.name.lower() in old_field_names:
                        plan.rebuild = True  # names swap: a rebuild maps columns by id
                    plan.rebuild |= fp.kind_changed or fp.unique_changed or fp.link_changed
                elif nf is None:
                    plan.rebuild = True
                else:
                    plan.rebuild |= nf.unique or nf.link is not None
            plan.fields.sort(key=lambda fp: fp.new is None)

    def _plan_field(self, fp: _FieldPlan, renamed_keys: dict[str, str]) -> None:
        """Decide what a kept field's values must go through."""
        o, n = fp.old, fp.new
        old_link = renamed_keys.get(o.link, o.link)
        fp.link_changed = "Link" in (o.kind, n.kind) and old_link != n.link
        fp.convert = fp.kind_changed
        if n.kind == "Link" and n.link:
            if o.kind == "Link" and o.link and fp.link_changed:
                fp.relink = True
            elif fp.kind_changed or fp.link_changed:
                fp.check_links = True
        fp.check_unique = n.unique and (not o.unique or fp.convert or fp.check_links)

    def _reflect(self, inspector, n: _Model, owner: dict[str, str]) -> _Model | None:
        """The shape of a table found without bookkeeping, its columns matched by name."""
        columns = inspector.get_columns(n.name)
        if not {"id", "created_at"} <= {c["name"] for c in columns}:
            self.refusals.append(
                f"{n.name}: a table called {n.name} already exists but was not made by "
                "Actiongraph (it lacks the id and created_at columns). Rename or remove that "
                "table, or rename the model.")
            return None
        links = {fk["constrained_columns"][0]: fk["referred_table"]
                 for fk in inspector.get_foreign_keys(n.name)
                 if len(fk["constrained_columns"]) == 1}
        unique = {u["column_names"][0] for u in inspector.get_unique_constraints(n.name)
                  if len(u["column_names"]) == 1}
        unique |= {i["column_names"][0] for i in inspector.get_indexes(n.name)
                   if i.get("unique") and len(i["column_names"]) == 1}
        by_name = {f.name: f for f in n.fields}
        fields = []
        for c in columns:
            if c["name"] in AUTOMATIC:
                continue
            nf = by_name.get(c["name"])
            target = links.get(c["name"])
            kind = self._kind_of(c["type"], nf.kind if nf else None, target is not None)
            link = owner.get(target, "~" + str(target)) if target and kind == "Link" else None
            fields.append(_Field(nf.key if nf else "~" + c["name"], c["name"], kind,
                                 c["name"] in unique, link, self._sql(c["type"])))
        return _Model(n.key, n.name, fields)

    def _sql(self, type_: sa.types.TypeEngine) -> str:
        """A column type as this database writes it, e.g. `NUMERIC(28,10)`."""
        try:
            return type_.compile(dialect=self.dialect).upper().replace(" ", "")
        except sa.exc.CompileError:
            return ""

    def _kind_of(self, type_, preferred: str | None, has_link: bool) -> str | None:
        """The kind whose column type a reflected column has; the model's own kind wins ties."""
        sql = self._sql(type_)
        for kind in ([preferred] if preferred else []) + (["Link"] if has_link else []) + [
                k for k in FIELD_KINDS if k != "Link"]:
            if sql and self._sql(column_type(kind)) == sql:
                return kind
        return None

    # -- checks (nothing is written) ---------------------------------------------------
    def _check(self, plan: _Plan) -> None:
        """Count what a model's change would lose; refusals collect in self.refusals."""
        o, n = plan.old, plan.new
        if o is None:
            return
        if n is None:
            plan.rows = self.conn.execute(
                sa.select(sa.func.count()).select_from(sa.table(o.name))).scalar_one()
            if plan.rows and not self.allow:
                self.refusals.append(
                    f"{o.name}: removing the model would delete its {_rows(plan.rows)}. Keep the "
                    f"model, delete its rows first, or run with {ALLOW} to delete them.")
            return
        for fp in plan.fields:
            if fp.new is None:
                self._check_removed_field(n.name, o.name, fp)
        if any(_processed(fp) for fp in plan.fields):
            targets = {key: self.tables_before.get(key) for key in self._link_targets(plan)}
            self._scan(o.name, plan.fields, targets, sink=None)
            for fp in plan.fields:
                if fp.kept:
                    self._judge(n.name, fp)

    def _check_removed_field(self, model: str, table: str, fp: _FieldPlan) -> None:
        """Count the values a removed field holds."""
        t = sa.table(table, sa.column("id"), sa.column(fp.old.name))
        column = t.c[fp.old.name]
        fp.values = self.conn.execute(
            sa.select(sa.func.count()).select_from(t).where(column.is_not(None))).scalar_one()
        if fp.values:
            row = self.conn.execute(sa.select(t.c.id, column).where(column.is_not(None))
                                    .order_by(t.c.id).limit(1)).one()
            fp.first = tuple(row)
            if not self.allow:
                self.refusals.append(
                    f"{model}: removing field {fp.old.name} would lose data: "
                    f"{_hold(fp.values, 'a value', 'values')} in it {_first(fp.first)}. Keep "
                    f"the field, empty it first, or run with {ALLOW} to delete those values.")

    def _judge(self, model: str, fp: _FieldPlan) -> None:
        """Turn what a pass over a field's values found into refusals."""
        t, o, n = fp.tally, fp.old, fp.new
        where = f"{model}.{n.name}"
        if t.bad:
            one, many = NOT_A[n.kind]
            what = f"{_hold(t.bad, 'a value that', 'values that')} {one if t.bad == 1 else many}"
            self.refusals.append(
                f"{where}: changing kind {_kind(o)} -> {n.kind} would lose data: {what} "
                f"{_first(t.first_bad)}. Fix those rows or change the kind back.")
        if t.cleared and not self.allow:
            old_target = self._old_model_name(o.link)
            self.refusals.append(
                f"{where}: changing the link {old_target} -> {self._model_name(n.link)} would "
                f"lose data: {_rows(t.cleared)} {_verb(t.cleared, 'links', 'link')} to "
                f"{old_target} records "
                f"{_first(t.first_cleared)}. Clear those links, change the link back, or run "
                f"with {ALLOW} to clear them.")
        if t.dangling and not self.allow:
            self.refusals.append(
                f"{where}: {_rows(t.dangling)} would link to {self._model_name(n.link)} records "
                f"that do not exist {_first(t.first_dangling)}. Fix those rows, change the "
                f"field back, or run with {ALLOW} to clear those links.")
        if t.repeated:
            row_id, value, first_id = t.first_repeated
            self.refusals.append(
                f"{where}: cannot make the field unique: {_rows(t.repeated)} "
                f"{_verb(t.repeated, 'repeats', 'repeat')} a value "
                f"another row holds (first: id {row_id}, {_show(value)}, as id {first_id}). "
                "Change those rows or turn unique off.")

    def _link_targets(self, plan: _Plan) -> set[str]:
        """The keys of the models whose records a model's checked links must exist in."""
        return {fp.new.link for fp in plan.fields if fp.kept and fp.check_links}

    def _model_name(self, key: str | None) -> str:
        """A new model's name by key."""
        names = {m.key: m.name for p in self.plans if (m := p.new) is not None}
        return names.get(key) or _unknown(key)

    def _old_model_name(self, key: str | None) -> str:
        """A model's name before the migration, by key."""
        return self.old_names.get(key) or _unknown(key)

    def _foreign_key_violations(self) -> int:
        """How many rows of SQLite link to records that do not exist (0 elsewhere)."""
        if self.dialect.name != "sqlite":
            return 0
        return len(self.conn.exec_driver_sql("PRAGMA foreign_key_check").all())

    # -- the pass over a table's rows ------------------------------------------------------
    def _scan(self, table: str, fields: list[_FieldPlan], targets: dict[str, str | None],
              sink: sa.TableClause | None) -> None:
        """Read a table's rows in batches, convert and check values, and insert them into sink."""
        kept = [fp for fp in fields if fp.kept]
        for fp in kept:
            fp.tally = _Tally()
        source = sa.table(table, sa.column("id", ID_TYPE), sa.column("created_at"),
                          *[sa.column(fp.old.name, _read_type(fp)) for fp in kept])
        last = None
        while True:
            query = sa.select(*source.c).order_by(source.c.id).limit(BATCH)
            if last is not None:
                query = query.where(source.c.id > last)
            rows = self.conn.execute(query).all()
            if not rows:
                break
            last = rows[-1][0]
            out = [[r[0], r[1], *[_value(fp, r[0], v) for fp, v in zip(kept, r[2:], strict=True)]]
                   for r in rows]
            for i, fp in enumerate(kept, start=2):
                if fp.check_links:
                    self._check_links(fp, out, i, targets.get(fp.new.link))
                if fp.check_unique:
                    _check_unique(fp, out, i)
            if sink is not None:
                names = [c.name for c in sink.c]
                batch = [dict(zip(names, row, strict=True)) for row in out]
                self.conn.execute(sa.insert(sink), batch)
            if len(rows) < BATCH:
                break

    def _check_links(self, fp: _FieldPlan, out: list[list], i: int, target: str | None) -> None:
        """Clear and count the links of a batch that point at records the target lacks."""
        ids = {row[i] for row in out if row[i] is not None}
        if not ids:
            return
        found: set = set()
        if target is not None:
            t = sa.table(target, sa.column("id"))
            found = set(self.conn.execute(sa.select(t.c.id).where(t.c.id.in_(ids))).scalars())
        tally = fp.tally
        for row in out:
            if row[i] is not None and row[i] not in found:
                tally.dangling += 1
                tally.first_dangling = tally.first_dangling or (row[0], row[i])
                row[i] = None

    # -- changes -------------------------------------------------------------------------
    def _apply(self) -> None:
        """Drop, rename, create, then alter or rebuild each kept model."""
        for plan in self.plans:
            if plan.new is None:
                self._drop(plan.old.name)
                deleted = f" ({_rows(plan.rows)} deleted)" if plan.rows else ""
                self.lines.append(f"removed table {plan.old.name}{deleted}")
        kept = [p for p in self.plans if p.old is not None and p.new is not None]
        renamed = [p for p in kept if p.old.name != p.new.name]
        if any(p.new.name.lower() in _lower(k.old.name for k in kept) for p in renamed):
            for i, plan in enumerate(renamed):
                self._rename(plan.old.name, f"{RENAME_PREFIX}{i}")
            for i, plan in enumerate(renamed):
                self._rename(f"{RENAME_PREFIX}{i}", plan.new.name)
        else:
            for plan in renamed:
                self._rename(plan.old.name, plan.new.name)
        self.lines += [f"renamed table {p.old.name} -> {p.new.name}" for p in renamed]
        created = [self.metadata.tables[p.new.name] for p in self.plans if p.old is None]
        self.metadata.create_all(self.conn, tables=created, checkfirst=False)
        self.lines += [f"created table {t.name}" for t in created]
        for plan in kept:
            if plan.adopted:
                self.lines.append(f"adopted existing table {plan.new.name}")
            if plan.rebuild:
                self._rebuild(plan)
            else:
                self._alter(plan)
            self._fill_defaults(plan)
            self.lines += self._field_lines(plan)
        if any(p.rebuild for p in kept) and self.dialect.name != "sqlite":
            self._restore_foreign_keys()

    def _alter(self, plan: _Plan) -> None:
        """Rename and add columns in place (a change that needs no rebuild)."""
        table = self.quote(plan.new.name)
        for fp in plan.fields:
            if fp.kept and fp.old.name != fp.new.name:
                self.conn.exec_driver_sql(f"ALTER TABLE {table} RENAME COLUMN "
                                          f"{self.quote(fp.old.name)} TO {self.quote(fp.new.name)}")
            elif fp.old is None:
                column = self.metadata.tables[plan.new.name].c[fp.new.name]
                ddl = sa.schema.CreateColumn(column).compile(dialect=self.dialect)
                self.conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {ddl}")

    def _fill_defaults(self, plan: _Plan) -> None:
        """An added field with a default gets it on the rows already there, as a new row would
        (rather than staying empty)."""
        table = self.metadata.tables[plan.new.name]
        model = next(m for m in self.models if m.name == plan.new.name)
        for fp in plan.fields:
            spec = model.field(fp.new.name) if fp.old is None and fp.new is not None else None
            if spec is not None and spec.default is not None:
                value = convert_field(spec.kind, spec.default)
                column = table.c[fp.new.name]
                filled = self.conn.execute(sa.update(table).where(column.is_(None))
                                           .values({fp.new.name: value})).rowcount
                if filled:
                    self.lines.append(f"{plan.new.name}: set {fp.new.name} to its default on "
                                      f"{filled} existing row{'s' if filled != 1 else ''}")

    def _rebuild(self, plan: _Plan) -> None:
        """Copy a table into a new one of the new shape, converting values, keeping ids."""
        name = plan.new.name
        temp = TEMP_PREFIX + name
        model = next(m for m in self.models if m.name == name)
        metadata = build_metadata(self.models + [Model(name=temp, fields=model.fields)])
        metadata.tables[temp].create(self.conn)
        sink = sa.table(temp, sa.column("id", ID_TYPE), sa.column("created_at"), *[
            sa.column(fp.new.name, column_type(fp.new.kind) if fp.convert else sa.types.NULLTYPE)
            for fp in plan.fields if fp.kept])
        targets = {key: self._model_name(key) for key in self._link_targets(plan)}
        self._scan(name, plan.fields, targets, sink)
        self._drop(name)
        self._rename(temp, name)
        if self.dialect.name == "postgresql":
            self.conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence(:t, 'id'), coalesce(max(id), 0) + 1, "
                f"false) FROM {self.quote(name)}"), {"t": self.quote(name)})

    def _drop(self, name: str) -> None:
        """Drop a table (elsewhere than SQLite with the links to it; they are made again)."""
        cascade = "" if self.dialect.name == "sqlite" else " CASCADE"
        self.conn.exec_driver_sql(f"DROP TABLE {self.quote(name)}{cascade}")

    def _rename(self, old: str, new: str) -> None:
        """Rename a table; SQLite also rewrites the links other tables declare to it."""
        self.conn.exec_driver_sql(f"ALTER TABLE {self.quote(old)} RENAME TO {self.quote(new)}")

    def _restore_foreign_keys(self) -> None:
        """Declare again the links a dropped table took with it (not needed on SQLite)."""
        inspector = sa.inspect(self.conn)
        for table in self.metadata.sorted_tables:
            have = {tuple(fk["constrained_columns"])
                    for fk in inspector.get_foreign_keys(table.name)}
            for constraint in table.foreign_key_constraints:
                if tuple(constraint.column_keys) not in have:
                    self.conn.execute(sa.schema.AddConstraint(constraint))

    def _field_lines(self, plan: _Plan) -> list[str]:
        """What changed in a kept model's fields, one line each."""
        model = plan.new.name
        lines = []
        for fp in plan.fields:
            o, n, t = fp.old, fp.new, fp.tally
            if o is None:
                lines.append(f"{model}: added field {n.name}")
                continue
            if n is None:
                deleted = f" ({_count(fp.values, 'value')} deleted)" if fp.values else ""
                lines.append(f"{model}: removed field {o.name}{deleted}")
                continue
            if o.name != n.name:
                lines.append(f"{model}: renamed field {o.name} -> {n.name}")
            cleared = t.cleared + t.dangling
            lost = f", {_count(cleared, 'link')} cleared" if cleared else ""
            if fp.kind_changed:
                lines.append(f"{model}.{n.name}: kind {_kind(o)} -> {n.kind} "
                             f"({_count(t.converted, 'row')} converted{lost})")
            elif fp.link_changed:
                lines.append(f"{model}.{n.name}: link {self._old_model_name(o.link)} -> "
                             f"{self._model_name(n.link)}" + (f" ({lost[2:]})" if lost else ""))
            if fp.unique_changed:
                lines.append(f"{model}.{n.name}: " + ("now unique" if n.unique else
                                                      "no longer unique"))
        return lines

    def _record(self, new: list[_Model]) -> None:
        """Remember the shape just applied, when it differs from the one recorded."""
        text = json.dumps({"format": SHAPE_FORMAT, "models": [m.data() for m in new]},
                          sort_keys=True, separators=(",", ":"))
        if text == self.recorded:
            return
        if SCHEMA_TABLE not in self.tables:
            SCHEMA.create(self.conn)
        values = {"shape": text, "applied_at": utcnow()}
        if self.conn.execute(sa.update(SCHEMA).where(SCHEMA.c.id == 1).values(values)).rowcount:
            return
        self.conn.execute(sa.insert(SCHEMA).values(id=1, **values))


# -- values ---------------------------------------------------------------------------------

def _processed(fp: _FieldPlan) -> bool:
    """Whether a field's values need more than a plain copy."""
    return fp.kept and (fp.convert or fp.relink or fp.check_links or fp.check_unique)


def _read_type(fp: _FieldPlan) -> sa.types.TypeEngine:
    """Values to convert are read as their old kind; all others are copied as stored."""
    if fp.convert and fp.old.kind:
        return column_type(fp.old.kind)
    return sa.types.NULLTYPE


def _value(fp: _FieldPlan, row_id: Any, value: Any) -> Any:
    """A kept field's value in the new shape (None when it cannot be kept), counted."""
    t = fp.tally
    if value is None:
        return None
    if fp.relink:
        t.cleared += 1
        t.first_cleared = t.first_cleared or (row_id, value)
        return None
    if fp.convert:
        try:
            value = convert_field(fp.new.kind, _plain(value, fp.new.kind))
        except KindError:
            t.bad += 1
            t.first_bad = t.first_bad or (row_id, value)
            return None
        t.converted += 1
    return value


def _plain(value: Any, kind: str) -> Any:
    """A value as read, made plain for conversion: 2.5000000000 -> 2.5, dates to text as ISO."""
    if isinstance(value, Decimal) and value.is_finite():
        value = value.to_integral_value() if value == value.to_integral_value() \
            else value.normalize()
    if kind == "Text":
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.date):
            return str(json_default(value))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value, default=json_default, ensure_ascii=False)
    elif isinstance(value, str) and kind in ("Integer", "Decimal", "Link", "Boolean", "Date",
                                             "DateTime"):
        return value.strip()  # stored text " 12 " still becomes 12 (requests take no spaces)
    return value


def _check_unique(fp: _FieldPlan, out: list[list], i: int) -> None:
    """Count the values of a batch that a row before already holds."""
    t = fp.tally
    for row in out:
        value = row[i]
        if value is None:
            continue
        try:
            key = (0, value, type(value) is bool)
            hash(key)
        except TypeError:
            key = (1, json.dumps(value, sort_keys=True, default=json_default))
        if key in t.seen:
            t.repeated += 1
            t.first_repeated = t.first_repeated or (row[0], value, t.seen[key])
        else:
            t.seen[key] = row[0]


# -- words ----------------------------------------------------------------------------------

def _refusal_message(refusals: list[str]) -> str:
    """One refusal as it is; several under a heading, one a line."""
    if len(refusals) == 1:
        return refusals[0]
    return (f"{len(refusals)} changes to the data models were refused; nothing was changed:\n"
            + "\n".join(f"- {r}" for r in refusals))


def _count(n: int, noun: str) -> str:
    """`1 row`, `2 rows`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _rows(n: int) -> str:
    """`1 row`, `2 rows`."""
    return _count(n, "row")


def _verb(n: int, one: str, many: str) -> str:
    """The verb that agrees with a count."""
    return one if n == 1 else many


def _hold(n: int, one: str, many: str) -> str:
    """`1 row holds a value`, `2 rows hold values`."""
    return f"1 row holds {one}" if n == 1 else f"{n} rows hold {many}"


def _first(first: tuple) -> str:
    """`(first: id 3, "many")`."""
    return f"(first: id {first[0]}, {_show(first[1])})"


def _show(value: Any, limit: int = 40) -> str:
    """A value as a user would write it: text in quotes, shortened."""
    try:
        text = json.dumps(value, default=json_default, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 2] + "…" + text[-1]


def _kind(f: _Field) -> str:
    """A field's kind, or its SQL type when no kind makes that column."""
    return f.kind or f.sql or "unknown"


def _lower(names) -> set[str]:
    """Names as SQLite compares them (it ignores case)."""
    return {name.lower() for name in names}


def _unknown(key: str | None) -> str:
    """A model outside the project: its name from a `~name` key, or `(none)`."""
    return "(none)" if key is None else key.lstrip("~")
