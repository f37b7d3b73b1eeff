"""Project › Environment Values: the values expressions read as `env.NAME` (API keys, URLs).

The names, descriptions and whether each is a secret are part of the project (one undoable
edit); the values are not: they are written per environment to `.env.development` or
`.env.production` beside the project file (runtime.environ.write_env_file), which the README
says to keep out of git. The editor's live server uses the development values; `actiongraph
serve` the production ones (or the process environment). Secret values are shown masked.
"""

from __future__ import annotations

import copy
from pathlib import Path

from dotenv import dotenv_values
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from runtime.environ import ENV_FILE, write_env_file
from runtime.project import NAME_RE, EnvVar

ENVIRONMENTS = ("development", "production")
NAME, DESCRIPTION, SECRET, VALUE = range(4)


class EnvironmentDialog(QDialog):
    """Declare environment values and fill them in per environment."""

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Environment Values")
        self.document = document
        self.folder: Path | None = document.path.parent if document.path else None
        self.values: dict[str, dict[str, str]] = {env: self._read(env) for env in ENVIRONMENTS}
        self.current = ENVIRONMENTS[0]

        self.environment = QComboBox()
        self.environment.addItems(ENVIRONMENTS)
        self.environment.currentTextChanged.connect(self._switch)
        top = QHBoxLayout()
        top.addWidget(QLabel("Values for"))
        top.addWidget(self.environment)
        top.addStretch(1)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Name", "Description", "Secret", "Value"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(VALUE, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        for v in document.project.environment:
            self._add_row(v)

        add, remove = QPushButton("+"), QPushButton("−")
        add.setToolTip("Declare an environment value")
        remove.setToolTip("Remove the selected value")
        add.clicked.connect(lambda: self._add_row(EnvVar("", "", False), edit=True))
        remove.clicked.connect(self._remove_row)
        buttons_row = QHBoxLayout()
        buttons_row.addWidget(add)
        buttons_row.addWidget(remove)
        buttons_row.addStretch(1)

        where = (f"Values are saved in {ENV_FILE}.development / {ENV_FILE}.production beside "
                 f"the project file, never in it: keep those files out of git. The live server "
                 f"uses the development values; actiongraph serve the production ones (or the "
                 f"process environment).") if self.folder else (
            "Save the project first: values are kept in .env files beside the project file.")
        note = QLabel(where)
        note.setWordWrap(True)
        self.error = QLabel()
        self.error.setStyleSheet("color: #d9534f")
        self.error.setWordWrap(True)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addLayout(buttons_row)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(720, 360)

    # -- rows ---------------------------------------------------------------------------------
    def _add_row(self, v: EnvVar, edit: bool = False) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, NAME, QTableWidgetItem(v.name))
        self.table.setItem(row, DESCRIPTION, QTableWidgetItem(v.description))
        secret = QCheckBox()
        secret.setChecked(v.secret)
        secret.setToolTip("A secret: masked here and in the run history")
        secret.toggled.connect(lambda on, r=row: self._mask(r, on))
        cell = QWidget()  # the box in the middle of its cell, where a click lands
        centred = QHBoxLayout(cell)
        centred.setContentsMargins(0, 0, 0, 0)
        centred.addWidget(secret, alignment=Qt.AlignmentFlag.AlignCenter)
        self.table.setCellWidget(row, SECRET, cell)
        value = QLineEdit(self.values[self.current].get(v.name, ""))
        value.setPlaceholderText("not set")
        value.setEnabled(self.folder is not None)
        self.table.setCellWidget(row, VALUE, value)
        self._mask(row, v.secret)
        if edit:
            self.table.setCurrentCell(row, NAME)
            self.table.editItem(self.table.item(row, NAME))

    def _remove_row(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)

    def _mask(self, row: int, secret: bool) -> None:
        value = self.table.cellWidget(row, VALUE)
        if value is not None:
            value.setEchoMode(QLineEdit.EchoMode.Password if secret
                              else QLineEdit.EchoMode.Normal)

    def rows(self) -> list[tuple[EnvVar, str]]:
        """The declared values as the table holds them, with the shown environment's values."""
        out = []
        for row in range(self.table.rowCount()):
            name = (self.table.item(row, NAME).text() if self.table.item(row, NAME) else "")
            description = (self.table.item(row, DESCRIPTION).text()
                           if self.table.item(row, DESCRIPTION) else "")
            secret = self.table.cellWidget(row, SECRET).findChild(QCheckBox).isChecked()
            value = self.table.cellWidget(row, VALUE).text()
            out.append((EnvVar(name.strip(), description.strip(), secret), value))
        return out

    # -- environments -------------------------------------------------------------------------
    def _read(self, environment: str) -> dict[str, str]:
        if self.folder is None:
            return {}
        path = self.folder / f"{ENV_FILE}.{environment}"
        if not path.is_file():
            return {}
        return {k: v for k, v in dotenv_values(path).items() if v is not None}

    def _keep_shown(self) -> None:
        self.values[self.current] = {v.name: value for v, value in self.rows()
                                     if v.name and value != ""}  # empty: not set

    def _switch(self, environment: str) -> None:
        self._keep_shown()
        self.current = environment
        for row in range(self.table.rowCount()):
            name = self.table.item(row, NAME).text() if self.table.item(row, NAME) else ""
            self.table.cellWidget(row, VALUE).setText(self.values[environment].get(name, ""))

    # -- saving -------------------------------------------------------------------------------
    def accept(self) -> None:
        declared = [v for v, _ in self.rows()]
        names = [v.name for v in declared]
        bad = next((n for n in names if not NAME_RE.match(n)), None)
        if bad is not None:
            self.error.setText(f'"{bad}" is not a name: letters, digits and _, starting with a '
                               "letter or _")
            return
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            self.error.setText(f'"{twice}" is declared twice')
            return
        self._keep_shown()
        project = self.document.project
        if declared != project.environment:
            self.document.set_attr(project, "environment", copy.deepcopy(declared),
                                   label="Edit environment values")
        if self.folder is not None:
            for environment in ENVIRONMENTS:
                values = {n: v for n, v in self.values[environment].items() if n in names}
                if values != self._read(environment) and (values or self._read(environment)):
                    write_env_file(self.folder, environment, values)
        super().accept()


def shown(dialog: EnvironmentDialog) -> dict[str, str]:
    """What a value cell shows (masked or not) per name, for tests."""
    out = {}
    for row in range(dialog.table.rowCount()):
        editor = dialog.table.cellWidget(row, VALUE)
        out[dialog.table.item(row, NAME).text()] = (
            "masked" if editor.echoMode() == QLineEdit.EchoMode.Password else editor.text())
    return out


__all__ = ["ENVIRONMENTS", "EnvironmentDialog", "shown"]
