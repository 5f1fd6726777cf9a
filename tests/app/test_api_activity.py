"""Activity lines: recorded with the change they describe, published after its commit, and
listed in time order, with names, in the conversation's detail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app import actions, activity, keys, privacy
from app.events import ActivityCreated, event_adapter
from app.handover import hand_over
from app.inbox import Inbox
from app.models import AuthorKind, ConversationStatus, Message
from app.services import Services
from tests.app.test_api_lists import chat, open_chats
from tests.app.test_api_notes import user_named
from tests.app.test_assignment import online
from tests.app.test_ws import recv_until
from tests.conftest import LiveServer, login, office_login

TUESDAY_2330 = datetime(2026, 7, 21, 21, 30, tzinfo=UTC)  # 23:30 in Paris; nobody on duty


async def lines(services: Services, conversation_id: int) -> list[tuple[str, str, str]]:
    async with services.db.session() as session:
        found = await activity.for_conversation(session, conversation_id)
    return [(a.kind, a.actor_name, a.user_name or a.office_name) for a in found]


async def published(services: Services) -> list[tuple[int, str]]:
    rows = await services.redis.xrange(keys.events(1))
    events = [event_adapter.validate_json(fields[b"e"]) for _id, fields in rows]
    return [(e.conversation_id, e.activity.kind) for e in events if isinstance(e, ActivityCreated)]


async def test_pick_resolve_and_both_kinds_of_reopen(live: LiveServer, services: Services) -> None:
    (cid,) = await open_chats(services, 1)
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as client:
        async with online(live, client) as socket:
            # Online, Camille is given the queued chat by the assignment pass (part of the
            # same lines); she resolves it and sees the line arrive live.
            client.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
            frame = await recv_until(socket, "activity.created")
            while frame["activity"]["kind"] != "resolved":
                frame = await recv_until(socket, "activity.created")
            assert frame["conversation_id"] == cid
            assert frame["activity"]["actor_name"] == "Camille Martin"
            client.post(f"/api/conversations/{cid}/status", json={"status": "open"})
            # Resolving twice is no change: no second line.
            client.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
            client.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
    # The visitor writes again: reopened by nobody in particular.
    await Inbox(services).ingest(chat(0, datetime(2026, 7, 21, 8, 30, tzinfo=UTC)))
    found = [x for x in await lines(services, cid) if x[0] != "assigned"]
    assert found == [
        ("resolved", "Camille Martin", ""),
        ("reopened", "Camille Martin", ""),
        ("resolved", "Camille Martin", ""),
        ("reopened", "", ""),
    ]
    with login(live.url, camille.email, camille.password) as client:
        detail = client.get(f"/api/conversations/{cid}").json()
        kinds = [a["kind"] for a in detail["activities"] if a["kind"] != "assigned"]
        assert kinds == ["resolved", "reopened", "resolved", "reopened"]
        times = [a["at"] for a in detail["activities"]]
        assert times == sorted(times)


async def test_take_transfer_and_reply_to_a_resolved_one(services: Services) -> None:
    (cid,) = await open_chats(services, 1)
    camille = await user_named(services, "camille@port-argent.example")
    await actions.take(services, camille, cid)
    await actions.set_status(services, camille, cid, ConversationStatus.RESOLVED)
    await actions.reply(services, camille, cid, "Je rouvre pour préciser : 19 h.")
    await actions.transfer(services, camille, cid, 2, "La visite du phare est chez vous. " * 20)
    found = await lines(services, cid)
    assert found == [
        ("picked", "Camille Martin", "Camille Martin"),
        ("resolved", "Camille Martin", ""),
        ("reopened", "Camille Martin", ""),  # answering a resolved conversation reopens it
        ("transferred", "Camille Martin", "Office de Tourisme de Saint-Clair"),
    ]
    async with services.db.session() as session:
        transferred = (await activity.for_conversation(session, cid))[-1]
    assert transferred.from_office_name == "Office de Tourisme de Port-Argent"
    assert len(transferred.detail) == 500
    assert transferred.detail.startswith("La visite du phare est chez vous.")
    assert [k for c, k in await published(services) if c == cid] == [
        "picked",
        "resolved",
        "reopened",
        "transferred",
    ]


async def test_automatic_reply_and_handover_lines(services: Services) -> None:
    services.clock.set(TUESDAY_2330, frozen=True)
    result = await Inbox(services).ingest(chat(1, TUESDAY_2330, "chat-saint-clair"))
    async with services.db.session() as session:
        from sqlmodel import select

        auto = (
            await session.exec(
                select(Message).where(
                    Message.conversation_id == result.conversation_id,
                    Message.author_kind == AuthorKind.SYSTEM,
                )
            )
        ).one()
        found = await activity.for_conversation(session, result.conversation_id)
    assert [(a.kind, a.actor_id, a.message_id) for a in found] == [("auto_reply", None, auto.id)]
    # Nobody answers before Wednesday 09:30 (Saint-Clair opens); at 19:00 (17:00 UTC) on
    # Wednesday the shared duty is Port-Argent's: a conversation still queued at Saint-Clair
    # then follows the duty.
    services.clock.set(datetime(2026, 7, 22, 17, 1, tzinfo=UTC), frozen=True)
    assert await hand_over(services, 1) == [result.conversation_id]
    assert await lines(services, result.conversation_id) == [
        ("auto_reply", "", "Office de Tourisme de Saint-Clair"),
        ("handover", "", "Office de Tourisme de Port-Argent"),
    ]
    assert (result.conversation_id, "handover") in await published(services)


async def test_erasure_leaves_a_line_and_blanks_the_transfer_notes(services: Services) -> None:
    (cid,) = await open_chats(services, 1)
    camille = await user_named(services, "camille@port-argent.example")
    manager = await user_named(services, "manager@baie-dargent.example")
    await actions.transfer(services, camille, cid, 2, "Ana Lopes, 06 12 34 56 78")
    services.clock.set(services.clock.now() + timedelta(minutes=1))
    await privacy.erase_visitor(services, manager, cid)
    async with services.db.session() as session:
        found = await activity.for_conversation(session, cid)
    assert [(a.kind, a.actor_name, a.detail) for a in found] == [
        ("transferred", "Camille Martin", ""),
        ("erased", "Sophie Lefèvre", ""),
    ]
    # The stream keeps no trace of the note; the erased line went out after the clean-up.
    stream = b" ".join(
        value
        for _, fields in await services.redis.xrange(keys.events(1))
        for value in fields.values()
    )
    assert b"06 12 34 56 78" not in stream
    assert (cid, "erased") in await published(services)
