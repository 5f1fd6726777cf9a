"""The conversation lists over real HTTP: keyset pages, the mine/queued lists, bad cursors and
limits, and the live-visitor and target fields."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from app import actions, keys, pagination, repository, visitor_presence
from app.events import ConversationChanged, event_adapter
from app.inbox import Inbox
from app.realtime import Listener
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.app.test_metrics import adviser_of
from tests.conftest import LiveServer, login, office_login
from tests.support.sql import connect as sql_connect

EIGHT = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)  # 10:00 in Paris: every office is open


def chat(
    n: int, at: datetime = EIGHT, account: str = "chat-port-argent", text: str = ""
) -> InboundMessage:
    """Visitor ``n``'s chat message (one conversation per visitor)."""
    return InboundMessage(
        channel=Channel.WEBCHAT, account=account, external_id=f"{account}-m{n}-{at.timestamp()}",
        thread_key=f"visitor-{n}", author=Author(external_id=f"visitor-{n}", name=f"Visitor {n}"),
        text=text or f"question {n}", received_at=at,
    )  # fmt: skip


def a_mail(message_id: str) -> InboundMessage:
    """An e-mail to the Port-Argent mailbox, opening a conversation of its own."""
    return InboundMessage(
        channel=Channel.EMAIL, account="mail-port-argent", external_id=message_id,
        thread_key=message_id, author=Author(external_id="ana@example.org"), text="Bonjour",
        received_at=EIGHT,
    )  # fmt: skip


async def open_chats(
    services: Services, count: int, at: datetime = EIGHT, account: str = "chat-port-argent"
) -> list[int]:
    """``count`` queued chat conversations, the later ones newer; their ids, oldest first."""
    # An arrival counts only up to now (app.inbox.arrival): the clock is past all of them.
    services.clock.set(max(services.clock.now(), EIGHT + timedelta(hours=1)))
    inbox = Inbox(services)
    ids = []
    for n in range(count):
        result = await inbox.ingest(chat(n, at + timedelta(minutes=n), account))
        ids.append(result.conversation_id)
    return ids


def set_account(live: LiveServer, key: str, **values: object) -> None:
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        for column, value in values.items():
            db.execute(f"UPDATE account SET {column} = ? WHERE key = ?", (value, key))  # noqa: S608


def walk(client: httpx.Client, url: str) -> list[list[int]]:
    """Every page of a list, following X-Next-Cursor."""
    pages = []
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.text
        pages.append([c["id"] for c in response.json()])
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            assert "link" not in response.headers
            return pages
        assert response.headers["link"].endswith('>; rel="next"')
        url = response.headers["link"][1:].split(">;", 1)[0]
        assert f"cursor={cursor}" in url


async def test_pages_follow_one_another_without_gap_or_repeat(
    live: LiveServer, services: Services
) -> None:
    ids = await open_chats(services, 7)
    times = {i: n * 60.0 for n, i in enumerate(ids)}
    # Two more written at the very same instant: the id breaks the tie.
    inbox = Inbox(services)
    same = EIGHT + timedelta(minutes=3, seconds=30)
    for n in (10, 11):
        times[(await inbox.ingest(chat(n, same))).conversation_id] = 210.0
    elsewhere = await open_chats(services, 2, account="chat-saint-clair")
    newest_first = sorted(times, key=lambda i: (times[i], i), reverse=True)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        pages = walk(client, "/api/conversations?status=all&limit=3")
        assert pages == [newest_first[0:3], newest_first[3:6], newest_first[6:9]]
        # The body is still the plain list of conversations; the default page holds them all.
        whole = client.get("/api/conversations").json()
        assert [c["id"] for c in whole] == newest_first
        assert not {c["id"] for c in whole} & set(elsewhere)  # another office's, never listed
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        listed = [i for page in walk(client, "/api/conversations?limit=4") for i in page]
        assert sorted(listed) == sorted([*times, *elsewhere]) and len(listed) == len(set(listed))


async def test_mine_and_queued_lists(live: LiveServer, services: Services) -> None:
    first, second, third = await open_chats(services, 3)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        assert client.post(f"/api/conversations/{second}/take").status_code == 200
        assert (
            client.post(f"/api/conversations/{third}/status", json={"status": "resolved"}).json()[
                "status"
            ]
            == "resolved"
        )
        mine = [c["id"] for c in client.get("/api/conversations?status=mine").json()]
        queued = [c["id"] for c in client.get("/api/conversations?status=queued").json()]
        resolved = [c["id"] for c in client.get("/api/conversations?status=resolved").json()]
        assert (mine, queued, resolved) == ([second], [first], [third])
    colleague = office_login(live, "port-argent", 1)
    with login(live.url, colleague.email, colleague.password) as client:
        assert client.get("/api/conversations?status=mine").json() == []


async def test_bad_cursors_and_limits_are_refused_in_the_users_language(
    live: LiveServer, services: Services
) -> None:
    await open_chats(services, 2)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        client.headers["accept-language"] = "en"
        for query in ("limit=0", "limit=201", "limit=abc", "limit=-1", "limit=²"):
            response = client.get(f"/api/conversations?{query}")
            assert response.status_code == 422, query
            assert response.json() == {
                "detail": "The number of conversations per page must be between 1 and 200.",
                "code": "error.bad_limit",
            }
        for cursor in ("nonsense!", "bm90LWEtY3Vyc29y", "x" * 100, "OTk5OTk5OTk5OTk5OTk5OTk5OS4x"):
            response = client.get(f"/api/conversations?cursor={cursor}")
            assert response.status_code == 422, cursor
            assert response.json()["code"] == "error.bad_cursor"
        client.headers["accept-language"] = "fr"
        french = client.get("/api/conversations?cursor=nonsense")
        assert french.status_code == 422
        assert "Rechargez la liste" in french.json()["detail"]
        assert client.get("/api/conversations?status=everything").status_code == 422


async def test_visitor_live_and_target_seconds(live: LiveServer, services: Services) -> None:
    set_account(live, "chat-port-argent", target_seconds=90)
    # Workers keep accounts for their names a few seconds; this process ran earlier tests.
    repository._display.clear()
    live_id, idle_id = await open_chats(services, 2)
    mail = await Inbox(services).ingest(a_mail("m1@example.org"))
    # Visitor 0's widget is open now (as the visitor socket records it), visitor 1's is not.
    await visitor_presence.touch(services, 1, 1, "visitor-0")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = {c["id"]: c for c in client.get("/api/conversations").json()}
        assert rows[live_id]["visitor_live"] is True
        assert rows[idle_id]["visitor_live"] is False
        assert rows[mail.conversation_id]["visitor_live"] is False
        assert rows[live_id]["target_seconds"] == 90
        assert rows[mail.conversation_id]["target_seconds"] == 4 * 3600  # e-mail's default
        detail = client.get(f"/api/conversations/{live_id}").json()
        assert detail["conversation"]["visitor_live"] is True
        await visitor_presence.leave(services, 1, 1, "visitor-0")
        assert (
            client.get(f"/api/conversations/{live_id}").json()["conversation"]["visitor_live"]
            is False
        )


async def test_events_of_a_live_visitor_say_so(services: Services) -> None:
    await visitor_presence.touch(services, 1, 1, "visitor-0")
    first = await Inbox(services).ingest(chat(0))
    await Inbox(services).ingest(chat(1))
    rows = await services.redis.xrange(keys.events(1))
    changed = [
        event
        for _id, fields in rows
        if isinstance(event := event_adapter.validate_json(fields[b"e"]), ConversationChanged)
    ]
    assert [
        (e.conversation.id == first.conversation_id, e.conversation.visitor_live) for e in changed
    ] == [
        (True, True),
        (False, False),
    ]


async def test_a_message_from_its_visitor_s_socket_says_they_are_live_without_a_look_up(
    services: Services,
) -> None:
    """The visitor socket stores a message with ``live``: its widget is open, whatever the
    presence set says (here nothing: no look-up is made); other messages are looked up."""
    await Inbox(services).ingest(chat(0), live=True)
    await Inbox(services).ingest(chat(1))
    rows = await services.redis.xrange(keys.events(1))
    changed = [
        event.conversation.visitor_live
        for _id, fields in rows
        if isinstance(event := event_adapter.validate_json(fields[b"e"]), ConversationChanged)
    ]
    assert changed == [True, False]


async def test_a_reply_says_whether_its_visitor_is_live_from_this_worker_s_sockets_or_redis(
    services: Services,
) -> None:
    """A reply's line says its chat visitor is live when their socket is open on this worker
    (no presence entry needed), or when Redis says so (a socket on another worker); a socket
    that has ended says nothing. An e-mail's line is never live."""
    opened = [(await Inbox(services).ingest(chat(n))).conversation_id for n in range(3)]
    here = Listener(accepts=lambda _event: True, visitor_key="chat-port-argent:visitor-0")
    gone = Listener(accepts=lambda _event: True, visitor_key="chat-port-argent:visitor-2")
    services.hub.subscribe(1, here)
    services.hub.subscribe(1, gone)
    services.hub.unsubscribe(1, gone)
    await visitor_presence.touch(services, 1, 1, "visitor-1")  # a socket on another worker
    try:
        start = await services.hub.tail_id(1)
        for conversation_id in opened:
            user = await adviser_of(services, conversation_id)
            await actions.reply(services, user, conversation_id, "Bonjour !")
        mail = await Inbox(services).ingest(a_mail("m2@example.org"))
    finally:
        services.hub.unsubscribe(1, here)
    rows = await services.redis.xrange(keys.events(1), min=f"({start}")
    live = {
        event.conversation.id: event.conversation.visitor_live
        for _id, fields in rows
        if isinstance(event := event_adapter.validate_json(fields[b"e"]), ConversationChanged)
    }
    assert live == {
        opened[0]: True,
        opened[1]: True,
        opened[2]: False,
        mail.conversation_id: False,
    }
    assert await services.redis.zscore(keys.live_visitors(1), "1:visitor-0") is None


def test_cursors_keep_the_exact_instant() -> None:
    at = datetime(2026, 7, 21, 8, 0, 0, 123_457, tzinfo=UTC)
    cursor = pagination.decode(pagination.encode(at, 42))
    assert cursor == pagination.Cursor(at, 42)
    paris = at.astimezone(ZoneInfo("Europe/Paris"))  # any offset: the same instant
    assert pagination.encode(paris, 42) == pagination.encode(at, 42)
    assert pagination.decode(None) is None and pagination.decode("") is None
    # "-1", "123" (no id), "-1.5" (a negative instant), "1.2.3", too long.
    for bad in ("-1", "MTIz", "LTEuNQ", "MS4yLjM", "a" * 65):
        with pytest.raises(pagination.BadCursorError):
            pagination.decode(bad)
