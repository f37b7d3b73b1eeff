"""The Outbox dock: mail that Send Email events sent during live testing.

Nothing leaves the machine unless the user ticks "Also send through SMTP"; `actiongraph
serve` always sends through the project's SMTP server."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from runtime.mail import Mail


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class OutboxPanel(QWidget):
    """Mails in the order they were sent; the selected one's headers, text and HTML."""

    realSendingChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.mails: list[tuple[float, Mail]] = []
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._show)
        self.headers = QLabel()
        self.headers.setTextFormat(Qt.TextFormat.RichText)
        self.headers.setWordWrap(True)
        self.headers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text = QTextBrowser()
        self.html = QTextBrowser()
        self.html.setOpenExternalLinks(False)
        self.body = QTabWidget()
        self.body.addTab(self.html, "HTML")
        self.body.addTab(self.text, "Text")
        self.real = QCheckBox("Also send through the project's SMTP server")
        self.real.setToolTip("Off: mail stays here and never leaves this machine.\n"
                             "On: it is also delivered through Settings › Mail (real recipients!).")
        self.real.toggled.connect(self.realSendingChanged)
        self.count = QLabel()
        self.count.setProperty("role", "muted")
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)
        top = QHBoxLayout()
        top.addWidget(self.count)
        top.addStretch(1)
        top.addWidget(self.real)
        top.addWidget(clear)
        viewer = QWidget()
        v = QVBoxLayout(viewer)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.headers)
        v.addWidget(self.body, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list)
        split.addWidget(viewer)
        split.setSizes([320, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._update_count()

    def add(self, mail: Mail) -> None:
        """Show a mail that was just sent, and select it."""
        self.mails.append((time.time(), mail))
        stamp = time.strftime("%H:%M:%S")
        item = QListWidgetItem(f"{stamp}  {', '.join(mail.to)}\n{mail.subject or '(no subject)'}")
        item.setToolTip(mail.subject)
        self.list.addItem(item)
        self.list.setCurrentRow(self.list.count() - 1)
        self._update_count()

    def clear(self) -> None:
        self.mails.clear()
        self.list.clear()
        self.headers.clear()
        self.text.clear()
        self.html.clear()
        self._update_count()

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.mails):
            return
        when, mail = self.mails[row]
        lines = [("From", mail.sender or "(the project's sender)"), ("To", ", ".join(mail.to))]
        if mail.cc:
            lines.append(("Cc", ", ".join(mail.cc)))
        lines += [("Subject", mail.subject), ("Sent", time.strftime("%H:%M:%S", time.localtime(when)))]
        self.headers.setText("<br/>".join(f"<b>{k}:</b> {_html(v)}" for k, v in lines))
        self.text.setPlainText(mail.text)
        self.html.setHtml(mail.html or f"<pre>{_html(mail.text)}</pre>")
        self.body.setCurrentWidget(self.html if mail.html else self.text)

    def _update_count(self) -> None:
        n = len(self.mails)
        self.count.setText(f"{n} mail{'s' if n != 1 else ''} (not delivered unless sending is on)"
                           if not self.real.isChecked() else f"{n} mail{'s' if n != 1 else ''}")
