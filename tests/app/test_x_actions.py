"""Advisers' actions on X (like, hide a reply, move to DM) through the real connector against
the local fake X API, which records what it was asked; and their refusals."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import select

from app import actions, keys, repository, x_actions
from app.actions import ActionError
from app.events import MessageStatus
from app.inbox import Inbox
from app.models import Account, Contact, Conversation, Message, Role, User
from app.outbox import _outbound
from app.services import Services
from connectors.twitter.config import XAccountConfig
from connectors.twitter.connector import XConnector
from tests.app.test_inbox import capture_events, mail
from tests.support.fake_x import ME, FakeX
from tests.support.memory import MemoryCursors

OAUTH1 = {"consumer_key": "ck", "consumer_secret": "cs", "access_token": "at", "access_token_secret": "ats"}  # fmt: skip


class World:
    def __init__(self, services: Services, fake: FakeX) -> None:
        self.services = services
        self.fake = fake
        config = XAccountConfig(
            account="x-port-argent", handle="PortArgentOT", user_id=ME, bearer_token="test-bearer",
            api_base_url=fake.url, **OAUTH1,
        )  # type: ignore[arg-type]  # fmt: skip
        self.x = XConnector(config)
        services.connectors["x-port-argent"] = self.x
        self.cursors = MemoryCursors()

    async def poll(self) -> None:
        for timeline in self.x.timelines.values():
            timeline.due = 0
        await self.x.poll_once(Inbox(self.services), self.cursors)

    async def message(self, external_id: str) -> Message:
        async with self.services.db.session() as session:
            row = (
                await session.exec(select(Message).where(Message.external_id == external_id))
            ).one()
            return row

    async def conversation(self, conversation_id: int) -> Conversation:
        async with self.services.db.session() as session:
            row = await session.get(Conversation, conversation_id)
            assert row is not None
            return row

    async def adviser(self, conversation_id: int, same_office: bool = True) -> User:
        office = (await self.conversation(conversation_id)).office_id
        async with self.services.db.session() as session:
            users = (await session.exec(select(User).where(User.role == Role.ADVISER))).all()
        return next(u for u in users if (u.office_id == office) == same_office)


@pytest.fixture
async def world(services: Services, fake: FakeX) -> World:
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == "x-port-argent"))).one()
        account.active = True
        session.add(account)
        await session.commit()
    return World(services, fake)


def details(message: Message) -> dict[str, Any]:
    return repository.json_object(message.details)


async def refused(code: str, status: int, call: Any) -> None:
    with pytest.raises(ActionError) as caught:
        await call
    assert (caught.value.code, caught.value.status) == (code, status)


async def test_like_and_unlike_a_visitors_tweet(world: World) -> None:
    fake = world.fake
    tweet = fake.add_mention("@PortArgentOT merci pour la visite !", author="4242", username="ana")
    await world.poll()
    message = await world.message(tweet)
    adviser = await world.adviser(message.conversation_id)
    cid, mid = message.conversation_id, message.id or 0
    out = await x_actions.set_liked(world.services, adviser, cid, mid, True)
    assert out.details["liked"] is True and fake.likes == {tweet}
    [call] = fake.calls(f"/2/users/{ME}/likes", "POST")
    assert call.body == {"tweet_id": tweet} and call.auth == "oauth1"
    assert details(await world.message(tweet))["liked"] is True
    events = [e for e in await capture_events(world.services) if isinstance(e, MessageStatus)]
    assert [(e.message_id, e.conversation_id, e.status) for e in events] == [(mid, cid, "received")]
    await refused("x.error.already_liked", 409, x_actions.set_liked(world.services, adviser, cid, mid, True))  # fmt: skip
    out = await x_actions.set_liked(world.services, adviser, cid, mid, False)
    assert "liked" not in out.details and fake.likes == set()
    assert len(fake.calls(f"/2/users/{ME}/likes/{tweet}", "DELETE")) == 1
    assert details(await world.message(tweet)) == details(message)  # back to what X gave
    await refused("x.error.not_liked", 409, x_actions.set_liked(world.services, adviser, cid, mid, False))  # fmt: skip


async def test_hide_a_reply_to_the_offices_tweet_and_show_it_again(world: World) -> None:
    fake = world.fake
    ours = fake.add_tweet("Feu d'artifice ce soir à 22 h !", fake.me, "PortArgentOT")
    reply = fake.add_mention("@PortArgentOT spam spam", conversation=ours, reply_to=ours)
    started = fake.add_mention("@PortArgentOT une question", author="5151", username="ben")
    await world.poll()
    message = await world.message(reply)
    adviser = await world.adviser(message.conversation_id)
    cid, mid = message.conversation_id, message.id or 0
    out = await x_actions.set_hidden(world.services, adviser, cid, mid, True)
    assert out.details["hidden"] is True and fake.hidden == {reply}
    [call] = fake.calls(f"/2/tweets/{reply}/hidden", "PUT")
    assert call.body == {"hidden": True}
    await refused("x.error.already_hidden", 409, x_actions.set_hidden(world.services, adviser, cid, mid, True))  # fmt: skip
    await x_actions.set_hidden(world.services, adviser, cid, mid, False)
    assert fake.hidden == set() and "hidden" not in details(await world.message(reply))
    # The first tweet of a visitor's own conversation is no reply: nothing is asked of X.
    first = await world.message(started)
    before = len(fake.requests)
    await refused(
        "x.error.not_a_reply", 422,
        x_actions.set_hidden(world.services, adviser, first.conversation_id, first.id or 0, True),
    )  # fmt: skip
    assert len(fake.requests) == before


async def test_what_x_refuses_changes_nothing_and_says_why(world: World) -> None:
    fake = world.fake
    theirs = fake.add_tweet("Un tweet de quelqu'un d'autre", "777", "other")
    reply = fake.add_mention("@PortArgentOT d'accord", conversation=theirs, reply_to=theirs)
    await world.poll()
    message = await world.message(reply)
    adviser = await world.adviser(message.conversation_id)
    cid, mid = message.conversation_id, message.id or 0
    await refused("x.error.refused", 409, x_actions.set_hidden(world.services, adviser, cid, mid, True))  # fmt: skip
    fake.fail(429, path="/likes")
    await refused("x.error.rate_limited", 429, x_actions.set_liked(world.services, adviser, cid, mid, True))  # fmt: skip
    fake.fail(503, path="/likes")
    await refused("x.error.unavailable", 409, x_actions.set_liked(world.services, adviser, cid, mid, True))  # fmt: skip
    assert details(await world.message(reply)) == details(message)
    assert not [e for e in await capture_events(world.services) if isinstance(e, MessageStatus)]


async def test_refusals_before_asking_x(world: World) -> None:
    services, fake = world.services, world.fake
    tweet = fake.add_mention("@PortArgentOT bonjour", author="4242", username="ana")
    fake.add_dm("et en privé", sender="4242")
    await world.poll()
    message = await world.message(tweet)
    dm = await world.message(f"dm:{fake.dm_events[-1]['id']}")
    adviser = await world.adviser(message.conversation_id)
    stranger = await world.adviser(message.conversation_id, same_office=False)
    cid, mid = message.conversation_id, message.id or 0
    before = len(fake.requests)
    await refused("error.conversation_not_found", 404, x_actions.set_liked(services, stranger, cid, mid, True))  # fmt: skip
    await refused("x.error.not_a_tweet", 422, x_actions.set_liked(services, adviser, dm.conversation_id, dm.id or 0, True))  # fmt: skip
    await refused("x.error.message_not_found", 404, x_actions.set_liked(services, adviser, cid, dm.id or 0, True))  # fmt: skip
    # A worker runs the account (its lease), so the adviser may reply.
    await services.redis.set(keys.connector_lease(1, "x-port-argent"), "worker", ex=60)
    reply = await actions.reply(services, adviser, cid, "Bonjour !")
    await refused("x.error.not_a_tweet", 422, x_actions.set_liked(services, adviser, cid, reply.id or 0, True))  # fmt: skip
    chat = await Inbox(services).ingest(mail("c1"))
    chat_adviser = await world.adviser(chat.conversation_id)
    await refused("x.error.not_x", 409, x_actions.move_to_dm(services, chat_adviser, chat.conversation_id, "hi"))  # fmt: skip
    async with services.db.session() as session:
        row = await session.get(Conversation, cid)
        assert row is not None
        row.spam = True
        session.add(row)
        await session.commit()
    await refused("moderation.error.spam", 409, x_actions.set_liked(services, adviser, cid, mid, True))  # fmt: skip
    await refused("moderation.error.spam", 409, x_actions.move_to_dm(services, adviser, cid, "hi"))  # fmt: skip
    assert len(fake.requests) == before  # X was never asked


async def test_move_to_dm_answers_publicly_then_the_dms_join_the_same_conversation(
    world: World,
) -> None:
    services, fake = world.services, world.fake
    fake.add_dm("Une ancienne question", sender="4242", username="ana")  # an older DM thread
    first = fake.add_mention("@PortArgentOT j'ai perdu mon passeport", author="4242", username="ana")  # fmt: skip
    latest = fake.add_mention("@PortArgentOT au musée", conversation=first, reply_to=first, author="4242")  # fmt: skip
    await world.poll()
    message = await world.message(latest)
    cid = message.conversation_id
    adviser = await world.adviser(cid)
    text = await x_actions.default_invitation(services, adviser, cid)
    assert text.startswith("Merci pour votre message")  # the visitor wrote in French
    older = (await world.message(f"dm:{fake.dm_events[0]['id']}")).conversation_id
    too_long = "x" * 281
    await refused("error.tweet_too_long", 422, x_actions.move_to_dm(services, adviser, cid, too_long))  # fmt: skip
    fake.fail(403, {"title": "Forbidden", "detail": "duplicate content"}, path="/2/tweets")
    await refused("x.error.refused", 409, x_actions.move_to_dm(services, adviser, cid, text))
    assert (await world.conversation(cid)).thread_key == f"conv:{first}"  # nothing changed

    out = await x_actions.move_to_dm(services, adviser, cid, text + " 🙂")
    [posted] = fake.posted
    assert posted["text"] == text + " 🙂" and posted["reply"] == {"in_reply_to_tweet_id": latest}
    assert out.delivery_status == "sent" and out.details == {"moved_to_dm": True}
    conversation = await world.conversation(cid)
    assert conversation.thread_key == "dm:4242"
    assert (await world.conversation(older)).thread_key == f"dm:4242#{older}"
    await refused("x.error.already_dm", 409, x_actions.move_to_dm(services, adviser, cid, text))

    fake.add_dm("Voici mon numéro de réservation : 1234", sender="4242", username="ana")
    await world.poll()
    dm = await world.message(f"dm:{fake.dm_events[-1]['id']}")
    assert dm.conversation_id == cid  # the same Concierge conversation
    async with services.db.session() as session:
        contacts = (await session.exec(select(Contact).where(Contact.external_id == "4242"))).all()
        account = await session.get(Account, conversation.account_id)
        assert account is not None
        outbound = await _outbound(session, dm, conversation, account, contacts[0])
    sent = await world.x.send(outbound)  # the adviser's next reply goes by DM
    assert sent.ok and fake.posted[-1]["dm_to"] == "4242"
    # The older DM conversation still answers the same person by DM.
    sent = await world.x.send(replace(outbound, thread_key=f"dm:4242#{older}"))
    assert sent.ok and fake.posted[-1]["dm_to"] == "4242"
    events = await capture_events(services)
    changed = [e for e in events if e.type == "conversation.changed" and e.conversation_id == cid]
    assert changed[-1].conversation.direct  # type: ignore[union-attr]


async def test_the_invitation_in_the_advisers_language_when_the_visitors_is_unknown(
    world: World,
) -> None:
    tweet = world.fake.add_mention("@PortArgentOT hola", author="4343", lang="es")
    await world.poll()
    message = await world.message(tweet)
    adviser = await world.adviser(message.conversation_id)
    adviser.language = "en"
    text = await x_actions.default_invitation(world.services, adviser, message.conversation_id)
    assert text.startswith("Thank you for your message!")
