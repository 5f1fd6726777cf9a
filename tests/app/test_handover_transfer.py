"""A transfer stands; the hand-over moves a queued conversation only when the duty changes hands;
ties go to the owner; offices on duty together share the load. The demo rota, real Redis and
SQLite, the clock set at explicit instants."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, update
from sqlmodel import col, select

from app import actions, activity, offline, repository
from app.assign import assign_to
from app.handover import hand_over
from app.inbox import Inbox
from app.models import (
    AuthorKind,
    Conversation,
    ConversationStatus,
    Destination,
    Message,
    Office,
    RoutingDecision,
    User,
)
from app.services import Services
from tests.app.test_routing import chat, decisions, office_of
from tests.app.test_rules_ingest import rule

# Saturday 18 July 2026 (summer) in Paris: Saint-Clair open 09:30–12:30, Port-Argent 09:00–19:00,
# Les Salines holds the shared duty 12:00–22:00 (its week).
SAT_1159 = datetime(2026, 7, 18, 9, 59, tzinfo=UTC)
SAT_1231 = datetime(2026, 7, 18, 10, 31, tzinfo=UTC)
SAT_2114 = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)
SUN_1101 = datetime(2026, 7, 19, 9, 1, tzinfo=UTC)  # Les Salines on duty again, 10:00–22:00
MON_1731 = datetime(2026, 7, 20, 15, 31, tzinfo=UTC)  # Saint-Clair closed; Port-Argent's week

FESTIVAL = """
[[overrides]]
start = 2026-07-18 12:00:00+02:00
end = 2026-07-18 22:00:00+02:00
office = "les-salines"
also = ["port-argent"]
note = "Festival night"
"""


async def user(services: Services, email: str) -> User:
    async with services.db.session() as session:
        return (await session.exec(select(User).where(User.email == email))).one()


async def office_id(services: Services, slug: str) -> int:
    async with services.db.session() as session:
        office = (await session.exec(select(Office).where(Office.slug == slug))).one()
        assert office.id is not None
        return office.id


async def lines(services: Services, conversation_id: int) -> list[tuple[str, str, str, str]]:
    """Hand-over and transfer lines: (kind, from office, to office, detail)."""
    async with services.db.session() as session:
        found = await activity.for_conversation(session, conversation_id)
    return [
        (a.kind, a.from_office_name, a.office_name, a.detail)
        for a in found
        if a.kind in ("handover", "transferred")
    ]


async def sweep_at(services: Services, *instants: datetime) -> list[int]:
    moved: list[int] = []
    for instant in instants:
        services.clock.set(instant, frozen=True)
        moved += await hand_over(services, 1)
    return moved


async def test_a_transfer_to_an_office_nobody_is_at_stands_until_the_duty_ends(
    services: Services,
) -> None:
    services.clock.set(SAT_1159, frozen=True)
    result = await Inbox(services).ingest(chat("chat-saint-clair", 1, SAT_1159))
    cid = result.conversation_id
    lea = await user(services, "lea@saint-clair.example")
    # Léa sends it to Port-Argent, where nobody is online: it waits in Port-Argent's queue.
    await actions.transfer(services, lea, cid, await office_id(services, "port-argent"), "Phare")
    assert await office_of(services, cid) == "port-argent"
    # Sweeps during Saint-Clair's hours, under which it was transferred: it stays.
    minutes = [datetime(2026, 7, 18, 10, m, tzinfo=UTC) for m in (0, 5, 15, 29)]
    assert await sweep_at(services, *minutes) == []
    assert await office_of(services, cid) == "port-argent"
    # 12:31: Saint-Clair has closed and Les Salines answers its account: the duty changed hands.
    assert await sweep_at(services, SAT_1231) == [cid]
    assert await office_of(services, cid) == "les-salines"
    assert await sweep_at(services, SAT_1231, SAT_2114) == []  # once
    assert await decisions(services, cid) == [
        ("own_hours", "saint-clair"),
        ("transfer", "port-argent"),
        ("handover", "les-salines"),
    ]
    assert await lines(services, cid) == [
        (
            "transferred",
            "Office de Tourisme de Saint-Clair",
            "Office de Tourisme de Port-Argent",
            "Phare",
        ),
        (
            "handover",
            "Office de Tourisme de Port-Argent",
            "Office de Tourisme des Salines",
            "shared_duty",
        ),
    ]


async def test_a_transfer_during_the_shared_duty_stands_through_it(services: Services) -> None:
    services.clock.set(SAT_2114, frozen=True)
    cid = (await Inbox(services).ingest(chat("chat-port-argent", 1, SAT_2114))).conversation_id
    chloe = await user(services, "chloe@les-salines.example")
    await actions.transfer(services, chloe, cid, await office_id(services, "saint-clair"), "")
    evening = [datetime(2026, 7, 18, 19, m, tzinfo=UTC) for m in (20, 40, 59)]
    night = datetime(2026, 7, 18, 22, 30, tzinfo=UTC)  # nobody on duty: nothing moves
    assert await sweep_at(services, *evening, night) == []
    assert await office_of(services, cid) == "saint-clair"
    # Sunday 09:01: Port-Argent opens and answers its own account.
    assert await sweep_at(services, datetime(2026, 7, 19, 7, 1, tzinfo=UTC)) == [cid]
    assert await office_of(services, cid) == "port-argent"
    assert (await decisions(services, cid))[-1] == ("handover", "port-argent")
    assert (await lines(services, cid))[-1][1:] == (
        "Office de Tourisme de Saint-Clair",
        "Office de Tourisme de Port-Argent",
        "own_hours",
    )


async def test_a_plain_queued_conversation_moves_at_the_hand_over_only(services: Services) -> None:
    services.clock.set(SAT_1159, frozen=True)
    inbox = Inbox(services)
    plain = (await inbox.ingest(chat("chat-saint-clair", 1, SAT_1159))).conversation_id
    assert await sweep_at(services, SAT_1159) == []
    assert await sweep_at(services, SAT_1231) == [plain]
    assert (await lines(services, plain)) == [
        (
            "handover",
            "Office de Tourisme de Saint-Clair",
            "Office de Tourisme des Salines",
            "shared_duty",
        )
    ]
    # One routed to Les Salines in the evening: the rota's decision never changes, it stays.
    services.clock.set(SAT_2114, frozen=True)
    evening = (await inbox.ingest(chat("chat-port-argent", 2, SAT_2114))).conversation_id
    assert await sweep_at(services, SAT_2114, datetime(2026, 7, 18, 19, 59, tzinfo=UTC)) == []
    assert await decisions(services, evening) == [("shared_duty", "les-salines")]
    assert await lines(services, evening) == []


async def test_nobody_on_duty_moves_nothing_and_the_next_office_keeps_its_queue(
    services: Services,
) -> None:
    night = datetime(2026, 7, 21, 21, 30, tzinfo=UTC)  # Tuesday 23:30: nobody until 09:00
    services.clock.set(night, frozen=True)
    cid = (await Inbox(services).ingest(chat("chat-port-argent", 1, night))).conversation_id
    morning = datetime(2026, 7, 22, 7, 1, tzinfo=UTC)  # Port-Argent opens, as it was told
    assert await sweep_at(services, night, morning) == []
    assert await decisions(services, cid) == [("nobody_on_duty", "port-argent")]


async def test_answered_it_stays_with_the_office_that_answered_until_the_duty_changes(
    services: Services,
) -> None:
    services.clock.set(SAT_1159, frozen=True)
    cid = (await Inbox(services).ingest(chat("chat-saint-clair", 1, SAT_1159))).conversation_id
    lea = await user(services, "lea@saint-clair.example")
    await actions.take(services, lea, cid)
    # Léa answers after her office closed (Les Salines on duty), then puts it back in the queue.
    services.clock.set(datetime(2026, 7, 18, 10, 35, tzinfo=UTC), frozen=True)
    await actions.reply(services, lea, cid, "Je regarde et je reviens vers vous.")
    await assign_to(services, lea, cid, None)
    # It stays with Saint-Clair while Les Salines' duty lasts (Saturday, then Sunday too).
    assert await sweep_at(services, datetime(2026, 7, 18, 10, 40, tzinfo=UTC), SUN_1101) == []
    assert await office_of(services, cid) == "saint-clair"
    # Monday 17:31: Saint-Clair closed, Port-Argent's week: the duty has changed hands.
    assert await sweep_at(services, MON_1731) == [cid]
    assert await office_of(services, cid) == "port-argent"
    assert (await decisions(services, cid))[-1] == ("handover", "port-argent")


async def test_a_tie_goes_to_the_owner_and_the_visitor_is_told_so(services: Services) -> None:
    # Saturday 7 November 2026, 22:30 in Paris, a Les Salines week in winter: nobody on duty
    # until Sunday 10:00, when Port-Argent opens and Les Salines' shared duty starts.
    night = datetime(2026, 11, 7, 21, 30, tzinfo=UTC)
    sunday_10 = datetime(2026, 11, 8, 9, 0, tzinfo=UTC)
    services.clock.set(night, frozen=True)
    cid = (await Inbox(services).ingest(chat("chat-port-argent", 1, night, "en"))).conversation_id
    assert await decisions(services, cid) == [("nobody_on_duty", "port-argent")]
    async with services.db.session() as session:
        auto = (
            await session.exec(
                select(Message).where(
                    Message.conversation_id == cid, Message.author_kind == AuthorKind.SYSTEM
                )
            )
        ).one()
        compiled = await services.router.schedule(session, 1)
        assert compiled.schedule is not None
        answer = compiled.schedule.route("chat-port-argent", sunday_10)
        # The chat's notice to the visitor names the same office and time.
        account = await repository.account_by_key(session, "chat-port-argent")
        conversation = await session.get(Conversation, cid)
        assert account is not None
        said = await offline.notice(services, session, account, conversation, "fr", night)
    assert said == (
        "Personne n’est en ligne pour l’instant : Office de Tourisme de Port-Argent vous"
        " répondra demain à 10:00."
    )
    assert auto.text.endswith(
        "Office de Tourisme de Port-Argent will answer you tomorrow at 10:00."
    )
    # The promise is kept: at 10:00 the rota answers the owner, and nothing moves.
    assert (answer.office, answer.reason) == ("port-argent", "own_hours")
    assert await sweep_at(services, sunday_10) == []
    assert await office_of(services, cid) == "port-argent"


async def festival(services: Services) -> None:
    async with services.db.session() as session:
        destination = await session.get(Destination, 1)
        assert destination is not None
        destination.rota_toml += FESTIVAL
        session.add(destination)
        await session.commit()


async def test_offices_on_duty_together_share_new_conversations_by_load(
    services: Services,
) -> None:
    await festival(services)
    services.clock.set(SAT_2114, frozen=True)
    inbox = Inbox(services)
    ids = [
        (await inbox.ingest(chat(account, n, SAT_2114))).conversation_id
        for n, account in enumerate(
            ["chat-saint-clair", "chat-les-salines", "chat-port-argent", "chat-saint-clair"]
        )
    ]
    # Tie at 0–0: the lead; then the less loaded; a tie again: the lead.
    assert [await office_of(services, c) for c in ids] == [
        "les-salines",
        "port-argent",
        "les-salines",
        "port-argent",
    ]
    async with services.db.session() as session:
        rows = (
            await session.exec(
                select(RoutingDecision).where(col(RoutingDecision.conversation_id).in_(ids))
            )
        ).all()
    assert {(r.reason, r.detail) for r in rows} == {("override", "shared")}
    # Both still on duty: the hand-over shuffles nothing between them.
    assert await sweep_at(services, SAT_2114, datetime(2026, 7, 18, 19, 59, tzinfo=UTC)) == []


async def test_the_hand_over_into_a_shared_duty_spreads_by_load(services: Services) -> None:
    await festival(services)
    services.clock.set(SAT_1159, frozen=True)
    inbox = Inbox(services)
    first = (await inbox.ingest(chat("chat-saint-clair", 1, SAT_1159))).conversation_id
    second = (await inbox.ingest(chat("chat-saint-clair", 2, SAT_1159))).conversation_id
    third = (await inbox.ingest(chat("chat-saint-clair", 3, SAT_1159))).conversation_id
    # A chat to Port-Argent's own account, in its own hours: Port-Argent already has one.
    own = (await inbox.ingest(chat("chat-port-argent", 4, SAT_1159))).conversation_id
    assert await sweep_at(services, SAT_1231) == [first, second, third]
    assert [await office_of(services, c) for c in (first, second, third, own)] == [
        "les-salines",
        "les-salines",
        "port-argent",
        "port-argent",
    ]
    assert (await decisions(services, third))[-1] == ("handover", "port-argent")
    assert (await lines(services, first))[-1][3] == "override:shared"
    # Port-Argent's own conversation stays with it: it is on duty (and open) all along.
    assert await decisions(services, own) == [("own_hours", "port-argent")]


async def test_a_conversation_is_read_only_by_the_office_it_went_to(services: Services) -> None:
    await festival(services)
    services.clock.set(SAT_2114, frozen=True)
    inbox = Inbox(services)
    cids = [
        (await inbox.ingest(chat("chat-saint-clair", n, SAT_2114))).conversation_id for n in (1, 2)
    ]
    camille = await user(services, "camille@port-argent.example")
    chloe = await user(services, "chloe@les-salines.example")
    async with services.db.session() as session:
        first = await session.get(Conversation, cids[0])
        second = await session.get(Conversation, cids[1])
        assert first is not None and second is not None
    assert repository.can_see(chloe, first) and not repository.can_see(camille, first)
    assert repository.can_see(camille, second) and not repository.can_see(chloe, second)


async def test_a_reopened_conversation_keeps_its_office_on_duty_with_others(
    services: Services,
) -> None:
    await festival(services)
    services.clock.set(SAT_2114, frozen=True)
    inbox = Inbox(services)
    cids = [
        (await inbox.ingest(chat("chat-saint-clair", n, SAT_2114))).conversation_id
        for n in range(5)
    ]
    slugs = [await office_of(services, c) for c in cids]
    assert slugs == ["les-salines", "port-argent"] * 2 + ["les-salines"]
    chloe = await user(services, "chloe@les-salines.example")
    await actions.set_status(services, chloe, cids[0], ConversationStatus.RESOLVED)
    await inbox.ingest(chat("chat-saint-clair", 5, SAT_2114))  # 2–2: the lead's, 3–2
    # The first visitor writes again: Les Salines is the busier, but it is still on duty.
    again = dataclasses.replace(chat("chat-saint-clair", 0, SAT_2114), external_id="v0:again")
    assert (await inbox.ingest(again)).conversation_id == cids[0]
    assert await office_of(services, cids[0]) == "les-salines"
    assert (await decisions(services, cids[0]))[-1] == ("override", "les-salines")


async def test_an_office_a_keyword_rule_chose_stands_until_the_duty_changes(
    services: Services,
) -> None:
    await rule(
        services, name="Vélos", words=["velo*"], office_id=await office_id(services, "les-salines")
    )
    services.clock.set(SAT_1159, frozen=True)
    bike = dataclasses.replace(chat("chat-saint-clair", 1, SAT_1159), text="Location de vélos ?")
    cid = (await Inbox(services).ingest(bike)).conversation_id
    assert await decisions(services, cid) == [
        ("own_hours", "saint-clair"),
        ("rule", "les-salines"),
    ]
    # Saint-Clair's hours go on: the rule's office keeps it (the rota's choice has not changed).
    assert await sweep_at(services, datetime(2026, 7, 18, 10, 15, tzinfo=UTC)) == []
    # 12:31: Les Salines on duty for Saint-Clair's account too; it is already there.
    assert await sweep_at(services, SAT_1231, SUN_1101) == []
    assert await office_of(services, cid) == "les-salines"
    # Monday 09:31: Saint-Clair opens; Les Salines' duty is over, so the duty has changed hands.
    assert await sweep_at(services, MON_1731 - timedelta(hours=8)) == [cid]
    assert await office_of(services, cid) == "saint-clair"
    assert (await decisions(services, cid))[-1] == ("handover", "saint-clair")


async def test_the_sweep_reads_in_batches_not_once_per_conversation(services: Services) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    async def selects_of_a_sweep(n: int, day: int) -> list[str]:
        morning = datetime(2026, 7, day, 9, 59, tzinfo=UTC)
        services.clock.set(morning, frozen=True)
        inbox = Inbox(services)
        for i in range(n):
            for account in ("chat-saint-clair", "mail-saint-clair"):
                await inbox.ingest(chat(account, day * 100 + i, morning))
        statements.clear()
        # Names the worker keeps for 30 s (app.repository) are read afresh by each sweep.
        repository._display.clear()
        event.listen(services.db.engine.sync_engine, "before_cursor_execute", count)
        try:
            moved = await sweep_at(services, morning + timedelta(minutes=32))
        finally:
            event.remove(services.db.engine.sync_engine, "before_cursor_execute", count)
        assert len(moved) == 2 * n
        async with services.db.session() as session:  # out of the next sweep's way
            await session.exec(update(Conversation).values(status=ConversationStatus.RESOLVED))
            await session.commit()
        return list(statements)

    # Saturdays 11 and 18 July: Saint-Clair closes at 12:30, a shared duty goes on.
    few, many = await selects_of_a_sweep(2, 11), await selects_of_a_sweep(20, 18)
    assert len(many) == len(few), "\n".join(sorted(set(many) ^ set(few)) or many)
