"""Project › Environment Values on a real display: declare env.NAME values, fill them in per
environment (secrets masked), saved as one undoable edit and .env files beside the project."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QPushButton

from app.envdialog import ENVIRONMENTS, EnvironmentDialog, shown
from runtime.projectfile import load
from tests.app.conftest import show


def menu_action(window, text: str):
    project = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Project")
    return next(a for a in project.actions() if a.text() == text)


def test_declare_fill_in_mask_save_and_undo(window, posts_copy, qtbot, shot):
    assert window.open_file(posts_copy)
    folder = posts_copy.parent
    (folder / ".env.production").write_text("GREETING=hello from production\n")
    menu_action(window, "&Environment Values...").trigger()
    dialog = window.findChild(EnvironmentDialog)
    assert dialog is not None and dialog.isVisible()
    show(qtbot, dialog)  # the active window, as the user's next click makes it
    add = next(b for b in dialog.findChildren(QPushButton) if b.text() == "+")
    for name, secret, value in (("API_KEY", True, "k-123"), ("GREETING", False, "hi")):
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)  # a new row, its name being edited
        row = dialog.table.rowCount() - 1
        qtbot.keyClicks(dialog.focusWidget(), name)
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)
        if secret:
            box = dialog.table.cellWidget(row, 2).findChild(QCheckBox)
            qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
        editor = dialog.table.cellWidget(row, 3)
        qtbot.mouseClick(editor, Qt.MouseButton.LeftButton)
        editor.clear()
        qtbot.keyClicks(editor, value)
    assert shown(dialog) == {"API_KEY": "masked", "GREETING": "hi"}  # the secret is masked
    shot(dialog, "environment", readme="environment")
    dialog.environment.setCurrentText(ENVIRONMENTS[1])  # production's values
    assert dialog.table.cellWidget(1, 3).text() == "hello from production"
    dialog.environment.setCurrentText(ENVIRONMENTS[0])
    assert dialog.table.cellWidget(1, 3).text() == "hi"  # kept while switching
    dialog.accept()
    project = window.document.project
    assert [(v.name, v.secret) for v in project.environment] == [("API_KEY", True),
                                                                  ("GREETING", False)]
    development = (folder / ".env.development").read_text()
    assert "API_KEY=k-123" in development and "GREETING=hi" in development
    assert (folder / ".env.production").read_text() == "GREETING=hello from production\n"
    window.document.save()
    saved = load(posts_copy)
    assert [v.name for v in saved.environment] == ["API_KEY", "GREETING"]
    assert "k-123" not in posts_copy.read_text()  # values never reach the project file
    window.document.undo.undo()
    assert window.document.project.environment == []


def test_a_bad_name_is_refused_in_the_dialog(window, posts_copy):
    assert window.open_file(posts_copy)
    dialog = window.show_environment()
    from runtime.project import EnvVar

    dialog._add_row(EnvVar("2FAST", "", False))
    dialog.accept()
    assert dialog.isVisible() and '"2FAST" is not a name' in dialog.error.text()
    assert window.document.project.environment == []
    dialog.reject()
