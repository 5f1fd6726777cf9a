"""Automatic replies: what a visitor who writes while nobody is on duty is told, and when.

Never counted as a response. At most one per contact and account every few hours, so two
robots can never keep answering each other (RFC 3834).
"""

from __future__ import annotations

from app import activity, keys, recovery, repository
from app.events import MessageCreated
from app.i18n import gettext
from app.models import (
    Account,
    AuthorKind,
    Conversation,
    DeliveryStatus,
    Destination,
    Direction,
    Message,
    Office,
)
from app.outbox import enqueue
from app.routing import RouteDecision
from app.services import Services
from app.timefmt import human_when
from connectors.base import InboundMessage

AUTO_REPLY_EVERY = 4 * 3600  # seconds between two automatic replies to one contact


async def answer(
    services: Services,
    conversation: Conversation,
    account: Account,
    decision: RouteDecision,
    language: str,
    inbound: InboundMessage,
) -> None:
    """Tells the visitor when an answer can be expected. Never counts as a response.

    At most one per contact and account every few hours, so two robots can never keep
    answering each other (RFC 3834)."""
    fresh = await services.redis.set(
        keys.auto_reply(account.destination_id, account.key, conversation.contact_id),
        "1",
        nx=True,
        ex=AUTO_REPLY_EVERY,
    )
    if not fresh:
        return
    async with services.db.session() as session:
        destination = await session.get(Destination, account.destination_id)
        office = await session.get(Office, conversation.office_id)
        assert destination is not None and office is not None
        now = services.clock.now()
        if decision.next_answer_at is not None:
            when = human_when(decision.next_answer_at, now, destination.timezone, language)
            text = gettext(language, "auto.nobody_on_duty", office=office.name, when=when)
        else:
            text = gettext(language, "auto.nobody_at_all")
        message = Message(
            conversation_id=conversation.id or 0,
            account_id=account.id or 0,
            direction=Direction.OUT,
            author_kind=AuthorKind.SYSTEM,
            kind="auto_reply",
            text=text,
            created_at=now,
            delivery_status=DeliveryStatus.PENDING,
        )
        session.add(message)
        await session.flush()
        line = activity.add(
            session,
            conversation.id or 0,
            "auto_reply",
            now,
            office_id=conversation.office_id,
            message_id=message.id,
        )
        await recovery.hold(session, message, account.destination_id)
        await session.commit()
    assert message.id is not None
    async with recovery.following(services, message.id):
        await services.hub.publish(
            account.destination_id,
            MessageCreated(
                **repository.audience(conversation, account),
                message=repository.message_out(message),
            ),
        )
        await activity.publish(services, conversation, account, [line])
        await enqueue(services, account.destination_id, message.id)
