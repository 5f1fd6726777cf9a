"""Sending replies through a real SMTP server (aiosmtpd), with a copy in Dovecot's Sent folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connectors.base import Author, Channel, OutboundMessage
from connectors.email import EmailConnector, MailboxConfig
from connectors.email.compose import auto_reply
from connectors.email.parse import parse_message
from tests.support.dovecot import free_port

from .conftest import SmtpServer, mail


def reply(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "account": "office-bay",
        "conversation_id": 7,
        "message_id": 8,
        "thread_key": "m1@example.org",
        "recipient": Author("visitor@example.org", name="Visitor", handle="Visitor@Example.org"),
        "text": "The first ferry leaves at 7:10.",
        "subject": "Re: Ferry times",
        "reply_to_external_id": "m2@example.org",
        "references": ("m1@example.org",),
        "metadata": {"token": "C7"},
    }
    values.update(overrides)
    return OutboundMessage(**values)


async def test_reply_reaches_the_smtp_server_with_threading_headers(
    make_config: Callable[..., MailboxConfig], smtp_server: SmtpServer, imap_client: Any
) -> None:
    connector = EmailConnector(make_config())
    result = await connector.send(reply())
    assert result.ok, result.error
    (received,) = await smtp_server.wait_for(1)
    message = received.message
    assert received.sender == "hello@bay.example"
    assert received.recipients == ["Visitor@Example.org"]
    assert message["From"] == "Bay Tourist Office <hello@bay.example>"
    assert message["To"] == "Visitor <Visitor@Example.org>"
    assert message["Subject"] == "Re: Ferry times [#C7]"
    assert message["In-Reply-To"] == "<m2@example.org>"
    assert message["References"] == "<m1@example.org> <m2@example.org>"
    assert message["Message-ID"] == f"<{result.external_ids[0]}>"
    assert message["Auto-Submitted"] is None
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    # A copy of what was sent, in the Sent folder.
    await imap_client.select("Sent")
    fetched = await imap_client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert result.external_ids[0].encode() in b"".join(bytes(x) for x in fetched.lines)
    assert connector.status.counters == {"sent": 1, "sent_copies": 1}


async def test_automatic_reply_is_marked_auto_submitted(
    make_config: Callable[..., MailboxConfig], smtp_server: SmtpServer
) -> None:
    inbound = parse_message(mail(), account="office-bay")
    message = auto_reply(inbound, "We answer from 9:00 tomorrow.")
    assert message is not None
    result = await EmailConnector(make_config()).send(message)
    assert result.ok
    (received,) = await smtp_server.wait_for(1)
    assert received.message["Auto-Submitted"] == "auto-replied"
    assert received.message["In-Reply-To"] == "<m1@example.org>"
    assert received.message["Subject"] == "Re: Ferry times"


@pytest.mark.parametrize(
    ("reply_code", "retryable"),
    [("451 4.3.0 Try again later", True), ("550 5.1.1 No such user", False)],
)
async def test_refused_mail_is_a_readable_failure(
    make_config: Callable[..., MailboxConfig],
    smtp_server: SmtpServer,
    reply_code: str,
    retryable: bool,
) -> None:
    smtp_server.handler.reply = reply_code
    connector = EmailConnector(make_config())
    result = await connector.send(reply())
    assert not result.ok
    assert result.retryable is retryable
    assert reply_code.split()[0] in result.error
    assert connector.status.counters["send_failed"] == 1
    # Coded for the adviser's language, with the server's own words as they came.
    status, _, words = reply_code.partition(" ")
    assert result.code == "smtp.server_said"
    assert result.params == {"status": status, "detail": words}


async def test_unreachable_smtp_is_retryable_and_missing_sent_folder_is_not_a_failure(
    make_config: Callable[..., MailboxConfig], smtp_server: SmtpServer
) -> None:
    closed = make_config(smtp_port=free_port(), timeout=2)
    down = await EmailConnector(closed).send(reply())
    assert (down.ok, down.retryable) == (False, True)
    assert "secret" not in down.error
    assert down.code == "smtp.connection_failed"
    assert down.params["server"] == f"{closed.smtp_host}:{closed.smtp_port}"
    assert down.params["detail"] and "secret" not in str(down.params)
    no_copy = EmailConnector(make_config(sent_folder="Does/Not/Exist"))
    result = await no_copy.send(reply())
    assert result.ok
    assert no_copy.status.counters == {"sent": 1}


async def test_unusable_recipient_is_not_retryable(
    make_config: Callable[..., MailboxConfig], smtp_server: SmtpServer
) -> None:
    bad = reply(recipient=Author("x", handle="not-an-address"))
    result = await EmailConnector(make_config()).send(bad)
    assert (result.ok, result.retryable) == (False, False)
    assert (result.code, result.params) == ("email.bad_address", {"address": "not-an-address"})
    assert smtp_server.received == []
