"""The sockets under attack: bounded resumes, no leaks, frame size, hostile input, floods —
over a real server, Redis and database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from redis import Redis as SyncRedis
from websockets.exceptions import ConnectionClosed

from app import keys, moderation
from app.realtime import Hub, parse_id
from tests.app.test_cli import Running
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login

DESTINATION = 1


def hub_of(live: LiveServer) -> Hub:
    hub: Hub = live.services().hub  # type: ignore[attr-defined]
    return hub


def server_tasks(live: LiveServer) -> Counter[str]:
    """How many tasks of each coroutine are alive in the server's event loop (its thread)."""
    hub = hub_of(live)
    loop = next(iter(hub._tasks.values())).get_loop()

    async def names() -> Counter[str]:
        return Counter(
            t.get_coro().__qualname__  # type: ignore[union-attr]
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task()
        )

    return asyncio.run_coroutine_threadsafe(names(), loop).result(10)


async def settle(live: LiveServer, baseline: Counter[str], timeout: float = 5) -> Counter[str]:
    """The tasks left beyond ``baseline`` once they had ``timeout`` seconds to end."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = server_tasks(live) - baseline
        if not left or asyncio.get_running_loop().time() > deadline:
            return left
        await asyncio.sleep(0.1)


async def test_sockets_closed_right_after_hello_leave_no_task_nor_listener(
    make_server: Callable[..., LiveServer],
) -> None:
    """Visitors and advisers resuming (from the tail, from 0-0, from a trimmed point) and
    closing right after hello, 30 at a time: every handler, pump and queue watch ends, and
    every listener is gone."""
    live = make_server(visitor_max_tabs=100)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
        async with websockets.connect(visitor_url(live)) as first:
            hello = await recv_until(first, "hello")
        token, tail = hello["token"], hello["last_event_id"]
        baseline = server_tasks(live)
        hub = hub_of(live)
        before = hub.listeners()

        async def visitor(resume: str) -> None:
            async with websockets.connect(visitor_url(live, token, last_event_id=resume)) as ws:
                await recv_until(ws, "hello")

        async def inbox(resume: str) -> None:
            url = f"{live.ws_url}/ws/adviser?last_event_id={resume}"
            async with websockets.connect(url, additional_headers=cookie) as ws:
                await recv_until(ws, "hello")

        for _ in range(5):
            await asyncio.gather(
                *(visitor(r) for r in (tail, "0-0", "1-0") * 10),
                *(inbox(r) for r in (tail, "0-0") * 5),
            )
        assert await settle(live, baseline) == Counter()
        assert hub.listeners() == before


def redis_of(live: LiveServer) -> SyncRedis:
    return SyncRedis.from_url(live.settings.redis_url)


def fill_stream(live: LiveServer, copies: int) -> str:
    """Appends ``copies`` events of another office's conversation straight into the
    destination's stream (the traffic of a busy evening); returns the last id."""
    client = redis_of(live)
    try:
        stream = keys.events(DESTINATION)
        (_, fields), *_ = client.xrevrange(stream, count=1)
        event = json.loads(fields[b"e"])
        event.update(conversation_id=999_999, office_id=999_999, visitor_key="chat-x:someone")
        fields = {b"e": json.dumps(event).encode()}
        last = ""
        for start in range(0, copies, 5000):
            pipe = client.pipeline(transaction=False)
            for _ in range(min(5000, copies - start)):
                pipe.xadd(stream, fields)
            last = pipe.execute()[-1].decode()
        return last
    finally:
        client.close()


async def frames_until_quiet(ws: Any, quiet: float = 1.0) -> list[dict[str, Any]]:
    frames = []
    with contextlib.suppress(TimeoutError):
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
    return frames


async def test_resumes_are_bounded_and_a_visitor_reads_only_their_own_events(
    live: LiveServer,
) -> None:
    async with websockets.connect(visitor_url(live)) as ws:
        token = (await recv_until(ws, "hello"))["token"]
        ack = await send_message(ws, "Bonjour, le musée est-il ouvert ?")
    tail = fill_stream(live, 20_000)
    # The conversation's own stream holds its events only, under the destination's ids.
    conversation_id = await asyncio.to_thread(first_conversation, live)
    client = redis_of(live)
    own = client.xrange(keys.conversation_events(DESTINATION, conversation_id))
    client.close()
    assert 1 <= len(own) < 10
    assert parse_id(own[-1][0].decode()) < parse_id(tail)
    async with websockets.connect(visitor_url(live, token, last_event_id="0-0")) as ws:
        frames = await frames_until_quiet(ws)
    kinds = [f["type"] for f in frames]
    assert "resync" not in kinds
    replayed = [f["message"]["id"] for f in frames if f["type"] == "message"]
    assert replayed == [ack["message_id"]]  # once, and none of the 20,000 copies
    # An adviser 20,000 events behind is told to reload, with the tail to resume from.
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as http:
        cookie = {"cookie": f"concierge_session={http.cookies['concierge_session']}"}
        url = f"{live.ws_url}/ws/adviser?last_event_id=0-0"
        async with websockets.connect(url, additional_headers=cookie) as inbox:
            frames = await frames_until_quiet(inbox)
    assert [f["type"] for f in frames if f["type"] != "presence.changed"][:2] == [
        "hello",
        "resync",
    ]
    resync = next(f for f in frames if f["type"] == "resync")
    assert parse_id(resync["last_event_id"]) >= parse_id(tail)  # the tail at that time
    assert not [f for f in frames if f["type"] == "message.created"]


async def test_a_visitor_further_behind_than_the_bound_is_told_to_resync(
    make_server: Callable[..., LiveServer],
) -> None:
    live = make_server(resume_backlog_max=5)
    async with websockets.connect(visitor_url(live)) as ws:
        hello = await recv_until(ws, "hello")
        first = await send_message(ws, "Un")
        for n in range(2, 9):
            await send_message(ws, f"Message {n}", client_id=f"client-000{n}")
    token = hello["token"]
    async with websockets.connect(visitor_url(live, token, last_event_id="0-0")) as ws:
        frames = await frames_until_quiet(ws)
    assert [f["type"] for f in frames if f["type"] != "queue"] == ["hello", "resync"]
    assert next(f for f in frames if f["type"] == "resync")["last_event_id"] != "0-0"
    # A resume point older than resume_max_age_seconds (here 1970) is not replayed either.
    async with websockets.connect(visitor_url(live, token, last_event_id="1-0")) as ws:
        frames = await frames_until_quiet(ws)
    assert [f["type"] for f in frames if f["type"] != "queue"] == ["hello", "resync"]
    # From the tail the visitor saw after their first message: only what followed, in order.
    async with websockets.connect(visitor_url(live, token)) as ws:
        await recv_until(ws, "hello")
        await send_message(ws, "Neuf", client_id="client-0009")
        mark = (await recv_until(ws, "message"))["event_id"]
    async with websockets.connect(visitor_url(live, token)) as ws:
        await recv_until(ws, "hello")
        await send_message(ws, "Dix", client_id="client-0010")
    async with websockets.connect(visitor_url(live, token, last_event_id=mark)) as ws:
        frames = await frames_until_quiet(ws)
    assert [f["message"]["text"] for f in frames if f["type"] == "message"] == ["Dix"]
    assert first["message_id"] > 0


async def test_resume_ids_redis_would_refuse_count_as_no_resume(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live)) as ws:
        token = (await recv_until(ws, "hello"))["token"]
        await send_message(ws, "Bonjour")
    for bad in ("1_000-0", "+5-0", "99999999999999999999-0", "1-2-3", "-1-0", "٣-0"):
        async with websockets.connect(visitor_url(live, token, last_event_id=bad)) as ws:
            hello = await recv_until(ws, "hello")
            assert [m["text"] for m in hello["messages"]] == ["Bonjour"]  # a fresh start
            await ws.send('{"type": "ping"}')
            await recv_until(ws, "pong")


def first_conversation(live: LiveServer) -> int:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        return int(client.get("/api/conversations").json()[0]["id"])


async def test_erasing_a_visitor_deletes_their_conversations_own_events(
    live: LiveServer,
) -> None:
    async with websockets.connect(visitor_url(live)) as ws:
        token = (await recv_until(ws, "hello"))["token"]
        await send_message(ws, "Mon numéro de chambre est le 214")
    conversation_id = await asyncio.to_thread(first_conversation, live)
    stream = keys.conversation_events(DESTINATION, conversation_id)
    client = redis_of(live)
    try:
        assert client.exists(stream)
        manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
        with login(live.url, manager.email, manager.password) as http:
            erased = http.post(f"/api/conversations/{conversation_id}/erase-visitor")
            assert erased.status_code == 200, erased.text
        # What is left (the erased conversation's notice) holds none of the visitor's words.
        # Words, not a bare "214": the events' times, a fraction of a second after the test
        # clock's 08:00, read "08:00:00.214…" as often as not on a slower database.
        left = client.xrange(stream)
        texts = [e[b"e"].decode() for _, e in left]
        assert not [t for t in texts if "chambre" in t or "le 214" in t]
        assert not [e for _, e in left if json.loads(e[b"e"])["type"] == "message.created"]
    finally:
        client.close()
    async with websockets.connect(visitor_url(live, token, last_event_id="0-0")) as ws:
        frames = await frames_until_quiet(ws)
    assert not [f for f in frames if f["type"] == "message"]


async def opened(url: str, source: str = "127.0.0.1") -> dict[str, Any] | int:
    """The hello of a socket opened from ``source`` (any 127.x address is this machine), or
    the code it was closed with."""
    try:
        async with websockets.connect(url, local_addr=(source, 0)) as ws:
            return await recv_until(ws, "hello")
    except ConnectionClosed as exc:
        assert exc.rcvd is not None
        return exc.rcvd.code


def conversations(live: LiveServer) -> int:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        return len(client.get("/api/conversations").json())


async def test_new_chats_are_limited_per_address_and_widget_and_refusals_take_nothing(
    make_server: Callable[..., LiveServer],
) -> None:
    live = make_server(
        chat_new_ip_burst=3,
        # One every five seconds: wide enough that the first three and the refused crowd
        # are over before a token comes back, even on a loaded machine.
        chat_new_ip_per_minute=12,
        chat_new_widget_burst=5,
        chat_new_widget_per_minute=0.001,
        socket_ip_burst=10,  # and, below, the 40 refused new chats took none of these
        socket_ip_per_minute=0.001,
    )
    url = visitor_url(live)
    first = [await opened(url) for _ in range(3)]
    assert all(isinstance(h, dict) for h in first)
    assert await opened(url) == 4429
    # A crowd of refused attempts takes nothing: five seconds later one more gets in.
    refused = await asyncio.gather(*(opened(url) for _ in range(40)))
    await asyncio.sleep(5.3)
    assert isinstance(await opened(url), dict)
    assert 4429 in refused
    # Another address has its own allowance, until the widget's runs out for everyone.
    assert isinstance(await opened(url, "127.0.0.2"), dict)
    assert await opened(url, "127.0.0.3") == 4429
    # A visitor holding a token is no new chat: still let in.
    token = first[0]["token"]  # type: ignore[index]
    assert isinstance(await opened(visitor_url(live, token)), dict)


async def test_invalid_attempts_count_against_the_address(
    make_server: Callable[..., LiveServer],
) -> None:
    live = make_server(socket_ip_burst=3, socket_ip_per_minute=0.001)
    for _ in range(3):
        assert await opened(visitor_url(live, account="chat-nowhere")) == 4404
    assert await opened(visitor_url(live)) == 4429  # no free database reads
    assert isinstance(await opened(visitor_url(live), "127.0.0.2"), dict)


async def test_a_token_does_not_skip_the_address_limit_nor_open_more_than_the_tabs_cap(
    make_server: Callable[..., LiveServer],
) -> None:
    live = make_server(socket_ip_burst=6, socket_ip_per_minute=0.001, visitor_max_tabs=2)
    hello = await opened(visitor_url(live))
    assert isinstance(hello, dict)
    url = visitor_url(live, hello["token"])
    async with websockets.connect(url) as tab1, websockets.connect(url) as tab2:
        await recv_until(tab1, "hello")
        await recv_until(tab2, "hello")
        assert await opened(url) == 4429  # a third tab
    for _ in range(3):  # the two closed: room again (the refused tab took nothing)
        assert isinstance(await opened(url), dict)
    # Six sockets in all from this address: no seventh, token or not.
    assert await opened(url) == 4429
    assert isinstance(await opened(url, "127.0.0.2"), dict)


async def test_a_frame_flood_closes_the_socket(make_server: Callable[..., LiveServer]) -> None:
    live = make_server(socket_frames_burst=10, socket_frames_per_second=1)
    async with websockets.connect(visitor_url(live)) as ws:
        await recv_until(ws, "hello")
        for _ in range(30):
            await ws.send('{"type": "ping"}')
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429


async def test_a_blocked_address_is_refused_with_4451(live: LiveServer) -> None:
    client = redis_of(live)
    subject = moderation.ip_subject("127.0.0.1")
    assert subject is not None
    client.hset(
        moderation.blocks_key(DESTINATION),
        mapping={"synced": "1", moderation.ip_field(subject): "0"},
    )
    client.close()
    assert await opened(visitor_url(live)) == moderation.BLOCKED_CLOSE
    assert await conversations_or_none(live) == 0


async def conversations_or_none(live: LiveServer) -> int:
    return await asyncio.to_thread(conversations, live)


async def test_binary_frames_close_either_socket_with_1003(live: LiveServer) -> None:
    async with websockets.connect(visitor_url(live)) as ws:
        await recv_until(ws, "hello")
        await ws.send(b'{"type": "ping"}')
        with pytest.raises(ConnectionClosed) as closed:
            await recv_until(ws, "never")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
        async with websockets.connect(f"{live.ws_url}/ws/adviser", additional_headers=cookie) as ws:
            await recv_until(ws, "hello")
            await ws.send(b"\x00\xff")
            with pytest.raises(ConnectionClosed) as closed:
                await recv_until(ws, "never")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
    async with websockets.connect(visitor_url(live)) as ws:  # the server is still well
        await recv_until(ws, "hello")


async def test_text_that_cannot_be_stored_is_refused_before_anything_is_stored(
    live: LiveServer,
) -> None:
    async with websockets.connect(visitor_url(live, lang="en")) as ws:
        await recv_until(ws, "hello")
        for n, text in enumerate(("a\\ud800b", "\\udfff", "x\\u0000y", "\\ud83d\\ude00\\ud800")):
            client_id = f"client-bad{n}"
            await ws.send(f'{{"type": "message", "client_id": "{client_id}", "text": "{text}"}}')
            error = await recv_until(ws, "error")
            assert (error["code"], error["client_id"]) == ("invalid_text", client_id)
            assert "cannot be sent" in error["message"]
        assert await conversations_or_none(live) == 0
        ack = await send_message(ws, "Un emoji valide : \U0001f600")  # a proper pair is fine
        assert ack["message_id"] > 0


async def test_a_lapsed_assignment_lock_does_not_cost_the_visitor_their_ack(
    live: LiveServer,
) -> None:
    """Under overload an assignment pass outlives its Redis lock (here: the lock is deleted as
    soon as it is taken); the message is stored, and its sender gets the ack all the same."""
    stop = asyncio.Event()

    def steal() -> None:
        client = redis_of(live)
        lock_keys = [keys.assign_lock(DESTINATION, office) for office in range(1, 10)]
        try:
            while not stop.is_set():
                client.delete(*lock_keys)
        finally:
            client.close()

    thief = asyncio.create_task(asyncio.to_thread(steal))
    try:
        for n in range(5):
            async with websockets.connect(visitor_url(live)) as ws:
                await recv_until(ws, "hello")
                ack = await send_message(ws, f"Bonjour {n}")
                assert ack["message_id"] > 0
    finally:
        stop.set()
        await thief
    assert await conversations_or_none(live) == 5


def test_concierge_run_refuses_huge_frames_and_stops_within_seconds_with_sockets_open(
    env: dict[str, str],
) -> None:
    """A real `concierge run`: a 15 MB frame is refused from its header (1009, message too
    big), and SIGTERM with 200 sockets open — visitors resuming, advisers — ends the process
    in a few seconds."""
    env = {**env, "CONCIERGE_DEMO_HISTORY_DAYS": "0", "CONCIERGE_SOCKET_IP_BURST": "100000"}
    env["CONCIERGE_CHAT_NEW_IP_BURST"] = "100000"
    env["CONCIERGE_VISITOR_MAX_TABS"] = "1000"
    app = Running(env)
    try:
        app.wait_ready()
        ws_url = app.url.replace("http://", "ws://")
        visitor = f"{ws_url}/ws/visitor?account=chat-port-argent"
        logins = [
            line.split()[:2]
            for line in (Path(env["CONCIERGE_VAR_DIR"]) / "demo-logins.txt").read_text().split("\n")
            if "adviser" in line
        ]
        cookies = []
        for email, password in logins[:3]:
            with login(app.url, email, password) as client:
                cookies.append(client.cookies["concierge_session"])

        async def scene() -> None:
            async with websockets.connect(visitor, origin=app.url, max_size=None) as ws:
                hello = json.loads(await ws.recv())
                huge = json.dumps(
                    {"type": "message", "client_id": "c" * 8, "text": "x" * 15_000_000}
                )
                # Refused from the frame's header: the close may already meet the client while
                # it is still writing the frame.
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.send(huge)
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            token, tail = hello["token"], hello["last_event_id"]
            sockets = [
                await websockets.connect(
                    f"{ws_url}/ws/adviser?last_event_id={tail}",
                    origin=app.url,
                    additional_headers={"cookie": f"concierge_session={cookie}"},
                )
                for cookie in cookies
            ]
            for n in range(200):
                resume = f"&token={token}&last_event_id={tail}" if n % 2 else ""
                sockets.append(await websockets.connect(visitor + resume, origin=app.url))
            for ws in sockets:
                json.loads(await ws.recv())
            started = time.monotonic()
            app.proc.send_signal(signal.SIGTERM)
            output, _ = await asyncio.to_thread(app.proc.communicate, timeout=60)
            app.output = output
            took = time.monotonic() - started
            assert app.proc.returncode == 0, output[-3000:]
            assert took < 8, f"{took:.1f} s\n{output[-3000:]}"
            assert "Exception in ASGI application" not in output

        asyncio.run(scene())
    finally:
        if app.proc.poll() is None:
            app.stop()


async def first_message(url: str, text: str, source: str = "127.0.0.1") -> str:
    """Opens a chat from ``source`` and writes once: "ack", or the error's code."""
    async with websockets.connect(url, local_addr=(source, 0)) as ws:
        await recv_until(ws, "hello")
        frame = {"type": "message", "client_id": f"client-{time.monotonic_ns()}", "text": text}
        await ws.send(json.dumps(frame))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame["type"] in ("ack", "error"):
                return "ack" if frame["type"] == "ack" else str(frame["code"])


async def test_new_conversations_are_limited_per_address_and_refusals_take_nothing(
    make_server: Callable[..., LiveServer],
) -> None:
    """Opening the widget stays loose (a crowd behind one address gets in), but conversations
    opened from one address are held to their bucket; a refused first message takes nothing,
    and a visitor who already has a conversation keeps writing."""
    live = make_server(conversation_ip_burst=4, conversation_ip_per_minute=12)  # one per 5 s
    url = visitor_url(live)
    # 40 visitors behind one address open the widget at once: all get in (defaults are loose).
    hellos = await asyncio.gather(*(opened(url) for _ in range(40)))
    assert all(isinstance(h, dict) for h in hellos)
    token = hellos[0]["token"]  # type: ignore[index]
    began = time.monotonic()
    results = [await first_message(visitor_url(live, token), "first of the crowd")]
    results += [await first_message(url, f"flood {n}") for n in range(3)]
    assert results == ["ack"] * 4
    refused = await asyncio.gather(*(first_message(url, f"more {n}") for n in range(20)))
    # Only what the bucket refilled meanwhile (one per 5 s) got in: the rest were refused.
    refilled = int((time.monotonic() - began) / 5)
    assert refused.count("ack") <= refilled
    assert set(refused) <= {"rate_limited", "ack"} and "rate_limited" in refused
    assert conversations(live) == 4 + refused.count("ack")
    # A visitor whose conversation exists opens none: not held by that bucket.
    assert await first_message(visitor_url(live, token), "and a second question") == "ack"
    # Refusals took nothing: once the bucket refilled one (5 s after its last take at most),
    # one more conversation gets in.
    await asyncio.sleep(5.3)
    assert await first_message(url, "a real visitor") == "ack"
    assert await first_message(url, "another address", "127.0.0.2") == "ack"
    assert conversations(live) == 6 + refused.count("ack")
