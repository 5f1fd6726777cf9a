"""Several destinations in one installation: adding destinations, their offices and accounts,
renaming them, and disabling an account (enabling it again).

``check_*`` validates what a person typed and raises :class:`DestinationError` (the field and
why); ``add_*`` checks, then writes in the caller's session and commits. Nothing is written when
a check fails. The CLI (app/cli.py) only parses and prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar
from zoneinfo import available_timezones

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.models import Account, Destination, Office, User

Row = TypeVar("Row", Destination, Office, Account)

# Lower-case letters, digits and inner hyphens: slugs and keys appear in URLs (the privacy
# page, the widget's data-account) and in the names of secrets' environment variables.
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
CHANNELS = ("webchat", "email", "twitter")
NAME_MAX = 200


class DestinationError(ValueError):
    """Refused input: ``field`` is the option or argument it is about, ``reason`` the CLI's
    English; ``code`` (with ``params``) names the refusal for pages that say it in the
    reader's language ("" where no page meets it)."""

    def __init__(
        self, field: str, reason: str, code: str = "", params: dict[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.code = code
        self.params = params or {}


@dataclass(frozen=True, slots=True)
class DestinationSummary:
    slug: str
    name: str
    timezone: str
    offices: int
    accounts: int
    users: int


def check_slug(value: str, field: str) -> str:
    if not SLUG.fullmatch(value):
        raise DestinationError(
            field,
            f"{value!r}: use 1 to 64 lower-case letters, digits and hyphens "
            "(not at the start or the end)",
            "bad_slug",
        )
    return value


def check_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise DestinationError("--name", "give a name", "bad_name")
    if len(name) > NAME_MAX:
        raise DestinationError("--name", f"at most {NAME_MAX} characters", "bad_name")
    return name


def check_timezone(value: str) -> str:
    """An IANA zone such as ``Europe/Paris`` (what ``zoneinfo`` knows on this machine)."""
    if value not in available_timezones():
        raise DestinationError(
            "--timezone", f"{value!r} is not an IANA time zone (e.g. Europe/Paris)"
        )
    return value


def check_channel(value: str) -> str:
    if value not in CHANNELS:
        raise DestinationError("--channel", f"one of {', '.join(CHANNELS)}")
    return value


async def destination_by_slug(session: AsyncSession, slug: str | None) -> Destination:
    """The destination named ``slug``; with no slug, the only one (refused when there are
    several or none)."""
    query = select(Destination).order_by(col(Destination.id))
    if slug:
        query = query.where(Destination.slug == slug)
    found = (await session.exec(query.limit(2))).all()
    if slug and not found:
        raise DestinationError("--destination", f"no destination {slug!r}")
    if not found:
        raise DestinationError("--destination", "no destination: add one first")
    if len(found) > 1:
        raise DestinationError("--destination", "several destinations: give --destination")
    return found[0]


async def office_by_slug(
    session: AsyncSession, slug: str, destination_slug: str | None = None
) -> Office:
    """The office ``slug`` (unique within its destination only): of the destination given, or
    the only office of that slug in the installation."""
    query = select(Office).where(Office.slug == slug).order_by(col(Office.id))
    if destination_slug:
        destination = await destination_by_slug(session, destination_slug)
        query = query.where(Office.destination_id == destination.id)
    found = (await session.exec(query.limit(2))).all()
    if not found:
        where = f" in {destination_slug!r}" if destination_slug else ""
        raise DestinationError("--office", f"no office {slug!r}{where}")
    if len(found) > 1:
        raise DestinationError(
            "--office", f"several destinations have an office {slug!r}: give --destination"
        )
    return found[0]


async def add_destination(
    session: AsyncSession, slug: str, name: str, timezone: str
) -> Destination:
    """A new destination, with no office, account, user nor rota yet."""
    check_slug(slug, "SLUG")
    name = check_name(name)
    check_timezone(timezone)
    taken = await session.exec(select(Destination.id).where(Destination.slug == slug))
    if taken.first() is not None:
        raise DestinationError("SLUG", f"a destination {slug!r} exists")
    destination = Destination(slug=slug, name=name, timezone=timezone)
    session.add(destination)
    await session.commit()
    await session.refresh(destination)
    return destination


async def add_office(session: AsyncSession, destination_slug: str, slug: str, name: str) -> Office:
    """A new office of a destination; its slug is unique within the destination (the rota
    names offices by slug), and may be reused by another destination."""
    check_slug(slug, "SLUG")
    name = check_name(name)
    destination = await destination_by_slug(session, destination_slug)
    taken = await session.exec(
        select(Office.id).where(Office.destination_id == destination.id, Office.slug == slug)
    )
    if taken.first() is not None:
        raise DestinationError("SLUG", f"{destination.slug!r} has an office {slug!r} already")
    assert destination.id is not None
    office = Office(destination_id=destination.id, slug=slug, name=name)
    session.add(office)
    await session.commit()
    await session.refresh(office)
    return office


async def add_account(
    session: AsyncSession,
    key: str,
    destination_slug: str,
    office_slug: str,
    channel: str,
    name: str,
) -> Account:
    """A new account of an office. Its key is unique in the whole installation (the widget and
    the secrets' names carry it). A chat widget works at once; a mailbox or an X account stays
    inactive until ``concierge account email|x KEY`` configures it."""
    office = await office_by_slug(session, office_slug, destination_slug)
    return await add_account_to(session, office, key, channel, name)


async def add_account_to(
    session: AsyncSession, office: Office, key: str, channel: str, name: str
) -> Account:
    """:func:`add_account` to an office already found (a manager's page knows it by id)."""
    check_slug(key, "KEY")
    check_channel(channel)
    name = check_name(name)
    taken = await session.exec(select(Account.id).where(Account.key == key))
    if taken.first() is not None:
        raise DestinationError("KEY", f"an account {key!r} exists", "key_taken", {"key": key})
    assert office.id is not None
    account = Account(
        destination_id=office.destination_id,
        office_id=office.id,
        channel=channel,
        key=key,
        name=name,
        active=channel == "webchat",
    )
    session.add(account)
    await session.commit()
    await session.refresh(account)
    return account


async def account_by_key(session: AsyncSession, key: str) -> Account:
    """The account ``key`` (:func:`app.repository.account_by_key`), refused when there is none."""
    found = await repository.account_by_key(session, key)
    if found is None:
        raise DestinationError("KEY", f"no account {key!r}")
    return found


async def rename_destination(session: AsyncSession, slug: str, name: str) -> Destination:
    """A new name for visitors and advisers; the slug (in URLs and the widget) stays."""
    name = check_name(name)
    if not slug:  # not "the only one", as destination_by_slug takes an empty slug to mean
        raise DestinationError("SLUG", "give the destination's slug")
    destination = await destination_by_slug(session, slug)
    destination.name = name
    return await _saved(session, destination)


async def rename_office(
    session: AsyncSession, slug: str, name: str, destination_slug: str | None = None
) -> Office:
    """A new name for an office; its slug (which the rota names) stays."""
    name = check_name(name)
    office = await office_by_slug(session, slug, destination_slug)
    office.name = name
    return await _saved(session, office)


async def rename_account(session: AsyncSession, key: str, name: str) -> Account:
    """A new name for an account; its key (in the widget's snippet, the secrets' names) stays."""
    return await change_account(session, await account_by_key(session, key), name=name)


async def set_active(session: AsyncSession, key: str, active: bool) -> Account:
    """Disables an account (its connector stops, its widget takes no new chat and ends those
    open, nothing stored is removed) or enables it again; a mailbox or an X account is enabled
    only once connected (``concierge account email|x KEY``, which enables it)."""
    return await change_account(session, await account_by_key(session, key), active=active)


def connect_command(account: Account) -> str:
    """The ``concierge account`` command that connects a mailbox or an X account."""
    return "email" if account.channel == "email" else "x"


async def change_account(
    session: AsyncSession, account: Account, *, name: str | None = None, active: bool | None = None
) -> Account:
    """Renames ``account`` and/or enables or disables it (None: unchanged), saved at once;
    refused (``DestinationError``, field ``--name`` or ``KEY``) before anything changes."""
    if name is not None:
        name = check_name(name)
    if active and account.channel != "webchat" and not account.settings:
        key, command = account.key, connect_command(account)
        raise DestinationError(
            "KEY", f"{key!r} is not connected yet: concierge account {command} {key} …"
        )
    if name is not None:
        account.name = name
    if active is not None:
        account.active = active
    return await _saved(session, account)


async def _saved(session: AsyncSession, row: Row) -> Row:
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


async def summaries(session: AsyncSession) -> list[DestinationSummary]:
    """Every destination with how many offices, accounts and users it has, by slug."""
    destinations = (await session.exec(select(Destination).order_by(col(Destination.slug)))).all()

    async def counts(model: type[Office] | type[Account] | type[User]) -> dict[int, int]:
        rows = await session.exec(
            select(model.destination_id, func.count()).group_by(col(model.destination_id))
        )
        return {destination_id: count for destination_id, count in rows.all()}

    offices, accounts, users = await counts(Office), await counts(Account), await counts(User)
    return [
        DestinationSummary(
            d.slug,
            d.name,
            d.timezone,
            offices.get(d.id or 0, 0),
            accounts.get(d.id or 0, 0),
            users.get(d.id or 0, 0),
        )
        for d in destinations
    ]


async def destination_ids(session: AsyncSession) -> list[int]:
    """The ids of every destination, in order."""
    rows = await session.exec(select(Destination.id).order_by(col(Destination.id)))
    return [i for i in rows.all() if i is not None]
