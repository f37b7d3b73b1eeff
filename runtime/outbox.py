"""The mail outbox: Send Email writes its mail into `_actiongraph_outbox` in the run's own
transaction, and a background Sender in every serving process delivers it after the commit.

A rolled-back run (or a dry run) leaves no row, so it sends nothing; a committed run's mail is
in the database with the run's data, so a mail server that is down, or a server killed right
after the commit, never loses it: the mail leaves when the mail server takes it, retried with
exponential backoff, and is marked failed (with the last error) after `attempts` tries. A failed
delivery never changes the run's answer.

Several processes (gunicorn workers, machines sharing one database) deliver each mail once: a
sender claims a row before sending it with one UPDATE whose WHERE clause only matches an
unclaimed row (or one whose claim has lapsed: its sender died mid-delivery), so of two senders
one updates the row and the other updates nothing. A sender killed after the mail server took a
mail but before it marked the row sent sends it again once the claim lapses: delivery is at
least once, and exactly once in every other case.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

from runtime.mail import Mail

log = logging.getLogger("actiongraph.mail")

OUTBOX_TABLE = "_actiongraph_outbox"
PENDING, SENT, FAILED = "pending", "sent", "failed"
OUTBOX = sa.Table(
    OUTBOX_TABLE, sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created", sa.Float, nullable=False),  # seconds since the epoch (UTC)
    sa.Column("action", sa.Text, nullable=False, server_default=""),
    sa.Column("mail", sa.Text, nullable=False),  # JSON: to, cc, subject, text, html, sender
    sa.Column("status", sa.Text, nullable=False),  # pending, sent or failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt", sa.Float, nullable=False),  # not before (seconds since the epoch)
    sa.Column("claimed_by", sa.Text),  # the sender delivering it now
    sa.Column("claimed_until", sa.Float),  # ... until then; after that another sender may
    sa.Column("sent_at", sa.Float),
    sa.Column("last_error", sa.Text),
)
DUE = sa.Index(f"{OUTBOX_TABLE}_due", OUTBOX.c.status, OUTBOX.c.next_attempt)
TABLE_LOCK = 0x6F757462  # PostgreSQL advisory lock held while the table is made ("outb")

RETRY = 10.0  # seconds before the first retry; each next one waits twice as long
MAX_DELAY = 3600.0  # ... but never more than an hour
ATTEMPTS = 12  # tries before a mail is marked failed (about 3.5 hours with the defaults)
POLL = 5.0  # seconds between two looks at the outbox when nothing woke the sender
LEASE = 120.0  # seconds a claim holds: longer than one delivery may take (SMTP timeout: 10 s)
BATCH = 20  # mails claimed in one go
KEEP_SENT = 7 * 86400.0  # seconds sent mail stays in the outbox (the editor shows it)
RETRY_ENV, ATTEMPTS_ENV = "ACTIONGRAPH_MAIL_RETRY", "ACTIONGRAPH_MAIL_ATTEMPTS"


@dataclass
class OutboxMail:
    """One row of the outbox, as the editor's Outbox shows it."""

    id: int
    created: float
    action: str
    mail: Mail
    status: str
    attempts: int
    next_attempt: float
    sent_at: float | None
    last_error: str | None


def _encode(mail: Mail) -> str:
    return json.dumps(asdict(mail), ensure_ascii=False, sort_keys=True)


def _decode(text: str) -> Mail:
    data = json.loads(text)
    return Mail(**{k: v for k, v in data.items() if k in Mail.__dataclass_fields__})


async def ensure_table(store) -> None:
    """Make the outbox table when it is missing (every Host does so when it opens)."""
    async with store.transaction() as tx:
        if store.dialect == "postgresql":  # two workers creating it at once would clash
            await tx.conn.execute(sa.select(sa.func.pg_advisory_xact_lock(TABLE_LOCK)))
        await tx.conn.execute(CreateTable(OUTBOX, if_not_exists=True))
        await tx.conn.execute(CreateIndex(DUE, if_not_exists=True))


async def queue(tx, mail: Mail, action: str = "") -> None:
    """Write a mail into the outbox through a run's transaction (the fast SQLite path's or
    SQLAlchemy's): it is kept or undone with the run's other writes."""
    now = time.time()
    await tx._execute(sa.insert(OUTBOX), {
        "created": now, "action": action, "mail": _encode(mail), "status": PENDING,
        "attempts": 0, "next_attempt": now})


async def rows(store, limit: int = 200) -> list[OutboxMail]:
    """The newest mails of the outbox, newest first."""
    async with store.transaction(writes=False) as tx:
        result = await tx.conn.execute(sa.select(OUTBOX).order_by(OUTBOX.c.id.desc())
                                       .limit(limit))
        return [OutboxMail(r.id, r.created, r.action, _decode(r.mail), r.status, r.attempts,
                           r.next_attempt, r.sent_at, r.last_error) for r in result]


async def retry(store, mail_id: int) -> bool:
    """Put a failed mail back to pending, to be sent at once; False when it is not failed."""
    async with store.transaction() as tx:
        done = await tx.conn.execute(
            sa.update(OUTBOX).where(OUTBOX.c.id == mail_id, OUTBOX.c.status == FAILED)
            .values(status=PENDING, attempts=0, next_attempt=time.time(), claimed_by=None,
                    claimed_until=None))
        return done.rowcount == 1


def backoff(attempts: int, first: float = RETRY) -> float:
    """Seconds to wait after `attempts` failed tries: first, 2 x first, 4 x first, ..."""
    return min(MAX_DELAY, first * 2 ** max(0, attempts - 1))


def settings_from(environ: Mapping[str, str]) -> tuple[float, int]:
    """(first retry in seconds, attempts) from ACTIONGRAPH_MAIL_RETRY/_ATTEMPTS, else defaults;
    a value that is not a positive number is ignored with a warning."""
    first, attempts = RETRY, ATTEMPTS
    for name, kind in ((RETRY_ENV, float), (ATTEMPTS_ENV, int)):
        text = environ.get(name)
        if not text:
            continue
        try:
            value = kind(text)
            if value <= 0:
                raise ValueError
        except ValueError:
            log.warning("%s=%r is not a positive number; using the default", name, text)
            continue
        if name == RETRY_ENV:
            first = float(value)
        else:
            attempts = int(value)
    return first, attempts


STOP_WAIT = 2.0  # seconds `Sender.stop` waits for the cancelled task


class Sender:
    """Delivers the outbox's pending mail in the background of one serving process.

    `mailer()` gives the mail service of the revision served now (SMTP when serving, the
    editor's Outbox in the editor); `wake()` (the executor calls it after a commit that queued
    mail) makes it look at once instead of at its next poll."""

    def __init__(self, store, mailer: Callable[[], Any], *, first_retry: float = RETRY,
                 attempts: int = ATTEMPTS, poll: float = POLL, lease: float = LEASE):
        self.store = store
        self.mailer = mailer
        self.first_retry, self.attempts, self.poll, self.lease = first_retry, attempts, poll, lease
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.listeners: list[Callable[[], None]] = []  # told when a mail's state changed
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._pruned = 0.0

    _stopping = False  # stop() asked: the loop ends at its next turn
    _idle = False  # waiting for a wake-up or the next due mail (safe to cancel)

    def start(self) -> None:
        """Start delivering in the background (an asyncio task on the running loop)."""
        self._stopping = False
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="actiongraph mail sender")

    async def stop(self) -> None:
        """Stop delivering; a mail being sent is left claimed and goes out after its lease."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        # Cancel it only while it waits idle, so a delivery under way is not cut between the
        # mail server's answer and marking the row; busy, it stops at its next turn.
        self._stopping = True
        self._wake.set()
        if self._idle:
            task.cancel()
        await asyncio.wait({task}, timeout=STOP_WAIT)
        if not task.done():
            task.cancel()

    def wake(self) -> None:
        """Look at the outbox now (a run just committed mail)."""
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                delay = await self.deliver_due()
            except Exception as e:  # noqa: BLE001 - the database is down: say so, try later
                log.warning("mail: cannot read the outbox: %s: %s", type(e).__name__, e)
                delay = self.poll
            if delay > 0 and not self._stopping:
                self._idle = True
                try:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._wake.wait()
                finally:
                    self._idle = False

    async def deliver_due(self) -> float:
        """Claim and deliver every due mail; returns the seconds until the next is due (at most
        the poll interval)."""
        while True:
            claimed = await self._claim()
            for row_id, mail in claimed:
                await self._deliver(row_id, mail)
            if len(claimed) < BATCH:
                break
        now = time.time()
        if now - self._pruned > 3600:
            self._pruned = now
            async with self.store.transaction() as tx:
                await tx.conn.execute(sa.delete(OUTBOX).where(OUTBOX.c.status == SENT,
                                                              OUTBOX.c.sent_at < now - KEEP_SENT))
        async with self.store.transaction(writes=False) as tx:
            due_at = sa.case((OUTBOX.c.claimed_until > OUTBOX.c.next_attempt,
                              OUTBOX.c.claimed_until), else_=OUTBOX.c.next_attempt)
            nxt = (await tx.conn.execute(sa.select(sa.func.min(due_at))
                                         .where(OUTBOX.c.status == PENDING))).scalar()
        if nxt is None:
            return self.poll
        return min(self.poll, max(0.05, nxt - time.time()))

    async def _claim(self) -> list[tuple[int, Mail]]:
        """Claim up to BATCH due mails for this sender, each with one atomic UPDATE."""
        now = time.time()
        free = sa.or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now)
        due = sa.and_(OUTBOX.c.status == PENDING, OUTBOX.c.next_attempt <= now, free)
        async with self.store.transaction(writes=False) as tx:
            candidates = (await tx.conn.execute(
                sa.select(OUTBOX.c.id, OUTBOX.c.mail).where(due).order_by(OUTBOX.c.id)
                .limit(BATCH))).all()
        claimed = []
        for row_id, text in candidates:
            async with self.store.transaction() as tx:
                won = await tx.conn.execute(
                    sa.update(OUTBOX).where(OUTBOX.c.id == row_id, due)
                    .values(claimed_by=self.name, claimed_until=now + self.lease))
            if won.rowcount == 1:
                claimed.append((row_id, _decode(text)))
        return claimed

    async def _deliver(self, row_id: int, mail: Mail) -> None:
        mine = sa.and_(OUTBOX.c.id == row_id, OUTBOX.c.claimed_by == self.name)
        try:
            await self.mailer().send(mail)
        except Exception as e:  # noqa: BLE001 - any reason is the mail's last error
            error = str(e) or type(e).__name__
            async with self.store.transaction() as tx:
                attempts = (await tx.conn.execute(
                    sa.select(OUTBOX.c.attempts).where(mine))).scalar()
                if attempts is None:
                    return  # the claim lapsed and another sender has it
                attempts += 1
                failed = attempts >= self.attempts
                await tx.conn.execute(sa.update(OUTBOX).where(mine).values(
                    status=FAILED if failed else PENDING, attempts=attempts, last_error=error,
                    next_attempt=time.time() + backoff(attempts, self.first_retry),
                    claimed_by=None, claimed_until=None))
            if failed:
                log.error("mail to %s failed after %d attempts, last: %s", ", ".join(mail.to),
                          attempts, error)
            else:
                log.warning("mail to %s not sent (attempt %d of %d, next in %.0f s): %s",
                            ", ".join(mail.to), attempts, self.attempts,
                            backoff(attempts, self.first_retry), error)
        else:
            async with self.store.transaction() as tx:
                await tx.conn.execute(sa.update(OUTBOX).where(mine).values(
                    status=SENT, attempts=OUTBOX.c.attempts + 1, sent_at=time.time(),
                    last_error=None, claimed_by=None, claimed_until=None))
        for listener in self.listeners:
            listener()
