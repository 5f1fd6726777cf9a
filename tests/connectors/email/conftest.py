"""Email fixtures: a real Dovecot, a real SMTP server (aiosmtpd), and in-memory app doubles.

``dovecot_server`` and ``smtp_server`` are meant to be reused by the app's tests: import them
from here (``from tests.connectors.email.conftest import dovecot_server, smtp_server``) or
use the launcher in :mod:`tests.support.dovecot` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aioimaplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from connectors.email.config import MailboxConfig
from tests.support.dovecot import DovecotServer, free_port
from tests.support.memory import MemoryCursors, MemorySink
from tests.support.tls import Certificate

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "email"


def corpus(name: str) -> Path:
    return CORPUS / name


@pytest.fixture
def dovecot_server() -> Iterator[DovecotServer]:
    """A real Dovecot on a free loopback port: ``host``, ``port``, ``user``, ``password``,
    ``restart()``, ``stop()``, ``start()``; deleted with its mail after the test."""
    server = DovecotServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def tls_dovecot() -> Iterator[DovecotServer]:
    """A real Dovecot with TLS: STARTTLS on ``port``, implicit TLS on ``tls_port``, with a
    throw-away self-signed ``certificate`` (trust it with ``certificate.cert``)."""
    server = DovecotServer(tls=True)
    server.start()
    yield server
    server.cleanup()


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes
    cipher: tuple[str, str, int] | None = None  # the TLS cipher the mail came over, if any
    login: str = ""  # the SMTP user that logged in, if any


@dataclass
class SmtpHandler:
    """Collects what it is sent; ``reply`` (e.g. "451 4.3.0 try later") refuses the DATA."""

    received: list[ReceivedMail] = field(default_factory=list)
    reply: str = ""

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.reply:
            return self.reply
        raw = bytes(envelope.original_content or envelope.content or b"")
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        transport = server.transport
        login = session.auth_data.login.decode() if session.auth_data else ""
        self.received.append(
            ReceivedMail(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                message,
                raw,
                transport.get_extra_info("cipher") if transport else None,
                login,
            )
        )
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: SmtpHandler

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.received


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd in a thread) on a free loopback port, collecting mail."""
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, data_size_limit=64 << 20)
    controller.start()
    yield SmtpServer("127.0.0.1", port, handler)
    controller.stop()


SMTP_USER, SMTP_PASSWORD = "office-bay", "s3cret-smtp"  # a throw-away test account


def _check_login(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, auth_data=data if ok else None)


@pytest.fixture
def start_smtp_tls() -> Iterator[Callable[[str, Certificate], SmtpServer]]:
    """Starts real SMTP servers (aiosmtpd) with TLS and a login: ``start("starttls", cert)``
    requires STARTTLS, then AUTH, before MAIL; ``start("tls", cert)`` is TLS from the first
    byte."""
    controllers: list[Controller] = []

    def start(security: str, certificate: Certificate) -> SmtpServer:
        handler = SmtpHandler()
        port = free_port()
        tls: dict[str, Any] = (
            {
                "tls_context": certificate.server_context(),
                "require_starttls": True,
                "auth_required": True,
            }
            if security == "starttls"
            # aiosmtpd only counts STARTTLS as encryption when it decides whether AUTH may be
            # offered (and warns about requiring it otherwise); on an implicit-TLS port every
            # byte is encrypted already: ReceivedMail.login tells whether the client logged in.
            else {"ssl_context": certificate.server_context(), "auth_require_tls": False}
        )
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, authenticator=_check_login, **tls
        )
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", port, handler)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def cursors() -> MemoryCursors:
    return MemoryCursors()


@pytest.fixture
def make_config(
    dovecot_server: DovecotServer, smtp_server: SmtpServer
) -> Callable[..., MailboxConfig]:
    """A MailboxConfig pointing at the test Dovecot and SMTP server; keywords override."""

    def factory(**overrides: Any) -> MailboxConfig:
        return mailbox_config(dovecot_server, smtp_server, **overrides)

    return factory


def mailbox_config(dovecot: DovecotServer, smtp: SmtpServer, **overrides: Any) -> MailboxConfig:
    """A plain-text MailboxConfig for ``dovecot`` and ``smtp``; keywords override."""
    values: dict[str, Any] = {
        "account": "office-bay",
        "address": "hello@bay.example",
        "display_name": "Bay Tourist Office",
        "imap_host": dovecot.host,
        "imap_port": dovecot.port,
        "imap_security": "plain",
        "imap_user": dovecot.user,
        "imap_password": dovecot.password,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_security": "plain",
        "poll_interval": 0.5,
        "catchup_interval": 5.0,
        "timeout": 10.0,
    }
    values.update(overrides)
    return MailboxConfig(**values)


Append = Callable[..., Awaitable[None]]


@pytest.fixture
async def imap_client(dovecot_server: DovecotServer) -> Any:
    """A logged-in aioimaplib client of the test Dovecot, to play the outside world."""
    client = aioimaplib.IMAP4(host=dovecot_server.host, port=dovecot_server.port, timeout=30)
    await client.wait_hello_from_server()
    await client.login(dovecot_server.user, dovecot_server.password)
    yield client
    with contextlib.suppress(TimeoutError, aioimaplib.AioImapException, OSError):
        await asyncio.wait_for(client.logout(), 5)


async def append_to(
    server: DovecotServer, *raws: bytes, folder: str = "INBOX", date: datetime | None = None
) -> None:
    """APPENDs raw mails over a fresh plain IMAP connection (like a delivering MTA); ``date``
    is their INTERNALDATE, the time the server says it received them (default: now)."""
    client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=60)
    await client.wait_hello_from_server()
    await client.login(server.user, server.password)
    for raw in raws:
        response = await client.append(raw, mailbox=folder, date=date)
        assert response.result == "OK", response
    await client.logout()


@pytest.fixture
def append(dovecot_server: DovecotServer) -> Append:
    """APPENDs raw mails to a folder of the test Dovecot: see :func:`append_to`."""
    return functools.partial(append_to, dovecot_server)


def mail(
    subject: str = "Ferry times",
    body: str = "Hello, when is the first ferry tomorrow?",
    *,
    sender: str = "Visitor <Visitor@Example.org>",
    message_id: str | None = "<m1@example.org>",
    extra: str = "",
) -> bytes:
    headers = [f"From: {sender}", "To: hello@bay.example", f"Subject: {subject}"]
    headers.append("Date: Tue, 21 Jul 2026 10:00:00 +0200")
    if message_id:
        headers.append(f"Message-ID: {message_id}")
    if extra:
        headers.append(extra)
    headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()
