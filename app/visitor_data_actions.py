"""A chat visitor's requests about their own data (``/api/visitor/data``): a copy, erasure,
and "do not keep this conversation after it is answered".

The widget's token names one visitor of one widget, and so one conversation: nothing here takes
a conversation id from the visitor. Erasure reuses the engine of app.privacy (messages, files,
the contact once nothing of theirs is left; the conversation's skeleton stays for the figures),
then the visitor's tabs start afresh and the inboxes showing it are told, live.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from app import activity, audit, privacy, repository, visitor_data_export, visitor_queue
from app.actions import ActionError
from app.events import VisitorFrame
from app.models import Account, Activity, Contact, Conversation, ConversationStatus
from app.services import Services
from app.visitor_data import due


async def _own(session: AsyncSession, account: Account, visitor_id: str) -> Conversation:
    conversation = await visitor_queue.conversation_of(session, account, visitor_id)
    if conversation is None or conversation.id is None:
        raise ActionError("widget.data.error.none", 404)
    return conversation


async def export(
    services: Services, account: Account, visitor_id: str, ip: str, fmt: str, lang: str
) -> tuple[int, dict[str, Any] | str]:
    """The visitor's own conversation (its id, and the JSON object or the text), recorded in
    the audit log before it leaves (a copy that cannot be recorded is refused, 503)."""
    now = services.clock.now()
    async with services.db.session() as session:
        conversation = await _own(session, account, visitor_id)
        data: dict[str, Any] | str
        if fmt == "text":
            data = await visitor_data_export.as_text(session, account, conversation, now, lang)
        else:
            data = await visitor_data_export.as_json(session, account, conversation, now)
        audit.add(
            session, account.destination_id, "visitor_export", now,
            conversation_id=conversation.id, contact_id=conversation.contact_id,
            detail=fmt, ip=ip,
        )  # fmt: skip
        await _commit_audit(session)
        return conversation.id or 0, data


async def _commit_audit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except SQLAlchemyError as exc:
        raise ActionError("widget.data.error.unavailable", 503) from exc


async def set_forget(
    services: Services, account: Account, visitor_id: str, forget: bool
) -> dict[str, Any]:
    """Turns "do not keep this conversation after it is answered" on or off; an already
    resolved one is then due ``forget_after_hours`` from now. The advisers see a line."""
    async with services.db.session() as session:
        conversation = await _own(session, account, visitor_id)
        lines: list[Activity] = []
        if conversation.forget_after_resolved != forget:
            conversation.forget_after_resolved = forget
            resolved = conversation.status == ConversationStatus.RESOLVED
            conversation.forget_at = due(services) if forget and resolved else None
            kind = "forget_asked" if forget else "forget_cancelled"
            lines.append(activity.add(session, conversation.id or 0, kind, services.clock.now()))
            session.add(conversation)
            await session.commit()
        result = {
            "forget": conversation.forget_after_resolved,
            "erase_at": conversation.forget_at.isoformat() if conversation.forget_at else None,
        }
    if lines:
        await activity.publish(services, conversation, account, lines)
    return result


async def erase(
    services: Services, account: Account, visitor_id: str, visitor_key: str, ip: str
) -> dict[str, Any]:
    """Erases the visitor's own conversation (and who they are, once nothing else of theirs
    is left), records it, tells the inboxes, and sends the visitor's tabs a fresh start."""
    now = services.clock.now()
    lines: list[Activity] = []
    async with services.db.session() as session:
        conversation = await _own(session, account, visitor_id)
        # Who hears of it, read before the erasure renames its thread.
        audience = repository.audience(conversation, account)
        erased = await privacy._erase(
            session, [conversation], now, None, lines, kind="erased_by_visitor"
        )
        forget = list(erased)
        contact = await session.get(Contact, conversation.contact_id)
        contact_erased = False
        if contact is not None and await privacy._erase_contact_if_done(session, contact):
            contact_erased = True
            forget.extend(await privacy._all_of(session, contact.id or 0))
        audit.add(
            session, account.destination_id, "visitor_erase", now,
            conversation_id=conversation.id, contact_id=conversation.contact_id, ip=ip,
        )  # fmt: skip
        await session.commit()
    await privacy._forget_events(services, list({c.id: c for c in forget}.values()))
    await activity.publish(services, conversation, account, lines)
    # Every tab of this visitor empties its thread and reconnects: a fresh start.
    await services.hub.signal(
        account.destination_id,
        VisitorFrame(
            **{**audience, "visitor_key": visitor_key}, frame={"type": "resync", "erased": True}
        ),
    )
    return {"erased": True, "visitor_erased": contact_erased}
