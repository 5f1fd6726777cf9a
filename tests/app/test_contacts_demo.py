"""The demo's profile visitors: a suggested merge and an already merged profile, seeded once."""

from __future__ import annotations

from sqlmodel import select

from app import contact_suggestions, contacts
from app.contact_demo import MARKER, seed_demo
from app.models import Contact, User
from app.services import Services


async def test_the_demo_shows_a_suggestion_and_a_merged_profile(services: Services) -> None:
    async with services.db.session() as session:
        await seed_demo(session, 1)
        await seed_demo(session, 1)  # idempotent
        chats = (await session.exec(select(Contact).where(Contact.external_id == MARKER))).all()
        assert len(chats) == 1
        camille = (
            await session.exec(select(User).where(User.email == "camille@port-argent.example"))
        ).one()
        members = await contacts.check_profile(session, camille, chats[0].id or 0)
        offered = await contact_suggestions.suggestions(session, camille, members)
        assert [(s.reason, s.detail) for s in offered] == [("email", "julia.weber@example.de")]

        marc_chat = (
            await session.exec(
                select(Contact).where(Contact.external_id == "demo-profile-marc-chat")
            )
        ).one()
        profile = await contacts.read_profile(session, camille, marc_chat.id or 0)
        assert profile.name == "Marc Dupont" and len(profile.contact_ids) == 3
        assert len(profile.conversations) == 1 and profile.other_conversations == 2
        assert [e.kind for e in profile.events] == ["merge", "correct", "merge"]
        assert profile.identities[2].page == "https://www.port-argent.example/fr/agenda"
