"""The demo destination: a bay with three towns, their offices, advisers and chat widgets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account, Destination, Office, Role, User
from app.security import hash_password

DEMO_ROTA = Path(__file__).resolve().parents[1] / "docs" / "rota.example.toml"
DESTINATION = ("baie-dargent", "Baie d'Argent", "Europe/Paris")
OFFICES = (
    ("port-argent", "Office de Tourisme de Port-Argent", ("Camille Martin", "Hugo Bernard")),
    ("saint-clair", "Office de Tourisme de Saint-Clair", ("Léa Dubois", "Nathan Moreau")),
    ("les-salines", "Office de Tourisme des Salines", ("Chloé Laurent", "Louis Garnier")),
)
# Mailboxes and X accounts exist from the start but stay inactive until their connection
# settings (server, credentials) are configured.
OTHER_CHANNELS = {
    "port-argent": ("email", "twitter"),
    "saint-clair": ("email",),
    "les-salines": ("email", "twitter"),
}
CHANNEL_PREFIX = {"email": "mail", "twitter": "x"}
MANAGER = ("Sophie Lefèvre", "manager@baie-dargent.example")


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    password: str
    name: str
    role: str
    office: str


def _email(name: str, office_slug: str) -> str:
    first = name.split()[0].lower().replace("é", "e").replace("è", "e").replace("ë", "e")
    return f"{first}@{office_slug}.example"


async def seed(session: AsyncSession) -> list[Login] | None:
    """Creates the demo destination unless one exists; returns the new logins (None if any)."""
    if (await session.exec(select(Destination))).first() is not None:
        return None
    slug, name, tz = DESTINATION
    destination = Destination(
        slug=slug, name=name, timezone=tz, rota_toml=DEMO_ROTA.read_text("utf-8")
    )
    session.add(destination)
    await session.flush()
    assert destination.id is not None
    logins: list[Login] = []
    for office_slug, office_name, advisers in OFFICES:
        office = Office(destination_id=destination.id, slug=office_slug, name=office_name)
        session.add(office)
        await session.flush()
        assert office.id is not None
        session.add(
            Account(
                destination_id=destination.id,
                office_id=office.id,
                channel="webchat",
                key=f"chat-{office_slug}",
                name=f"Chat {office_name.removeprefix('Office de Tourisme ')}",
            )
        )
        short = office_name.removeprefix("Office de Tourisme ")
        for channel in OTHER_CHANNELS[office_slug]:
            session.add(
                Account(
                    destination_id=destination.id,
                    office_id=office.id,
                    channel=channel,
                    key=f"{CHANNEL_PREFIX[channel]}-{office_slug}",
                    name=f"{'E-mail' if channel == 'email' else 'X'} {short}",
                    active=False,
                )
            )
        for adviser in advisers:
            login = Login(
                _email(adviser, office_slug),
                secrets.token_urlsafe(9),
                adviser,
                "adviser",
                office_name,
            )
            logins.append(login)
            session.add(
                User(
                    destination_id=destination.id,
                    office_id=office.id,
                    email=login.email,
                    name=adviser,
                    password_hash=hash_password(login.password),
                    role=Role.ADVISER,
                )
            )
    manager = Login(MANAGER[1], secrets.token_urlsafe(9), MANAGER[0], "destination_manager", name)
    logins.append(manager)
    session.add(
        User(
            destination_id=destination.id,
            email=manager.email,
            name=manager.name,
            password_hash=hash_password(manager.password),
            role=Role.DESTINATION_MANAGER,
        )
    )
    await session.commit()
    return logins
