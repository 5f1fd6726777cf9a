"""TLS for real: Dovecot over implicit TLS and STARTTLS, aiosmtpd over STARTTLS and implicit TLS,
with a self-signed certificate made for the test run. Certificates are verified by default: an
untrusted one is a readable status (nothing received, nothing lost, no secret in the logs), and
``tls_ca_file`` naming the certificate makes the same account work."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.email import EmailConnector, MailboxConfig
from connectors.email.receiver import parse_cursor
from tests.support.dovecot import DovecotServer
from tests.support.tls import Certificate, self_signed

from .conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    MemoryCursors,
    MemorySink,
    SmtpServer,
    append_to,
    mail,
    mailbox_config,
)
from .test_receive import running, wait_until
from .test_send import reply

SECURITIES = ["tls", "starttls"]


def imap_config(
    dovecot: DovecotServer, smtp: SmtpServer, security: str, **overrides: Any
) -> MailboxConfig:
    """The account reading ``dovecot`` over implicit TLS (its IMAPS port) or STARTTLS."""
    return mailbox_config(
        dovecot, smtp, imap_port=imap_port(dovecot, security), imap_security=security, **overrides
    )


def imap_port(dovecot: DovecotServer, security: str) -> int:
    return dovecot.tls_port if security == "tls" else dovecot.port


def logins_in(dovecot: DovecotServer) -> int:
    return dovecot.log.count(f"Login: user=<{dovecot.user}>")


def tls_logins(dovecot: DovecotServer) -> list[str]:
    """Dovecot's log lines of logins made over TLS (plain ones on loopback say "secured")."""
    return [
        line
        for line in dovecot.log.splitlines()
        if f"Login: user=<{dovecot.user}>" in line and ", TLS," in line
    ]


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize("security", SECURITIES)
async def test_mail_is_fetched_over_tls(
    security: str,
    tls_dovecot: DovecotServer,
    smtp_server: SmtpServer,
    sink: MemorySink,
    cursors: MemoryCursors,
) -> None:
    config = imap_config(
        tls_dovecot, smtp_server, security, tls_ca_file=str(tls_dovecot.certificate.cert)
    )
    await append_to(tls_dovecot, mail(message_id="<before@x>"))
    connector = EmailConnector(config)
    async with running(connector, sink, cursors):
        await sink.wait_for(1)
        await wait_until(lambda: connector.status.state == "connected")
        await asyncio.sleep(0.3)  # IDLE is under way, over the encrypted connection
        await append_to(tls_dovecot, mail(message_id="<pushed@x>"))
        await sink.wait_for(2)
    assert [m.external_id for m in sink.messages] == ["before@x", "pushed@x"]
    assert parse_cursor(cursors.values[config.cursor_key()])[1] == 2
    assert connector.status.counters.get("errors", 0) == 0
    assert tls_logins(tls_dovecot), tls_dovecot.log


@pytest.mark.parametrize("trusted", ["system", "another certificate"])
@pytest.mark.parametrize("security", SECURITIES)
async def test_an_untrusted_certificate_is_a_readable_status_until_it_is_trusted(
    security: str,
    trusted: str,
    tls_dovecot: DovecotServer,
    smtp_server: SmtpServer,
    sink: MemorySink,
    cursors: MemoryCursors,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await append_to(tls_dovecot, mail(message_id="<waiting@x>"))
    logins = logins_in(tls_dovecot)
    other = str(self_signed(tmp_path / "other").cert) if trusted != "system" else ""
    connector = EmailConnector(imap_config(tls_dovecot, smtp_server, security, tls_ca_file=other))
    async with running(connector, sink, cursors) as task:
        await wait_until(lambda: connector.status.state == "error")
        await asyncio.sleep(0.5)
        assert not task.done()
    detail = connector.status.detail
    assert detail.startswith(f"the TLS certificate of 127.0.0.1:{imap_port(tls_dovecot, security)}")
    assert "not trusted (self-signed certificate)" in detail and "tls_ca_file" in detail
    assert connector.status.counters["errors"] == 1  # waiting, not hammering the server
    assert sink.messages == [] and cursors.values == {}
    assert logins_in(tls_dovecot) == logins  # the password never went to the untrusted server
    # The same account with its certificate trusted: the mail that waited comes in.
    trusting = EmailConnector(
        imap_config(
            tls_dovecot, smtp_server, security, tls_ca_file=str(tls_dovecot.certificate.cert)
        )
    )
    async with running(trusting, sink, cursors):
        await sink.wait_for(1)
    assert [m.external_id for m in sink.messages] == ["waiting@x"]
    assert_no_secret(caplog.text + detail, tls_dovecot.password)


async def test_an_unreadable_ca_file_is_a_readable_status(
    tls_dovecot: DovecotServer, smtp_server: SmtpServer, sink: MemorySink, cursors: MemoryCursors
) -> None:
    missing = imap_config(tls_dovecot, smtp_server, "tls", tls_ca_file="/nonexistent/ca.pem")
    connector = EmailConnector(missing)
    async with running(connector, sink, cursors):
        await wait_until(lambda: connector.status.state == "error")
    assert connector.status.detail == (
        "cannot use tls_ca_file /nonexistent/ca.pem: No such file or directory"
    )


async def test_starttls_not_offered_means_no_login_in_clear_text(
    dovecot_server: DovecotServer,
    smtp_server: SmtpServer,
    sink: MemorySink,
    cursors: MemoryCursors,
) -> None:
    # dovecot_server has no TLS at all, so it does not offer STARTTLS.
    connector = EmailConnector(imap_config(dovecot_server, smtp_server, "starttls"))
    async with running(connector, sink, cursors):
        await wait_until(lambda: connector.status.state == "error")
    assert connector.status.detail == f"127.0.0.1:{dovecot_server.port} does not offer STARTTLS"
    assert "Login: user=" not in dovecot_server.log


def test_the_ca_file_is_an_absolute_path(
    dovecot_server: DovecotServer, smtp_server: SmtpServer
) -> None:
    with pytest.raises(ValidationError) as refused:
        mailbox_config(dovecot_server, smtp_server, tls_ca_file="certs/ca.pem")
    ((loc, message),) = [(e["loc"], e["msg"]) for e in refused.value.errors()]
    assert (loc, message) == (("tls_ca_file",), "Value error, must be an absolute path")


def smtp_config(
    dovecot: DovecotServer, smtp: SmtpServer, security: str, certificate: Certificate | None
) -> MailboxConfig:
    """The account sending over ``security`` with a login; replies copied to Sent over TLS."""
    return mailbox_config(
        dovecot,
        smtp,
        imap_port=dovecot.tls_port,
        imap_security="tls",
        smtp_security=security,
        smtp_user=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
        tls_ca_file=str(certificate.cert) if certificate else "",
    )


@pytest.mark.parametrize("security", SECURITIES)
async def test_a_reply_is_sent_over_tls_with_a_login(
    security: str, tls_dovecot: DovecotServer, start_smtp_tls: Any, imap_client: Any
) -> None:
    certificate = tls_dovecot.certificate  # one mail host, one certificate for IMAP and SMTP
    smtp = start_smtp_tls(security, certificate)
    connector = EmailConnector(smtp_config(tls_dovecot, smtp, security, certificate))
    result = await connector.send(reply())
    assert result.ok, result.error
    (received,) = await smtp.wait_for(1)
    assert received.cipher is not None  # the mail itself travelled encrypted
    assert received.login == SMTP_USER
    assert received.message["Message-ID"] == f"<{result.external_ids[0]}>"
    assert connector.status.counters == {"sent": 1, "sent_copies": 1}


@pytest.mark.parametrize("security", SECURITIES)
async def test_an_untrusted_smtp_certificate_is_a_readable_retryable_failure(
    security: str,
    tls_dovecot: DovecotServer,
    start_smtp_tls: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp = start_smtp_tls(security, self_signed(tmp_path / "smtp"))
    # Trusting the IMAP server's certificate does not make the SMTP server's trusted.
    connector = EmailConnector(smtp_config(tls_dovecot, smtp, security, tls_dovecot.certificate))
    result = await connector.send(reply())
    assert (result.ok, result.retryable) == (False, True)
    assert result.error.startswith(f"the TLS certificate of 127.0.0.1:{smtp.port} is not trusted")
    assert "self-signed certificate" in result.error and "tls_ca_file" in result.error
    assert result.code == "tls.untrusted"
    assert result.params == {"server": f"127.0.0.1:{smtp.port}", "detail": result.error}
    assert smtp.received == []
    assert connector.status.counters == {"send_failed": 1}
    assert_no_secret(caplog.text + result.error, SMTP_PASSWORD, tls_dovecot.password)
    # A CA bundle with both certificates: the reply goes out, and its copy reaches Sent.
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(
        tls_dovecot.certificate.cert.read_bytes() + (tmp_path / "smtp" / "cert.pem").read_bytes()
    )
    fixed = EmailConnector(
        smtp_config(tls_dovecot, smtp, security, None).model_copy(
            update={"tls_ca_file": str(bundle)}
        )
    )
    assert (await fixed.send(reply())).ok
    assert len(await smtp.wait_for(1)) == 1
    assert fixed.status.counters == {"sent": 1, "sent_copies": 1}


async def test_a_certificate_for_another_name_says_so(
    tls_dovecot: DovecotServer, start_smtp_tls: Any, tmp_path: Path
) -> None:
    elsewhere = self_signed(
        tmp_path / "elsewhere", "mail.elsewhere.example", "DNS:mail.elsewhere.example"
    )
    smtp = start_smtp_tls("starttls", elsewhere)
    # Trusted (its own CA file), but made out to another host than the one connected to.
    connector = EmailConnector(smtp_config(tls_dovecot, smtp, "starttls", elsewhere))
    result = await connector.send(reply())
    assert (result.ok, result.retryable) == (False, True)
    assert result.error.startswith(
        f"the TLS certificate of 127.0.0.1:{smtp.port} is for another name"
    )
    assert "127.0.0.1" in result.error and "tls_ca_file" not in result.error
    assert smtp.received == []
