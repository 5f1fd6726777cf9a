"""IMAP plumbing over aioimaplib: connect (TLS, STARTTLS or plain), select, search, fetch, append.

Errors come out as :class:`ImapError` with a readable reason (never a password) and whether
trying again later can help (a refused login cannot, a dropped connection can).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage

import aioimaplib

from connectors.email.config import MailboxConfig
from connectors.email.tls import TlsSetupError, tls_context, untrusted_certificate

_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")


class ImapError(Exception):
    def __init__(
        self,
        reason: str,
        *,
        auth: bool = False,
        code: str = "email.imap_failed",
        params: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        # For the accounts page, in the manager's language; the server's own words stay as is.
        self.code = code
        self.params = params if params is not None else {"reason": reason}
        self.auth = auth  # wrong credentials, untrusted certificate: retrying soon will not help


@dataclass(frozen=True, slots=True)
class Fetched:
    uid: int
    internaldate: datetime | None
    size: int
    raw: bytes | None = None


class Connection:
    """One logged-in IMAP connection; ``lost`` is set when the server goes away."""

    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        self.lost = asyncio.Event()
        self.client: aioimaplib.IMAP4 | None = None

    def _on_lost(self, exc: Exception | None) -> None:
        self.lost.set()

    @property
    def imap(self) -> aioimaplib.IMAP4:
        if self.client is None:
            raise ImapError("not connected")
        return self.client

    @property
    def server(self) -> str:
        return f"{self.config.imap_host}:{self.config.imap_port}"

    def _context(self) -> ssl.SSLContext:
        try:
            return tls_context(self.config)
        except TlsSetupError as exc:
            raise ImapError(str(exc), auth=True) from None

    async def open(self) -> None:
        config = self.config
        context = self._context() if config.imap_security == "tls" else None
        self.client = aioimaplib.IMAP4(
            host=config.imap_host,
            port=config.imap_port,
            timeout=config.timeout,
            conn_lost_cb=self._on_lost,
            ssl_context=context,
        )
        try:
            await self.imap.wait_hello_from_server()
        except (OSError, TimeoutError, aioimaplib.AioImapException) as exc:
            if untrusted := untrusted_certificate(exc, self.server):
                raise ImapError(
                    untrusted, auth=True, code="email.untrusted", params={"detail": untrusted}
                ) from exc
            raise ImapError(
                f"cannot reach {self.server}: {_reason(exc)}",
                code="email.unreachable",
                params={"server": self.server, "reason": _reason(exc)},
            ) from exc
        if config.imap_security == "starttls":
            await self._starttls()
        response = await self.imap.login(config.imap_user, config.imap_password.get_secret_value())
        if response.result != "OK":
            raise ImapError(
                f"login refused for {config.imap_user}: {_text(response)}",
                auth=True,
                code="email.login_refused",
                params={"user": config.imap_user, "answer": _text(response)},
            )

    async def _starttls(self) -> None:
        # aioimaplib has no STARTTLS helper: send the command, then upgrade the transport.
        protocol = self.imap.protocol
        if "STARTTLS" not in protocol.capabilities:
            # Never fall back to logging in without TLS.
            raise ImapError(
                f"{self.server} does not offer STARTTLS",
                auth=True,
                code="email.no_starttls",
                params={"server": self.server},
            )
        context = self._context()
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        response = await asyncio.wait_for(protocol.execute(command), self.config.timeout)
        if response.result != "OK":
            raise ImapError(f"STARTTLS refused: {_text(response)}")
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                protocol.transport,
                protocol,
                context,
                server_hostname=self.config.imap_host,
                ssl_handshake_timeout=self.config.timeout,
            )
        except (OSError, TimeoutError) as exc:
            if untrusted := untrusted_certificate(exc, self.server):
                raise ImapError(
                    untrusted, auth=True, code="email.untrusted", params={"detail": untrusted}
                ) from exc
            raise ImapError(f"STARTTLS with {self.server} failed: {_reason(exc)}") from exc
        if transport is None:
            raise ImapError(f"STARTTLS with {self.server} failed: the connection closed")
        protocol.transport = transport
        await asyncio.wait_for(protocol.capability(), self.config.timeout)

    async def call(self, command: Awaitable[aioimaplib.Response]) -> aioimaplib.Response:
        """Runs an IMAP command, failing at once (not at the timeout) if the connection drops."""
        task = asyncio.ensure_future(command)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _ = await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            await asyncio.gather(lost, return_exceptions=True)
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise ImapError("connection to the IMAP server was lost", code="email.lost", params={})

    def has_idle(self) -> bool:
        return bool(self.imap.has_capability("IDLE"))

    async def select(self, folder: str) -> int:
        """Selects ``folder``; returns its UIDVALIDITY."""
        response = await self.call(self.imap.select(_quote(folder)))
        if response.result != "OK":
            raise ImapError(f"cannot open folder {folder!r}: {_text(response)}")
        for line in response.lines:
            if isinstance(line, bytes | bytearray) and (match := _UIDVALIDITY.search(line)):
                return int(match.group(1))
        raise ImapError(f"server gave no UIDVALIDITY for {folder!r}")

    async def validity(self, folder: str) -> int:
        """UIDVALIDITY of ``folder`` now (STATUS): a changed one means the session is stale."""
        response = await self.call(self.imap.status(_quote(folder), "(UIDVALIDITY)"))
        _check(response, "STATUS")
        for line in response.lines:
            if match := re.search(rb"UIDVALIDITY (\d+)", bytes(line)):
                return int(match.group(1))
        raise ImapError(f"server gave no UIDVALIDITY for {folder!r}")

    async def uids_after(self, last_uid: int) -> list[int]:
        response = await self.call(self.imap.uid_search(f"UID {last_uid + 1}:*", charset=None))
        _check(response, "UID SEARCH")
        # "n:*" always matches the highest UID, even when it is below n.
        return [uid for uid in _search_uids(response) if uid > last_uid]

    async def uids_since(self, day: date) -> list[int]:
        """UIDs of the mail the server received on ``day`` or later (its INTERNALDATE)."""
        response = await self.call(self.imap.uid_search(f"SINCE {imap_date(day)}", charset=None))
        _check(response, "UID SEARCH")
        return _search_uids(response)

    async def last_uid(self) -> int:
        """The highest UID in the selected folder; 0 when it is empty."""
        response = await self.call(self.imap.uid_search("UID *", charset=None))
        _check(response, "UID SEARCH")
        return max(_search_uids(response), default=0)

    async def sizes(self, uids: Iterable[int]) -> list[Fetched]:
        """UID, INTERNALDATE and size of ``uids`` (no bodies)."""
        command = self.imap.uid("fetch", _set(uids), "(UID INTERNALDATE RFC822.SIZE)")
        response = await self.call(command)
        _check(response, "UID FETCH")
        return sorted(parse_fetch(response.lines), key=lambda f: f.uid)

    async def bodies(self, uids: Iterable[int]) -> list[Fetched]:
        """Full raw messages, without setting \\Seen (the mailbox stays as people left it)."""
        response = await self.call(
            self.imap.uid("fetch", _set(uids), "(UID INTERNALDATE BODY.PEEK[])")
        )
        _check(response, "UID FETCH")
        return sorted(parse_fetch(response.lines), key=lambda f: f.uid)

    async def append(self, mail: EmailMessage | bytes, folder: str) -> None:
        raw = mail if isinstance(mail, bytes) else mail.as_bytes()
        response = await self.call(self.imap.append(raw, mailbox=_quote(folder), flags="(\\Seen)"))
        _check(response, "APPEND")

    async def close(self) -> None:
        """Logs out when the connection is usable, then closes it; never raises."""
        client, self.client = self.client, None
        if client is None:
            return
        # LOGOUT would queue behind a pending IDLE (until the timeout): just hang up then.
        if not self.lost.is_set() and not client.has_pending_idle():
            with contextlib.suppress(OSError, TimeoutError, aioimaplib.AioImapException):
                await asyncio.wait_for(client.logout(), 5)
        transport = client.protocol.transport
        if transport is not None:
            transport.close()
        pending = [*client.tasks, *client.protocol.tasks]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def parse_fetch(lines: list[bytes | bytearray]) -> list[Fetched]:
    """aioimaplib's FETCH response lines to one :class:`Fetched` per message."""
    found: list[Fetched] = []
    meta = b""
    raw: bytes | None = None

    def flush() -> None:
        if uid := _UID.search(meta):
            date = _INTERNALDATE.search(meta)
            size = _SIZE.search(meta)
            found.append(
                Fetched(
                    uid=int(uid.group(1)),
                    internaldate=_internaldate(date.group(1)) if date else None,
                    size=int(size.group(1)) if size else len(raw or b""),
                    raw=raw,
                )
            )

    for line in lines:
        if isinstance(line, bytearray):
            raw = bytes(line)
        elif _FETCH_START.match(line):
            if meta:
                flush()
            meta, raw = line, None
        else:
            meta += b" " + line
    if meta:
        flush()
    return found


def _internaldate(value: bytes) -> datetime | None:
    try:
        return datetime.strptime(value.decode().strip(), "%d-%b-%Y %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return None


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def imap_date(day: date) -> str:
    """``14-Jul-2026``: RFC 3501's date, with English month names whatever the locale."""
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year:04d}"


def _search_uids(response: aioimaplib.Response) -> list[int]:
    uids: set[int] = set()
    for line in response.lines[:-1]:
        uids.update(int(x) for x in bytes(line).split() if x.isdigit())
    return sorted(uids)


def _set(uids: Iterable[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _quote(folder: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._/-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(response: aioimaplib.Response) -> str:
    lines = [bytes(x).decode(errors="replace") for x in response.lines if isinstance(x, bytes)]
    return " ".join(lines)[-200:] or response.result


def _check(response: aioimaplib.Response, what: str) -> None:
    if response.result != "OK":
        raise ImapError(f"{what} failed: {_text(response)}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
