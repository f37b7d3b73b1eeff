"""The mouse wheel changes a drop-down, spin box or slider only once the user has clicked it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDial,
    QSlider,
    QWidget,
)

from app.qtsafe import qt_safe

# Scroll bars are sliders too, but turning the wheel over one must scroll.
GUARDED = (QComboBox, QAbstractSpinBox, QSlider, QDial)


class WheelGuard(QObject):
    """An application-wide event filter: a wheel turned over an unfocused value widget scrolls
    what holds it (the Properties panel, a form) instead of changing the value."""

    @qt_safe(False)
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(watched, GUARDED):
            # Widgets that take focus from the wheel would let the very turn that scrolls past
            # them change their value; a click or Tab still focuses them.
            if watched.focusPolicy() & Qt.FocusPolicy.WheelFocus == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            return False
        if kind != QEvent.Type.Wheel or not isinstance(watched, QWidget):
            return False
        target = guarded(watched)
        focus = QApplication.focusWidget()
        if target is None or focus is not None and (focus is target
                                                    or target.isAncestorOf(focus)):
            return False
        area = _scroll_area(target)
        if area is not None:
            _forward(event, area)
        else:
            event.ignore()  # a turned wheel Qt sent itself then goes on to the parent
        return True


def guarded(widget: QWidget) -> QWidget | None:
    """The combo, spin box or slider a widget is (or is part of, like a spin box's text)."""
    w = widget
    while w is not None:
        if isinstance(w, GUARDED):
            return w
        if w.isWindow():  # an open drop-down list is a window of its own: it scrolls
            return None
        w = w.parentWidget()
    return None


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    w = widget.parentWidget()
    while w is not None and not w.isWindow():
        if isinstance(w, QAbstractScrollArea):
            return w
        w = w.parentWidget()
    return w if isinstance(w, QAbstractScrollArea) else None


def _forward(event: QWheelEvent, area: QAbstractScrollArea) -> None:
    """Send the turn to the scroll area that holds the widget, as if the wheel were over it."""
    viewport = area.viewport()
    where = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
    moved = QWheelEvent(where, event.globalPosition(), event.pixelDelta(), event.angleDelta(),
                        event.buttons(), event.modifiers(), event.phase(), event.inverted(),
                        event.source())
    QApplication.sendEvent(viewport, moved)
    event.setAccepted(moved.isAccepted())


_installed: list[WheelGuard] = []  # the guard lives as long as the application


def install(app: QObject) -> WheelGuard | None:
    """Guard every widget of the application, those made later included (once per app)."""
    if not isinstance(app, QApplication):
        return None  # no widgets, nothing to guard
    for guard in _installed:
        if guard.parent() is app:
            return guard
    guard = WheelGuard(app)
    app.installEventFilter(guard)
    _installed.append(guard)
    return guard
