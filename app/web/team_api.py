"""The adviser's JSON API about the team: colleagues and offices in view, one's own presence,
who views a conversation, the duty banner, and sending a failed reply again."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select

from app import actions, duty, presence, repository, sending
from app.assignment import assign_waiting
from app.deps import CsrfChecked, CurrentUser, RowId, ServicesDep
from app.events import MessageOut
from app.models import Conversation, ConversationStatus, Office, User
from app.services import Services

router = APIRouter(prefix="/api", tags=["team"])


class ColleagueOut(BaseModel):
    id: int
    name: str
    office_id: int | None
    office_name: str
    role: str
    status: presence.Status
    open: int  # open conversations assigned to them


class OfficeOut(BaseModel):
    id: int
    slug: str
    name: str
    on_duty: bool  # the rota says it answers now: its own hours or the shared duty
    online: int  # its advisers with a live inbox who are not away
    away: int


class PresenceIn(BaseModel):
    status: presence.Chosen


class PresenceOut(BaseModel):
    status: presence.Chosen


class ViewerOut(BaseModel):
    user_id: int
    name: str


class DutyOut(BaseModel):
    office_id: int | None
    office_name: str
    on_duty: bool
    kind: Literal["own_hours", "shared_duty"] | None
    scope: Literal["office", "destination"]
    since: datetime | None
    until: datetime | None
    next_start: datetime | None
    together: list[str] = []  # the other offices on the shared duty with it (sharing the load)


async def _team(services: Services, destination_id: int) -> list[User]:
    async with services.db.session() as session:
        return list(
            (
                await session.exec(
                    select(User)
                    .where(User.destination_id == destination_id, col(User.active).is_(True))
                    .order_by(col(User.name), col(User.id))
                )
            ).all()
        )


@router.get("/colleagues")
async def list_colleagues(user: CurrentUser, services: ServicesDep) -> list[ColleagueOut]:
    """The destination's active users with their office, status and open conversations."""
    people = await _team(services, user.destination_id)
    ids = [p.id for p in people if p.id is not None]
    async with services.db.session() as session:
        offices = {
            o.id: o.name
            for o in (
                await session.exec(
                    select(Office).where(Office.destination_id == user.destination_id)
                )
            ).all()
        }
        counts = dict(
            (
                await session.exec(
                    select(Conversation.assignee_id, func.count())
                    .where(
                        col(Conversation.assignee_id).in_(ids),
                        Conversation.status == ConversationStatus.OPEN,
                    )
                    .group_by(col(Conversation.assignee_id))
                )
            ).all()
        )
    status = await presence.statuses(services, user.destination_id, ids)
    return [
        ColleagueOut(
            id=p.id,
            name=p.name,
            office_id=p.office_id,
            office_name=offices.get(p.office_id, "") if p.office_id else "",
            role=p.role,
            status=status[p.id],
            open=counts.get(p.id, 0),
        )
        for p in people
        if p.id is not None
    ]


@router.get("/offices")
async def list_offices(user: CurrentUser, services: ServicesDep) -> list[OfficeOut]:
    """The destination's offices (transfer targets): on duty now or not, advisers online/away."""
    async with services.db.session() as session:
        duties = await duty.offices_on_duty(services, session, user.destination_id)
        rows = (
            await session.exec(
                select(Office)
                .where(Office.destination_id == user.destination_id)
                .order_by(col(Office.name))
            )
        ).all()
    people = await _team(services, user.destination_id)
    status = await presence.statuses(services, user.destination_id, [p.id for p in people if p.id])
    online: dict[int, int] = {}
    away: dict[int, int] = {}
    for p in people:
        if p.id is None or p.office_id is None:
            continue
        if status[p.id] == "online":
            online[p.office_id] = online.get(p.office_id, 0) + 1
        elif status[p.id] == "away":
            away[p.office_id] = away.get(p.office_id, 0) + 1
    return [
        OfficeOut(
            id=o.id,
            slug=o.slug,
            name=o.name,
            on_duty=duties[o.id].on_duty,
            online=online.get(o.id, 0),
            away=away.get(o.id, 0),
        )
        for o in rows
        if o.id is not None
    ]


@router.get("/me/presence")
async def get_presence(user: CurrentUser, services: ServicesDep) -> PresenceOut:
    """The status the signed-in adviser chose (online unless they said away today)."""
    assert user.id is not None
    chosen = await presence.chosen(services, user.destination_id, [user.id])
    return PresenceOut(status=chosen[user.id])


@router.post("/me/presence", dependencies=[CsrfChecked])
async def set_presence(body: PresenceIn, user: CurrentUser, services: ServicesDep) -> PresenceOut:
    """Online or away: an away adviser is handed nothing new (their conversations stay)."""
    await presence.choose(services, user, body.status)
    if body.status == "online" and user.office_id is not None:  # back: the queue may move
        await assign_waiting(services, user.destination_id, user.office_id)
    return PresenceOut(status=body.status)


@router.get("/conversations/{conversation_id}/viewers")
async def list_viewers(
    conversation_id: RowId, user: CurrentUser, services: ServicesDep
) -> list[ViewerOut]:
    """Who has the conversation open now (the signed-in adviser included)."""
    async with services.db.session() as session:
        await actions.check_conversation(session, user, conversation_id)
        ids = await presence.viewer_ids(services, user.destination_id, conversation_id)
        names = await repository.cached_by_id(session, User, set(ids))
    return [ViewerOut(user_id=i, name=names[i].name) for i in ids if i in names and names[i].active]


@router.post("/messages/{message_id}/retry", dependencies=[CsrfChecked])
async def retry_message(message_id: RowId, user: CurrentUser, services: ServicesDep) -> MessageOut:
    """Sends a failed reply again (it goes back to pending and into the outbox)."""
    message = await sending.retry(services, user, message_id)
    async with services.db.session() as session:
        names = await repository.author_names(session, [message])
    return repository.message_out(message, names.get(message.author_user_id or 0, ""))


@router.get("/duty")
async def get_duty(user: CurrentUser, services: ServicesDep) -> DutyOut:
    """The duty banner: whether the user's office answers now, how, since and until when (for a
    destination manager: the office on shared duty now), and the offices sharing that duty with
    it. Times are UTC."""
    found = await duty.for_user(services, user)
    return DutyOut(
        office_id=found.office_id,
        office_name=found.office_name,
        on_duty=found.on_duty,
        kind=found.kind,
        scope=found.scope,
        since=found.since,
        until=found.until,
        next_start=found.next_start,
        together=list(found.together),
    )
