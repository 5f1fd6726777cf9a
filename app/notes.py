"""Internal notes between advisers, with ``@`` mentions of colleagues.

A note is a message of direction ``note``: never sent to the visitor (never queued for a
connector, never in the visitor's frames), never a response (no turn closes), and it leaves
the conversation's unread count, waiting time and order in the lists alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import activity, repository
from app.actions import (
    ActionError,
    check_conversation,
    check_text,
    check_writable,
    stored_under,
)
from app.events import MessageCreated
from app.models import (
    AuthorKind,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    User,
)
from app.services import Services

MAX_MENTIONS = 20


async def check_mentions(
    session: AsyncSession, conversation: Conversation, mentions: Sequence[object]
) -> list[User]:
    """The mentioned colleagues, once each, in the order given: every one an active user of
    the destination who may see the conversation; 422 otherwise."""
    ids: list[int] = []
    for value in mentions:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ActionError("error.mention_out_of_reach")
        if value not in ids:
            ids.append(value)
    if len(ids) > MAX_MENTIONS:
        raise ActionError("error.mention_out_of_reach")
    if not ids:
        return []
    found = {u.id: u for u in (await session.exec(select(User).where(col(User.id).in_(ids)))).all()}
    users = [found.get(i) for i in ids]
    reachable = [u for u in users if u is not None and repository.can_see(u, conversation)]
    if len(reachable) != len(ids):
        raise ActionError("error.mention_out_of_reach")
    return reachable


async def add_note(
    services: Services,
    user: User,
    conversation_id: int,
    text: object,
    client_id: str = "",
    mentions: Sequence[object] = (),
) -> tuple[Message, list[int]]:
    """Stores an internal note and its mentions; shows it live to the conversation's advisers
    (the mentioned ones included: each may see it). Returns the note and the mentioned ids. A
    note sent again with the ``client_id`` of one stored in the conversation (a request retried
    after its answer was lost) is that note: stored, shown and its colleagues alerted once."""
    client_id = client_id[:64]
    try:
        return await _add_note(services, user, conversation_id, text, client_id, mentions)
    except IntegrityError:  # the conversation's unique client id (ux_message_note_client)
        stored = await stored_under(services, user, conversation_id, client_id, Direction.NOTE)
        if stored is None:
            raise
    async with services.db.session() as session:
        mentioned = await repository.mentions_of(session, conversation_id, stored.id)
    return stored, mentioned.get(stored.id or 0, [])


async def _add_note(
    services: Services,
    user: User,
    conversation_id: int,
    text: object,
    client_id: str,
    mentions: Sequence[object],
) -> tuple[Message, list[int]]:
    async with services.db.session() as session:
        loaded = check_writable(await check_conversation(session, user, conversation_id))
        conversation, account = loaded.conversation, loaded.account
        body = check_text(text, services.settings.max_message_chars)
        mentioned = await check_mentions(session, conversation, mentions)
        now = services.clock.now()
        note = Message(
            conversation_id=conversation_id,
            account_id=account.id or 0,
            direction=Direction.NOTE,
            author_kind=AuthorKind.ADVISER,
            author_user_id=user.id,
            client_id=client_id,
            text=body,
            kind="note",
            created_at=now,
            delivery_status=DeliveryStatus.RECEIVED,
        )
        session.add(note)
        await session.flush()  # the mention lines point at the note
        lines = [
            activity.add(
                session,
                conversation_id,
                "mention",
                now,
                actor_id=user.id,
                user_id=colleague.id,
                message_id=note.id,
            )
            for colleague in mentioned
        ]
        await session.commit()
    ids = [u.id for u in mentioned if u.id is not None]
    await services.hub.publish(
        account.destination_id,
        MessageCreated(
            **repository.audience(conversation, account),
            message=repository.message_out(note, user.name, mentions=ids),
        ),
    )
    await activity.publish(services, conversation, account, lines)
    return note, ids
