"""Pinned outputs (mocks) in the editor: pin an event's output as typed JSON or from the last
run, unpin; each an undoable edit of the project (saved in its file). The compiler checks a
pin like any setting, so a pin that does not fit its event shows in Problems."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from nodes.kind import EventKind
from runtime.project import Event
from runtime.renderer import to_json


def pin_from_step(step) -> dict[str, Any] | None:
    """A pin made of what an event did in a traced run (its outputs and the port it left by);
    None when the step has no outputs (it failed)."""
    if step is None or step.outputs is None:
        return None
    pin: dict[str, Any] = {"outputs": _plain(step.outputs)}
    if step.port and step.port != "next":
        pin["port"] = step.port
    return pin


def _plain(value: Any) -> Any:
    """Outputs as the project file keeps them: JSON data (dates and decimals as text)."""
    return json.loads(to_json(value))


def set_pin(document, event: Event, pin: dict[str, Any] | None) -> None:
    """Pin (or with None unpin) an event's output: one undoable edit."""
    label = f"Unpin {event.id}" if pin is None else f"Pin the output of {event.id}"
    document.set_attr(event, "pin", pin, label)


class PinDialog(QDialog):
    """"Pin output": the outputs typed in as a JSON object, and the flow port the event
    leaves by; pre-filled from the pin or the last run's outputs."""

    def __init__(self, kind: EventKind | None, event: Event, start: dict[str, Any] | None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Pin output of {event.id}")
        self.resize(520, 420)
        self.pin: dict[str, Any] | None = None
        start = start or {}
        outputs = start.get("outputs")
        if outputs is None:
            outputs = {p.name: None for p in (kind.outputs if kind else ())}
        note = QLabel("Editor runs and replays return these outputs instead of running the "
                      "event (no outgoing HTTP, no mail). `actiongraph serve` never uses them.")
        note.setWordWrap(True)
        note.setEnabled(False)
        self.text = QPlainTextEdit(json.dumps(outputs, indent=2, ensure_ascii=False))
        self.text.setObjectName("pinOutputs")
        self.port = QComboBox()
        ports = list(kind.flow_out) if kind and kind.flow_out else ["next"]
        self.port.addItems(ports)
        self.port.setCurrentText(start.get("port", ports[0]))
        self.error = QLabel()
        self.error.setStyleSheet("color: #eb4040;")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Pin")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        form = QFormLayout()
        names = ", ".join(p.name for p in kind.outputs) if kind and kind.outputs else "none"
        form.addRow("Outputs", QLabel(f"a JSON object by output name ({names})"))
        form.addRow("Leaves by", self.port)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def accept(self) -> None:
        """Keep the pin when the text is a JSON object; else say what is wrong and stay."""
        try:
            outputs = json.loads(self.text.toPlainText() or "{}")
        except ValueError as e:
            self._refuse(f"Not JSON: {e}")
            return
        if not isinstance(outputs, dict):
            self._refuse('Expected a JSON object by output name, e.g. {"response": {...}}')
            return
        self.pin = {"outputs": outputs}
        if self.port.currentText() != "next":
            self.pin["port"] = self.port.currentText()
        super().accept()

    def _refuse(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
