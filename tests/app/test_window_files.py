"""Files: open, save, byte-for-byte round trip, unsaved-changes question, recovery, broken files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from app import recovery
from app.document import Document
from runtime.project import to_data
from runtime.projectfile import dumps, load

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def test_open_and_save_without_edits_keeps_every_byte(window, posts_copy):
    before = posts_copy.read_bytes()
    assert window.open_file(posts_copy)
    assert window.save()
    assert posts_copy.read_bytes() == before
    # Even when written out (Save As onto itself), the runtime's canonical text is the same.
    window.prompts.paths = [str(posts_copy)]
    assert window.save_as()
    assert posts_copy.read_bytes() == before


def test_every_example_is_written_back_as_read(window):
    for path in EXAMPLES.glob("*.actiongraph.json"):
        doc = Document.open(path)
        assert doc.text() == path.read_text(encoding="utf-8"), path.name


def test_title_marks_unsaved_edits(window, posts_copy):
    window.open_file(posts_copy)
    assert window.windowTitle().startswith("posts.actiongraph.json —")
    window.tree.select("models", "m1")
    window.tree.rename_current("Post")
    assert window.windowTitle().startswith("posts.actiongraph.json * —")
    window.undo_action.trigger()
    assert "*" not in window.windowTitle()


def test_closing_with_unsaved_edits_asks(window, posts_copy):
    window.open_file(posts_copy)
    window.tree.select("models", "m1")
    window.tree.rename_current("Post")
    window.prompts.saves = ["cancel"]
    assert not window.close()
    assert window.isVisible() and window.document.dirty
    window.prompts.saves = ["save"]
    assert window.close()
    assert load(posts_copy).model("Post") is not None
    assert not recovery.recovery_path(posts_copy).exists()


def test_discarding_on_close_leaves_the_file_and_no_recovery(window, posts_copy):
    before = posts_copy.read_bytes()
    window.open_file(posts_copy)
    window.tree.select("models", "m1")
    window.tree.rename_current("Post")
    assert window.autosave.write_now() == recovery.recovery_path(posts_copy)
    window.prompts.saves = ["discard"]
    assert window.close()
    assert posts_copy.read_bytes() == before
    assert not recovery.recovery_path(posts_copy).exists()


def test_crash_then_reopen_offers_to_recover(make_window, posts_copy, qtbot):
    first = make_window(crash=True)
    first.open_file(posts_copy)
    first.tree.select("models", "m1")
    first.tree.rename_current("Post")
    saved = first.autosave.write_now()
    assert saved == posts_copy.parent / ".posts.actiongraph.json.recovery"
    # A crash: the window goes away without being closed, so nothing is cleaned up.
    first.autosave.timer.stop()
    first.hide()
    first.deleteLater()
    qtbot.wait(10)
    os.utime(saved, (os.path.getmtime(posts_copy) + 5,) * 2)
    assert saved.exists()

    second = make_window()
    second.prompts.recovers = [True]
    assert second.open_file(posts_copy)
    assert second.prompts.asked == ["recover"]
    doc = second.document
    assert doc.project.model("Post") is not None
    assert doc.project.actions[3].variables[0].model == "Post"
    assert doc.dirty and "*" in second.windowTitle()
    assert load(posts_copy).model("Posts") is not None  # nothing written until you save
    assert second.undo_action.text() == "Undo Recover unsaved changes"
    second.prompts.paths = []
    assert second.save()
    assert load(posts_copy).model("Post") is not None
    assert not saved.exists()


def test_declining_recovery_opens_the_file_as_saved(make_window, posts_copy):
    window = make_window()
    stale = recovery.recovery_path(posts_copy)
    stale.write_text(dumps(load(posts_copy)).replace('"Posts"', '"Post"'))
    os.utime(stale, (os.path.getmtime(posts_copy) + 5,) * 2)
    window.prompts.recovers = [False]
    window.open_file(posts_copy)
    assert window.document.project.model("Posts") is not None and not window.document.dirty
    assert not stale.exists()


def test_an_older_recovery_file_is_not_offered(window, posts_copy):
    stale = recovery.recovery_path(posts_copy)
    stale.write_text(posts_copy.read_text())
    os.utime(stale, (os.path.getmtime(posts_copy) - 60,) * 2)
    window.open_file(posts_copy)
    assert window.prompts.asked == []


def test_unsaved_project_is_recovered_from_the_welcome_page(make_window, qtbot):
    first = make_window(crash=True)
    first.new_project()
    first.tree.add("models", "Notes")
    saved = first.autosave.write_now()
    assert saved is not None and saved.parent == recovery.unsaved_folder()
    first.autosave.timer.stop()
    first.hide()
    first.deleteLater()
    qtbot.wait(10)

    second = make_window()
    assert recovery.orphans() == [saved]
    buttons = [b for b in second.welcome.findChildren(type(second.welcome.new_button))
               if b.text().startswith("Recover unsaved project")]
    assert len(buttons) == 1
    buttons[0].click()
    assert second.document.project.model("Notes") is not None
    assert second.document.dirty and second.document.path is None
    second.prompts.saves = ["discard"]
    assert second.close_project()
    assert recovery.orphans() == []


def test_autosave_is_written_shortly_after_edits(window, posts_copy, qtbot):
    window.autosave.soon.setInterval(20)
    window.open_file(posts_copy)
    window.tree.select("models", "m1")
    window.tree.rename_current("Post")
    target = recovery.recovery_path(posts_copy)
    qtbot.waitUntil(target.exists, timeout=2000)
    assert load(target).model("Post") is not None
    window.undo_action.trigger()  # back to the saved state: nothing to recover
    assert not target.exists()


def test_broken_file_reports_located_errors_and_is_not_overwritten(window, tmp_path,
                                                                     posts_copy):
    data = json.loads(posts_copy.read_text())
    data["models"][0]["fields"][2]["kind"] = "Number"
    data["endpoints"][3]["method"] = "FETCH"
    broken = tmp_path / "broken.actiongraph.json"
    broken.write_text(json.dumps(data, indent=2))
    before = broken.read_bytes()

    window.open_file(posts_copy)  # a project is open: it stays open
    assert not window.open_file(broken)
    assert window.document.path == posts_copy.absolute()
    (title, text, details), = window.prompts.errors
    assert "broken.actiongraph.json" in text and "2 problems" in text
    assert any(d.startswith('models["Posts"].fields["likes"].kind') for d in details), details
    assert any(d.startswith('endpoints["Update social media post"].method') for d in details)
    assert broken.read_bytes() == before
    assert not recovery.recovery_path(broken).exists()

    not_json = tmp_path / "half.actiongraph.json"
    not_json.write_text('{"format": 1, "name": ')
    assert not window.open_file(not_json)
    assert "line 1 column" in window.prompts.errors[-1][2][0]


def test_new_from_template_is_unsaved_copy(window, tmp_path):
    window.welcome.templateRequested.emit(str(EXAMPLES / "posts.actiongraph.json"))
    doc = window.document
    assert doc.path is None and doc.project.name == "Social media posts"
    target = tmp_path / "copy.actiongraph.json"
    window.prompts.paths = [str(target)]
    assert window.save()
    assert to_data(load(target)) == to_data(load(EXAMPLES / "posts.actiongraph.json"))


def test_export_writes_a_copy_and_keeps_the_project_file(window, posts_copy, tmp_path):
    window.open_file(posts_copy)
    window.tree.select("models", "m1")
    window.tree.rename_current("Post")
    target = tmp_path / "exported.actiongraph.json"
    window.prompts.paths = [str(target)]
    assert window.export()
    assert load(target).model("Post") is not None
    assert window.document.path == posts_copy.absolute() and window.document.dirty


def test_recent_files_are_remembered(window, posts_copy):
    window.open_file(posts_copy)
    window.prompts.saves = ["discard"]
    window.close_project()
    assert window.recent_files()[0] == str(posts_copy.absolute())
    links = [b for b in window.welcome.findChildren(type(window.welcome.new_button))
             if b.text().startswith("posts.actiongraph.json")]
    links[0].click()
    assert window.document.path == posts_copy.absolute()
