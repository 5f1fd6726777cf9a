"""Sending one mail with aiosmtplib, and keeping a copy in the Sent folder.

No retries here: a failure comes back as ``DeliveryResult(ok=False, retryable=…)`` — 4xx
replies, timeouts and dropped connections are retryable, 5xx replies and unusable recipients
are not — and the application's outbox decides when to try again.
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage

import aiosmtplib

from connectors.base import DeliveryResult
from connectors.email.config import MailboxConfig
from connectors.email.imap import Connection
from connectors.email.parse import normalise_message_id
from connectors.email.tls import TlsSetupError, tls_context, untrusted_certificate

log = logging.getLogger(__name__)


def _retryable(code: int) -> bool:
    return 400 <= code < 500 or code < 200  # 4xx is transient; odd codes are not proof of failure


def _failure(exc: Exception, server: str) -> DeliveryResult:
    # An untrusted certificate or an unusable CA file is the account's problem, not the
    # message's: retryable, so the reply goes out once an administrator has fixed it.
    if isinstance(exc, TlsSetupError):
        return DeliveryResult.failed("tls.setup", str(exc), retryable=True, detail=str(exc)[:300])
    if untrusted := untrusted_certificate(exc, server):
        return DeliveryResult.failed(
            "tls.untrusted", untrusted, retryable=True, server=server, detail=untrusted
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        reasons = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return DeliveryResult.failed(
            "smtp.recipient_refused",
            f"recipient refused: {reasons}",
            retryable=all(_retryable(c) for c in codes),
            status=" ".join(str(c) for c in codes),
            detail=reasons[:300],
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryResult.failed(
            "smtp.auth_refused",
            f"the SMTP server refused our login ({exc.code})",
            retryable=_retryable(exc.code),
            status=str(exc.code),
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryResult.failed(
            "smtp.server_said",
            f"SMTP server said {exc.code}: {exc.message}",
            retryable=_retryable(exc.code),
            status=str(exc.code),
            detail=exc.message[:300],
        )
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return DeliveryResult.failed(
            "smtp.timeout", "the SMTP server timed out", retryable=True, server=server
        )
    if isinstance(exc, OSError | aiosmtplib.SMTPException):
        detail = str(exc) or type(exc).__name__
        return DeliveryResult.failed(
            "smtp.connection_failed",
            f"SMTP connection failed: {detail}",
            retryable=True,
            server=server,
            detail=detail[:300],
        )
    raise exc


async def send_mail(config: MailboxConfig, mail: EmailMessage) -> DeliveryResult:
    """Submits ``mail`` to the account's SMTP server; never raises for delivery problems."""
    security = config.smtp_security
    try:
        client = aiosmtplib.SMTP(
            hostname=config.smtp_host,
            port=config.smtp_port,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            tls_context=tls_context(config) if security != "plain" else None,
            timeout=config.timeout,
        )
        async with client:
            if config.smtp_user:
                await client.login(config.smtp_user, config.smtp_password.get_secret_value())
            await client.send_message(mail, sender=config.address)
    except Exception as exc:
        result = _failure(exc, f"{config.smtp_host}:{config.smtp_port}")
        log.warning("email %s: send failed: %s", config.account, result.error)
        return result
    return DeliveryResult(ok=True, external_ids=(normalise_message_id(str(mail["Message-ID"])),))


async def append_sent(config: MailboxConfig, mail: EmailMessage) -> bool:
    """A copy in the Sent folder when there is one; a failure here is logged, never raised."""
    if not config.sent_folder:
        return False
    connection = Connection(config)
    try:
        await asyncio.wait_for(_append(connection, mail), config.timeout * 2)
        return True
    except Exception as exc:  # the copy is a courtesy: the mail itself has gone
        log.warning(
            "email %s: could not keep a copy in %s: %s", config.account, config.sent_folder, exc
        )
        return False
    finally:
        await connection.close()


async def _append(connection: Connection, mail: EmailMessage) -> None:
    await connection.open()
    await connection.append(mail, connection.config.sent_folder)
