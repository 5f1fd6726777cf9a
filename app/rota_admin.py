"""Changing a destination's rota: validate against the destination, then store.

Every change builds a whole new rota and validates it before anything is written, so a refused
change leaves the stored rota exactly as it was.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import catalog, gettext
from app.models import Account, Destination, Office
from rota import (
    Override,
    Plan,
    Reason,
    Rota,
    RotaValidationError,
    Swap,
    as_overrides,
    build,
    check_override,
    dumps_toml,
    loads_toml,
    refused,
)
from rota.wallclock import WEEKDAYS

# Form fields the rota page names with the label the manager sees next to them.
_FIELD_LABELS = {
    "start": "rota.from",
    "end": "rota.to",
    "office": "rota.office",
    "also": "rota.also",
    "priority": "rota.priority",
    "note": "rota.note",
    "turn": "rota.turn",
    "a": "rota.office",
    "b": "rota.swap_with",
    # Removing one that is not there (any more).
    "override": "rota.overrides",
    "swap": "rota.swaps",
}


# The fields of the page's two forms, as the form names them.
FORM_FIELDS = frozenset({"start", "end", "office", "also", "priority", "note", "turn", "a", "b"})


def _bare(field: str) -> str:
    """``overrides.3.end`` or ``override.end`` → ``end``, ``overrides.3.also.1`` → ``also``: a
    new override or swap is checked as the last of the rota's list, or on its own."""
    bare = re.sub(r"^(?:(?:overrides|swaps)\.\d+|override|swap|form)\.", "", field)
    return re.sub(r"^also\.\d+$", "also", bare)


def form_field(reason: Reason) -> str | None:
    """The form field a refusal is about (its input's ``name``), or None for the whole form."""
    bare = _bare(reason.field)
    return bare if bare in FORM_FIELDS else None


def reason_text(reason: Reason, language: str) -> str:
    """What is wrong, without the field, in the reader's language (said beside the field)."""
    params = dict(reason.params)
    if reason.code == "runs_into" and params.get("weekday") in WEEKDAYS:
        params["weekday"] = gettext(language, f"date.weekday.{WEEKDAYS.index(params['weekday'])}")
    key = f"rota.error.{reason.code}"
    if key not in catalog(language):
        key = "rota.error.invalid"  # a check without its own sentence yet: still not English
    return gettext(language, key, **params)


def describe(reason: Reason, language: str) -> str:
    """``field: reason`` in the reader's language (the CLI keeps ``reason.field: reason.text``)."""
    text = reason_text(reason, language)
    label = _FIELD_LABELS.get(_bare(reason.field))
    field = gettext(language, label) if label else reason.field
    return f"{field} : {text}" if language == "fr" else f"{field}: {text}"


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
    errors: list[Reason] = []
    for i, office in enumerate(rota.offices):
        if office.id not in offices:
            errors.append(
                Reason(
                    f"offices.{i}.id",
                    "office_not_in_destination",
                    f"no office {office.id!r} in this destination",
                    {"office": office.id},
                )
            )
        for account in office.accounts:
            if account not in accounts:
                errors.append(
                    Reason(
                        f"offices.{i}.accounts",
                        "account_not_in_destination",
                        f"no account {account!r} in this destination",
                        {"account": account},
                    )
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
        raise refused("override", "no_such_override", "no such override")
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
        raise refused("swap", "no_such_swap", "no such swap")
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
