"""Moderation: blocks (the chat socket's one-round-trip refusal, the Redis mirror of the SQL
record), conversations marked as spam out of every list, count and figure, and the managers'
endpoints (roles, CSRF, other destinations)."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import select
from websockets.exceptions import ConnectionClosed

from app import moderation, moderation_actions, privacy, rollups
from app.actions import ActionError
from app.inbox import Inbox
from app.models import Account, Block, Conversation, Destination, ResponseTurn, Role, User
from app.security import hash_password
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.app.test_api_lists import EIGHT
from tests.app.test_dashboard import DAY, history
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import DemoLogin, LiveServer, login, office_login


def chat(
    visitor: str, n: int = 0, account: str = "chat-port-argent", ip: str = "203.0.113.7"
) -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT, account=account, external_id=f"{visitor}:m{n}",
        thread_key=visitor, author=Author(external_id=visitor, name=f"Visitor {visitor}"),
        text=f"hello {n}", received_at=EIGHT + timedelta(seconds=n),
        metadata={"client_id": f"m{n}", **({"ip": ip} if ip else {})},
    )  # fmt: skip


async def manager(services: Services) -> User:
    async with services.db.session() as session:
        return (await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))).one()


async def account(services: Services, key: str = "chat-port-argent") -> Account:
    async with services.db.session() as session:
        return (await session.exec(select(Account).where(Account.key == key))).one()


async def set_ip(services: Services, conversation_id: int, ip: str) -> None:
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.visitor_ip = ip
        session.add(conversation)
        await session.commit()


async def test_a_blocked_visitor_and_a_blocked_address_are_refused_until_lifted_or_expired(
    services: Services,
) -> None:
    chat_account = await account(services)
    boss = await manager(services)
    first = await Inbox(services).ingest(chat("v-spammer"))
    await set_ip(services, first.conversation_id, "2001:db8:1:2::9")
    assert await moderation.refusal(services, chat_account, "v-spammer", "2001:db8:1:2::9") is None

    held = await moderation_actions.block_from(
        services, boss, first.conversation_id, "sender", "24h", ""
    )
    assert await moderation.refusal(services, chat_account, "v-spammer", "198.51.100.1") == (
        "visitor_blocked"
    )
    assert await moderation.refusal(services, chat_account, "v-other", "198.51.100.1") is None

    await moderation_actions.block_from(
        services, boss, first.conversation_id, "ip", "permanent", "flood"
    )
    # The whole /64 of the address: the next address of the same phone is refused too, a new
    # visitor (no id yet) as well; another network is not.
    for ip in ("2001:db8:1:2::9", "2001:db8:1:2:ffff::1"):
        assert await moderation.refusal(services, chat_account, None, ip) == "ip_blocked"
    assert await moderation.refusal(services, chat_account, None, "2001:db8:1:3::9") is None

    # A day later the visitor's block has run out; the address's has not.
    services.clock.set(EIGHT + timedelta(hours=25))
    assert await moderation.refusal(services, chat_account, "v-spammer", "198.51.100.1") is None
    listed = await moderation_actions.listed(services, boss)
    assert [b.kind for b in listed] == ["ip"] and listed[0].reason == "flood"

    await moderation_actions.lift(services, boss, listed[0].id)
    assert await moderation.refusal(services, chat_account, None, "2001:db8:1:2::9") is None
    assert held.expires_at is not None
    assert (
        timedelta(0)
        <= held.expires_at - held.created_at - timedelta(hours=24)
        < timedelta(seconds=1)
    )


async def test_the_redis_mirror_is_rebuilt_from_sql_after_redis_lost_it(
    services: Services,
) -> None:
    chat_account = await account(services)
    first = await Inbox(services).ingest(chat("v-lost"))
    await moderation_actions.block_from(
        services, await manager(services), first.conversation_id, "sender", "7d", ""
    )
    await services.redis.flushall()  # a Redis restarted without its data
    assert await moderation.refusal(services, chat_account, "v-lost", "::1") == "visitor_blocked"
    # …and the mirror is back: the next look is one HMGET again.
    assert await services.redis.hget(moderation.blocks_key(chat_account.destination_id), "synced")


async def test_refusal_fails_open_with_one_log_line_when_redis_is_down(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    chat_account = await account(services)
    await services.redis.aclose()
    services.redis = type(services.redis).from_url("redis://127.0.0.1:1", socket_timeout=1)
    for _ in range(3):
        assert await moderation.refusal(services, chat_account, "v-1", "203.0.113.1") is None
    lines = [r for r in caplog.records if r.name == "app.moderation"]
    assert len(lines) == 1 and "Redis unavailable" in lines[0].getMessage()


# --- over HTTP: the managers' endpoints -----------------------------------------------------


def mail(sender: str, n: int, thread: str = "") -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL, account="mail-port-argent", external_id=f"<{sender}-{n}@mail>",
        thread_key=thread or f"<{sender}-{n}@mail>",
        author=Author(external_id=sender, name="Spammy", handle=sender),
        subject=f"offer {n}", text=f"buy now {n}", received_at=EIGHT + timedelta(minutes=n),
    )  # fmt: skip


def ids(client: httpx.Client, url: str) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()]


async def turns_of(services: Services, conversation_id: int) -> list[ResponseTurn]:
    async with services.db.session() as session:
        query = select(ResponseTurn).where(ResponseTurn.conversation_id == conversation_id)
        return list((await session.exec(query)).all())


def boss_of(live: LiveServer) -> DemoLogin:
    return next(x for x in live.logins.values() if x.email.startswith("manager@"))


async def test_spam_leaves_every_list_count_and_figure_and_comes_back_when_restored(
    live: LiveServer, services: Services
) -> None:
    inbox = Inbox(services)
    spam_id = (await inbox.ingest(chat("v-spam"))).conversation_id
    real_id = (await inbox.ingest(chat("v-real", 1))).conversation_id
    assert len(await turns_of(services, spam_id)) == 1
    boss = boss_of(live)
    with login(live.url, boss.email, boss.password) as m:
        before = m.get("/api/conversations/counts").json()
        response = m.post(f"/api/conversations/{spam_id}/spam", json={"spam": True})
        assert response.status_code == 200, response.text
        assert response.json()["spam"] is True
        for status in ("open", "queued", "all", "resolved", "mine"):
            assert spam_id not in ids(m, f"/api/conversations?status={status}")
        assert real_id in ids(m, "/api/conversations?status=open")
        after = m.get("/api/conversations/counts").json()
        assert after["open"] == before["open"] - 1 and after["all"] == before["all"] - 1
        assert ids(m, "/api/moderation/spam") == [spam_id]
        assert await turns_of(services, spam_id) == []  # out of the response-time figures
        detail = m.get(f"/api/conversations/{spam_id}").json()
        line = detail["activities"][-1]
        assert line["kind"] == "spam" and line["actor_name"] == "Sophie Lefèvre"

        # The visitor writes again: stored, still spam, waiting for nobody.
        await inbox.ingest(chat("v-spam", 2))
        assert spam_id not in ids(m, "/api/conversations?status=all")
        assert len(m.get(f"/api/conversations/{spam_id}").json()["messages"]) == 2
        assert await turns_of(services, spam_id) == []
        # Nobody may write to it or take it until it is restored.
        refused = m.post(f"/api/conversations/{spam_id}/take")
        assert refused.status_code == 409 and refused.json()["code"] == "moderation.error.spam"

        restored = m.post(f"/api/conversations/{spam_id}/spam", json={"spam": False})
        assert restored.status_code == 200 and restored.json()["spam"] is False
        assert spam_id in ids(m, "/api/conversations?status=open")
        assert ids(m, "/api/moderation/spam") == []
        turns = await turns_of(services, spam_id)
        assert [(t.first, t.answered_at) for t in turns] == [(True, None)]
        assert restored.json()["unread"] == 2


async def test_bulk_marks_many_as_spam_at_once(live: LiveServer, services: Services) -> None:
    inbox = Inbox(services)
    flood = [(await inbox.ingest(chat(f"v-flood-{n}", n))).conversation_id for n in range(5)]
    boss = boss_of(live)
    with login(live.url, boss.email, boss.password) as m:
        response = m.post("/api/conversations/bulk", json={"ids": flood, "action": "spam"})
        assert response.status_code == 200, response.text
        assert sorted(response.json()["done"]) == sorted(flood)
        assert ids(m, "/api/conversations?status=all") == []
        assert sorted(ids(m, "/api/moderation/spam")) == sorted(flood)


async def test_only_managers_of_the_destination_moderate_with_csrf_and_valid_input(
    live: LiveServer, services: Services
) -> None:
    conversation_id = (await Inbox(services).ingest(chat("v-x", ip=""))).conversation_id
    async with services.db.session() as session:
        elsewhere = Destination(slug="ailleurs", name="Ailleurs")
        session.add(elsewhere)
        await session.flush()
        session.add(
            User(destination_id=elsewhere.id or 0, name="Zoé Ailleurs", role=Role.DESTINATION_MANAGER,
                 email="zoe@ailleurs.example", password_hash=hash_password("zoe-password-12"))
        )  # fmt: skip
        await session.commit()
    adviser = office_login(live, "port-argent")
    boss = boss_of(live)
    spam_url = f"/api/conversations/{conversation_id}/spam"
    block_url = f"/api/conversations/{conversation_id}/block"
    good_block = {"target": "sender", "duration": "24h"}
    with login(live.url, adviser.email, adviser.password) as a:
        assert a.post(spam_url, json={"spam": True}).status_code == 403
        assert a.post(block_url, json=good_block).status_code == 403
        assert a.get("/api/moderation/blocks").status_code == 403
        assert a.get("/api/moderation/spam").status_code == 403
        bulk = a.post("/api/conversations/bulk", json={"ids": [conversation_id], "action": "spam"})
        assert bulk.status_code == 403
    with login(live.url, "zoe@ailleurs.example", "zoe-password-12") as z:
        for response in (z.post(spam_url, json={"spam": True}), z.post(block_url, json=good_block)):
            assert response.status_code == 404
            assert response.json()["code"] == "error.conversation_not_found"
        assert z.get("/api/moderation/spam").json() == []
    with login(live.url, boss.email, boss.password) as m:
        token = m.headers.pop("X-CSRF-Token")
        assert m.post(spam_url, json={"spam": True}).status_code == 403
        assert m.post(block_url, json=good_block).status_code == 403
        m.headers["X-CSRF-Token"] = token
        for bad in (
            {"target": "sender", "duration": "3 weeks"},
            {"target": "sender", "duration": 24},
            {"target": "sender"},
            {"target": "everyone", "duration": "24h"},
            {"target": "sender", "duration": "24h", "reason": "x" * 501},
        ):
            response = m.post(block_url, json=bad)
            assert response.status_code == 422, bad
            assert response.json()["detail"]
        assert m.post(spam_url, json={"spam": "yes"}).status_code == 422
        assert m.post(f"/api/conversations/{2**63}/spam", json={"spam": True}).status_code == 422
        # A chat whose address is not known cannot have it blocked: said, not a 500.
        response = m.post(block_url, json={"target": "ip", "duration": "7d"})
        assert response.status_code == 409
        assert response.json()["code"] == "moderation.error.no_address"
        made = m.post(block_url, json={**good_block, "reason": "insults"})
        assert made.status_code == 201, made.text
        block = made.json()
        assert block["reason"] == "insults" and block["created_by_name"] == "Sophie Lefèvre"
        assert [b["id"] for b in m.get("/api/moderation/blocks").json()] == [block["id"]]
    with login(live.url, "zoe@ailleurs.example", "zoe-password-12") as z:
        assert z.get("/api/moderation/blocks").json() == []
        assert z.delete(f"/api/moderation/blocks/{block['id']}").status_code == 404
    with login(live.url, boss.email, boss.password) as m:
        assert m.delete(f"/api/moderation/blocks/{block['id']}").status_code == 204
        assert m.get("/api/moderation/blocks").json() == []


async def test_a_blocked_mail_sender_is_stored_as_spam_never_dropped(
    live: LiveServer, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox(services)
    first = await inbox.ingest(mail("offers@spam.example", 0))
    boss = boss_of(live)
    with login(live.url, boss.email, boss.password) as m:
        made = m.post(
            f"/api/conversations/{first.conversation_id}/block",
            json={"target": "sender", "duration": "permanent", "reason": "adverts"},
        )
        assert made.status_code == 201, made.text
        assert made.json()["label"] == "offers@spam.example"
        caplog.set_level(logging.INFO, "app.spam")
        # A new thread and a reply in the old one: both stored, both in spam.
        fresh = await inbox.ingest(mail("offers@spam.example", 1))
        again = await inbox.ingest(
            mail("offers@spam.example", 2, thread="<offers@spam.example-0@mail>")
        )
        assert fresh.created and again.created
        assert again.conversation_id == first.conversation_id
        assert sorted(ids(m, "/api/moderation/spam")) == sorted(
            {fresh.conversation_id, first.conversation_id}
        )
        assert ids(m, "/api/conversations?status=all") == []
        detail = m.get(f"/api/conversations/{fresh.conversation_id}").json()
        assert [x["text"] for x in detail["messages"]] == ["buy now 1"]
        assert detail["activities"][-1]["kind"] == "spam"
        assert detail["activities"][-1]["detail"] == "blocked"
        assert any("blocked contact stored as spam" in r.getMessage() for r in caplog.records)
        # Someone else still reaches the inbox.
        other = await inbox.ingest(mail("guest@hotel.example", 3))
        assert ids(m, "/api/conversations?status=all") == [other.conversation_id]


# --- the real chat socket ---------------------------------------------------------------------


async def opened(url: str, source: str) -> dict[str, Any] | int:
    """The hello of a chat socket opened from ``source`` (any 127.x address is this machine),
    or the code it was closed with."""
    try:
        async with websockets.connect(url, local_addr=(source, 0)) as ws:
            return await recv_until(ws, "hello")
    except ConnectionClosed as exc:
        assert exc.rcvd is not None
        return exc.rcvd.code


async def test_a_real_chat_socket_is_refused_once_its_visitor_or_address_is_blocked(
    live: LiveServer,
) -> None:
    boss = boss_of(live)
    async with websockets.connect(visitor_url(live), local_addr=("127.0.0.5", 0)) as ws:
        token = (await recv_until(ws, "hello"))["token"]
        await send_message(ws, "first insult")
        with login(live.url, boss.email, boss.password) as m:
            (conversation,) = m.get("/api/conversations?status=all").json()
            blocked = m.post(
                f"/api/conversations/{conversation['id']}/block",
                json={"target": "sender", "duration": "24h"},
            )
            assert blocked.status_code == 201, blocked.text
            # Still connected: their next message closes the socket with 4451, and is not kept.
            with pytest.raises(ConnectionClosed) as closed:
                await send_message(ws, "second insult", client_id="client-0002")
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == moderation.BLOCKED_CLOSE
            detail = m.get(f"/api/conversations/{conversation['id']}").json()
            assert [x["text"] for x in detail["messages"]] == ["first insult"]
    # Their widget comes back: refused, whatever address it comes from.
    for source in ("127.0.0.5", "127.0.0.6"):
        assert await opened(visitor_url(live, token), source) == moderation.BLOCKED_CLOSE
    # A new visitor on the same address is welcome until the address is blocked.
    assert isinstance(await opened(visitor_url(live), "127.0.0.5"), dict)
    with login(live.url, boss.email, boss.password) as m:
        by_ip = m.post(
            f"/api/conversations/{conversation['id']}/block",
            json={"target": "ip", "duration": "1h", "reason": "flood"},
        )
        assert by_ip.status_code == 201, by_ip.text
        assert by_ip.json()["label"] == "127.0.0.5"
        assert await opened(visitor_url(live), "127.0.0.5") == moderation.BLOCKED_CLOSE
        assert isinstance(await opened(visitor_url(live), "127.0.0.6"), dict)
        for block in m.get("/api/moderation/blocks").json():
            assert m.delete(f"/api/moderation/blocks/{block['id']}").status_code == 204
    assert isinstance(await opened(visitor_url(live, token), "127.0.0.5"), dict)


async def test_the_visitors_address_is_in_their_export_and_erased_with_their_conversation(
    services: Services,
) -> None:
    conversation_id = (await Inbox(services).ingest(chat("v-gdpr"))).conversation_id
    async with services.db.session() as session:
        stored = await session.get(Conversation, conversation_id)
        assert stored is not None and stored.visitor_ip == "203.0.113.7"
    exported = await privacy.export_visitor(services, await manager(services), conversation_id)
    assert exported["conversations"][0]["ip_address"] == "203.0.113.7"
    await privacy.erase_visitor(services, await manager(services), conversation_id)
    async with services.db.session() as session:
        erased = await session.get(Conversation, conversation_id)
        assert erased is not None and erased.visitor_ip == ""


async def test_spam_leaves_the_response_time_figures_and_exports_even_from_built_rollups(
    live: LiveServer, services: Services
) -> None:
    await history(services)  # four chats on 21 July, three answered after 60, 180 and 30 s
    async with services.db.session() as session:
        destination = (await session.exec(select(Destination))).one()
        spam_id = (
            (await session.exec(select(Conversation).where(Conversation.thread_key == "b")))
            .one()
            .id
        )
    await rollups.build_day(services.db, destination, date(2026, 7, 21))

    def export(m: httpx.Client) -> list[str]:
        text = m.get(f"/api/metrics/export.csv?{DAY}").text
        return sorted(r["wall_seconds"] for r in csv.DictReader(io.StringIO(text)))

    boss = boss_of(live)
    with login(live.url, boss.email, boss.password) as m:
        assert export(m) == ["", "180", "30", "60"]  # whole seconds
        assert m.post(f"/api/conversations/{spam_id}/spam", json={"spam": True}).status_code == 200
        assert export(m) == ["", "30", "60"]
        page = m.get(f"/dashboard?{DAY}").text
        await rollups.build_day(services.db, destination, date(2026, 7, 21))
        assert export(m) == ["", "30", "60"]
        assert m.get(f"/dashboard?{DAY}").text == page  # built rollups agree with the turns
        assert m.post(f"/api/conversations/{spam_id}/spam", json={"spam": False}).status_code == 200
        assert export(m) == ["", "180", "30", "60"]  # its turn, rebuilt from its messages


async def test_an_office_manager_moderates_their_office_only(
    live: LiveServer, services: Services
) -> None:
    inbox = Inbox(services)
    theirs = (await inbox.ingest(chat("v-sc", account="chat-saint-clair"))).conversation_id
    other = (await inbox.ingest(chat("v-pa", 1))).conversation_id
    async with services.db.session() as session:
        office = (
            await session.exec(select(Account).where(Account.key == "chat-saint-clair"))
        ).one()
        session.add(
            User(destination_id=1, office_id=office.office_id, name="Boss SC",
                 role=Role.OFFICE_MANAGER, email="boss@saint-clair.example",
                 password_hash=hash_password("boss-password-12"))
        )  # fmt: skip
        await session.commit()
    boss = boss_of(live)
    with login(live.url, boss.email, boss.password) as m:
        made = m.post(f"/api/conversations/{other}/block", json={"target": "ip", "duration": "7d"})
        assert made.status_code == 201, made.text
    with login(live.url, "boss@saint-clair.example", "boss-password-12") as o:
        assert o.post(f"/api/conversations/{other}/spam", json={"spam": True}).status_code == 404
        assert o.post(f"/api/conversations/{theirs}/spam", json={"spam": True}).status_code == 200
        assert [c["id"] for c in o.get("/api/moderation/spam").json()] == [theirs]
        mine = o.post(
            f"/api/conversations/{theirs}/block", json={"target": "sender", "duration": "1h"}
        )
        assert mine.status_code == 201
        # Port-Argent's block names a visitor of another office: not theirs to see or lift.
        assert [b["id"] for b in o.get("/api/moderation/blocks").json()] == [mine.json()["id"]]
        assert o.delete(f"/api/moderation/blocks/{made.json()['id']}").status_code == 404


async def test_a_chat_message_that_slips_past_the_socket_check_still_goes_to_spam(
    services: Services,
) -> None:
    # The socket's check fails open without Redis; the ingest reads the blocks from SQL.
    inbox = Inbox(services)
    first = await inbox.ingest(chat("v-slip"))
    await moderation_actions.block_from(
        services, await manager(services), first.conversation_id, "ip", "24h", ""
    )
    other = await inbox.ingest(chat("v-same-address", 1))  # another visitor, same address
    again = await inbox.ingest(chat("v-slip", 2, ip="198.51.100.9"))  # same visitor elsewhere
    async with services.db.session() as session:
        rows = {
            c.thread_key: c.spam
            for c in (await session.exec(select(Conversation))).all()
            if c.id in (other.conversation_id, again.conversation_id)
        }
    assert rows == {"v-same-address": True, "v-slip": False}


async def test_blocks_that_ended_over_a_month_ago_are_forgotten(services: Services) -> None:
    inbox = Inbox(services)
    boss = await manager(services)
    first = await inbox.ingest(chat("v-old"))
    lifted = await moderation_actions.block_from(
        services, boss, first.conversation_id, "sender", "permanent", ""
    )
    await moderation_actions.lift(services, boss, lifted.id)
    expired = await moderation_actions.block_from(
        services, boss, first.conversation_id, "ip", "1h", ""
    )
    services.clock.set(EIGHT + timedelta(days=31))
    second = await inbox.ingest(chat("v-new", 1))
    kept = await moderation_actions.block_from(
        services, boss, second.conversation_id, "sender", "24h", ""
    )
    async with services.db.session() as session:
        left = [b.id for b in (await session.exec(select(Block))).all()]
    assert expired.id not in left and lifted.id not in left and left == [kept.id]


async def test_the_address_of_a_trusted_proxy_is_never_blocked(services: Services) -> None:
    # Behind a proxy that did not say who the client was, every visitor has its address.
    services.settings = services.settings.model_copy(
        update={"trusted_proxies": "10.0.0.1, 203.0.113.0/24"}
    )
    first = await Inbox(services).ingest(chat("v-behind-proxy"))
    with pytest.raises(ActionError) as refused:
        await moderation_actions.block_from(
            services, await manager(services), first.conversation_id, "ip", "24h", ""
        )
    assert (refused.value.code, refused.value.status) == ("moderation.error.proxy_address", 409)
    assert moderation.is_proxy("10.0.0.1", "10.0.0.1") and not moderation.is_proxy(
        "10.0.0.2", "10.0.0.1"
    )
    assert moderation.is_proxy("::1", "*") and not moderation.is_proxy("junk", "10.0.0.0/8")
