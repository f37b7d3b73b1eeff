"""Seed rows: a fresh database starts with them, never over rows; `serve --seed` headless."""

import shutil

import pytest
from argon2 import PasswordHasher
from conftest import EXAMPLES
from procs import ACTIONGRAPH, Server, free_port, request

from runtime.errors import ProjectError
from runtime.project import Field, Project
from runtime.projectfile import load
from runtime.seed import apply_seed, seed_empty_database, seed_new_tables, table_names
from runtime.store import Store

pytestmark = pytest.mark.both_databases


async def rows(store: Store, model: str) -> list[dict]:
    async with store.transaction(writes=False) as tx:
        return await tx.select(model)


async def test_a_fresh_database_starts_with_the_seed_rows_once(database):
    project = load(EXAMPLES / "posts.actiongraph.json")
    url = database.url("seeded")
    store = Store(url, project)
    try:
        before = await table_names(store)
        await store.open(project)
        assert await seed_new_tables(store, project, before) == {"Posts": 3}
        first = await rows(store, "Posts")
        assert [(r["id"], r["user"], r["likes"]) for r in first] == \
            [(1, "ada", 12), (2, "grace", 40), (3, "linus", 7)]
        # Opened again (the next start): the table exists, nothing is added.
        before = await table_names(store)
        await store.open(project)
        assert await seed_new_tables(store, project, before) == {}
        # Even when every row was deleted since: seeds never come back by themselves.
        async with store.transaction() as tx:
            await tx.clear()
        before = await table_names(store)
        await store.open(project)
        assert await seed_new_tables(store, project, before) == {}
        assert await rows(store, "Posts") == []
    finally:
        await store.close()


async def test_seed_rows_never_go_over_rows(database):
    project = load(EXAMPLES / "shoes.actiongraph.json")
    store = Store(database.url("shoes"), project)
    try:
        await store.open(project)
        async with store.transaction() as tx:
            await tx.insert("Shoes", {"shoe_type": "Clog", "price": 10})
        assert await apply_seed(store, project.models) == {}
        assert await seed_empty_database(store, project) == ({}, ["Shoes"])
        assert [r["shoe_type"] for r in await rows(store, "Shoes")] == ["Clog"]
    finally:
        await store.close()


async def test_a_seed_row_the_database_refuses_names_model_row_and_field(database):
    project = Project(name="Shop")
    model = project.add_model("Items", [Field("name", "Text", required=True),
                                        Field("stock", "Integer")])
    model.seed = [{"name": "Cup", "stock": 3}, {"name": "Pot", "stock": "many"}]
    store = Store(database.url("items"), project)
    try:
        await store.open(project)
        with pytest.raises(ProjectError) as info:
            await apply_seed(store, project.models)
        assert str(info.value.problems[0]) == \
            'seed["Items"][1]: Items.stock: expected a whole number, got "many"'
        assert await rows(store, "Items") == []  # one transaction: nothing half-seeded
    finally:
        await store.close()


def test_the_signup_seed_user_logs_in_with_the_documented_password():
    users = load(EXAMPLES / "signup.actiongraph.json").model("Users").seed
    assert [u["email"] for u in users] == ["demo@example.org"]
    assert users[0]["password"].startswith("$argon2id$")
    assert PasswordHasher().verify(users[0]["password"], "demo password")


def test_serve_seed_fills_an_empty_database_and_leaves_one_with_rows(tmp_path):
    project = tmp_path / "posts.actiongraph.json"
    shutil.copy(EXAMPLES / "posts.actiongraph.json", project)
    for attempt in ("fresh", "again"):
        port = free_port()
        server = Server([*ACTIONGRAPH, "serve", str(project), "--port", str(port), "--seed"],
                        tmp_path, port, name=attempt).start()
        try:
            server.wait_ready()
            status, body = request(f"{server.url}/v1/posts/2")
            assert status == 200 and body["user"] == "grace"
            status, body = request(f"{server.url}/v1/posts/1", "PUT", {"caption": "Edited"})
            assert status == 200 and body["caption"] == "Edited"
            status, body = request(f"{server.url}/v1/posts")
            assert len(body) == 3  # the second start added nothing
        finally:
            server.stop()
            server.kill()
        if attempt == "fresh":
            assert "Seed: added 3 rows to Posts" in server.out()
        else:
            assert "Seed: nothing added, the database holds rows already (Posts)" in server.out()


def test_serve_without_seed_starts_empty(tmp_path):
    project = tmp_path / "posts.actiongraph.json"
    shutil.copy(EXAMPLES / "posts.actiongraph.json", project)
    port = free_port()
    server = Server([*ACTIONGRAPH, "serve", str(project), "--port", str(port)], tmp_path,
                    port).start()
    try:
        server.wait_ready()
        assert request(f"{server.url}/v1/posts/1")[0] == 404
        assert "Seed" not in server.out()
    finally:
        server.stop()
        server.kill()
