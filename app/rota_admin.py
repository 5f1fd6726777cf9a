"""Changing a destination's rota: validate against the destination, then store.

Every change builds a whole new rota and validates it before anything is written, so a refused
change leaves the stored rota exactly as it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account, Destination, Office
from rota import (
    Override,
    Plan,
    Rota,
    RotaValidationError,
    Swap,
    as_overrides,
    build,
    check_override,
    dumps_toml,
    loads_toml,
)


async def current(session: AsyncSession, destination: Destination) -> Rota:
    return (
        loads_toml(destination.rota_toml)
        if destination.rota_toml
        else build({"timezone": destination.timezone})
    )


async def check_against_destination(
    session: AsyncSession, destination: Destination, rota: Rota
) -> None:
    """The rota may only name offices and accounts the destination has."""
    offices = {
        o.slug
        for o in (
            await session.exec(select(Office).where(Office.destination_id == destination.id))
        ).all()
    }
    accounts = {
        a.key
        for a in (
            await session.exec(select(Account).where(Account.destination_id == destination.id))
        ).all()
    }
    errors: list[tuple[str, str]] = []
    for i, office in enumerate(rota.offices):
        if office.id not in offices:
            errors.append((f"offices.{i}.id", f"no office {office.id!r} in this destination"))
        for account in office.accounts:
            if account not in accounts:
                errors.append(
                    (f"offices.{i}.accounts", f"no account {account!r} in this destination")
                )
    if errors:
        raise RotaValidationError(errors)


async def save(session: AsyncSession, destination: Destination, rota: Rota) -> None:
    await check_against_destination(session, destination, rota)
    destination.rota_toml = dumps_toml(rota)
    destination.timezone = rota.timezone
    session.add(destination)
    await session.commit()


async def import_text(session: AsyncSession, destination: Destination, text: str) -> Rota:
    rota = loads_toml(text)
    await save(session, destination, rota)
    return rota


def _with(rota: Rota, **changes: Any) -> Rota:
    return build({**rota.model_dump(mode="json"), **changes})


async def add_override(
    session: AsyncSession, destination: Destination, override: Override, now: datetime
) -> Rota:
    check_override(override, now)
    rota = await current(session, destination)
    new = _with(
        rota,
        overrides=[
            *[o.model_dump(mode="json") for o in rota.overrides],
            override.model_dump(mode="json"),
        ],
    )
    await save(session, destination, new)
    return new


async def remove_override(session: AsyncSession, destination: Destination, index: int) -> Rota:
    rota = await current(session, destination)
    if not 0 <= index < len(rota.overrides):
        raise RotaValidationError([("override", "no such override")])
    kept = [o.model_dump(mode="json") for i, o in enumerate(rota.overrides) if i != index]
    new = _with(rota, overrides=kept)
    await save(session, destination, new)
    return new


async def add_swap(session: AsyncSession, destination: Destination, swap: Swap) -> Rota:
    rota = await current(session, destination)
    new = _with(
        rota, swaps=[*[s.model_dump(mode="json") for s in rota.swaps], swap.model_dump(mode="json")]
    )
    await save(session, destination, new)
    return new


async def remove_swap(session: AsyncSession, destination: Destination, index: int) -> Rota:
    rota = await current(session, destination)
    if not 0 <= index < len(rota.swaps):
        raise RotaValidationError([("swap", "no such swap")])
    kept = [s.model_dump(mode="json") for i, s in enumerate(rota.swaps) if i != index]
    new = _with(rota, swaps=kept)
    await save(session, destination, new)
    return new


async def apply_plan(session: AsyncSession, destination: Destination, result: Plan) -> Rota:
    """Stores a planned season as low-priority overrides (hand-made overrides still win)."""
    rota = await current(session, destination)
    planned = [o.model_dump(mode="json") for o in as_overrides(result)]
    new = _with(rota, overrides=[*[o.model_dump(mode="json") for o in rota.overrides], *planned])
    await save(session, destination, new)
    return new
