"""Guard against PySide6 6.12.0's reference leak on None (it aborts the interpreter)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsScene  # noqa: E402


def test_calls_returning_none_100k_times(qapp):
    scene = QGraphicsScene()
    item = QGraphicsRectItem(0, 0, 10, 10)
    scene.addItem(item)
    for i in range(100_000):
        item.update()
        item.setPos(i % 7, 0)
    assert item.pos().x() == 99_999 % 7
