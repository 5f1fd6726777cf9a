"""Removing an account or an office added by mistake (a key or slug mistyped, a widget never
used): ``concierge account remove KEY``, ``concierge office remove SLUG``.

Only what nothing refers to can go. An account or office that has served visitors stays —
disabled (an account) — with its conversations, for the figures and the visitors' rights: any
row naming it (a conversation, a message, a thread reference, a response turn, a survey, a
user, an account, a quarantined mail…) refuses the removal, and so does the destination's rota
naming it. The tables are found from the schema's foreign keys, so a table added later is
counted without this module knowing it. What belongs to the account alone (its widget's logo)
goes with it.

An account must be disabled first: its connector is then stopped and its widget's open chats
ended (app.widget_closing) before its row goes. A message still on its way from a socket or a
connector meets no account and is refused as for an unknown widget (app.inbox).

Refusals are :class:`app.destinations.DestinationError`; nothing is written then.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Table, delete, func
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import destinations, rota_admin
from app.destinations import DestinationError
from app.models import Account, Destination, Office, Quarantine, WidgetLogo
from rota import Rota

# Rows owned by the account alone: removed with it, never a reason to keep it.
_OWNED_BY_ACCOUNT = {WidgetLogo.__table__.name}  # type: ignore[attr-defined]


def _referring(table_name: str) -> list[tuple[Table, Column[int]]]:
    """Every (table, column) whose foreign key points at ``table_name``'s id."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == table_name for fk in column.foreign_keys):
                found.append((table, column))
    return found


async def _uses(session: AsyncSession, table_name: str, row_id: int, keep: set[str]) -> list[str]:
    """``"<table>: <n>"`` for each table with rows pointing at ``row_id`` (``keep`` aside)."""
    uses = []
    for table, column in _referring(table_name):
        if table.name in keep:
            continue
        count = await _count(
            session, select(func.count()).select_from(table).where(column == row_id)
        )
        if count:
            uses.append(f"{table.name}: {count}")
    return uses


async def _count(session: AsyncSession, query: Any) -> int:
    return int((await session.exec(query)).one())


async def _rota(session: AsyncSession, destination_id: int) -> Rota | None:
    """The destination's rota, None when it has none stored."""
    destination = await session.get(Destination, destination_id)
    if destination is None or not destination.rota_toml:
        return None
    return await rota_admin.current(session, destination)


async def remove_account(session: AsyncSession, key: str) -> Account:
    """Removes the disabled account ``key`` that nothing refers to; returns it as it was."""
    account = await destinations.account_by_key(session, key)
    assert account.id is not None
    if account.active:
        raise DestinationError(
            "KEY",
            f"{key!r} is enabled: disable it first (concierge account disable {key})",
            "enabled",
        )
    uses = await _uses(session, "account", account.id, _OWNED_BY_ACCOUNT)
    quarantined = await _count(
        session, select(func.count()).select_from(Quarantine).where(Quarantine.account_key == key)
    )
    if quarantined:
        uses.append(f"quarantine: {quarantined}")
    if uses:
        raise DestinationError(
            "KEY",
            f"{key!r} has served visitors ({', '.join(uses)}): it stays, disabled, with what it"
            " received",
            "in_use",
        )
    rota = await _rota(session, account.destination_id)
    if rota and any(key in office.accounts for office in rota.offices):
        raise DestinationError(
            "KEY", f"the rota names {key!r}: take it out of the rota first", "in_rota"
        )
    await session.exec(delete(WidgetLogo).where(col(WidgetLogo.account_id) == account.id))
    await session.delete(account)
    await session.commit()
    return account


async def remove_office(
    session: AsyncSession, slug: str, destination_slug: str | None = None
) -> Office:
    """Removes the office ``slug`` that nothing refers to (no user, account, conversation…);
    returns it as it was."""
    office = await destinations.office_by_slug(session, slug, destination_slug)
    assert office.id is not None
    uses = await _uses(session, "office", office.id, set())
    if uses:
        raise DestinationError(
            "SLUG",
            f"{slug!r} is in use ({', '.join(uses)}): move or remove those first; an office"
            " that has served visitors stays",
            "in_use",
        )
    rota = await _rota(session, office.destination_id)
    if rota and any(named.id == slug for named in rota.offices):
        raise DestinationError(
            "SLUG", f"the rota names {slug!r}: take it out of the rota first", "in_rota"
        )
    await session.delete(office)
    await session.commit()
    return office
