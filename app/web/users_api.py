"""Managers disable (and enable again) users: a disabled user's sessions and sockets end at once."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app import session_end
from app.actions import ActionError
from app.deps import CsrfChecked, CurrentManager, RowId, ServicesDep
from app.models import Role, User

router = APIRouter(prefix="/api", tags=["team"])


class UserState(BaseModel):
    id: int
    active: bool


async def check_target(
    services: ServicesDep, manager: User, user_id: int, itself: str = "error.disable_self"
) -> User:
    """The user a manager may disable (or set a password for): in their destination (an
    office manager: in their office), not themselves (refused with ``itself``). Anyone else is
    "not found", never revealing who exists."""
    if not 0 < user_id < 2**63:
        raise ActionError("error.unknown_user", 404)
    async with services.db.session() as session:
        target = await session.get(User, user_id)
    if (
        target is None
        or target.destination_id != manager.destination_id
        or (manager.role == Role.OFFICE_MANAGER and target.office_id != manager.office_id)
    ):
        raise ActionError("error.unknown_user", 404)
    if target.id == manager.id:
        raise ActionError(itself, 409)
    if manager.role == Role.OFFICE_MANAGER and target.role == Role.DESTINATION_MANAGER:
        raise ActionError("error.unknown_user", 404)
    return target


@router.post("/users/{user_id}/disable", dependencies=[CsrfChecked])
async def disable_user(user_id: RowId, manager: CurrentManager, services: ServicesDep) -> UserState:
    """Disables a user: they can no longer sign in, and every session and open socket of
    theirs ends at once, on every worker (the sockets close with 4401)."""
    target = await check_target(services, manager, user_id)
    assert target.id is not None
    await session_end.set_active(services, target.id, False)
    return UserState(id=target.id, active=False)


@router.post("/users/{user_id}/enable", dependencies=[CsrfChecked])
async def enable_user(user_id: RowId, manager: CurrentManager, services: ServicesDep) -> UserState:
    """Lets a disabled user sign in again (their old sessions stay ended)."""
    target = await check_target(services, manager, user_id)
    assert target.id is not None
    await session_end.set_active(services, target.id, True)
    return UserState(id=target.id, active=True)
