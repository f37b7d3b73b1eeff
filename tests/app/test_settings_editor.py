"""The Settings tab (auth profiles, mail, HTTP, secret), schedules explained, Run buttons."""

from __future__ import annotations

import re
import shutil
from datetime import datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from app import tree as ops
from app.editors import ActionEditor, EndpointEditor, schedule_explanation
from app.editors.settings import SettingsEditor, format_lifetime, parse_lifetime
from runtime.project import to_data
from runtime.projectfile import load


def open_posts(window, posts_copy):
    assert window.open_file(posts_copy)
    return window.document


def settings_tab(window) -> SettingsEditor:
    """The Settings editor in a tab of the window, refreshed on every edit as tabs are.

    Added by hand rather than by `open_item`: the tab icon of a "settings" section needs
    app/theme.py to know it (see test_open_item_shows_the_settings_tab)."""
    editor = SettingsEditor(window.document, "settings", window.prompts, window.theme)
    window.tabs.addTab(editor, editor.title())
    window.tabs.setCurrentWidget(editor)
    window.centre.setCurrentWidget(window.tabs)
    return editor


def with_users(doc):
    """Add a Users model with email, password and role fields (as the model editor does)."""
    users = ops.new_item(doc, "models", "Users")
    for name in ("email", "password", "role"):
        ops.add_field(doc, users, name)
    return users


def set_cell(table, obj, column: int, value) -> None:
    """Change a cell the way its delegate does."""
    index = table.model.index_of(obj, column)
    assert index.isValid()
    assert table.model.flags(index) & Qt.ItemFlag.ItemIsEditable
    assert table.model.setData(index, value, Qt.ItemDataRole.EditRole)


def retype(qtbot, widget: QLineEdit, text: str) -> None:
    """Replace a line edit's text by typing it."""
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Backspace)
    qtbot.keyClicks(widget, text)


def texts_shown(root: QWidget) -> list[str]:
    """Every text a line edit or label under `root` holds, with the tool tips."""
    out = []
    for w in root.findChildren(QLineEdit) + root.findChildren(QLabel):
        out += [w.text(), w.toolTip()]
        if isinstance(w, QLineEdit):
            out.append(w.displayText())
    return out


# -- the tree entry ---------------------------------------------------------------------------

def test_settings_is_the_last_entry_of_the_tree_and_opens(posts_copy, qtbot, theme):
    from app.document import Document

    doc = Document.open(posts_copy)
    tree = ops.ProjectTree(doc, ops.Prompts(None), theme)  # asks nothing here
    qtbot.addWidget(tree)
    tree.resize(300, 700)
    tree.show()
    qtbot.waitExposed(tree)
    last = tree.tree.topLevelItem(tree.tree.topLevelItemCount() - 1)
    assert last is tree.settings_item and last.text(0) == "Settings"
    assert ops.find(doc.project, "settings", "settings") is doc.project.settings
    tree.tree.scrollToItem(last)
    rect = tree.tree.visualItemRect(last)
    assert tree.tree.viewport().rect().contains(rect.center())
    with qtbot.waitSignal(tree.opened) as opened:
        qtbot.mouseClick(tree.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == ["settings", "settings"]
    tree.select("settings", "settings")
    assert tree.current() == ("settings", "settings")
    assert tree.current_section() == "models"  # "New..." still offers a real section
    # Settings cannot be renamed, duplicated or deleted from the tree.
    assert tree.duplicate_current() is None and tree.delete_current() is False


def test_open_item_shows_the_settings_tab(window, posts_copy):
    open_posts(window, posts_copy)
    editor = window.open_item("settings", "settings")
    assert isinstance(editor, SettingsEditor)
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Settings"


# -- auth profiles ----------------------------------------------------------------------------

def test_lifetimes_read_minutes_and_units():
    assert parse_lifetime("60") == 3600
    assert parse_lifetime("1h") == parse_lifetime("1 hour") == 3600
    assert parse_lifetime("7d") == 7 * 86400
    assert parse_lifetime("90 min") == 5400
    assert [format_lifetime(s) for s in (3600, 604800, 5400, 45)] == ["1h", "7d", "90m", "45s"]
    for bad in ("banana", "-5", "0", "1w"):
        with pytest.raises(ValueError, match="token lifetime"):
            parse_lifetime(bad)


def test_auth_profile_edits_land_in_the_project_and_undo(window, posts_copy, qtbot, shot):
    doc = open_posts(window, posts_copy)
    with_users(doc)
    endpoint = doc.project.endpoint("Update social media post")
    editor = settings_tab(window)
    table = editor.profiles
    profile = editor.add_profile()
    assert (profile.name, profile.model, profile.identifier, profile.password) == \
        ("users", "Users", "email", "password")
    assert doc.project.settings.auth_profiles == [profile]
    assert table.model.rowCount() == 1
    assert set(table.model.columns[1].choices(profile)) == {"Posts", "Users"}
    assert table.model.columns[2].choices(profile) == ["email", "password", "role"]

    endpoint.auth = "users"  # an endpoint using it follows a rename
    set_cell(table, profile, 0, "staff")
    assert profile.name == "staff" and endpoint.auth == "staff"
    set_cell(table, profile, 4, "7d")
    assert profile.lifetime == 7 * 86400
    assert table.model.index_of(profile, 4).data() == "7d"
    set_cell(table, profile, 4, "90")
    assert profile.lifetime == 90 * 60
    set_cell(table, profile, 5, 'user.role == "admin"')
    assert profile.rule == 'user.role == "admin"'
    window.update_problems()
    assert [p for p in doc.problems() if p.where.startswith("settings")] == []
    assert editor.profile_problems.isHidden()

    # A bad lifetime is refused with a message naming the field.
    before = doc.undo.index()
    set_cell(table, profile, 4, "banana")
    assert profile.lifetime == 90 * 60 and doc.undo.index() == before
    assert 'token lifetime "banana"' in editor.profile_problems.text()
    assert editor.profile_problems.isVisibleTo(editor)

    # An unknown field shows as a problem of the row and under the table.
    set_cell(table, profile, 2, "nickname")
    assert 'Users has no field "nickname"' in editor.profile_problems.text()
    assert "identifier field" in editor.profile_problems.text()
    assert "nickname" in table.model.index_of(profile, 0).data(Qt.ItemDataRole.ToolTipRole)
    shot(window, "settings_problem")

    # Every change was one step: undo them all, then redo them all.
    steps = doc.undo.index()
    while doc.undo.index() > before - 3:  # back to before the lifetime and rule edits
        doc.undo.undo()
    assert profile.lifetime == 3600 and profile.rule is None and profile.identifier == "email"
    assert table.model.index_of(profile, 4).data() == "1h"
    doc.undo.undo()  # the rename
    assert profile.name == "users" and endpoint.auth == "users"
    doc.undo.undo()  # the profile itself
    assert doc.project.settings.auth_profiles == [] and table.model.rowCount() == 0
    while doc.undo.index() < steps:
        doc.undo.redo()
    restored = doc.project.settings.auth_profiles[0]
    assert (restored.name, restored.identifier, restored.lifetime, restored.rule) == \
        ("staff", "nickname", 5400, 'user.role == "admin"')
    assert table.model.rowCount() == 1


# -- mail -------------------------------------------------------------------------------------

def test_mail_settings_are_typed_into_the_project_and_undone(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = settings_tab(window)
    mail = doc.project.settings.mail
    start = doc.undo.index()
    retype(qtbot, editor.mail_host, "smtp.example.com")
    assert mail.host == "smtp.example.com"
    assert doc.undo.index() == start + 1  # typing is one step
    editor.mail_security.setCurrentIndex(editor.mail_security.findData("starttls"))
    editor.mail_security.activated.emit(editor.mail_security.currentIndex())
    assert (mail.security, mail.port) == ("starttls", 587)  # the usual port follows
    assert editor.mail_port.value() == 587
    editor.mail_port.setValue(2525)
    assert mail.port == 2525
    retype(qtbot, editor.mail_username, "shop")
    retype(qtbot, editor.mail_password, "s3cret pass")
    retype(qtbot, editor.mail_sender, "not an address")
    assert (mail.username, mail.password, mail.sender) == ("shop", "s3cret pass",
                                                           "not an address")
    assert editor.sender_problem.isVisibleTo(editor)
    assert "sender" in editor.sender_problem.text()
    retype(qtbot, editor.mail_sender, "Shop <shop@example.com>")
    assert editor.sender_problem.isHidden()

    while doc.undo.index() > start:
        doc.undo.undo()
    assert (mail.host, mail.port, mail.security, mail.username, mail.password) == \
        ("localhost", 25, "none", "", "")
    assert editor.mail_host.text() == "localhost" and editor.mail_port.value() == 25
    assert editor.mail_security.currentData() == "none" and editor.mail_password.text() == ""
    doc.undo.redo()
    assert editor.mail_host.text() == "smtp.example.com"


def test_the_smtp_password_is_masked_until_shown(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    doc.project.settings.mail.password = "hunter2"
    editor = settings_tab(window)
    assert editor.mail_password.echoMode() == QLineEdit.EchoMode.Password
    assert "hunter2" not in editor.mail_password.displayText()
    qtbot.mouseClick(editor.show_password, Qt.MouseButton.LeftButton)
    assert editor.mail_password.echoMode() == QLineEdit.EchoMode.Normal
    assert editor.mail_password.displayText() == "hunter2"
    assert editor.show_password.text() == "Hide"
    qtbot.mouseClick(editor.show_password, Qt.MouseButton.LeftButton)
    assert editor.mail_password.echoMode() == QLineEdit.EchoMode.Password
    note = " ".join(t for t in texts_shown(editor) if "Outbox" in t)
    assert "actiongraph serve" in note


def test_private_http_is_a_warned_checkbox(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = settings_tab(window)
    box = editor.allow_private
    assert not box.isChecked() and "Warning" in box.toolTip()
    box.click()
    assert doc.project.settings.allow_private_http is True
    window.undo_action.trigger()
    assert doc.project.settings.allow_private_http is False and not box.isChecked()


def test_browser_origins_are_one_field_and_a_checkbox_with_their_problem(window, posts_copy,
                                                                         qtbot):
    doc = open_posts(window, posts_copy)
    editor = settings_tab(window)
    assert editor.cors_origins.text() == "" and not editor.cors_problem.isVisibleTo(editor)
    retype(qtbot, editor.cors_origins, "https://app.example.com, http://localhost:3000,")
    assert doc.project.settings.cors.origins == ["https://app.example.com",
                                                 "http://localhost:3000"]
    assert editor.cors_origins.text().endswith(",")  # typing goes on where it was
    retype(qtbot, editor.cors_origins, "*")
    editor.cors_credentials.click()
    assert doc.project.settings.cors.credentials is True
    assert "cannot go with credentials" in editor.cors_problem.text()
    assert editor.cors_problem.isVisibleTo(editor)
    window.undo_action.trigger()
    assert doc.project.settings.cors.credentials is False
    assert not editor.cors_problem.isVisibleTo(editor)
    assert to_data(doc.project)["settings"]["cors"]["origins"] == ["*"]


# -- the token secret -------------------------------------------------------------------------

def test_generating_a_secret_asks_and_never_shows_it(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = settings_tab(window)
    old = doc.project.settings.secret
    assert old and editor.secret_state.text().startswith("Set")
    window.prompts.confirms = [False]
    qtbot.mouseClick(editor.generate_secret, Qt.MouseButton.LeftButton)
    assert doc.project.settings.secret == old
    window.prompts.confirms = [True]
    qtbot.mouseClick(editor.generate_secret, Qt.MouseButton.LeftButton)
    new = doc.project.settings.secret
    assert new != old and len(new) >= 32
    assert "ACTIONGRAPH_SECRET" in " ".join(texts_shown(editor))
    for text in texts_shown(window):
        assert old not in text and new not in text
    window.undo_action.trigger()
    assert doc.project.settings.secret == old
    doc.project.settings.secret = ""
    editor.refresh()
    assert editor.secret_state.text().startswith("Not set")


# -- saved and loaded -------------------------------------------------------------------------

def test_settings_survive_save_and_load(window, posts_copy, qtbot, tmp_path, shot):
    doc = open_posts(window, posts_copy)
    with_users(doc)
    editor = settings_tab(window)
    profile = editor.add_profile("admins")
    set_cell(editor.profiles, profile, 4, "1d")
    set_cell(editor.profiles, profile, 5, 'user.role == "admin"')
    retype(qtbot, editor.mail_host, "mail.example.org")
    editor.mail_security.setCurrentIndex(editor.mail_security.findData("tls"))
    editor.mail_security.activated.emit(editor.mail_security.currentIndex())
    retype(qtbot, editor.mail_password, "pw")
    retype(qtbot, editor.mail_sender, "shop@example.org")
    editor.allow_private.click()
    window.prompts.confirms = [True]
    editor.new_secret()
    window.resize(1400, 900)
    shot(window, "settings")
    picture = shot(editor.page, "settings_page")  # the whole page, scrolled or not
    shutil.copyfile(picture, picture.parent / "settings.png")

    target = tmp_path / "saved.actiongraph.json"
    window.prompts.paths = [str(target)]
    assert window.save_as()
    loaded = load(target).settings
    assert to_data(load(target))["settings"] == to_data(doc.project)["settings"]
    assert loaded.auth_profiles[0].lifetime == 86400
    assert loaded.auth_profiles[0].rule == 'user.role == "admin"'
    assert (loaded.mail.host, loaded.mail.security, loaded.mail.port) == \
        ("mail.example.org", "tls", 465)
    assert loaded.allow_private_http is True and loaded.secret == doc.project.settings.secret


# -- schedules --------------------------------------------------------------------------------

def test_schedule_explanation_lists_the_next_three_runs():
    monday = datetime(2024, 1, 1, 14, 2).astimezone()
    text, problem, tip = schedule_explanation("every 5 minutes", monday)
    assert not problem
    assert text == "Next runs: Mon 14:05, Mon 14:10, Mon 14:15"
    assert tip.startswith("every 5 minutes")
    text, problem, _ = schedule_explanation("0 9 * * 1", monday)
    assert text == "Next runs: Mon 08 Jan 09:00, Mon 15 Jan 09:00, Mon 22 Jan 09:00"
    text, problem, _ = schedule_explanation("every 30s", monday)
    assert text == "Next runs: Mon 14:02:30, Mon 14:03:00, Mon 14:03:30"
    text, problem, _ = schedule_explanation("every banana", monday)
    assert problem and "every banana" in text and "every N minutes" in text


def test_the_schedule_field_explains_itself(window, posts_copy, qtbot, shot):
    doc = open_posts(window, posts_copy)
    action = doc.project.actions[0]
    editor = window.open_item("actions", action.id)
    assert isinstance(editor, ActionEditor)
    assert editor.schedule_info.isHidden()
    assert editor.trigger_schedule.placeholderText() == "every 5 minutes, or cron: 0 * * * *"
    editor.trigger_type.setCurrentIndex(editor.trigger_type.findData("schedule"))
    assert action.trigger.type == "schedule"
    assert editor.schedule_info.isVisibleTo(editor)
    assert editor.schedule_info.property("role") == "problem"  # empty: says what to write
    retype(qtbot, editor.trigger_schedule, "every 5 minutes")
    assert action.trigger.schedule == "every 5 minutes"
    text = editor.schedule_info.text()
    assert re.fullmatch(r"Next runs: \w{3} \d\d:\d\d, \w{3} \d\d:\d\d, \w{3} \d\d:\d\d", text), text
    assert editor.schedule_info.property("role") == "muted"
    window.resize(1400, 900)
    picture = shot(window, "schedule")
    shutil.copyfile(picture, picture.parent / "schedule.png")
    retype(qtbot, editor.trigger_schedule, "every banana")
    assert editor.schedule_info.property("role") == "problem"
    assert "every banana" in editor.schedule_info.text()
    assert "every N minutes" in editor.schedule_info.text()
    shot(window, "schedule_error")
    window.undo_action.trigger()  # the typing in the field is one step
    assert action.trigger.schedule is None
    assert editor.schedule_info.text().startswith("the schedule is empty")
    window.redo_action.trigger()
    assert editor.trigger_schedule.text() == "every banana"
    assert editor.schedule_info.property("role") == "problem"
    editor.set_trigger("schedule", "*/10 * * * *")
    assert editor.schedule_info.text().startswith("Next runs:")
    assert editor.schedule_info.property("role") == "muted"
    editor.trigger_type.setCurrentIndex(editor.trigger_type.findData("endpoint"))
    assert editor.schedule_info.isHidden()


# -- run buttons ------------------------------------------------------------------------------

def test_endpoint_run_button_and_shortcut(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    endpoint = doc.project.endpoint("Update social media post")
    editor = window.open_item("endpoints", endpoint.id)
    assert isinstance(editor, EndpointEditor)
    assert editor.run_button.toolTip() == \
        "Open the Run panel with dummy data for this endpoint (Ctrl+R)"
    with qtbot.waitSignal(editor.runRequested) as run:
        qtbot.mouseClick(editor.run_button, Qt.MouseButton.LeftButton)
    assert run.args == ["Update social media post"]
    window.activateWindow()
    editor.path.setFocus()
    qtbot.waitUntil(lambda: editor.path.hasFocus())
    with qtbot.waitSignal(editor.runRequested) as run:
        qtbot.keyClick(editor.path, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert run.args == ["Update social media post"]


def test_action_run_buttons_follow_the_trigger(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    action = doc.project.action("Update social media post")
    editor = window.open_item("actions", action.id)
    assert editor.run_button.isVisibleTo(editor) and editor.run_now_button.isHidden()
    with qtbot.waitSignal(editor.runRequested) as run:
        qtbot.mouseClick(editor.run_button, Qt.MouseButton.LeftButton)
    assert run.args == [action.trigger.endpoint]
    with qtbot.waitSignal(editor.runRequested) as run:
        assert editor.click_run()  # what Ctrl+R does
    assert run.args == [action.trigger.endpoint]

    editor.trigger_type.setCurrentIndex(editor.trigger_type.findData("schedule"))
    assert editor.run_button.isHidden() and editor.run_now_button.isVisibleTo(editor)
    with qtbot.waitSignal(editor.runNowRequested) as run:
        qtbot.mouseClick(editor.run_now_button, Qt.MouseButton.LeftButton)
    assert run.args == ["Update social media post"]
    with qtbot.waitSignal(editor.runNowRequested) as run:
        assert editor.click_run()
    assert run.args == ["Update social media post"]

    editor.trigger_type.setCurrentIndex(editor.trigger_type.findData("action"))
    assert editor.run_button.isHidden() and editor.run_now_button.isHidden()
    with qtbot.assertNotEmitted(editor.runRequested), \
            qtbot.assertNotEmitted(editor.runNowRequested):
        assert not editor.click_run()
