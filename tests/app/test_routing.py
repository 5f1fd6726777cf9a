"""Routing by the demo rota, the automatic reply, and hand-over (real Redis and SQLite)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import websockets
from sqlmodel import col, select

from app import destinations
from app.handover import hand_over
from app.inbox import Inbox
from app.metrics import duty_seconds
from app.models import AuthorKind, Conversation, Destination, Message, Office, RoutingDecision
from app.routing import share
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login

SATURDAY_2114 = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)  # 21:14 in Paris; les-salines on duty
TUESDAY_2330 = datetime(2026, 7, 21, 21, 30, tzinfo=UTC)  # 23:30 in Paris; nobody on duty


def chat(account: str, n: int, at: datetime, language: str = "") -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT,
        account=account,
        external_id=f"v{n}:c{n}",
        thread_key=f"v{n}",
        author=Author(external_id=f"v{n}", language=language),
        text="Bonsoir !",
        received_at=at,
    )


async def office_of(services: Services, conversation_id: int) -> str:
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        office = await session.get(Office, conversation.office_id)
        assert office is not None
        return office.slug


async def decisions(services: Services, conversation_id: int) -> list[tuple[str, str]]:
    async with services.db.session() as session:
        rows = (
            await session.exec(
                select(RoutingDecision)
                .where(RoutingDecision.conversation_id == conversation_id)
                .order_by(col(RoutingDecision.id))
            )
        ).all()
        slugs = {o.id: o.slug for o in (await session.exec(select(Office))).all()}
    return [(r.reason, slugs.get(r.office_id or 0, "")) for r in rows]


async def test_evening_chat_goes_to_the_office_on_duty(services: Services) -> None:
    result = await Inbox(services).ingest(chat("chat-port-argent", 1, SATURDAY_2114))
    assert await office_of(services, result.conversation_id) == "les-salines"
    assert await decisions(services, result.conversation_id) == [("shared_duty", "les-salines")]


async def test_daytime_chat_stays_with_its_own_office(services: Services) -> None:
    at = datetime(2026, 7, 18, 9, 59, tzinfo=UTC)  # Saturday 11:59: Saint-Clair is open
    result = await Inbox(services).ingest(chat("chat-saint-clair", 1, at))
    assert await decisions(services, result.conversation_id) == [("own_hours", "saint-clair")]


async def test_nobody_on_duty_gets_an_automatic_reply_in_the_visitors_language(
    services: Services,
) -> None:
    services.clock.set(TUESDAY_2330)
    result = await Inbox(services).ingest(chat("chat-port-argent", 1, TUESDAY_2330, "en"))
    assert await decisions(services, result.conversation_id) == [("nobody_on_duty", "port-argent")]
    async with services.db.session() as session:
        rows = (
            await session.exec(
                select(Message).where(Message.conversation_id == result.conversation_id)
            )
        ).all()
        conversation = await session.get(Conversation, result.conversation_id)
    auto = [m for m in rows if m.author_kind == AuthorKind.SYSTEM]
    assert [m.text for m in auto] == [
        "Thank you for your message! Our advisers are away just now: "
        "Office de Tourisme de Port-Argent will answer you tomorrow at 09:00."
    ]
    # An automatic reply is no answer: the visitor is still waiting.
    assert conversation is not None and conversation.waiting_since == TUESDAY_2330
    # A second message the same night gets no second automatic reply.
    again = dataclasses.replace(chat("chat-port-argent", 1, TUESDAY_2330), external_id="v1:c2")
    assert (await Inbox(services).ingest(again)).conversation_id == result.conversation_id
    async with services.db.session() as session:
        count = len(
            (
                await session.exec(
                    select(Message).where(
                        Message.conversation_id == result.conversation_id,
                        Message.author_kind == AuthorKind.SYSTEM,
                    )
                )
            ).all()
        )
    assert count == 1


async def test_handover_moves_queued_conversations_not_taken_ones(services: Services) -> None:
    before = datetime(2026, 7, 18, 9, 59, tzinfo=UTC)  # Saturday: Saint-Clair open until 12:30
    services.clock.set(before)
    inbox = Inbox(services)
    queued = await inbox.ingest(chat("chat-saint-clair", 1, before))
    taken = await inbox.ingest(chat("chat-saint-clair", 2, before))
    async with services.db.session() as session:
        conversation = await session.get(Conversation, taken.conversation_id)
        assert conversation is not None
        conversation.assignee_id = 3  # Léa, of Saint-Clair, is answering it
        session.add(conversation)
        await session.commit()
    assert await hand_over(services, 1) == []  # still Saint-Clair's hours
    services.clock.set(datetime(2026, 7, 18, 10, 31, tzinfo=UTC))  # 12:31: les-salines on duty
    assert await hand_over(services, 1) == [queued.conversation_id]
    assert await office_of(services, queued.conversation_id) == "les-salines"
    assert await office_of(services, taken.conversation_id) == "saint-clair"
    assert (await decisions(services, queued.conversation_id))[-1] == ("handover", "les-salines")


async def test_without_a_rota_each_account_keeps_its_office(services: Services) -> None:
    async with services.db.session() as session:
        destination = await session.get(Destination, 1)
        assert destination is not None
        destination.rota_toml = ""
        session.add(destination)
        await session.commit()
    result = await Inbox(services).ingest(chat("chat-port-argent", 1, SATURDAY_2114))
    assert await decisions(services, result.conversation_id) == [("account_office", "port-argent")]


async def test_widget_says_who_answers_or_when(make_server: object) -> None:
    evening = make_server(clock_start=SATURDAY_2114)  # type: ignore[operator]
    async with websockets.connect(visitor_url(evening, lang="fr")) as ws:
        hello = await recv_until(ws, "hello")
    assert hello["office"] == "Office de Tourisme des Salines"
    night = make_server(clock_start=TUESDAY_2330)  # type: ignore[operator]
    async with websockets.connect(visitor_url(night, lang="fr")) as ws:
        hello = await recv_until(ws, "hello")
        assert hello["office"] == ""
        assert hello["next_answer"] == "Nos conseillers vous répondront demain à 09:00"
        await send_message(ws, "Bonsoir, le parking est-il gratuit ?")
        while True:
            frame = await recv_until(ws, "message")
            if frame["message"]["author"] == "system":
                break
    assert "vous répondra demain à 09:00" in frame["message"]["text"]


async def test_saturday_evening_chat_reaches_only_the_office_on_duty(make_server: object) -> None:
    live: LiveServer = make_server(clock_start=SATURDAY_2114)  # type: ignore[operator]
    async with websockets.connect(visitor_url(live)) as ws:
        await recv_until(ws, "hello")
        await send_message(ws, "Un restaurant ouvert ce soir ?")
    on_duty = office_login(live, "les-salines")
    with login(live.url, on_duty.email, on_duty.password) as client:
        rows = client.get("/api/conversations").json()
        assert [r["preview"] for r in rows] == ["Un restaurant ouvert ce soir ?"]
        assert rows[0]["account_name"] == "Chat de Port-Argent"
    for slug in ("port-argent", "saint-clair"):
        other = office_login(live, slug)
        with login(live.url, other.email, other.password) as client:
            assert client.get("/api/conversations?status=all").json() == []


async def test_one_automatic_reply_per_contact_every_few_hours(services: Services) -> None:
    services.clock.set(TUESDAY_2330)
    first = await Inbox(services).ingest(chat("chat-port-argent", 1, TUESDAY_2330))
    # The same visitor opens a second conversation the same night: no second automatic reply.
    other = dataclasses.replace(
        chat("chat-port-argent", 1, TUESDAY_2330), external_id="v1:x", thread_key="v1-b"
    )
    second = await Inbox(services).ingest(other)
    assert first.conversation_id != second.conversation_id
    async with services.db.session() as session:
        automatic = (
            await session.exec(select(Message).where(Message.author_kind == AuthorKind.SYSTEM))
        ).all()
    assert [m.conversation_id for m in automatic] == [first.conversation_id]


def test_sharing_the_load_is_deterministic() -> None:
    offices = (3, 1, 2)  # the lead first, then the rota's order
    assert share(offices, {}) == 3  # all equal: the lead
    assert share(offices, {3: 1}) == 1
    assert share(offices, {3: 1, 1: 1}) == 2
    assert share(offices, {3: 2, 1: 1, 2: 1}) == 1  # a tie among the others: the rota's order
    assert share(offices, {3: 0, 1: 0, 2: 0, 4: 0}) == 3  # offices off duty do not count


async def test_an_account_added_after_the_rota_answers_in_its_office_s_hours(
    services: Services,
) -> None:
    """The rota names each office's accounts; one added since (a new widget) belongs to its
    office all the same: routed as the office's named accounts at every hour of a week (own
    hours, duty, nobody), and its response times counted against the same duty."""
    async with services.db.session() as session:
        added = await destinations.add_account(
            session, "chat-saint-clair-port", "baie-dargent", "saint-clair", "webchat", "Port"
        )
        named = await destinations.account_by_key(session, "chat-saint-clair")
        compiled = await services.router.schedule(session, named.destination_id)
        monday = datetime(2026, 7, 20, 0, 0, tzinfo=UTC)
        for hour in range(7 * 24):
            at = monday + timedelta(hours=hour, minutes=10)
            assert await services.router.lead(session, added, at) == await services.router.lead(
                session, named, at
            ), at
    # Tuesday 10:00 in Paris: Saint-Clair is open, no duty runs: its own office answers.
    tuesday_10 = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)
    opened = await Inbox(services).ingest(chat("chat-saint-clair-port", 90, tuesday_10))
    assert await office_of(services, opened.conversation_id) == "saint-clair"
    assert await decisions(services, opened.conversation_id) == [("own_hours", "saint-clair")]
    start, end = tuesday_10, tuesday_10 + timedelta(hours=6)  # past its 17:30 closing
    office = compiled.office_of(added)
    assert office == "saint-clair"
    assert duty_seconds(compiled.schedule, added.key, start, end, office) == duty_seconds(
        compiled.schedule, named.key, start, end
    )
