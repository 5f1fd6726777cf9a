"""An adviser's chat reply e-mailed to a visitor who left an address and has gone.

Decided by the outbox when it delivers the reply (app.outbox): if the visitor's widget is not open
then, and still not open ``offline_mail_grace_seconds`` later (a page reload), the reply goes by
e-mail from the office's mailbox (:func:`app.offline.mailbox_for`), in the visitor's language,
with a link back to the chat (app.offline_link). Its outcome is the reply's delivery status, as
for any reply (sent, or failed with the mail server's reason).

Threading: every mail sent gets its own Message-ID, stored as a ``ThreadRef`` of the *mailbox*
account pointing at the chat conversation; the next one refers to all of them (and to the
visitor's answers, which the mail ingest stores the same way), so the visitor's mail program
keeps one thread, and their answer is found by its ``In-Reply-To``/``References`` (app.inbox).
Only refs stored this way count: a mail naming no Message-ID we sent for a conversation cannot
join it.
"""

from __future__ import annotations

import asyncio

from sqlmodel import col, select

from app import visitor_presence
from app.connector_registry import ConfigurationError, connector_for
from app.i18n import gettext
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    Message,
    Office,
    StoredAttachment,
    ThreadRef,
)
from app.offline import mailbox_for
from app.offline_link import ChatLink, url
from app.services import Services
from connectors.base import Attachment, Author, Channel, DeliveryResult, OutboundMessage


async def _live(services: Services, conversation: Conversation) -> bool:
    found = await visitor_presence.live_among(services, [conversation])
    return visitor_presence.member_of(conversation) in found


def body(lang: str, office: str, reply: str, link: str) -> str:
    """The e-mail's text: who answered, the reply, how to go on, why they receive it."""
    return "\n\n".join(
        [
            gettext(lang, "visitor.mail.intro", office=office),
            reply.strip(),
            gettext(lang, "visitor.mail.link", link=link),
            gettext(lang, "visitor.mail.answer"),
            "-- \n" + gettext(lang, "visitor.mail.why"),
        ]
    )


def may_mail(author_kind: AuthorKind, conversation: Conversation) -> bool:
    """Whether a chat message by ``author_kind`` may go by e-mail: an adviser's reply once the
    visitor left an address."""
    return author_kind == AuthorKind.ADVISER and bool(conversation.reply_email)


def queued(account: Account, conversation: Conversation, author_kind: AuthorKind) -> bool:
    """Whether a reply (or an automatic one) goes through the outbox (app.outbox) to be sent. A
    chat one does not: the live event that announces it is how it reaches the visitor
    (connectors.webchat), so it is sent once stored — unless it may go by e-mail, when the
    outbox decides at sending time whether the visitor has gone (:func:`deliver`)."""
    return account.channel != Channel.WEBCHAT or may_mail(author_kind, conversation)


async def deliver(
    services: Services, message: Message, conversation: Conversation
) -> DeliveryResult | None:
    """Sends the chat reply ``message`` (as the outbox has just read it, with its
    conversation) by e-mail when its visitor left an address and has gone; None when it is for
    the chat only (the visitor is here, left no address, or it is not an adviser's reply)."""
    message_id = message.id or 0
    if not may_mail(message.author_kind, conversation):
        return None
    if await _live(services, conversation):
        return None
    # A reload closes the socket and opens another a moment later: not gone.
    await asyncio.sleep(services.settings.offline_mail_grace_seconds)
    if await _live(services, conversation):
        return None
    async with services.db.session() as session:
        current = await session.get(Conversation, message.conversation_id)
        if current is None or not current.reply_email:
            return None  # removed meanwhile
        conversation = current
        mailbox = await mailbox_for(session, conversation.destination_id, conversation.office_id)
        if mailbox is None or mailbox.id is None:
            return DeliveryResult.failed(
                "offline.no_mailbox", "no mailbox to e-mail the reply from", retryable=False
            )
        account = await session.get(Account, conversation.account_id)
        contact = await session.get(Contact, conversation.contact_id)
        office = await session.get(Office, conversation.office_id)
        refs = (
            await session.exec(
                select(ThreadRef.ref)
                .where(
                    ThreadRef.account_id == mailbox.id,
                    ThreadRef.conversation_id == conversation.id,
                    col(ThreadRef.ref).not_like("token:%"),
                )
                .order_by(col(ThreadRef.id))
            )
        ).all()
        # An adviser's file (app.files) goes with the mail, as it would to a mailbox visitor.
        files = (
            await session.exec(
                select(StoredAttachment).where(StoredAttachment.message_id == message_id)
            )
        ).all()
    assert account is not None
    lang = (contact.language if contact else "") or services.settings.default_language
    office_name = office.name if office else mailbox.name
    link = url(services.settings, ChatLink(account.key, conversation.thread_key, lang))
    outbound = OutboundMessage(
        channel=Channel.EMAIL,
        account=mailbox.key,
        conversation_id=conversation.id or 0,
        message_id=message_id,
        thread_key=conversation.thread_key,
        recipient=Author(
            external_id=conversation.reply_email,
            name=contact.name if contact else "",
            handle=conversation.reply_email,
        ),
        text=body(lang, office_name, message.text, link),
        subject=gettext(lang, "visitor.mail.subject", office=office_name),
        reply_to_external_id=refs[-1] if refs else "",
        references=tuple(refs),
        attachments=tuple(
            Attachment(f.filename, f.content_type, f.size, f.data)
            for f in files
            if f.data is not None
        ),
    )
    try:
        connector = connector_for(services, mailbox)
    except ConfigurationError as exc:
        return DeliveryResult.failed("no_connector", str(exc), retryable=True)
    if connector is None:
        return DeliveryResult.failed(
            "no_connector", "no connector running for the mailbox", retryable=True
        )
    result = await connector.send(outbound)
    if result.ok and result.external_ids:
        async with services.db.session() as session:
            for ref in result.external_ids:
                session.add(
                    ThreadRef(account_id=mailbox.id, ref=ref, conversation_id=conversation.id or 0)
                )
            await session.commit()
    return result
