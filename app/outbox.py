"""The Outbox dock: the live server's mail outbox, and the mail captured during live testing.

"Delivery" lists the rows of the outbox table (runtime.outbox): every mail a committed run
queued, pending, sent or failed, with its attempts, last error and next try; Retry puts a
failed (or waiting) mail back to be sent at once. "Captured" lists the mail the editor's mail
service took: nothing leaves the machine unless the user ticks "Also send through SMTP";
`actiongraph serve` always sends through the project's SMTP server."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import sqlalchemy as sa
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from runtime import outbox
from runtime.mail import Mail

READ_EVERY = 1000  # ms: the outbox table is read at most once a second
LOOK_EVERY = 5000  # ms: ... and looked at this often while the dock is visible
COLUMNS = ("Mail", "State", "Attempts", "Next try / sent", "Last error")
STATE_COLOR = {outbox.PENDING: "#b26b00", outbox.SENT: "#1a7f37", outbox.FAILED: "#cf222e"}


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clock(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


def _in(seconds: float) -> str:
    if seconds < 1:
        return "now"
    if seconds < 90:
        return f"in {seconds:.0f} s"
    if seconds < 5400:
        return f"in {seconds / 60:.0f} min"
    return f"in {seconds / 3600:.1f} h"


def when_text(row: outbox.OutboxMail, now: float | None = None) -> str:
    """When a row is tried next (pending), was sent (sent), or nothing (failed)."""
    now = time.time() if now is None else now
    if row.status == outbox.SENT and row.sent_at:
        return f"sent {_clock(row.sent_at)}"
    if row.status == outbox.PENDING:
        return _in(row.next_attempt - now)
    return "gave up"


async def send_now(store, mail_id: int) -> bool:
    """A failed mail back to pending (outbox.retry), or a waiting one made due now; False when
    the mail is sent already (or gone)."""
    if await outbox.retry(store, mail_id):
        return True
    table = outbox.OUTBOX
    async with store.transaction() as tx:
        done = await tx.conn.execute(
            sa.update(table).where(table.c.id == mail_id, table.c.status == outbox.PENDING,
                                   table.c.claimed_by.is_(None))
            .values(next_attempt=time.time()))
        return done.rowcount == 1


class OutboxPanel(QWidget):
    """The outbox's rows with their state and Retry; the mails captured in the order they were
    sent; the selected mail's headers, text and HTML."""

    realSendingChanged = Signal(bool)
    outboxRead = Signal()  # the Delivery list was read from the database (tests wait on it)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.server = None  # the LiveServer whose outbox is shown (set_server)
        self.rows: list[outbox.OutboxMail] = []
        self.error: str | None = None  # why the outbox could not be read
        self.mails: list[tuple[float, Mail]] = []
        self._tasks: set[asyncio.Future] = set()
        self._reading: asyncio.Future | None = None
        self._again = False  # something changed while a read was under way
        self._last_read = 0.0

        self.table = QTreeWidget()
        self.table.setObjectName("outboxRows")
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setHeaderLabels(COLUMNS)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(0, 260)
        for column, width in ((1, 70), (2, 80), (3, 120)):
            self.table.setColumnWidth(column, width)
        self.table.currentItemChanged.connect(lambda *_: self._row_selected())
        self.retry_button = QPushButton("Retry")
        self.retry_button.setToolTip("Send the selected mail now (a failed one starts its "
                                     "attempts again)")
        self.retry_button.setEnabled(False)
        self.retry_button.clicked.connect(lambda: self._spawn(self.retry_selected))
        self.summary = QLabel()
        self.summary.setProperty("role", "muted")
        delivery = QWidget()
        d = QVBoxLayout(delivery)
        d.setContentsMargins(0, 0, 0, 0)
        d.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        row.addWidget(self.retry_button)
        d.addLayout(row)

        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._show)
        self.lists = QTabWidget()
        self.lists.addTab(delivery, "Delivery")
        self.lists.addTab(self.list, "Captured")
        self.lists.currentChanged.connect(lambda _i: self._tab_changed())

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
        self.real.toggled.connect(lambda _on: self._update_count())
        self.count = QLabel()
        self.count.setProperty("role", "muted")
        clear = QPushButton("Clear")
        clear.setToolTip("Clear the captured mail (the outbox keeps its rows)")
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
        split.addWidget(self.lists)
        split.addWidget(viewer)
        split.setSizes([640, 480])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self._soon = QTimer(self)  # a read asked for within a second of the last one waits
        self._soon.setSingleShot(True)
        self._soon.timeout.connect(self._read_now)
        self._look = QTimer(self)  # while visible: the next-try times tick, and a light look
        self._look.setInterval(LOOK_EVERY)
        self._look.timeout.connect(self.schedule_refresh)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._retime)
        self._update_count()

    # -- the live server --------------------------------------------------------------------
    def set_server(self, server) -> None:
        """Show this LiveServer's outbox: read again when it delivers or queues mail."""
        if self.server is server:
            return
        self.server = server
        server.outboxChanged.connect(self.schedule_refresh)
        server.requestLogged.connect(lambda _record: self.schedule_refresh())
        server.storeChanged.connect(self.schedule_refresh)
        self.schedule_refresh()

    def _find_server(self) -> None:
        """The window's live server, when nobody handed one in (the dock is in a window)."""
        widget = self.parentWidget()
        while widget is not None:
            live = getattr(widget, "live", None)
            if live is not None and hasattr(getattr(live, "server", None), "outboxChanged"):
                self.set_server(live.server)
                return
            widget = widget.parentWidget()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.server is None:
            self._find_server()
        self._look.start()
        self._tick.start()
        self.schedule_refresh()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().hideEvent(event)
        self._look.stop()
        self._tick.stop()

    # -- reading the outbox -----------------------------------------------------------------
    def schedule_refresh(self) -> None:
        """Read the outbox soon: at once, or a second after the last read (never more often);
        only while the dock is visible (showing it reads it)."""
        if not Shiboken.isValid(self) or not self.isVisible():
            return
        if self._reading is not None and not self._reading.done():
            self._again = True
            return
        wait = int(READ_EVERY - (time.monotonic() - self._last_read) * 1000)
        if wait <= 0:
            self._read_now()
        elif not self._soon.isActive():
            self._soon.start(wait)

    def _read_now(self) -> None:
        if self._reading is None or self._reading.done():
            self._reading = self._spawn(self.refresh)

    async def refresh(self) -> None:
        """Read the outbox's rows (on the asyncio loop: the window never waits) and show them."""
        store = self.server.store if self.server is not None else None
        self._last_read = time.monotonic()
        self._again = False
        if store is None:
            rows, error = [], None
        else:
            try:
                rows, error = await outbox.rows(store), None
            except Exception as e:  # noqa: BLE001 - a closed or broken database: say so
                rows, error = self.rows, f"cannot read the outbox: {str(e).splitlines()[0]}"
        if not Shiboken.isValid(self):
            return
        self.rows, self.error = rows, error
        self._show_rows()
        self.outboxRead.emit()
        if self._again:
            self._again = False
            QTimer.singleShot(0, self.schedule_refresh)

    def _show_rows(self) -> None:
        selected = self.selected_row()
        keep = selected.id if selected is not None else None
        self.table.blockSignals(True)
        self.table.clear()
        now = time.time()
        current = None
        for row in self.rows:
            mail = row.mail
            item = QTreeWidgetItem([
                f"{', '.join(mail.to)} · {mail.subject or '(no subject)'}",
                row.status, str(row.attempts), when_text(row, now),
                (row.last_error or "").splitlines()[0] if row.last_error else ""])
            item.setData(0, Qt.ItemDataRole.UserRole, row.id)
            item.setToolTip(0, f"#{row.id} queued {_clock(row.created)}"
                               + (f" by {row.action}" if row.action else ""))
            if row.status in STATE_COLOR:
                item.setForeground(1, _brush(STATE_COLOR[row.status]))
            if row.last_error:
                item.setToolTip(4, row.last_error)
            self.table.addTopLevelItem(item)
            if row.id == keep:
                current = item
        if current is not None:
            self.table.setCurrentItem(current)
        self.table.blockSignals(False)
        self._update_count()
        self._row_selected(show=current is not None)

    def _retime(self) -> None:
        """Count the next tries down (no database read)."""
        now = time.time()
        for i, row in enumerate(self.rows):
            item = self.table.topLevelItem(i)
            if item is not None and row.status == outbox.PENDING:
                item.setText(3, when_text(row, now))

    def row(self, mail_id: int) -> outbox.OutboxMail | None:
        return next((r for r in self.rows if r.id == mail_id), None)

    def selected_row(self) -> outbox.OutboxMail | None:
        item = self.table.currentItem()
        return self.row(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, mail_id: int) -> bool:
        """Select a row of the Delivery list (and show its mail)."""
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == mail_id:
                self.lists.setCurrentIndex(0)
                self.table.setCurrentItem(item)
                return True
        return False

    def _row_selected(self, show: bool = True) -> None:
        row = self.selected_row()
        self.retry_button.setEnabled(row is not None and row.status != outbox.SENT
                                     and self.server is not None)
        if row is not None and show:
            lines = [("State", row.status + (f" after {row.attempts} attempt"
                                             f"{'s' if row.attempts != 1 else ''}"
                                             if row.attempts else ""))]
            if row.status == outbox.PENDING:
                lines.append(("Next try", f"{_clock(row.next_attempt)} "
                                          f"({when_text(row)})"))
            if row.last_error:
                lines.append(("Last error", row.last_error))
            mail = row.mail
            if not mail.sender and self.server is not None:  # who it comes from (LiveMail's)
                mail = replace(mail, sender=self.server.mail.smtp.settings.sender)
            self._show_mail(mail, row.sent_at or row.created,
                            "Sent" if row.sent_at else "Queued", lines)

    async def retry_selected(self) -> bool:
        """Send the selected mail now (Retry); the sender is woken and the list read again."""
        row = self.selected_row()
        server = self.server
        if row is None or server is None or server.store is None:
            return False
        try:
            done = await send_now(server.store, row.id)
        except Exception as e:  # noqa: BLE001 - a closed database: say so
            self.error = f"cannot retry: {str(e).splitlines()[0]}"
            self._update_count()
            return False
        if server.host is not None:
            server.host.sender.wake()
        self.schedule_refresh()
        return done

    # -- captured mail ----------------------------------------------------------------------
    def add(self, mail: Mail) -> None:
        """Show a mail that was just sent, and select it."""
        self.mails.append((time.time(), mail))
        stamp = time.strftime("%H:%M:%S")
        item = QListWidgetItem(f"{stamp}  {', '.join(mail.to)}\n{mail.subject or '(no subject)'}")
        item.setToolTip(mail.subject)
        self.list.addItem(item)
        self.list.setCurrentRow(self.list.count() - 1)
        self._update_count()
        self.schedule_refresh()

    def clear(self) -> None:
        self.mails.clear()
        self.list.clear()
        self.headers.clear()
        self.text.clear()
        self.html.clear()
        self._update_count()

    def _tab_changed(self) -> None:
        if self.lists.currentIndex() == 0:
            self._row_selected()
        else:
            self._show(self.list.currentRow())

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.mails):
            return
        when, mail = self.mails[row]
        self._show_mail(mail, when, "Sent", [])

    def _show_mail(self, mail: Mail, when: float, label: str, extra: list) -> None:
        lines = [("From", mail.sender or "(the project's sender)"), ("To", ", ".join(mail.to))]
        if mail.cc:
            lines.append(("Cc", ", ".join(mail.cc)))
        lines += [("Subject", mail.subject), (label, _clock(when)), *extra]
        self.headers.setText("<br/>".join(f"<b>{k}:</b> {_html(v)}" for k, v in lines))
        self.text.setPlainText(mail.text)
        self.html.setHtml(mail.html or f"<pre>{_html(mail.text)}</pre>")
        self.body.setCurrentWidget(self.html if mail.html else self.text)

    def _update_count(self) -> None:
        n = len(self.mails)
        counts = {s: sum(r.status == s for r in self.rows)
                  for s in (outbox.PENDING, outbox.SENT, outbox.FAILED)}
        queued = (", ".join(f"{v} {k}" for k, v in counts.items() if v)
                  if self.rows else "no mail queued")
        self.count.setText(f"Outbox: {queued} · {n} captured here"
                           + ("" if self.real.isChecked() else
                              " (nothing leaves this machine unless sending is on)"))
        self.summary.setText(self.error or "Mail a committed run queued; the server delivers "
                                           "it, retrying when refused")
        self.lists.setTabText(0, f"Delivery ({len(self.rows)})")
        self.lists.setTabText(1, f"Captured ({n})")

    # -- tasks ------------------------------------------------------------------------------
    async def wait_idle(self) -> None:
        """Wait until started reads and retries have finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work) -> asyncio.Future | None:
        """Run `work()` (a coroutine) on the running loop (qasync's in the app), keeping a
        reference; nothing without a running loop (a plain QApplication in a test)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        task = loop.create_task(work())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _brush(color: str):
    from PySide6.QtGui import QBrush, QColor

    return QBrush(QColor(color))
