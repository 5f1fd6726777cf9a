"""Demo visitors for profiles (wired by app.demo's integrator): one visitor who wrote by e-mail
and later by chat giving the same address (a merge is suggested), and one already merged profile
across e-mail, X and chat with its history (a merge and a correction)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import (
    Account,
    AuthorKind,
    Contact,
    ContactEvent,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    Role,
    User,
)

MARKER = "demo-profile-julia-chat"  # the chat identity of the first visitor: seeded once


async def _contact(
    session: AsyncSession, destination_id: int, channel: str, external_id: str, **fields: object
) -> Contact:
    found = (
        await session.exec(
            select(Contact).where(
                Contact.destination_id == destination_id,
                Contact.channel == channel,
                Contact.external_id == external_id,
            )
        )
    ).first()
    if found is not None:
        return found
    contact = Contact(
        destination_id=destination_id,
        channel=channel,
        external_id=external_id,
        created_at=datetime.now(UTC),
    )
    for name, value in fields.items():
        setattr(contact, name, value)
    session.add(contact)
    await session.flush()
    return contact


async def _conversation(
    session: AsyncSession,
    account: Account,
    contact: Contact,
    key: str,
    texts: list[tuple[str, str]],  # (visitor | adviser, text)
    at: datetime,
    subject: str = "",
    adviser: User | None = None,
) -> None:
    last = at + timedelta(minutes=4 * (len(texts) - 1))
    open_ = texts[-1][0] == "visitor"
    conversation = Conversation(
        destination_id=account.destination_id,
        account_id=account.id or 0,
        contact_id=contact.id or 0,
        office_id=account.office_id,
        assignee_id=None if open_ else (adviser.id if adviser else None),
        channel=account.channel,
        thread_key=key,
        subject=subject,
        status=ConversationStatus.OPEN if open_ else ConversationStatus.RESOLVED,
        unread=1 if open_ else 0,
        created_at=at,
        last_message_at=last,
        waiting_since=last if open_ else None,
        preview=texts[-1][1][:200],
    )
    session.add(conversation)
    await session.flush()
    for index, (side, text) in enumerate(texts):
        visitor = side == "visitor"
        session.add(
            Message(
                conversation_id=conversation.id or 0,
                account_id=account.id or 0,
                direction=Direction.IN if visitor else Direction.OUT,
                author_kind=AuthorKind.VISITOR if visitor else AuthorKind.ADVISER,
                author_user_id=None if visitor or adviser is None else adviser.id,
                external_id=f"{key}:{index}" if visitor else None,
                text=text,
                created_at=at + timedelta(minutes=4 * index),
                delivery_status=DeliveryStatus.RECEIVED if visitor else DeliveryStatus.SENT,
            )
        )


async def seed_demo(session: AsyncSession, destination_id: int) -> None:
    """Adds the demo's profile visitors once (nothing when they are there already)."""
    if (
        await session.exec(
            select(Contact).where(
                Contact.destination_id == destination_id, Contact.external_id == MARKER
            )
        )
    ).first() is not None:
        return
    accounts = {
        a.key: a
        for a in (
            await session.exec(select(Account).where(Account.destination_id == destination_id))
        ).all()
    }
    needed = ("mail-port-argent", "chat-port-argent", "mail-saint-clair", "x-les-salines")
    if any(k not in accounts for k in needed):
        return  # not the demo destination
    users = (await session.exec(select(User).where(User.destination_id == destination_id))).all()
    by_office = {u.office_id: u for u in users if u.role == Role.ADVISER}
    manager = next((u for u in users if u.role == Role.DESTINATION_MANAGER), None)
    now = datetime.now(UTC)

    # 1. Julia wrote by e-mail three days ago, and writes by chat tonight giving that address.
    mail = accounts["mail-port-argent"]
    julia = await _contact(
        session, destination_id, "email", "julia.weber@example.de", name="Julia Weber",
        handle="julia.weber@example.de", email="julia.weber@example.de", language="de",
        created_at=now - timedelta(days=3),
    )  # fmt: skip
    await _conversation(
        session, mail, julia, "demo-profile-julia-mail",
        [("visitor", "Guten Tag, gibt es am Sonntag eine Führung im Leuchtturm?"),
         ("adviser", "Guten Tag Frau Weber, ja: um 10 und um 15 Uhr, Treffpunkt am Hafen.")],
        now - timedelta(days=3), subject="Leuchtturmführung", adviser=by_office.get(mail.office_id),
    )  # fmt: skip
    chat = accounts["chat-port-argent"]
    julia_chat = await _contact(
        session, destination_id, "webchat", MARKER, name="", language="de",
        created_at=now - timedelta(minutes=12),
        profile=json.dumps({"page": "https://www.port-argent.example/de/leuchtturm",
                            "site": "https://www.port-argent.example"}),
    )  # fmt: skip
    await _conversation(
        session, chat, julia_chat, MARKER,
        [("visitor", "Hallo! Ich hatte Ihnen schon geschrieben (julia.weber@example.de). "
                     "Können wir die Führung am Sonntag noch für vier Personen buchen?")],
        now - timedelta(minutes=12),
    )  # fmt: skip

    # 2. Marc: one profile across e-mail (Saint-Clair), X (Les Salines) and chat (Port-Argent).
    marc = await _contact(
        session, destination_id, "email", "marc.dupont@example.fr", name="Marc Dupont",
        handle="marc.dupont@example.fr", email="marc.dupont@example.fr", language="fr",
        created_at=now - timedelta(days=12),
    )  # fmt: skip
    sc = accounts["mail-saint-clair"]
    await _conversation(
        session, sc, marc, "demo-profile-marc-mail",
        [("visitor", "Bonjour, peut-on louer des vélos électriques à Saint-Clair ?"),
         ("adviser", "Bonjour, oui : chez Cycles de la Baie, quai Nord, dès 9 h.")],
        now - timedelta(days=12), subject="Location de vélos", adviser=by_office.get(sc.office_id),
    )  # fmt: skip
    x = accounts["x-les-salines"]
    marc_x = await _contact(
        session, destination_id, "twitter", "demo-x-4471", name="Marc Dupont",
        handle="@marc_dupont", language="fr", created_at=now - timedelta(days=5),
        profile=json.dumps({"name": "Marc Dupont", "username": "marc_dupont", "verified": "",
                            "followers": "212", "url": "https://x.com/marc_dupont"}),
    )  # fmt: skip
    await _conversation(
        session, x, marc_x, "demo-profile-marc-x",
        [("visitor", "@SalinesTourisme la balade des marais salants est-elle maintenue demain ?"),
         ("adviser", "@marc_dupont Oui, départ 10 h devant l'office, prévoyez des bottes !")],
        now - timedelta(days=5), adviser=by_office.get(x.office_id),
    )  # fmt: skip
    marc_chat = await _contact(
        session, destination_id, "webchat", "demo-profile-marc-chat", name="Marc",
        created_at=now - timedelta(minutes=30),
        profile=json.dumps({"page": "https://www.port-argent.example/fr/agenda",
                            "site": "https://www.port-argent.example"}),
    )  # fmt: skip
    await _conversation(
        session, chat, marc_chat, "demo-profile-marc-chat",
        [("visitor", "Re-bonsoir, c'est Marc (marc.dupont@example.fr) : le feu d'artifice est "
                     "bien samedi ?")],
        now - timedelta(minutes=30),
    )  # fmt: skip
    chat_adviser = by_office.get(chat.office_id)
    for member in (marc_x, marc_chat):
        member.merged_into_id = marc.id
        session.add(member)
    session.add(
        ContactEvent(
            destination_id=destination_id, contact_id=marc.id or 0, kind="merge",
            other_contact_id=marc_x.id, moved=json.dumps([marc_x.id]),
            actor_id=manager.id if manager else None, at=now - timedelta(days=4),
        )
    )  # fmt: skip
    session.add(
        ContactEvent(
            destination_id=destination_id, contact_id=marc.id or 0, kind="merge",
            other_contact_id=marc_chat.id, moved=json.dumps([marc_chat.id]),
            actor_id=chat_adviser.id if chat_adviser else None,
            at=now - timedelta(minutes=20),
        )
    )  # fmt: skip
    session.add(
        ContactEvent(
            destination_id=destination_id, contact_id=marc.id or 0, kind="correct",
            field="name", old_value="marc dupont", new_value="Marc Dupont",
            actor_id=manager.id if manager else None, at=now - timedelta(days=4, minutes=-2),
        )
    )  # fmt: skip
    await session.commit()
