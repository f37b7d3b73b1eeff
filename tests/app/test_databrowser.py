"""The Data browser against a real Store on a SQLite file: paging, sorting, filtering, editing,
deleting, filling, resetting and highlighting a run's changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication

from app.databrowser import EMPTY, PAGE_SIZE, DataBrowser
from runtime.project import Field
from runtime.projectfile import load
from runtime.store import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
SHOTS = Path(os.environ.get("ACTIONGRAPH_SHOTS", "/tmp/shots"))


@pytest.fixture
async def setup(tmp_path, qtbot, theme):
    """The posts example plus a Comments model linking to Posts, its Store, and a browser."""
    project = load(EXAMPLES / "posts.actiongraph.json")
    project.add_model("Comments", [Field("post", "Link", link="Posts"), Field("text", "Text"),
                                   Field("meta", "JSON")])
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'posts.db'}", project)
    await store.open(project)
    browser = DataBrowser(theme)
    qtbot.addWidget(browser)
    browser.resize(900, 460)
    browser.show()
    browser.set_source(project, store)
    await browser.wait_idle()
    yield browser, store, project
    await browser.wait_idle()  # qtbot may have closed it already: this only lets tasks finish
    await store.close()


async def rows(store: Store, model: str, **kwargs) -> list[dict]:
    """Rows read back through a fresh transaction."""
    async with store.transaction(writes=False) as tx:
        return await tx.select(model, **kwargs)


async def count(store: Store, model: str) -> int:
    async with store.transaction(writes=False) as tx:
        return await tx.count(model)


def shown(browser: DataBrowser, field: str) -> list:
    return [r[field] for r in browser.records.records]


async def test_empty_state_then_fill_and_page(setup):
    browser, store, _ = setup
    assert browser.stack.currentWidget() is browser.empty and browser.empty.text() == EMPTY
    assert browser.model_combo.currentText() == "Posts"
    assert browser.count_label.text() == "0 rows"

    assert await browser.fill(120, seed=1) == 120
    assert await count(store, "Posts") == 120
    assert browser.stack.currentWidget() is browser.view
    assert browser.count_label.text() == "rows 1-50 of 120"
    assert browser.records.rowCount() == PAGE_SIZE and shown(browser, "id")[0] == 1
    assert not browser.previous_button.isEnabled() and browser.next_button.isEnabled()

    browser.next_button.click()
    await browser.wait_idle()
    assert browser.page == 2 and shown(browser, "id")[0] == 51
    await browser.go_to_page(3)
    assert browser.records.rowCount() == 20 and browser.count_label.text() == "rows 101-120 of 120"
    assert not browser.next_button.isEnabled()
    await browser.go_to_page(99)
    assert browser.page == 3


async def test_fill_links_to_existing_rows_and_shows_json_compactly(setup):
    browser, store, _ = setup
    await browser.fill(5, seed=2)
    browser.model_combo.setCurrentText("Comments")
    await browser.wait_idle()
    assert browser.model_name == "Comments" and browser.records.rowCount() == 0
    await browser.fill(300, seed=3)  # big enough to show progress
    assert not browser.progress.isVisible()
    comments = await rows(store, "Comments", limit=300)
    assert len(comments) == 300 and {c["post"] for c in comments} <= {1, 2, 3, 4, 5}
    column = [c[0] for c in browser.records.columns].index("meta")
    text = browser.records.index(0, column).data()
    assert text.startswith("{") and ", " not in text and ": " not in text


async def test_sort_in_sql_by_clicking_headers(setup):
    browser, store, _ = setup
    await browser.fill(120, seed=4)
    biggest = max(r["likes"] for r in await rows(store, "Posts", limit=1000))
    column = [c[0] for c in browser.records.columns].index("likes")
    header = browser.view.horizontalHeader()
    header.sectionClicked.emit(column)
    await browser.wait_idle()
    assert browser.sort == ("likes", False)
    assert shown(browser, "likes") == sorted(shown(browser, "likes"))
    header.sectionClicked.emit(column)
    await browser.wait_idle()
    assert browser.sort == ("likes", True)
    assert shown(browser, "likes")[0] == biggest
    assert header.sortIndicatorSection() == column
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    await browser.go_to_page(3)  # the order holds across pages: smallest at the very end
    smallest = min(r["likes"] for r in await rows(store, "Posts", limit=1000))
    assert shown(browser, "likes")[-1] == smallest

    assert await browser.sort_by("caption", False)
    captions = shown(browser, "caption")
    assert captions == sorted(captions)
    assert not await browser.sort_by("nope")
    assert 'No field "nope"' in browser.message.text()


async def test_filter_narrows_and_bad_filters_name_the_field(setup):
    browser, store, _ = setup
    await browser.fill(60, seed=5)
    await browser.add_row({"user": "zebra", "caption": "A Zebra crossing", "likes": 999})
    await browser.add_row({"user": "zed", "caption": "zebras again", "likes": 998})

    assert await browser.set_filter("caption contains zebra")
    assert browser.total == 2 and set(shown(browser, "likes")) == {998, 999}
    assert browser.count_label.text() == "rows 1-2 of 2"
    assert await browser.set_filter("likes >= 998")
    assert browser.total == 2
    assert await browser.set_filter("user = zed")
    assert shown(browser, "caption") == ["zebras again"]
    assert await browser.set_filter("Zebra")  # plain text: any text field
    assert browser.total == 2
    expected = sum(1 for r in await rows(store, "Posts", limit=1000) if r["likes"] > 50)
    assert await browser.set_filter("likes > 50")
    assert browser.total == expected and all(v > 50 for v in shown(browser, "likes"))

    assert not await browser.set_filter("nope = 3")
    assert 'No field "nope"' in browser.message.text() and "likes" in browser.message.text()
    assert browser.total == expected  # the rows stay as they were
    assert browser.filter_edit.property("problem") is True
    assert not await browser.set_filter("likes > many")
    assert "likes" in browser.message.text() and "whole number" in browser.message.text()

    assert await browser.set_filter("caption contains nothing-like-this")
    assert browser.stack.currentWidget() is browser.empty
    assert "match" in browser.empty.text()
    browser.filter_edit.clear()  # clearing the line shows every row again
    await browser.wait_idle()
    assert browser.total == 62 and not browser.message.isVisible()


async def test_edit_a_cell_persists_and_bad_values_write_nothing(setup, qtbot):
    browser, store, _ = setup
    await browser.fill(3, seed=6)
    record = await browser.set_cell(2, "caption", "Edited in place")
    assert record["caption"] == "Edited in place"
    assert (await rows(store, "Posts"))[1]["caption"] == "Edited in place"
    assert shown(browser, "caption")[1] == "Edited in place"

    # through the view, as a double-click edit does
    column = [c[0] for c in browser.records.columns].index("likes")
    index = browser.records.index(0, column)
    assert browser.records.flags(index) & Qt.ItemFlag.ItemIsEditable
    assert not browser.records.flags(browser.records.index(0, 0)) & Qt.ItemFlag.ItemIsEditable
    browser.records.setData(index, "77")
    await browser.wait_idle()
    assert (await rows(store, "Posts"))[0]["likes"] == 77
    assert index.data() == "77"

    before = await rows(store, "Posts")
    assert await browser.set_cell(1, "likes", "lots") is None
    assert "Posts.likes" in browser.message.text() and "whole number" in browser.message.text()
    browser.records.setData(index, "1.5")
    await browser.wait_idle()
    assert "Posts.likes" in browser.message.text()
    assert await rows(store, "Posts") == before
    assert await browser.set_cell(1, "likes", "12") is not None
    assert not browser.message.isVisible()


async def test_add_and_delete_rows(setup):
    browser, store, _ = setup
    added = await browser.add_row({"user": "ann", "caption": "hello", "likes": "4"})
    assert added["likes"] == 4 and (await rows(store, "Posts"))[0]["user"] == "ann"
    assert await browser.add_row({"likes": "four"}) is None
    assert "likes" in browser.message.text() and await count(store, "Posts") == 1
    assert await browser.add_row({"colour": "red"}) is None
    assert 'No field "colour"' in browser.message.text()

    browser.add_button.click()  # a new row, selected for editing
    await browser.wait_idle()
    assert await count(store, "Posts") == 2 and browser.selected_ids() == [2]

    await browser.fill(10, seed=7)
    assert await browser.delete_rows([1, 3]) == 2
    ids = [r["id"] for r in await rows(store, "Posts")]
    assert 1 not in ids and 3 not in ids and len(ids) == 10

    asked = []
    browser.confirm = lambda title, text: asked.append(title) or True
    selection = browser.view.selectionModel()
    selection.clearSelection()
    for r in (0, 1):
        selection.select(browser.records.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    browser.delete_button.click()
    await browser.wait_idle()
    assert asked == ["Delete 2 rows"] and await count(store, "Posts") == 8


async def test_reset_empties_every_model_after_confirming(setup):
    browser, store, _ = setup
    await browser.fill(30, seed=8)
    browser.model_combo.setCurrentText("Comments")
    await browser.wait_idle()
    await browser.fill(10, seed=9)
    answers = [False, True]
    browser.confirm = lambda title, text: answers.pop(0)
    browser.reset_button.click()
    await browser.wait_idle()
    assert await count(store, "Posts") == 30 and answers == [True]
    browser.reset_button.click()
    await browser.wait_idle()
    assert await count(store, "Posts") == 0 and await count(store, "Comments") == 0
    assert browser.stack.currentWidget() is browser.empty and "40 rows" in browser.note.text()
    browser.model_combo.setCurrentText("Posts")
    await browser.wait_idle()
    assert browser.total == 0
    assert (await browser.add_row({"caption": "fresh"}))["id"] == 1  # ids start again


async def test_highlight_marks_a_runs_changes(setup):
    browser, store, _ = setup
    await browser.fill(5, seed=10)
    async with store.transaction() as tx:
        await tx.update("Posts", tx.by_id("Posts", 2), {"caption": "changed by a run"})
        await tx.insert("Posts", {"caption": "made by a run"})
        await tx.delete("Posts", tx.by_id("Posts", 4))
        changes = list(tx.changes)
    browser.highlight(changes)
    await browser.wait_idle()
    tints = {r["id"]: browser.records.index(i, 1).data(Qt.ItemDataRole.BackgroundRole)
             for i, r in enumerate(browser.records.records)}
    assert set(tints) == {1, 2, 3, 5, 6}  # the refresh shows the run's rows
    assert tints[2] is not None and tints[6] is not None
    assert tints[2] != tints[6]  # updated and inserted look different
    assert tints[1] is None and tints[3] is None
    assert browser.note.isVisible() and "Posts #4" in browser.note.text()
    browser.highlight([])
    assert browser.records.index(1, 1).data(Qt.ItemDataRole.BackgroundRole) is None
    assert not browser.note.isVisible()


async def test_source_changes_and_no_store(setup, theme, qtbot):
    browser, store, project = setup
    await browser.fill(3, seed=11)
    browser.set_source(project, None)
    await browser.wait_idle()
    assert not browser.fill_button.isEnabled() and "open a project" in browser.empty.text()
    browser.set_source(project, store)
    await browser.wait_idle()
    assert browser.total == 3 and browser.fill_button.isEnabled()

    other = DataBrowser()
    qtbot.addWidget(other)
    other.set_source(None, None)
    await other.wait_idle()
    assert other.records.rowCount() == 0 and not other.reset_button.isEnabled()


async def test_screenshot(setup, qtbot):
    browser, store, _ = setup
    await browser.fill(120, seed=12)
    await browser.sort_by("likes", True)
    async with store.transaction() as tx:
        top = browser.records.records[1]["id"]
        await tx.update("Posts", tx.by_id("Posts", top), {"caption": "Updated by the last run"})
        await tx.delete("Posts", tx.by_id("Posts", 7))
        changes = list(tx.changes)
    browser.highlight(changes)
    await browser.wait_idle()
    browser.view.selectRow(3)
    SHOTS.mkdir(parents=True, exist_ok=True)
    qtbot.wait(50)
    QApplication.processEvents()
    assert browser.grab().save(str(SHOTS / "databrowser.png"))
