"""Keyword rules at ingest (app.rule_ingest through app.inbox): labels, office, adviser,
priority, the decision recorded with the rule's name, routing only on opening and reopening,
nothing on spam or automatic replies; priority first in the queue; the trial counts what ingest
would do."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from app import actions, presence, rule_trial, rules
from app.assignment import assign_waiting
from app.inbox import Inbox
from app.models import (
    Activity,
    Conversation,
    ConversationLabel,
    ConversationStatus,
    Label,
    Office,
    Role,
    RoutingDecision,
    Rule,
    User,
)
from app.services import Services
from app.textnorm import key
from connectors.base import Author, Channel, InboundMessage, MessageKind
from tests.conftest import OFFICE_HOURS


def chat(
    visitor: str, text: str, n: int = 0, account: str = "chat-port-argent", **kw: Any
) -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT, account=account, external_id=f"{visitor}:m{n}",
        thread_key=visitor, author=Author(external_id=visitor, name=f"Visitor {visitor}"),
        text=text, received_at=OFFICE_HOURS + timedelta(seconds=n), metadata={"client_id": f"m{n}"},
        **kw,
    )  # fmt: skip


async def manager(services: Services) -> User:
    async with services.db.session() as session:
        return (await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))).one()


async def office(services: Services, slug: str) -> Office:
    async with services.db.session() as session:
        return (await session.exec(select(Office).where(Office.slug == slug))).one()


async def adviser(services: Services, name: str) -> User:
    async with services.db.session() as session:
        return (await session.exec(select(User).where(User.name == name))).one()


async def label(services: Services, name: str) -> int:
    async with services.db.session() as session:
        row = Label(destination_id=1, name=name, key=key(name), created_at=OFFICE_HOURS)
        session.add(row)
        await session.commit()
        assert row.id is not None
        return row.id


async def rule(services: Services, active: bool = True, **body: Any) -> int:
    boss = await manager(services)
    made = await rules.create(services, boss, {"name": body.pop("name", "R"), **body})
    if active:
        await rules.update(services, boss, made.id, {"active": True})
    return made.id


async def state(services: Services, conversation_id: int) -> dict[str, Any]:
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        labels = (
            await session.exec(
                select(ConversationLabel).where(
                    ConversationLabel.conversation_id == conversation_id
                )
            )
        ).all()
        decisions = (
            await session.exec(
                select(RoutingDecision)
                .where(RoutingDecision.conversation_id == conversation_id)
                .order_by(col(RoutingDecision.id))
            )
        ).all()
        lines = (
            await session.exec(select(Activity).where(Activity.conversation_id == conversation_id))
        ).all()
        return {
            "office": conversation.office_id,
            "assignee": conversation.assignee_id,
            "priority": conversation.priority,
            "labels": {(x.label_id, x.rule_id) for x in labels},
            "decisions": [(d.reason, d.detail, d.office_id, d.adviser_id) for d in decisions],
            "activity": [(a.kind, a.detail, a.office_id, a.user_id) for a in lines],
        }


async def matched(services: Services, rule_id: int) -> int:
    async with services.db.session() as session:
        row = await session.get(Rule, rule_id)
        assert row is not None
        return row.matched


async def test_a_matching_message_is_labelled_prioritised_and_routed_with_the_rules_name(
    services: Services,
) -> None:
    tides = await label(services, "Marées")
    salines = await office(services, "les-salines")
    tide_rule = await rule(
        services, name="Marées", words=["marée", "tide", "Gezeiten"], label_id=tides,
        office_id=salines.id,
    )  # fmt: skip
    urgent = await rule(
        services, name="Réclamation", words=["réclamation", "complaint"], priority=True
    )
    inbox = Inbox(services)
    found = await inbox.ingest(chat("v1", "Bonjour, à quelle heure est la MARÉE ? Réclamation !"))
    seen = await state(services, found.conversation_id)
    assert seen["office"] == salines.id
    assert seen["priority"] is True
    assert seen["labels"] == {(tides, tide_rule)}
    assert seen["decisions"][-1] == ("rule", "Marées", salines.id, None)
    assert ("rule", "Marées", salines.id, None) in seen["activity"]
    assert await matched(services, tide_rule) == 1 and await matched(services, urgent) == 1
    # A message without the words changes nothing and counts nothing.
    other = await inbox.ingest(chat("v2", "Is the lighthouse open tonight?"))
    port = await office(services, "port-argent")
    seen = await state(services, other.conversation_id)
    assert (seen["office"], seen["priority"], seen["labels"]) == (port.id, False, set())
    assert [d[0] for d in seen["decisions"]] == ["own_hours"]
    assert await matched(services, tide_rule) == 1


async def test_the_first_routing_rule_wins_labels_and_priority_add_up_inactive_rules_sleep(
    services: Services,
) -> None:
    one, two = await label(services, "One"), await label(services, "Two")
    salines, clair = await office(services, "les-salines"), await office(services, "saint-clair")
    await rule(services, name="Asleep", words=["bike"], office_id=clair.id, active=False)
    first = await rule(services, name="First", words=["bike"], label_id=one, office_id=salines.id)
    second = await rule(
        services, name="Second", words=["bike*"], label_id=two, office_id=clair.id, priority=True
    )
    found = await Inbox(services).ingest(chat("v1", "Can I rent a BIKE?"))
    seen = await state(services, found.conversation_id)
    assert seen["office"] == salines.id
    assert seen["labels"] == {(one, first), (two, second)}
    assert seen["priority"] is True
    assert [d[:2] for d in seen["decisions"]] == [("own_hours", ""), ("rule", "First")]
    # Moved to the top, the second rule routes the next conversation.
    boss = await manager(services)
    await rules.update(services, boss, second, {"position": 0})
    found = await Inbox(services).ingest(chat("v2", "bikes?"))
    assert (await state(services, found.conversation_id))["office"] == clair.id


async def test_routing_only_when_the_message_opens_or_reopens_the_conversation(
    services: Services,
) -> None:
    salines, port = await office(services, "les-salines"), await office(services, "port-argent")
    tides = await label(services, "Tides")
    await rule(services, name="Tides", words=["tide"], office_id=salines.id, label_id=tides)
    inbox = Inbox(services)
    found = await inbox.ingest(chat("v1", "hello"))
    assert (await state(services, found.conversation_id))["office"] == port.id
    await inbox.ingest(chat("v1", "and the tide?", 1))
    seen = await state(services, found.conversation_id)
    assert seen["office"] == port.id  # not taken from the office answering it
    assert {x[0] for x in seen["labels"]} == {tides}  # but labelled
    boss = await manager(services)
    await actions.set_status(services, boss, found.conversation_id, ConversationStatus.RESOLVED)
    await inbox.ingest(chat("v1", "the tide again", 2))
    seen = await state(services, found.conversation_id)
    assert seen["office"] == salines.id  # reopened: routed
    assert seen["decisions"][-1][:2] == ("rule", "Tides")


async def test_a_rule_naming_an_adviser_assigns_them_and_a_disabled_one_leaves_it_queued(
    services: Services,
) -> None:
    lea = await adviser(services, "Léa Dubois")
    await rule(services, name="Léa", words=["phare"], adviser_id=lea.id)
    found = await Inbox(services).ingest(chat("v1", "Le phare est-il ouvert ?"))
    seen = await state(services, found.conversation_id)
    # Away (not even online) and still hers: a manager chose her by name.
    assert (seen["office"], seen["assignee"]) == (lea.office_id, lea.id)
    assert seen["decisions"][-1] == ("rule", "Léa", lea.office_id, lea.id)
    assert ("rule", "Léa", lea.office_id, lea.id) in seen["activity"]
    async with services.db.session() as session:
        row = await session.get(User, lea.id)
        assert row is not None
        row.active = False
        session.add(row)
        await session.commit()
    found = await Inbox(services).ingest(chat("v2", "phare ?"))
    seen = await state(services, found.conversation_id)
    assert (seen["office"], seen["assignee"]) == (lea.office_id, None)


async def test_no_rule_on_spam_automatic_replies_or_other_destinations(services: Services) -> None:
    tides = await label(services, "Tides")
    tide_rule = await rule(services, name="Tides", words=["tide"], label_id=tides, priority=True)
    inbox = Inbox(services)
    found = await inbox.ingest(chat("v1", "hello"))
    async with services.db.session() as session:
        conversation = await session.get(Conversation, found.conversation_id)
        assert conversation is not None
        conversation.spam = True
        session.add(conversation)
        await session.commit()
    await inbox.ingest(chat("v1", "tide tide tide", 1))
    auto = await inbox.ingest(chat("v2", "Out of office: tide", kind=MessageKind.AUTO_REPLY))
    for conversation_id in (found.conversation_id, auto.conversation_id):
        seen = await state(services, conversation_id)
        assert (seen["labels"], seen["priority"]) == (set(), False)
    assert await matched(services, tide_rule) == 0


async def test_priority_conversations_are_assigned_first(services: Services) -> None:
    await rule(services, name="Urgent", words=["urgent"], priority=True)
    port = await office(services, "port-argent")
    async with services.db.session() as session:
        row = await session.get(Office, port.id)
        assert row is not None
        row.adviser_cap = 1
        session.add(row)
        await session.commit()
    inbox = Inbox(services)
    calm = await inbox.ingest(chat("v1", "hello, whenever you can"))
    hurry = await inbox.ingest(chat("v2", "URGENT please", 5))
    camille = await adviser(services, "Camille Martin")
    await presence.connect(services, camille)
    assert port.id is not None
    assert await assign_waiting(services, 1, port.id) == [hurry.conversation_id]
    assert (await state(services, calm.conversation_id))["assignee"] is None


async def test_the_trial_counts_what_ingest_does_in_the_callers_sight(services: Services) -> None:
    inbox = Inbox(services)
    texts = ["la marée ?", "Gezeiten bitte", "un vélo", "MAREE haute", "nothing", "tides?"]
    for n, text in enumerate(texts):
        account = "chat-saint-clair" if n == 3 else "chat-port-argent"
        await inbox.ingest(chat(f"v{n}", text, n, account=account))
    boss = await manager(services)
    words = ["marée", "Gezeiten", "tide"]
    tried = await rule_trial.trial(services, boss, words)
    assert (tried.matched, tried.conversations, tried.days) == (3, 6, 30)
    assert {e.snippet for e in tried.examples} == {"la marée ?", "Gezeiten bitte", "MAREE haute"}
    # Switched on, the same words match the same new messages.
    tides = await label(services, "Tides")
    await rule(services, name="T", words=words, label_id=tides)
    for n, text in enumerate(texts):
        await inbox.ingest(chat(f"w{n}", text, 10 + n))
    async with services.db.session() as session:
        labelled = (await session.exec(select(ConversationLabel))).all()
    assert len(labelled) == tried.matched
    # An adviser of Port-Argent sees its conversations only (Saint-Clair's is not counted)...
    async with services.db.session() as session:
        chief = User(destination_id=1, office_id=(await office(services, "port-argent")).id,
                     email="chef@port-argent.example", name="Chef", password_hash="x",
                     role=Role.OFFICE_MANAGER)  # fmt: skip
        session.add(chief)
        await session.commit()
        await session.refresh(chief)
    tried = await rule_trial.trial(services, chief, words)
    assert (tried.matched, tried.conversations) == (5, 11)
    # ...and what is older than 30 days is out of the trial.
    services.clock.set(services.clock.now() + timedelta(days=31))
    tried = await rule_trial.trial(services, boss, words)
    assert (tried.matched, tried.conversations, tried.examples) == (0, 0, [])


async def test_the_demo_rules_are_seeded_once_and_work(services: Services) -> None:
    tides = await label(services, "Marées")
    for _ in range(2):
        async with services.db.session() as session:
            await rules.seed_demo(session, 1)
    boss = await manager(services)
    seeded = {r.name: r for r in await rules.listed(services, boss)}
    assert sorted(seeded) == ["Marées", "Réclamation", "Vélos aux Salines"]
    assert (seeded["Marées"].label_id, seeded["Marées"].active) == (tides, True)
    assert seeded["Vélos aux Salines"].active is False  # to be tried first
    found = await Inbox(services).ingest(chat("v1", "Ich habe eine Beschwerde wegen der Ebbe"))
    seen = await state(services, found.conversation_id)
    assert seen["priority"] is True and {x[0] for x in seen["labels"]} == {tides}


async def test_with_nobody_on_duty_a_routed_visitor_still_gets_the_automatic_reply(
    services: Services,
) -> None:
    night = OFFICE_HOURS.replace(hour=21, minute=30)  # 23:30 in Paris: nobody on duty
    services.clock.set(night)
    salines = await office(services, "les-salines")
    await rule(services, name="Tides", words=["tide"], office_id=salines.id)
    found = await Inbox(services).ingest(replace(chat("v1", "tide times?"), received_at=night))
    seen = await state(services, found.conversation_id)
    assert seen["office"] == salines.id
    assert seen["decisions"][-1][:3] == ("rule", "Tides", salines.id)
    assert "auto_reply" in [a[0] for a in seen["activity"]]
