"""The audit log: every manager's read or erasure of visitor data (export, profile, erasure),
and a visitor's own export or erasure from the widget, readable and exportable by the
destination manager (``AuditEntry``).

A read of personal data that could not be recorded is refused (503 ``audit.error.unrecorded``):
an unrecorded read is worse than a refused one. An erasure is recorded in its own transaction
(app.privacy), so it exists exactly when the erasure does.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import ActionError
from app.models import AuditEntry, Conversation, Role, User
from app.services import Services

log = logging.getLogger(__name__)

# What an entry says was done; "visitor_*" are a visitor's own, from their widget (no actor).
ACTIONS = ("export", "profile", "erase", "visitor_export", "visitor_erase")
MANAGERS = (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER)
PAGE_SIZE = 50


def add(
    session: AsyncSession,
    destination_id: int,
    action: str,
    at: datetime,
    *,
    actor_id: int | None = None,
    conversation_id: int | None = None,
    contact_id: int | None = None,
    detail: str = "",
    ip: str = "",
) -> AuditEntry:
    """Adds one entry to the caller's transaction (not committed here)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        destination_id=destination_id,
        actor_id=actor_id,
        action=action,
        conversation_id=conversation_id,
        contact_id=contact_id,
        detail=detail[:500],
        ip=ip[:64],
        at=at,
    )
    session.add(entry)
    return entry


async def record(
    services: Services,
    user: User,
    action: str,
    *,
    ip: str,
    conversation_id: int | None = None,
    contact_id: int | None = None,
    detail: str = "",
) -> None:
    """Records a manager's read in its own transaction, before the data leaves; a read that
    cannot be recorded is refused (503). Advisers' reads are their daily work, not audited."""
    if user.role not in MANAGERS:
        return
    try:
        async with services.db.session() as session:
            if conversation_id is not None and contact_id is None:
                conversation = await session.get(Conversation, conversation_id)
                contact_id = conversation.contact_id if conversation else None
            add(
                session,
                user.destination_id,
                action,
                services.clock.now(),
                actor_id=user.id,
                conversation_id=conversation_id,
                contact_id=contact_id,
                detail=detail,
                ip=ip,
            )
            await session.commit()
    except SQLAlchemyError as exc:
        log.error("audit entry not recorded (%s by user %s): read refused", action, user.id)
        raise ActionError("audit.error.unrecorded", 503) from exc


@dataclass(frozen=True, slots=True)
class Filters:
    """What the /audit page shows: a period (aware UTC bounds, end excluded), an actor (a user
    id, 0 = visitors themselves, None = everyone) and an action ("" = every action)."""

    start: datetime | None = None
    end: datetime | None = None
    actor: int | None = None
    action: str = ""


async def entries(
    session: AsyncSession,
    destination_id: int,
    filters: Filters,
    *,
    offset: int = 0,
    limit: int | None = PAGE_SIZE,
) -> list[AuditEntry]:
    """The destination's entries passing ``filters``, newest first."""
    query = select(AuditEntry).where(AuditEntry.destination_id == destination_id)
    if filters.start is not None:
        query = query.where(col(AuditEntry.at) >= filters.start)
    if filters.end is not None:
        query = query.where(col(AuditEntry.at) < filters.end)
    if filters.actor == 0:
        query = query.where(col(AuditEntry.actor_id).is_(None))
    elif filters.actor is not None:
        query = query.where(AuditEntry.actor_id == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    query = query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.exec(query)).all())


async def actors(session: AsyncSession, destination_id: int) -> list[User]:
    """The destination's users (the actor filter's choices, and the names of entries)."""
    found = await session.exec(
        select(User).where(User.destination_id == destination_id).order_by(col(User.name))
    )
    return list(found.all())


def to_csv(rows: Sequence[AuditEntry], names: dict[int, str], visitor: str) -> str:
    """The entries as CSV (UTC ISO 8601 times); a formula-looking cell is quoted with ``'`` so a
    spreadsheet never runs it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["at_utc", "actor_id", "actor", "action", "conversation_id", "contact_id", "detail", "ip"]
    )
    for entry in rows:
        actor = names.get(entry.actor_id, "") if entry.actor_id is not None else visitor
        writer.writerow(
            [
                entry.at.isoformat(),
                entry.actor_id if entry.actor_id is not None else "",
                _cell(actor),
                entry.action,
                entry.conversation_id if entry.conversation_id is not None else "",
                entry.contact_id if entry.contact_id is not None else "",
                _cell(entry.detail),
                entry.ip,
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
