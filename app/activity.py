"""A conversation's activity: assignments, transfers, resolves, reopens, automatic replies,
erasure and mentions, kept as ``Activity`` rows and shown as compact lines in the thread.

``add`` joins the caller's transaction (so the line exists exactly when the change does);
``publish`` sends the ``activity.created`` events once that transaction has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.events import ActivityCreated, ActivityOut, ConversationChanged, ConversationOut
from app.models import Account, Activity, Conversation, Office, User
from app.services import Services

KINDS = frozenset(
    {
        "assigned",
        "picked",
        "assigned_to",
        "transferred",
        "handover",
        "resolved",
        "reopened",
        "auto_reply",
        "erased",
        "erased_by_visitor",  # the visitor erased it from their widget (app.visitor_data)
        "erased_forgotten",  # erased after it was answered, as its visitor asked
        "forget_asked",  # the visitor asked not to keep it once answered
        "forget_cancelled",  # …and changed their mind
        "mention",
        "spam",  # marked as spam by a manager (app.spam)
        "not_spam",  # restored from spam
        "blocked",  # its sender or address blocked (app.moderation); detail: contact | ip
        "labelled",  # a label put on it (app.labels); detail: the label's name then
        "unlabelled",  # a label taken off it; detail: the label's name then
        "rule",  # sent to an office or adviser by a keyword rule (app.rule_ingest); detail: rule
        "reply_address",  # the chat visitor left an address for replies by e-mail (app.offline)
        "reply_address_removed",  # …and took it back
        "survey",  # the visitor's satisfaction answer (app.surveys); detail: rating, "\n", comment
    }
)


def add(
    session: AsyncSession,
    conversation_id: int,
    kind: str,
    at: datetime,
    *,
    actor_id: int | None = None,
    user_id: int | None = None,
    office_id: int | None = None,
    from_office_id: int | None = None,
    message_id: int | None = None,
    detail: str = "",
) -> Activity:
    """Adds one activity line to the session's transaction (not committed here)."""
    if kind not in KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    row = Activity(
        conversation_id=conversation_id,
        kind=kind,
        actor_id=actor_id,
        user_id=user_id,
        office_id=office_id,
        from_office_id=from_office_id,
        message_id=message_id,
        detail=detail[:500],
        at=at,
    )
    session.add(row)
    return row


async def activities_out(session: AsyncSession, rows: Sequence[Activity]) -> list[ActivityOut]:
    """The browser's view of activity rows, with the names of the people and offices."""
    user_ids = {i for r in rows for i in (r.actor_id, r.user_id) if i}
    office_ids = {i for r in rows for i in (r.office_id, r.from_office_id) if i}
    users = await repository.cached_by_id(session, User, user_ids)
    offices = await repository.cached_by_id(session, Office, office_ids)

    def name(table: dict[int, User] | dict[int, Office], key: int | None) -> str:
        found = table.get(key) if key else None
        return found.name if found is not None else ""

    return [
        ActivityOut(
            id=r.id or 0,
            conversation_id=r.conversation_id,
            kind=r.kind,
            actor_id=r.actor_id,
            actor_name=name(users, r.actor_id),
            user_id=r.user_id,
            user_name=name(users, r.user_id),
            office_id=r.office_id,
            office_name=name(offices, r.office_id),
            from_office_id=r.from_office_id,
            from_office_name=name(offices, r.from_office_id),
            message_id=r.message_id,
            detail=r.detail,
            at=r.at,
        )
        for r in rows
    ]


async def for_conversation(session: AsyncSession, conversation_id: int) -> list[ActivityOut]:
    """A conversation's activity lines, in time order."""
    rows = (
        await session.exec(
            select(Activity)
            .where(Activity.conversation_id == conversation_id)
            .order_by(col(Activity.at), col(Activity.id))
        )
    ).all()
    return await activities_out(session, rows)


async def publish(
    services: Services,
    conversation: Conversation,
    account: Account,
    rows: Sequence[Activity],
) -> None:
    """Sends ``activity.created`` for rows whose transaction has committed."""
    if not rows:
        return
    async with services.db.session(quick=True) as session:  # a few point reads (names)
        views = await activities_out(session, rows)
    audience = repository.audience(conversation, account)
    for view in views:
        await services.hub.publish(
            account.destination_id, ActivityCreated(**audience, activity=view)
        )


async def publish_change(
    services: Services,
    conversation: Conversation,
    account: Account,
    view: ConversationOut,
    rows: Sequence[Activity] = (),
) -> None:
    """After a committed change: the conversation as it is now, then its new activity lines."""
    await services.hub.publish(
        account.destination_id,
        ConversationChanged(**repository.audience(conversation, account), conversation=view),
    )
    await publish(services, conversation, account, rows)
