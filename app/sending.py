"""Honest sending: a reply that cannot be sent is refused at once, with a reason the adviser can
read, instead of failing a minute later in the outbox; a reply that failed can be sent again.

- No running connector: a mailbox or an X account needs a worker running its connector, which
  holds the account's lease in Redis (app/channels.py) only once the connector was built from
  its settings; an inactive account, settings it cannot be built from, or no worker running it
  mean nothing would send the reply. Chat widgets need nothing running.
- X public replies count as X does (``connectors.twitter.text``): over 280, only as a thread.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col

from app import actions, keys, recovery, repository
from app.events import MessageStatus
from app.models import Account, AuthorKind, Conversation, DeliveryStatus, Direction, Message, User
from app.outbox import enqueue
from app.services import Services
from connectors.twitter.text import LIMIT, weighted_length


def x_public(conversation: Conversation) -> bool:
    """An X conversation in public replies (a direct message has no 280-character limit)."""
    return conversation.channel == "twitter" and not conversation.thread_key.startswith("dm:")


async def connector_running(services: Services, account: Account) -> bool:
    """Whether a worker runs the account's connector now: chat widgets need nothing running;
    another account needs a worker holding its lease, which one takes only once the connector
    was built from the account's settings and renews while it runs."""
    if account.channel == "webchat":
        return True
    if not account.active:
        return False
    held: Any = await services.redis.exists(
        keys.connector_lease(account.destination_id, account.key)
    )
    return bool(held)


async def check_sendable(
    services: Services,
    account: Account,
    conversation: Conversation,
    text: str,
    split_thread: bool,
) -> bool:
    """Refuses (``ActionError``, 422) a reply nothing could send; returns the ``split_thread``
    value to store, which only an X public reply keeps."""
    public = x_public(conversation)
    if public and not split_thread and weighted_length(text) > LIMIT:
        raise actions.ActionError("error.tweet_too_long")
    if not await connector_running(services, account):
        raise actions.ActionError("error.no_connector")
    if account.channel == "webchat" and not account.active and not conversation.reply_email:
        # The widget's chats are closed (app.widget_closing): only an e-mail can reach them.
        raise actions.ActionError("error.widget_closed")
    return split_thread and public


async def retry(services: Services, user: User, message_id: int) -> Message:
    """Queues a failed adviser reply again: back to ``pending``, shown live, into the outbox."""
    async with services.db.session() as session:
        message = await session.get(Message, message_id)
        if message is None:
            raise actions.ActionError("error.message_not_found", 404)
        conversation = await session.get(Conversation, message.conversation_id)
        if conversation is None or not repository.can_see(user, conversation):
            raise actions.ActionError("error.message_not_found", 404)
        loaded = actions.check_writable(
            await actions.check_conversation(session, user, conversation.id or 0)
        )
        account = loaded.account
        if (
            message.direction != Direction.OUT
            or message.author_kind != AuthorKind.ADVISER
            or message.delivery_status != DeliveryStatus.FAILED
        ):
            raise actions.ActionError("error.not_failed", 409)
        await check_sendable(services, account, conversation, message.text, message.split_thread)
        # Only one of two clicks (or two tabs) may queue it again: a double send is worse than
        # a second click told "not failed".
        result = await session.exec(
            update(Message)
            .where(
                col(Message.id) == message_id,
                col(Message.delivery_status) == DeliveryStatus.FAILED,
            )
            .values(
                delivery_status=DeliveryStatus.PENDING,
                delivery_error="",
                delivery_code="",
                delivery_params="",
            )
        )
        if result.rowcount != 1:
            raise actions.ActionError("error.not_failed", 409)
        # Owed until queued, like a new reply: a Redis failure below is replayed. (A first
        # follow-up done but not yet deleted must not delete this one's row.)
        services.relayed.discard(message_id)
        await recovery.hold(session, message, account.destination_id, again=True)
        await session.commit()
        await session.refresh(message)
    async with recovery.following(services, message_id):
        await services.hub.publish(
            account.destination_id,
            MessageStatus(
                **repository.audience(conversation, account),
                message_id=message_id,
                status=DeliveryStatus.PENDING,
            ),
        )
        await enqueue(services, account.destination_id, message_id)
    return message
