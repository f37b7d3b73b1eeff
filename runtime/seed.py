"""Seed rows: the rows per data model that a fresh database starts with (the file's `seed`).

They are added to a table when it is created (the editor's live database) or, with
`actiongraph serve --seed`, to a database whose tables are all empty; never over rows.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.errors import ActionError, Problem, ProjectError
from runtime.project import Model, Project
from runtime.store import AUTOMATIC, Store


def seed_problems(data: dict[str, Any]) -> list[Problem]:
    """Problems of a file's seed rows that no database could take (after the schema passed):
    an unknown model or field, or an automatic field; each names the model, row and field.

    Values are checked when the rows are added (the database's own rules: kinds, required,
    unique), so a field whose kind changes later does not make the file unreadable."""
    models = {m.get("name"): m for m in data.get("models") or []}
    problems: list[Problem] = []
    for name, rows in (data.get("seed") or {}).items():
        place = f'seed["{name}"]'
        model = models.get(name)
        if model is None:
            known = ", ".join(str(n) for n in models) or "none yet"
            problems.append(Problem(place, f'there is no data model "{name}" (models: {known})'))
            continue
        fields = [f["name"] for f in model.get("fields") or []]
        for i, row in enumerate(rows):
            for key in row:
                if key in AUTOMATIC:
                    problems.append(Problem(f"{place}[{i}].{key}", f"{key} is set automatically: "
                                            "leave it out (rows get ids 1, 2, 3, ... in order)"))
                elif key not in fields:
                    problems.append(Problem(f"{place}[{i}].{key}", f'{name} has no field "{key}" '
                                            f'(fields: {", ".join(fields) or "none"})'))
    return problems


async def table_names(store: Store) -> set[str]:
    """The tables the database holds now (ask before `Store.open` to know which it creates)."""
    async with store.transaction(writes=False) as tx:
        return set(await tx.conn.run_sync(lambda conn: sa.inspect(conn).get_table_names()))


async def apply_seed(store: Store, models: list[Model]) -> dict[str, int]:
    """Add the seed rows of these models to their tables that hold no rows, in one transaction
    (linked models first); returns the rows added per model."""
    seeded = {m.name: m for m in models if m.seed and m.name in store.metadata.tables}
    if not seeded:
        return {}
    tables = sa.schema.sort_tables([store.metadata.tables[name] for name in seeded])
    counts: dict[str, int] = {}
    async with store.transaction() as tx:
        for table in tables:
            model = seeded[table.name]
            if await tx.count(model.name):
                continue  # never over rows
            for i, row in enumerate(model.seed):
                try:
                    await tx.insert(model.name, row)
                except ActionError as e:
                    raise ProjectError([Problem(f'seed["{model.name}"][{i}]', str(e))]) from None
            counts[model.name] = len(model.seed)
    return counts


async def seed_new_tables(store: Store, project: Project, before: set[str]) -> dict[str, int]:
    """Seed the tables `Store.open` just created (those not in `before`); returns rows added."""
    return await apply_seed(store, [m for m in project.models if m.name not in before])


async def seed_empty_database(store: Store, project: Project) -> tuple[dict[str, int], list[str]]:
    """Seed every model when no table of the project holds rows: (rows added per model, []);
    otherwise nothing is added: ({}, the models whose tables hold rows)."""
    async with store.transaction(writes=False) as tx:
        full = [m.name for m in project.models
                if m.name in store.metadata.tables and await tx.count(m.name)]
    if full:
        return {}, full
    return await apply_seed(store, project.models), []


def describe(counts: dict[str, int]) -> str:
    """`3 rows to Posts, 1 row to Users`."""
    return ", ".join(f"{n} {'row' if n == 1 else 'rows'} to {name}" for name, n in counts.items())


__all__ = ["apply_seed", "describe", "seed_empty_database", "seed_new_tables", "seed_problems",
           "table_names"]
