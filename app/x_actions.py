"""What advisers do on X besides replying: like a visitor's tweet, hide a reply (and undo
both), and move a public conversation to direct messages.

Every action is for advisers who may see the conversation (``repository.can_see``: 404
otherwise), never on an erased or spam conversation, and refused with a translated code
(``x.error.*``) when it does not apply or X says no. X is asked first; only what X accepted is
recorded: ``liked`` / ``hidden`` in the message's ``details``, published as ``message.status``
(the inbox fetches the message again), or the invitation as a sent reply.

Moving to DM posts the invitation publicly in reply to the visitor's latest tweet, then gives
the conversation the thread key ``dm:<the visitor's X id>``: later DMs from that person join
it, and the adviser's replies go by DM (``connectors.twitter.sending``). An older DM
conversation with the same person keeps its messages under ``dm:<id>#<its id>``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import actions, i18n, repository
from app.actions import ActionError, Loaded
from app.connector_registry import ConfigurationError, connector_for
from app.events import ConversationChanged, MessageCreated, MessageOut, MessageStatus
from app.metrics import close_turn
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    StoredAttachment,
    ThreadRef,
    User,
)
from app.preview import preview
from app.services import Services
from connectors.base import Author, Channel, DeliveryResult, OutboundMessage
from connectors.twitter.text import LIMIT, weighted_length

LANGUAGES = ("fr", "en")  # the catalogs the invitation is written in


@runtime_checkable
class XActions(Protocol):
    """What the X connector offers beyond the ``Connector`` protocol."""

    async def like(self, tweet_id: str, on: bool = True) -> DeliveryResult: ...

    async def hide_reply(self, tweet_id: str, hidden: bool = True) -> DeliveryResult: ...

    async def send(self, message: OutboundMessage) -> DeliveryResult: ...


# ---- checks ----------------------------------------------------------------------------


async def check_x_conversation(session: AsyncSession, user: User, conversation_id: int) -> Loaded:
    """An X conversation the user may see and write to."""
    loaded = actions.check_writable(
        await actions.check_conversation(session, user, conversation_id)
    )
    if loaded.conversation.channel != Channel.TWITTER:
        raise ActionError("x.error.not_x", 409)
    return loaded


async def check_tweet(session: AsyncSession, conversation_id: int, message_id: int) -> Message:
    """A visitor's public tweet of this conversation (not a DM, not our own reply)."""
    message = await session.get(Message, message_id)
    if message is None or message.conversation_id != conversation_id:
        raise ActionError("x.error.message_not_found", 404)
    if message.direction != Direction.IN or not (message.external_id or "").isdigit():
        raise ActionError("x.error.not_a_tweet", 422)
    return message


def check_connector(services: Services, account: Account) -> XActions:
    try:
        connector = connector_for(services, account)
    except ConfigurationError:
        connector = None
    if connector is None:
        raise ActionError("x.error.no_connector", 409)
    if not isinstance(connector, XActions):
        raise ActionError("x.error.not_x", 409)
    return connector


def refusal(result: DeliveryResult) -> ActionError:
    """X's refusal as the adviser reads it (the connector's delivery code, grouped)."""
    if result.code.startswith("x.rate_limited"):
        return ActionError("x.error.rate_limited", 429)
    if result.code in ("x.unavailable", "x.malformed"):
        return ActionError("x.error.unavailable", 409)
    return ActionError("x.error.refused", 409)


# ---- like and hide ---------------------------------------------------------------------

_REFUSED_AGAIN = {
    ("liked", True): "x.error.already_liked",
    ("liked", False): "x.error.not_liked",
    ("hidden", True): "x.error.already_hidden",
    ("hidden", False): "x.error.not_hidden",
}


async def set_liked(
    services: Services, user: User, conversation_id: int, message_id: int, liked: bool
) -> MessageOut:
    """Likes (or unlikes) the visitor's tweet as the office's X account."""
    return await _toggle(services, user, conversation_id, message_id, "liked", liked)


async def set_hidden(
    services: Services, user: User, conversation_id: int, message_id: int, hidden: bool
) -> MessageOut:
    """Hides (or shows again) a visitor's reply to one of the office's tweets."""
    return await _toggle(services, user, conversation_id, message_id, "hidden", hidden)


async def _toggle(
    services: Services, user: User, conversation_id: int, message_id: int, key: str, on: bool
) -> MessageOut:
    async with services.db.session() as session:
        loaded = await check_x_conversation(session, user, conversation_id)
        message = await check_tweet(session, conversation_id, message_id)
        if bool(repository.json_object(message.details).get(key)) == on:
            raise ActionError(_REFUSED_AGAIN[(key, on)], 409)
        root = loaded.conversation.thread_key.removeprefix("conv:")
        if key == "hidden" and message.external_id == root:  # the first tweet is no reply
            raise ActionError("x.error.not_a_reply", 422)
        connector = check_connector(services, loaded.account)
    # X is asked outside any transaction: a slow answer holds no database lock.
    tweet_id = message.external_id or ""
    if key == "liked":
        result = await connector.like(tweet_id, on)
    else:
        result = await connector.hide_reply(tweet_id, on)
    if not result.ok:
        raise refusal(result)
    async with services.db.session() as session:
        stored = await session.get(Message, message_id)
        conversation = await session.get(Conversation, conversation_id)
        assert stored is not None and conversation is not None
        details: dict[str, Any] = repository.json_object(stored.details)
        if on:
            details[key] = True
        else:
            details.pop(key, None)
        stored.details = json.dumps(details, ensure_ascii=False) if details else ""
        session.add(stored)
        await session.commit()
        files = (
            await session.exec(
                select(StoredAttachment).where(StoredAttachment.message_id == message_id)
            )
        ).all()
        out = repository.message_out(stored, "", files)  # a visitor's: named by the contact
    await services.hub.publish(
        loaded.account.destination_id,
        MessageStatus(
            **repository.audience(conversation, loaded.account),
            message_id=message_id,
            status=stored.delivery_status,
        ),
    )
    return out


# ---- move to DM ------------------------------------------------------------------------


def invitation(language: str) -> str:
    """The public invitation to continue by direct message, in ``language`` if we have it."""
    return i18n.gettext(language if language in LANGUAGES else "en", "x.invitation")


async def default_invitation(services: Services, user: User, conversation_id: int) -> str:
    """The invitation in the visitor's language when known and written, else the adviser's."""
    async with services.db.session() as session:
        loaded = await check_x_conversation(session, user, conversation_id)
        contact = await session.get(Contact, loaded.conversation.contact_id)
    visitor = (contact.language if contact else "").split("-", 1)[0].lower()
    return invitation(visitor if visitor in LANGUAGES else user.language or "en")


async def move_to_dm(
    services: Services, user: User, conversation_id: int, text: object
) -> MessageOut:
    """Answers publicly with ``text`` and continues the conversation by direct message."""
    async with services.db.session() as session:
        loaded = await check_x_conversation(session, user, conversation_id)
        conversation, account = loaded.conversation, loaded.account
        if not conversation.thread_key.startswith("conv:"):
            raise ActionError("x.error.already_dm", 409)
        body = actions.check_text(text, services.settings.max_message_chars)
        if weighted_length(body) > LIMIT:
            raise ActionError("error.tweet_too_long")
        contact = await session.get(Contact, conversation.contact_id)
        if contact is None or not contact.external_id.isdigit():
            raise ActionError("x.error.no_user", 422)
        latest = (
            await session.exec(
                select(Message.external_id)
                .where(Message.conversation_id == conversation_id, Message.direction == "in")
                .order_by(col(Message.created_at).desc(), col(Message.id).desc())
            )
        ).all()
        tweets = [t for t in latest if t and t.isdigit()]
        connector = check_connector(services, account)
    outbound = OutboundMessage(
        channel=Channel.TWITTER,
        account=account.key,
        conversation_id=conversation_id,
        message_id=0,
        thread_key=conversation.thread_key,
        recipient=Author(contact.external_id, contact.name, contact.handle),
        text=body,
        reply_to_external_id=tweets[0] if tweets else "",
    )
    result = await connector.send(outbound)  # posted first: nothing changes if X refuses
    if not result.ok:
        raise refusal(result)
    async with services.db.session() as session:
        conversation_row = await session.get(Conversation, conversation_id)
        assert conversation_row is not None
        conversation = conversation_row
        message = await _store_invitation(services, session, user, conversation, account, body)
        message.external_id = result.external_ids[0] if result.external_ids else None
        for ref in result.external_ids:  # a reply to the invitation still finds this thread
            session.add(
                ThreadRef(account_id=account.id or 0, ref=ref, conversation_id=conversation_id)
            )
        await _take_dm_key(session, conversation, f"dm:{contact.external_id}")
        await session.commit()
        view = await repository.live_view(services, session, conversation)
    out = repository.message_out(message, user.name)
    audience = repository.audience(conversation, account)
    await services.hub.publish(account.destination_id, MessageCreated(**audience, message=out))
    await services.hub.publish(
        account.destination_id, ConversationChanged(**audience, conversation=view)
    )
    return out


async def _store_invitation(
    services: Services,
    session: AsyncSession,
    user: User,
    conversation: Conversation,
    account: Account,
    body: str,
) -> Message:
    """The posted invitation, stored as the adviser's sent reply (it answers the visitor)."""
    now = services.clock.now()
    message = Message(
        conversation_id=conversation.id or 0,
        account_id=account.id or 0,
        direction=Direction.OUT,
        author_kind=AuthorKind.ADVISER,
        author_user_id=user.id,
        text=body,
        created_at=now,
        delivery_status=DeliveryStatus.SENT,
        details=json.dumps({"moved_to_dm": True}),
    )
    session.add(message)
    compiled = await services.router.schedule(session, account.destination_id)
    await close_turn(session, conversation, account, user, now, compiled)
    if conversation.assignee_id is None:
        conversation.assignee_id = user.id
    conversation.status = ConversationStatus.OPEN
    conversation.waiting_since = None
    conversation.unread = 0
    conversation.last_message_at = now
    conversation.preview = preview(body)
    await session.flush()
    return message


async def _take_dm_key(session: AsyncSession, conversation: Conversation, key: str) -> None:
    """Gives ``conversation`` the thread key the person's DMs arrive under; an older DM
    conversation with them keeps its own messages under a key of its own."""
    older = (
        await session.exec(
            select(Conversation).where(
                Conversation.account_id == conversation.account_id,
                Conversation.thread_key == key,
            )
        )
    ).first()
    if older is not None and older.id != conversation.id:
        older.thread_key = f"{key}#{older.id}"
        session.add(older)
        await session.flush()  # the unique (account, thread key) is free before it is taken
    conversation.thread_key = key
    session.add(conversation)
