"""Changing a password: a signed-in user changes their own (``/password``, the current one
asked first); a manager sets a forgotten one for someone of their team (``/team``), an
administrator for anyone (``concierge user password EMAIL``).

The rules are those of ``concierge user add``: 10 to 1,024 characters. A change ends the user's
other sessions, and their sockets, on every worker (app.session_end): a browser left signed in
elsewhere, perhaps by whoever learnt the old password, is signed out at once; the browser that
made the change stays signed in. Each session carries a stamp of the password it was opened
with (``app.security.password_stamp``), so a password set by an administrator from the CLI,
which cannot always reach the app's Redis (the embedded one), ends the sessions all the same.
Checking the current password is limited per user like a sign-in, so the form cannot be used
to guess it.
"""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository, session_end
from app.actions import ActionError
from app.db import Database
from app.models import User
from app.security import hash_password, password_stamp, verify_password
from app.services import Services

log = logging.getLogger(__name__)

MIN_LENGTH = 10
MAX_LENGTH = 1024


def check_new(new: str, confirm: str) -> str:
    """The new password as typed twice; refused (``ActionError``, 422) otherwise."""
    if len(new) < MIN_LENGTH:
        raise ActionError("password.too_short", 422, {"min": str(MIN_LENGTH)})
    if len(new) > MAX_LENGTH:
        raise ActionError("password.too_long", 422, {"max": str(MAX_LENGTH)})
    if new != confirm:
        raise ActionError("password.mismatch", 422)
    return new


async def _store(session: AsyncSession, user: User, new: str) -> str:
    """Stores ``new`` (checked) as ``user``'s password; returns its session stamp."""
    user.password_hash = hash_password(new)
    session.add(user)
    await session.commit()
    return password_stamp(user.password_hash)


async def change(
    services: Services, user: User, session_id: str, current: str, new: str, confirm: str
) -> int:
    """Changes ``user``'s password, the current one checked first; ends their sessions other
    than ``session_id``. Returns how many sessions were ended. Nothing changes when refused:
    429 after too many tries, 403 for a wrong current password, 422 for a bad new one."""
    assert user.id is not None
    if not await services.limiter.hit("password", str(user.id), services.settings.login_rate):
        raise ActionError("error.rate_limited", 429)
    async with services.db.session() as session:
        stored = await session.get(User, user.id)
        if stored is None or not verify_password(current, stored.password_hash):
            raise ActionError("password.wrong_current", 403)
        stamp = await _store(session, stored, check_new(new, confirm))
    # This browser stays signed in; every other session stops matching the new password, and
    # is ended at once (its sockets too).
    await services.sessions.restamp(session_id, stamp)
    return await session_end.end_other_sessions(services, user, session_id)


async def set_by_manager(services: Services, manager: User, target: User, new: str) -> int:
    """Sets the password of ``target`` (checked by the caller as someone ``manager`` looks
    after): a forgotten one, or one someone else may know. Every session of theirs ends, and
    their sockets; returns how many were open. Refused (422) before anything changes when the
    password breaks the rules."""
    check_new(new, new)
    assert target.id is not None
    async with services.db.session() as session:
        stored = await session.get(User, target.id)
        if stored is None:
            raise ActionError("error.unknown_user", 404)
        await _store(session, stored, new)
    log.info("password of user %s set by manager %s", target.id, manager.id)
    return await session_end.end_user_sessions(services, target)


async def reset(database: Database, email: str, new: str) -> User | None:
    """Sets the password of the user ``email`` (an administrator's reset: no current password);
    None when there is no such user. The caller ends their sessions when it can reach Redis."""
    check_new(new, new)
    async with database.session() as session:
        user = await repository.user_by_email(session, email)
        if user is None:
            return None
        await _store(session, user, new)
        await session.refresh(user)
        return user
