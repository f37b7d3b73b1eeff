"""The event palette: every built-in kind is there, and hovering one shows its documentation."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt  # mightBeRichText lives in QtGui's Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel

from app.palette import KindPicker, Palette, documentation
from nodes import BUILTIN, catalogue


def plain(rich: str) -> str:
    """Rich text as the words a reader sees, on one line."""
    doc = QTextDocument()
    doc.setHtml(rich)
    return " ".join(doc.toPlainText().split())


def first_sentence(doc: str) -> str:
    """The first sentence of a doc string as it reads (code marks dropped)."""
    return " ".join(re.split(r"(?<=[.!?])\s", doc.replace("`", ""), maxsplit=1)[0].split())


@pytest.fixture
def palette(qtbot, theme):
    widget = Palette(catalogue())
    qtbot.addWidget(widget)
    widget.resize(300, 700)
    widget.show()
    return widget


def test_every_builtin_kind_is_in_the_palette(palette):
    items = palette.items()
    assert {k.id for k in BUILTIN} <= set(items)
    assert len(items) == len({k.id for k in catalogue().values()})  # plug-ins' kinds too
    for kind in BUILTIN:
        assert items[kind.id].text(0) == kind.name
        assert items[kind.id].parent().text(0) == kind.category


@pytest.mark.parametrize("kind_id", ["loop", "send_email", "http_request", "condition",
                                     "raise_error"])
def test_hovering_a_kind_shows_its_documentation(palette, kind_id):
    kind = catalogue()[kind_id]
    tip = palette.items()[kind_id].toolTip(0)
    assert GuiQt.mightBeRichText(tip)
    text = plain(tip)
    assert text.startswith(f"{kind.name} {kind.category}")
    assert first_sentence(kind.doc) in text
    for port in kind.inputs + kind.outputs:
        assert re.search(rf"\b{re.escape(port.name)} {port.kind}\b", text), (port.name, text)
    assert ("Inputs" in text) == bool(kind.inputs)
    assert ("Outputs" in text) == bool(kind.outputs)
    assert "Flow out" in text
    for name in kind.flow_out:
        assert re.search(rf"\b{name}\b", text.split("Flow out", 1)[1])


def test_documentation_details(palette):
    loop = plain(documentation(catalogue()["loop"]))
    assert "list List, required" in loop
    assert "each – once per item" in loop and "done – after the last item" in loop
    http = plain(documentation(catalogue()["http_request"]))
    assert "error – when it fails (left unwired, the action fails instead)" in http
    stop = plain(documentation(catalogue()["raise_error"]))
    assert "Flow out: none – the run stops here." in stop
    assert "Writes to the database" in plain(documentation(catalogue()["create"]))
    # Doc text is escaped, never taken as markup; `code` is set in a fixed-width font.
    assert "<code>each</code>" in documentation(catalogue()["loop"])


def test_the_add_by_name_popup_shows_the_same_documentation(qtbot, theme):
    picker = KindPicker(catalogue())
    qtbot.addWidget(picker)
    picker.search.setText("send")
    item = picker.list.item(0)
    assert item.data(Qt.ItemDataRole.UserRole) == "send_email"
    assert item.toolTip() == documentation(catalogue()["send_email"])


def test_tooltip_picture(palette, qtbot, shot):
    """The tooltip's text as a user sees it (a picture for a person to look at), laid out as Qt
    lays out a rich-text tooltip: a word-wrapped label. Qt's own tip window is not used here:
    on Xvfb it crashed the run now and then while hiding itself."""
    item = palette.items()["http_request"]
    text = item.toolTip(0)
    assert GuiQt.mightBeRichText(text)
    label = QLabel(text)
    label.setWindowFlags(Qt.WindowType.ToolTip)
    label.setWordWrap(True)  # what Qt does for a rich-text tooltip
    label.setMargin(4)
    qtbot.addWidget(label)
    label.adjustSize()
    label.show()
    qtbot.waitExposed(label)
    assert label.width() < 600  # a readable column, not one long line
    shot(label, "palette_tooltip")
