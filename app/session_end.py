"""Ending an adviser's sessions: logging out, disabling a user — and their open sockets with them.

The session goes from Redis first (every HTTP request of it is refused from then on), then a
:class:`~app.events.SessionEnded` event is appended to the destination's event stream. Every
worker reads that stream in order, so each adviser socket of the session (on any worker) stops
taking events at that entry and closes with 4401: nothing published after the logout reaches
it. The sockets also re-check their session every few seconds, which covers a worker that was
not reading the stream at that moment and a user disabled while Redis could not be told.
"""

from __future__ import annotations

import logging

from app.events import SessionEnded
from app.models import User
from app.security import session_tag
from app.services import Services

log = logging.getLogger(__name__)


async def log_out(services: Services, session_id: str) -> None:
    """Ends one session and closes its sockets, wherever they are."""
    data = await services.sessions.delete(session_id)
    if data is None:
        return
    async with services.db.session() as session:
        user = await session.get(User, data.user_id)
    if user is not None:
        await services.hub.publish(
            user.destination_id,
            SessionEnded(
                conversation_id=0,
                office_id=0,
                user_id=data.user_id,
                session=session_tag(session_id),
            ),
        )


async def end_user_sessions(services: Services, user: User) -> int:
    """Ends every session of ``user`` and closes all their sockets; returns how many sessions
    were open."""
    assert user.id is not None
    ended = await services.sessions.delete_user(user.id)
    await services.hub.publish(
        user.destination_id, SessionEnded(conversation_id=0, office_id=0, user_id=user.id)
    )
    log.info("ended %s sessions of user %s", ended, user.id)
    return ended


async def end_other_sessions(services: Services, user: User, keep: str) -> int:
    """Ends every session of ``user`` but ``keep`` (the browser that changed the password), and
    closes those sessions' sockets; returns how many were open."""
    assert user.id is not None
    ended = await services.sessions.delete_others(user.id, keep)
    for session_id in ended:
        await services.hub.publish(
            user.destination_id,
            SessionEnded(
                conversation_id=0, office_id=0, user_id=user.id, session=session_tag(session_id)
            ),
        )
    if ended:
        log.info("ended %s other sessions of user %s", len(ended), user.id)
    return len(ended)


async def set_active(services: Services, user_id: int, active: bool) -> User | None:
    """Disables (or enables again) a user; disabling ends their sessions and sockets at once.
    Returns the user, None when there is no such user."""
    async with services.db.session() as session:
        user = await session.get(User, user_id)
        if user is None:
            return None
        user.active = active
        session.add(user)
        await session.commit()
        await session.refresh(user)
    if not active:
        await end_user_sessions(services, user)
    return user
