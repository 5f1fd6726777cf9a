"""A reply goes where the visitor asked: the Reply-To of their latest mail (a web form writes
from no-reply@…), through the real outbox and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from sqlmodel import col, select

from app import actions, keys, repository
from app.channels import load_connectors
from app.dispatch import supervise_dispatchers
from app.embedded_redis import free_port
from app.inbox import Inbox
from app.models import Account, Contact, Conversation, DeliveryStatus, Message, Role, User
from app.outbox import reply_recipient
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.app.conftest import Collector

EIGHT = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)  # 10:00 in Paris: every office is open


@pytest.fixture
async def sending(services: Services, smtp: tuple[Collector, int]) -> AsyncIterator[Collector]:
    """Port-Argent's mailbox sending through the test's SMTP server, its outbox dispatched.

    Its IMAP server is never reached here: the lease a worker running the mailbox would hold is
    taken for it, so the app accepts replies on it."""
    collector, port = smtp
    settings = {"address": "info@port-argent.example", "imap_host": "127.0.0.1",
                "imap_port": free_port(), "imap_user": "info",
                "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "plain",
                "sent_folder": "", "timeout": 10}  # fmt: skip
    async with services.db.session() as session:
        account = (
            await session.exec(select(Account).where(Account.key == "mail-port-argent"))
        ).one()
        account.active, account.settings = True, json.dumps(settings)
        session.add(account)
        await session.commit()
    await services.redis.set(keys.connector_lease(1, "mail-port-argent"), "test-worker", ex=300)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CONCIERGE_SECRET_MAIL_PORT_ARGENT_IMAP_PASSWORD", "unused")
        await load_connectors(services)
        task = asyncio.create_task(supervise_dispatchers(services, "test-worker"))
        try:
            yield collector
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def mail(
    n: int, sender: str, name: str = "", details: dict[str, Any] | None = None, **kw: Any
) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL, account="mail-port-argent", external_id=f"form-{n}@site.example",
        thread_key=kw.pop("thread_key", f"form-{n}@site.example"),
        author=Author(external_id=sender.lower(), name=name, handle=sender),
        subject="Demande depuis le site", text=f"Bonjour, question {n}",
        received_at=kw.pop("received_at", EIGHT), details=details or {}, **kw,
    )  # fmt: skip


async def reply_and_collect(
    services: Services, collector: Collector, conversation_id: int, text: str
) -> EmailMessage:
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        adviser = (
            await session.exec(
                select(User)
                .where(User.office_id == conversation.office_id, User.role == Role.ADVISER)
                .order_by(col(User.id))
            )
        ).first()
    assert adviser is not None
    before = len(collector.messages)
    reply = await actions.reply(services, adviser, conversation_id, text)
    for _ in range(150):
        async with services.db.session() as session:
            stored = await session.get(Message, reply.id)
        if stored is not None and stored.delivery_status != DeliveryStatus.PENDING:
            break
        await asyncio.sleep(0.1)
    assert stored is not None and stored.delivery_status == DeliveryStatus.SENT, stored
    assert len(collector.messages) == before + 1
    return cast(EmailMessage, message_from_bytes(collector.messages[-1], policy=policy.default))


async def test_a_web_form_mail_is_answered_to_its_reply_to(
    services: Services, sending: Collector
) -> None:
    # As a parser gives it: the form's address is the sender, the visitor is in Reply-To.
    result = await Inbox(services).ingest(
        mail(1, "no-reply@site.example", "Site de réservation",
             {"reply_to": "Ana Lopes <ana.lopes@example.org>"})
    )  # fmt: skip
    sent = await reply_and_collect(services, sending, result.conversation_id, "Bonjour Ana")
    assert sent["To"].addresses[0].addr_spec == "ana.lopes@example.org"
    assert sent["To"].addresses[0].display_name == "Ana Lopes"
    assert "no-reply" not in str(sent["To"])


async def test_a_parser_that_made_the_visitor_the_contact_is_answered_alike(
    services: Services, sending: Collector
) -> None:
    # The other way a parser may give it: the contact is the Reply-To person, the form is "via".
    result = await Inbox(services).ingest(
        mail(2, "ana.lopes@example.org", "Ana Lopes", {"via": "no-reply@site.example"})
    )
    sent = await reply_and_collect(services, sending, result.conversation_id, "Bonjour Ana")
    assert sent["To"].addresses[0].addr_spec == "ana.lopes@example.org"
    assert sent["To"].addresses[0].display_name == "Ana Lopes"


async def test_the_latest_mail_decides_where_the_reply_goes(
    services: Services, sending: Collector
) -> None:
    inbox = Inbox(services)
    first = await inbox.ingest(
        mail(3, "ana@example.org", "Ana", {"reply_to": "bbb@ddd.com (John Doe)"})
    )
    sent = await reply_and_collect(services, sending, first.conversation_id, "Un")
    # "bbb@ddd.com (John Doe)": the comment is the name.
    assert (sent["To"].addresses[0].addr_spec, sent["To"].addresses[0].display_name) == (
        "bbb@ddd.com", "John Doe",
    )  # fmt: skip
    # Her next mail has no Reply-To: the answer goes back to her own address.
    await inbox.ingest(
        mail(4, "ana@example.org", "Ana", references=("form-3@site.example",),
             received_at=EIGHT + timedelta(minutes=1))
    )  # fmt: skip
    sent = await reply_and_collect(services, sending, first.conversation_id, "Deux")
    assert sent["To"].addresses[0].addr_spec == "ana@example.org"


@pytest.mark.parametrize(
    "reply_to,expected",
    [
        ("visitor@example.org", ("visitor@example.org", "")),
        ("Ana <ANA@example.org>", ("ANA@example.org", "Ana")),
        ("ana@example.org", ("ana@example.org", "Ana Lopes")),  # her own: her name is kept
        ('"Doe, John" <j@x.example>, other@y.example', ("j@x.example", "Doe, John")),
        ("undisclosed-recipients:;, late@x.example", ("late@x.example", "")),
        ("<>", ("ana@example.org", "Ana Lopes")),  # nothing usable: the contact
        ("not an address", ("ana@example.org", "Ana Lopes")),
        ("", ("ana@example.org", "Ana Lopes")),
    ],
)
def test_which_address_a_reply_to_gives(reply_to: str, expected: tuple[str, str]) -> None:
    contact = Contact(destination_id=1, channel="email", external_id="ana@example.org",
                      name="Ana Lopes", handle="ana@example.org", created_at=EIGHT)  # fmt: skip
    details = json.dumps({"reply_to": reply_to})
    recipient = reply_recipient("email", contact, details)
    assert (recipient.handle, recipient.name) == expected
    # Only e-mail has a Reply-To; a malformed details column is no Reply-To.
    assert reply_recipient("twitter", contact, details).handle == "ana@example.org"
    assert reply_recipient("email", contact, "{not json").handle == "ana@example.org"


async def test_the_adviser_sees_where_the_reply_goes(services: Services) -> None:
    result = await Inbox(services).ingest(
        mail(5, "no-reply@site.example", "Site", {"reply_to": "ana.lopes@example.org"})
    )
    async with services.db.session() as session:
        (message,) = await repository.messages_out(session, result.conversation_id)
    assert message.details["reply_to"] == "ana.lopes@example.org"


async def test_a_mail_stored_apart_is_answered_on_its_own_message_id(
    services: Services, sending: Collector
) -> None:
    inbox = Inbox(services)
    shared = "same@broken-mailer.example"

    def sharing(sender: str, text: str, fingerprint: str) -> InboundMessage:
        return dataclasses.replace(
            mail(6, sender), external_id=shared, thread_key=shared, text=text,
            metadata={"fingerprint": fingerprint},
        )  # fmt: skip

    await inbox.ingest(sharing("ana@example.org", "Premier", "a" * 64))
    other = await inbox.ingest(sharing("bob@example.net", "Second", "b" * 64))
    sent = await reply_and_collect(services, sending, other.conversation_id, "Bonjour Bob")
    assert sent["To"].addresses[0].addr_spec == "bob@example.net"
    # His mailer knows the mail by the Message-ID it wrote, not by the id it is stored under.
    assert str(sent["In-Reply-To"]).strip() == f"<{shared}>"
    assert str(sent["References"]).strip() == f"<{shared}>"
