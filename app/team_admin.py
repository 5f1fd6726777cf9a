"""The team a manager looks after: who they see, and adding a user (``concierge user add``
and the ``/team`` page share :func:`create_user`).

A destination manager sees and adds anyone of their destination — advisers and office managers
of any office, destination managers; an office manager sees their office's advisers and office
managers and adds advisers to it. Refusals are :class:`app.actions.ActionError` (a translation
key): nothing is written then. The first password is set by whoever adds the user, who tells
it to them; they change it on ``/password``.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app import passwords, quarantine
from app.actions import ActionError
from app.contact_actions import check_email, check_name
from app.models import Office, Role, User
from app.security import hash_password

LANGUAGES = ("", "fr", "en")  # "" follows the browser


def team_of(manager: User) -> SelectOfScalar[User]:
    """The users ``manager`` sees on /team (none for an adviser), by office then name."""
    query = select(User).where(User.destination_id == manager.destination_id)
    if manager.role == Role.OFFICE_MANAGER:
        query = query.where(
            User.office_id == manager.office_id, User.role != Role.DESTINATION_MANAGER
        )
    elif manager.role != Role.DESTINATION_MANAGER:
        query = query.where(col(User.id).is_(None))
    return query.order_by(col(User.office_id), col(User.name), col(User.id))


def roles_for(manager: User) -> tuple[Role, ...]:
    """The roles ``manager`` may give."""
    if manager.role == Role.DESTINATION_MANAGER:
        return (Role.ADVISER, Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER)
    if manager.role == Role.OFFICE_MANAGER:
        return (Role.ADVISER,)
    return ()


async def create_user(
    session: AsyncSession,
    *,
    destination_id: int,
    office_id: int | None,
    email: str,
    name: str,
    role: Role,
    password: str,
    language: str = "",
) -> User:
    """A new user, checked then stored (e-mail unique in the installation, lower-cased)."""
    address = check_email(email).lower()
    if not address:
        raise ActionError("contacts.error.email")
    name = check_name(name)
    passwords.check_new(password, password)
    if language not in LANGUAGES:
        raise ActionError("team.error.language")
    if (role == Role.DESTINATION_MANAGER) != (office_id is None):
        raise ActionError("team.error.office")
    taken = await session.exec(select(User.id).where(User.email == address))
    if taken.first() is not None:
        raise ActionError("team.error.email_taken", 409)
    user = User(
        destination_id=destination_id,
        office_id=office_id,
        email=address,
        name=name,
        password_hash=hash_password(password),
        role=role,
        language=language,
    )
    session.add(user)
    await session.commit()
    await session.refresh(user)
    return user


async def add_by_manager(
    session: AsyncSession,
    manager: User,
    *,
    email: str,
    name: str,
    role: str,
    office_id: int | None,
    password: str,
) -> User:
    """A user ``manager`` adds from /team: a role they may give, in an office they manage (none
    for a destination manager)."""
    chosen = next((r for r in roles_for(manager) if r.value == role), None)
    if chosen is None:
        raise ActionError("team.error.role")
    office: int | None = None
    if chosen != Role.DESTINATION_MANAGER:
        query = quarantine.offices_of(manager).where(Office.id == (office_id or 0))
        found = (await session.exec(query)).first()
        if found is None:
            raise ActionError("team.error.office")
        office = found.id
    return await create_user(
        session,
        destination_id=manager.destination_id,
        office_id=office,
        email=email,
        name=name,
        role=chosen,
        password=password,
    )
