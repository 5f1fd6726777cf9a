"""The receive loop of one mailbox: IDLE (or polling), UID catch-up, ingest, then the cursor.

The cursor is ``"<UIDVALIDITY>:<last UID>"`` in the CursorStore, written only after
``sink.ingest()`` returned for that UID. A new UIDVALIDITY re-scans the whole folder: the app
dedupes on the Message-ID, so nothing is lost and nothing is stored twice.

A mailbox seen for the first time (no cursor) does not bring in its whole history: the cursor
starts just below the first mail of the last ``backfill_days`` days (by the server's
INTERNALDATE), or at the newest mail when ``backfill_days`` is 0. That starting point is stored
at once, so mail arriving later is never taken for history.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from connectors.base import (
    ConnectorStatus,
    CursorStore,
    InboundMessage,
    InboundSink,
    StatusNote,
)
from connectors.email.config import MailboxConfig
from connectors.email.imap import Connection, Fetched, ImapError
from connectors.email.parse import parse_message

log = logging.getLogger(__name__)

Quarantine = Callable[[bytes, str], Awaitable[None] | None]


class QuarantineReason(str):
    """Why a mail was quarantined: the English text (for logs) that also carries a stable
    ``code`` and its ``params``, so the accounts page can say it in the manager's language.
    A plain ``str`` to callbacks that only log it."""

    code: str
    params: dict[str, str]

    def __new__(cls, text: str, code: str, params: dict[str, str]) -> QuarantineReason:
        reason = super().__new__(cls, text)
        reason.code = code
        reason.params = params
        return reason


BATCH_BYTES = 16 * 1024 * 1024  # bodies fetched per round trip, at most (one big mail alone)
BATCH_COUNT = 100
PARSE_INLINE = 256 * 1024  # bigger mails are parsed in a thread so the loop stays responsive


def parse_cursor(value: str | None) -> tuple[int, int]:
    """``"17:42"`` → (17, 42); anything unreadable starts over at (0, 0)."""
    try:
        validity, _, uid = (value or "").partition(":")
        return int(validity), int(uid)
    except ValueError:
        return 0, 0


class Backoff:
    """Exponential backoff with full jitter; ``reset()`` after a session that worked."""

    def __init__(self, base: float = 0.5, cap: float = 300.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0

    def next_delay(self, floor: float = 0.0) -> float:
        ceiling = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return max(floor, random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not crypto

    def reset(self) -> None:
        self.attempt = 0


class Receiver:
    def __init__(
        self,
        config: MailboxConfig,
        status: ConnectorStatus,
        on_quarantine: Quarantine | None = None,
    ) -> None:
        self.config = config
        self.status = status
        self.on_quarantine = on_quarantine
        self.backoff = Backoff()

    def _count(self, name: str, by: int = 1) -> None:
        self.status.counters[name] = self.status.counters.get(name, 0) + by

    def _error(self, detail: str, code: str, params: dict[str, str]) -> None:
        self.status.state = "error"
        self.status.detail = detail
        self.status.notes = [StatusNote(code, params)]
        self.status.last_error_at = datetime.now(UTC)
        self._count("errors")

    async def run(self, sink: InboundSink, cursors: CursorStore) -> None:
        """Receive until cancelled; every failure is reported, backed off and retried."""
        try:
            while True:
                delay = await self._session_or_error(sink, cursors)
                self._count("reconnects")
                log.info("email %s: reconnecting in %.1fs", self.config.account, delay)
                await asyncio.sleep(delay)
        finally:
            self.status.state = "stopped"

    async def _session_or_error(self, sink: InboundSink, cursors: CursorStore) -> float:
        """Runs one session; returns how long to wait before the next one."""
        try:
            await self.session(sink, cursors)
        except ImapError as exc:
            self._error(exc.reason, exc.code, exc.params)
            # Wrong credentials will not fix themselves in a second: wait at least a minute.
            return self.backoff.next_delay(floor=60.0 if exc.auth else 0.0)
        except (OSError, TimeoutError) as exc:
            reason = str(exc or type(exc).__name__)[:280]
            self._error(
                f"IMAP connection failed: {reason}", "email.connection_failed", {"reason": reason}
            )
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:300]
            self._error(reason, "email.failed", {"reason": reason})
            log.warning("email %s: receive failed", self.config.account, exc_info=True)
        return self.backoff.next_delay()

    async def session(self, sink: InboundSink, cursors: CursorStore) -> None:
        """One connection: catch up, then wait for news until the connection ends."""
        connection = Connection(self.config)
        try:
            await connection.open()
            validity = await connection.select(self.config.folder)
            idle = connection.has_idle()
            self.status.state = "connected" if idle else "polling"
            self.status.detail = (
                f"{self.config.folder}: IDLE"
                if idle
                else f"polling every {self.config.poll_interval:g}s"
            )
            self.status.notes = [
                StatusNote("email.idle", {"folder": self.config.folder})
                if idle
                else StatusNote("email.polling", {"seconds": f"{self.config.poll_interval:g}"})
            ]
            await self.catch_up(connection, validity, sink, cursors)
            self.backoff.reset()
            while not connection.lost.is_set():
                if idle:
                    await self._idle(connection)
                else:
                    await self._poll(connection)
                if connection.lost.is_set():
                    break
                if await connection.validity(self.config.folder) != validity:
                    # Dovecot keeps a deleted-and-recreated folder "selected" but empty.
                    raise ImapError(f"UIDVALIDITY of {self.config.folder} changed, reopening")
                await self.catch_up(connection, validity, sink, cursors)
            raise ImapError("connection to the IMAP server was lost", code="email.lost", params={})
        finally:
            await connection.close()

    async def _idle(self, connection: Connection) -> None:
        """Waits for a push, the catch-up timer or the IDLE renewal, whichever comes first."""
        imap = connection.imap
        wait = min(self.config.idle_renew, self.config.catchup_interval)
        idle = await imap.idle_start(timeout=self.config.idle_renew)
        push = asyncio.ensure_future(imap.wait_server_push(timeout=wait))
        lost = asyncio.ensure_future(connection.lost.wait())
        try:
            await asyncio.wait({push, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, lost):
                task.cancel()
            await asyncio.gather(push, lost, return_exceptions=True)
        complaint = _complaint(push)
        if not connection.lost.is_set():
            imap.idle_done()
            lost = asyncio.ensure_future(connection.lost.wait())
            await asyncio.wait(
                {idle, lost}, timeout=self.config.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            lost.cancel()
            await asyncio.gather(lost, return_exceptions=True)
        if not idle.done():
            idle.cancel()
            await asyncio.gather(idle, return_exceptions=True)
            if not connection.lost.is_set():
                raise ImapError("the IMAP server did not end IDLE", code="email.lost", params={})
        if complaint:
            # "* NO …" or "* BYE …" while idling: this session cannot be trusted any more.
            raise ImapError(
                f"IMAP server said: {complaint}",
                code="email.server_said",
                params={"answer": complaint},
            )

    async def _poll(self, connection: Connection) -> None:
        lost = asyncio.ensure_future(connection.lost.wait())
        try:
            await asyncio.wait({lost}, timeout=self.config.poll_interval)
        finally:
            lost.cancel()
            await asyncio.gather(lost, return_exceptions=True)
        if not connection.lost.is_set():
            await connection.call(connection.imap.noop())

    async def catch_up(
        self, connection: Connection, validity: int, sink: InboundSink, cursors: CursorStore
    ) -> int:
        """Ingests every UID past the cursor, oldest first; returns how many were handled."""
        key = self.config.cursor_key()
        stored_validity, last_uid = parse_cursor(await cursors.get(key))
        if not stored_validity:
            last_uid = await self.first_uid(connection) - 1
            await cursors.set(key, f"{validity}:{last_uid}")
        elif stored_validity != validity:
            log.warning(
                "email %s: UIDVALIDITY of %s changed (%s → %s), re-scanning the folder",
                self.config.account,
                self.config.folder,
                stored_validity,
                validity,
            )
            self._count("uidvalidity_changes")
            last_uid = 0
        uids = await connection.uids_after(last_uid)
        handled = 0
        while uids:
            listing = await connection.sizes(uids[:BATCH_COUNT])
            batch = _batch(listing)
            uids = [uid for uid in uids if uid > batch[-1].uid] if batch else uids[BATCH_COUNT:]
            if not batch:
                continue
            for fetched in await connection.bodies(f.uid for f in batch):
                await self._handle(fetched, sink)
                await cursors.set(key, f"{validity}:{fetched.uid}")
                handled += 1
        return handled

    async def first_uid(self, connection: Connection) -> int:
        """Where a mailbox seen for the first time starts: its first mail of the backfill."""
        days = self.config.backfill_days
        since = (datetime.now(UTC) - timedelta(days=days)).date()
        # The newest UID is read before the search: a mail arriving between the two is then
        # found by the search, or lies above that newest UID — never between them, unseen.
        newest = await connection.last_uid()
        uids = await connection.uids_since(since) if days else []
        first = uids[0] if uids else newest + 1
        log.info(
            "email %s: first run on %s, starting at UID %s (mail of the last %s days)",
            self.config.account,
            self.config.folder,
            first,
            days,
        )
        return first

    async def _handle(self, fetched: Fetched, sink: InboundSink) -> None:
        raw = fetched.raw or b""
        uid = str(fetched.uid)
        if not raw:
            text = f"the server returned no message body (UID {uid})"
            await self.quarantine(raw, QuarantineReason(text, "email.empty_body", {"uid": uid}))
            return
        try:
            message = await self._parse(raw, fetched)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            await self.quarantine(
                raw,
                QuarantineReason(
                    f"unparseable (UID {uid}): {error}",
                    "email.unparseable",
                    {"uid": uid, "error": error},
                ),
            )
            return
        await sink.ingest(message)  # raising here keeps the cursor: the mail is fetched again
        self._count("received")
        self.status.last_message_at = datetime.now(UTC)

    async def _parse(self, raw: bytes, fetched: Fetched) -> InboundMessage:
        parse = functools.partial(
            parse_message,
            raw,
            account=self.config.account,
            received_at=fetched.internaldate,
            attachment_cap=self.config.attachment_cap,
        )
        return await asyncio.to_thread(parse) if len(raw) > PARSE_INLINE else parse()

    async def quarantine(self, raw: bytes, reason: str) -> None:
        """Hands the raw bytes to ``on_quarantine``; a failing callback is logged, not fatal."""
        log.warning("email %s: quarantined a message: %s", self.config.account, reason)
        self._count("quarantined")
        if self.on_quarantine is None:
            return
        try:
            result = self.on_quarantine(raw, reason)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("email %s: the quarantine callback failed", self.config.account)


def _complaint(push: asyncio.Future[object]) -> str:
    """The text of a NO/BAD/BYE line the server pushed during IDLE, if any."""
    if push.cancelled() or push.exception() is not None:
        return ""
    lines = push.result()
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, bytes | bytearray) and bytes(line).startswith((b"NO", b"BAD", b"BYE")):
            return bytes(line).decode(errors="replace")[:200]
    return ""


def _batch(listing: list[Fetched]) -> list[Fetched]:
    """The first messages of ``listing`` that fit in one FETCH of about BATCH_BYTES."""
    batch: list[Fetched] = []
    total = 0
    for fetched in listing:
        if batch and total + fetched.size > BATCH_BYTES:
            break
        batch.append(fetched)
        total += fetched.size
    return batch
