"""Assigning a conversation to a named colleague, or back to the office queue.

Unlike the assignment pass, a person's choice is not held to the office cap (like taking one).
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from app import activity, repository
from app.actions import ActionError, check_conversation, check_writable
from app.assignment import assign_waiting
from app.models import Conversation, Role, RoutingDecision, User
from app.services import Services

ASSIGNABLE = (Role.ADVISER, Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER)


async def check_colleague(session: AsyncSession, user: User, colleague_id: object) -> User:
    """An active adviser or manager of ``user``'s destination; 422 otherwise."""
    if not isinstance(colleague_id, int) or isinstance(colleague_id, bool):
        raise ActionError("error.unknown_colleague")
    colleague = await session.get(User, colleague_id)
    if (
        colleague is None
        or not colleague.active
        or colleague.destination_id != user.destination_id
        or colleague.role not in ASSIGNABLE
    ):
        raise ActionError("error.unknown_colleague")
    return colleague


def reaches(colleague: User, conversation: Conversation) -> bool:
    """Whether ``colleague`` may be given ``conversation``: one of its office, or a
    destination manager (an adviser of another office would not even see it)."""
    if colleague.destination_id != conversation.destination_id or not colleague.active:
        return False
    return (
        colleague.role == Role.DESTINATION_MANAGER or colleague.office_id == conversation.office_id
    )


async def assign_to(
    services: Services,
    user: User,
    conversation_id: int,
    colleague_id: int | None,
    assign: bool = True,
) -> tuple[Conversation, bool]:
    """Gives a conversation to a colleague (``None``: back to the office queue); says whether
    anything changed. ``assign`` False leaves the queue's assignment pass to the caller."""
    async with services.db.session() as session:
        loaded = check_writable(await check_conversation(session, user, conversation_id))
        conversation, account = loaded.conversation, loaded.account
        colleague = None
        if colleague_id is not None:
            colleague = await check_colleague(session, user, colleague_id)
            if not reaches(colleague, conversation):
                raise ActionError("error.unknown_colleague")
        if conversation.assignee_id == colleague_id:
            return conversation, False
        now = services.clock.now()
        conversation.assignee_id = colleague_id
        session.add(conversation)
        if colleague is not None:
            session.add(
                RoutingDecision(
                    conversation_id=conversation_id,
                    office_id=conversation.office_id,
                    adviser_id=colleague_id,
                    reason="assigned",
                    detail=f"by user {user.id}",
                    at=now,
                )
            )
        # user_id None on an ``assigned_to`` line: put back in the queue.
        line = activity.add(
            session, conversation_id, "assigned_to", now, actor_id=user.id, user_id=colleague_id
        )
        await session.commit()
        view = await repository.live_view(services, session, conversation)
    await activity.publish_change(services, conversation, account, view, [line])
    if colleague_id is None and assign:
        await assign_waiting(services, account.destination_id, conversation.office_id)
    return conversation, True
