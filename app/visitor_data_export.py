"""A chat visitor's copy of their own conversation (app.visitor_data): JSON with ISO 8601 UTC
times, or readable text in their language and the destination's local time.

Only what the visitor saw: their messages and the replies (with the adviser's name as the widget
showed it), automatic replies and the files' names; never a note, a routing or activity line,
an address or anything else only the staff see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.i18n import gettext
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    Destination,
    Direction,
    Message,
    StoredAttachment,
)


@dataclass(frozen=True, slots=True)
class Line:
    at: datetime
    author: str  # visitor | adviser | system
    name: str  # the adviser's name, as the widget shows it
    text: str
    files: list[dict[str, Any]]


async def _lines(session: AsyncSession, conversation_id: int) -> list[Line]:
    messages = (
        await session.exec(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction != Direction.NOTE,  # between advisers only
            )
            .order_by(col(Message.created_at), col(Message.id))
        )
    ).all()
    names = await repository.author_names(session, messages)
    files = (
        await session.exec(
            select(StoredAttachment).where(
                col(StoredAttachment.message_id).in_([m.id for m in messages])
            )
        )
    ).all()
    by_message: dict[int, list[dict[str, Any]]] = {}
    for file in files:
        by_message.setdefault(file.message_id, []).append(
            {"filename": file.filename, "content_type": file.content_type, "size": file.size}
        )
    return [
        Line(
            at=m.created_at,
            author=str(m.author_kind),
            name=names.get(m.author_user_id or 0, "")
            if m.author_kind == AuthorKind.ADVISER
            else "",
            text=m.text,
            files=by_message.get(m.id or 0, []),
        )
        for m in messages
    ]


async def as_json(
    session: AsyncSession, account: Account, conversation: Conversation, now: datetime
) -> dict[str, Any]:
    """The visitor's conversation as a JSON object (times in UTC, ISO 8601)."""
    assert conversation.id is not None
    contact = await session.get(Contact, conversation.contact_id)
    return {
        "exported_at": now.isoformat(),
        "chat": account.name,
        "you": {
            "name": contact.name if contact else "",
            "email": conversation.reply_email,
        },
        "conversation": {
            "id": conversation.id,
            "started": conversation.created_at.isoformat(),
            "status": str(conversation.status),
            "do_not_keep": conversation.forget_after_resolved,
            "erase_at": conversation.forget_at.isoformat() if conversation.forget_at else None,
        },
        "messages": [
            {
                "at": line.at.isoformat(),
                "from": line.author,
                "name": line.name,
                "text": line.text,
                "files": line.files,
            }
            for line in await _lines(session, conversation.id)
        ],
    }


async def as_text(
    session: AsyncSession,
    account: Account,
    conversation: Conversation,
    now: datetime,
    lang: str,
) -> str:
    """The visitor's conversation as readable text, in their language and the destination's
    local time (the zone is named once at the top)."""
    assert conversation.id is not None
    destination = await session.get(Destination, account.destination_id)
    zone = ZoneInfo(destination.timezone if destination else "UTC")

    def when(at: datetime) -> str:
        return format_datetime(at, "medium", tzinfo=zone, locale=lang)

    out = [
        gettext(lang, "visitor.data.text_title", chat=account.name),
        gettext(lang, "visitor.data.text_exported", when=when(now)),
        gettext(lang, "visitor.data.text_zone", zone=zone.key),
        "",
    ]
    for line in await _lines(session, conversation.id):
        if line.author == AuthorKind.VISITOR:
            who = gettext(lang, "visitor.data.text_you")
        elif line.author == AuthorKind.ADVISER:
            who = line.name or gettext(lang, "visitor.data.text_adviser")
        else:
            who = gettext(lang, "visitor.data.text_automatic")
        out.append(f"[{when(line.at)}] {who}:")
        out.extend(f"    {row}" for row in (line.text or "").splitlines() or [""])
        for file in line.files:
            out.append("    " + gettext(lang, "visitor.data.text_file", name=file["filename"]))
        out.append("")
    return "\n".join(out)
