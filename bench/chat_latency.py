"""Chat delivery latency under load, against a floor measured in the same run.

Starts ``concierge run`` (embedded Redis, SQLite, demo destination) in a temporary directory,
connects 20 advisers and 200 visitors over websockets (every socket open, 50 at a time, before
the load begins: the time it took is printed; each asks for events together, ``batch=1``, as the
inbox and the widget do), and for DURATION seconds has every visitor write
regularly and the first adviser to see each message answer it over HTTP, one reply at a time per
adviser. Before the load, ``--warm-up`` other visitors (20) each write twice and are answered,
one message at a time: the figures are a serving worker's, not those of a process running its
code for the first time (its first messages cost tens of milliseconds more: SQL compiled, the
rota's year worked out); the warm-up's own latencies are printed apart. Prints:

- visitor → adviser: from the visitor's frame sent to the adviser's socket receiving it; then
  apart, each visitor's first message (it opens a conversation: routing, assignment, the queue)
  and the follow-ups. A message refused "busy" is sent again after the time it was given, with
  the ones written after it, in order, as the widget does, and its latency counts from its first
  send; the refusals are printed;
- adviser → visitor: from the adviser's reply sent (a frame on their socket, as the inbox sends
  it, or with ``--http-replies`` a POST) to the visitor's socket receiving it;
- messages/s through the system; peak memory (VmHWM) of the app process;
- the floor: a bare Redis PUBLISH → subscriber round trip plus a bare websocket echo round trip
  on this machine, and the ratio project p99 / floor p99;
- the fan-out floor: a bare server (:func:`serve_floor`, its own process, one Redis pub/sub
  connection, websockets, no app logic) started in the same run and driven by the same client
  with the same sockets and message rate: a visitor's frame is published on its office's
  channel, delivered to that office's adviser sockets and acknowledged; an adviser's reply (a
  frame on its socket, where the project takes an HTTP POST) is published on the visitor's
  channel. Printed with the project/floor ratios for p50, p99 and messages/s.

The app runs "as if" at a chosen moment of the demo's rota (``--at``), since where and how a
message goes depends on it: ``evening`` (the default: a Tuesday at 19:00 in Paris, the shared
duty, one office on duty for all), ``day`` (10:30, each office answering its own accounts),
``night`` (02:00, nobody on duty: every conversation goes to the office answering next and its
first message gets the automatic reply), or an instant with its UTC offset.

Run: ``python -m bench.chat_latency [--duration 30] [--visitors 200] [--advisers 20] [--at evening]
[--quick]`` (``--quick``: 10 s of load and fewer floor samples, for a smoke test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import websockets
from redis.asyncio import Redis

from app.embedded_redis import EmbeddedRedis, free_port
from bench.app_process import running_app
from bench.figures import pct

WARM = "warm-"  # the warm-up's messages' tags begin with it
WARM_MESSAGES = 2  # each warm-up visitor's: a first message and a follow-up, each answered


def frames_of(raw: str | bytes) -> list[dict[str, Any]]:
    """The frames in one websocket frame: the project's sockets, asked with ``batch=1``, send
    the events that waited together as a JSON array (docs/api.md)."""
    data = json.loads(raw)
    return data if isinstance(data, list) else [data]


def fmt(values: list[float]) -> str:
    p50, p99 = pct(values, 50) * 1000, pct(values, 99) * 1000
    return f"p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   (n={len(values)})"


def fmt_max(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


async def floor(samples: int = 2000) -> tuple[list[float], list[float]]:
    """Bare Redis PUBLISH→subscriber and bare websocket echo round trips."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), persist=False) as server:
        redis = Redis.from_url(server.url)
        pubsub = redis.pubsub()
        await pubsub.subscribe("floor")
        await pubsub.get_message(timeout=1)
        pub: list[float] = []
        for _ in range(samples):
            start = time.perf_counter()
            await redis.publish("floor", b"x")
            while (await pubsub.get_message(timeout=1)) is None:
                pass
            pub.append(time.perf_counter() - start)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()

    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    port = free_port()
    ws_rtt: list[float] = []
    async with (
        websockets.serve(echo, "127.0.0.1", port),
        websockets.connect(f"ws://127.0.0.1:{port}") as ws,
    ):
        for _ in range(samples):
            start = time.perf_counter()
            await ws.send("x" * 100)
            await ws.recv()
            ws_rtt.append(time.perf_counter() - start)
    return pub, ws_rtt


async def serve_floor(port: int, redis_url: str, ready: asyncio.Event | None = None) -> None:
    """The fan-out floor: websockets and Redis pub/sub, nothing else.

    ``/visitor?office=O&visitor=N``: each frame ``{"type": "message", "client_id", "text"}`` is
    published on ``floor:o:O`` as a ``message.created`` frame (conversation N) and acknowledged
    to the visitor (``{"type": "ack"}``); the visitor receives what is published on
    ``floor:v:N``. ``/adviser?office=O``: receives what is published on ``floor:o:O``; its frame
    ``{"type": "reply", "conversation_id": N, "text"}`` is published on ``floor:v:N``. One Redis
    connection publishes, one subscribes (per channel, once for all local sockets), as a worker
    of the project does. Serves until cancelled."""
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe("floor:idle")  # listen() needs a subscription
    local: dict[str, set[Any]] = defaultdict(set)
    ids = itertools.count(1)

    async def pump() -> None:
        async for item in pubsub.listen():
            if item["type"] != "message":
                continue
            data = item["data"].decode()
            for ws in list(local.get(item["channel"].decode(), ())):
                with contextlib.suppress(websockets.ConnectionClosed):
                    await ws.send(data)

    async def join(channel: str, ws: Any) -> None:
        if not local[channel]:
            await pubsub.subscribe(channel)
        local[channel].add(ws)

    async def leave(channel: str, ws: Any) -> None:
        local[channel].discard(ws)
        if not local[channel]:
            del local[channel]
            await pubsub.unsubscribe(channel)

    async def handler(ws: Any) -> None:
        url = urlsplit(ws.request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        office = query.get("office", "")
        if url.path == "/visitor":
            visitor = int(query["visitor"])
            channel = f"floor:v:{visitor}"
        elif url.path == "/adviser":
            channel = f"floor:o:{office}"
        else:
            await ws.close(code=4404)
            return
        await join(channel, ws)
        try:
            await ws.send(json.dumps({"type": "hello"}))
            async for raw in ws:
                frame = json.loads(raw)
                if url.path == "/visitor" and frame.get("type") == "message":
                    message_id = next(ids)
                    event = {
                        "type": "message.created",
                        "conversation_id": visitor,
                        "message": {"id": message_id, "direction": "in", "text": frame["text"]},
                    }
                    await redis.publish(f"floor:o:{office}", json.dumps(event))
                    ack = {"type": "ack", "client_id": frame["client_id"], "id": message_id}
                    await ws.send(json.dumps(ack))
                elif url.path == "/adviser" and frame.get("type") == "reply":
                    event = {
                        "type": "message",
                        "message": {"author": "adviser", "text": frame["text"]},
                    }
                    await redis.publish(
                        f"floor:v:{int(frame['conversation_id'])}", json.dumps(event)
                    )
        except websockets.ConnectionClosed:
            pass
        finally:
            await leave(channel, ws)

    pumping = asyncio.create_task(pump())
    try:
        async with websockets.serve(handler, "127.0.0.1", port, max_queue=None):
            if ready is not None:
                ready.set()
            await asyncio.Future()
    finally:
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pumping
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def login(base: str, email: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    page = await client.get("/login")
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    if response.status_code != 303:
        raise RuntimeError(f"login failed for {email}")
    client.headers["X-CSRF-Token"] = token
    return client


Reply = Callable[[int, str], Awaitable[None]]


def _project_http_reply(client: httpx.AsyncClient, timings: list[float]) -> Reply:
    async def send(conversation_id: int, text: str) -> None:
        start = time.perf_counter()
        response = await client.post(
            f"/api/conversations/{conversation_id}/messages", json={"text": text}
        )
        timings.append(time.perf_counter() - start)
        if response.status_code != 201:
            print("reply refused:", response.status_code, response.text[:200], file=sys.stderr)

    return send


def _project_socket_reply(
    ws: Any, timings: list[float], answers: dict[str, asyncio.Future[dict[str, Any]]]
) -> Reply:
    """A reply over the adviser's socket, as the inbox sends it (app.web.ws_reply): timed
    from the frame sent to its ``reply.stored``, which the socket's reader hands over."""
    numbers = itertools.count()

    async def send(conversation_id: int, text: str) -> None:
        client_id = f"b{id(ws)}x{next(numbers)}"
        answers[client_id] = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        frame = {"type": "reply", "conversation_id": conversation_id, "text": text}
        await ws.send(json.dumps({**frame, "client_id": client_id}))
        answer = await asyncio.wait_for(answers[client_id], 60)
        timings.append(time.perf_counter() - start)
        if answer["type"] != "reply.stored":
            print("reply refused:", answer, file=sys.stderr)

    return send


def _floor_reply(ws: Any) -> Reply:
    async def send(conversation_id: int, text: str) -> None:
        frame = {"type": "reply", "conversation_id": conversation_id, "text": text}
        await ws.send(json.dumps(frame))

    return send


async def load(
    base: str, logins: list[tuple[str, str, str]], args: argparse.Namespace, floor: bool = False
) -> dict[str, Any]:
    """Drives the project (``floor=False``) or the fan-out floor with the same sockets and rate."""
    ws_base = base.replace("http://", "ws://")
    offices = sorted({office for _, _, office in logins if office})
    accounts = {office: f"chat-{office}" for office in offices}
    by_office: dict[str, list[Reply]] = defaultdict(list)
    clients: list[httpx.AsyncClient] = []
    adviser_sockets = []
    # Advisers taken from every office in turn: whichever office the rota has on duty when the
    # bench runs (by day each its own, in the evening one for all) has some of them.
    per_office: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for entry in logins:
        if entry[2]:
            per_office[entry[2]].append(entry)
    advisers = [x for turn in itertools.zip_longest(*per_office.values()) for x in turn if x]
    sent_at: dict[str, float] = {}
    reply_sent_at: dict[str, float] = {}
    v2a: list[float] = []
    v2a_first: list[float] = []
    v2a_later: list[float] = []
    a2v: list[float] = []
    warm_v2a: list[float] = []  # the warm-up's messages (not counted)
    warm_a2v: list[float] = []
    pending_replies: asyncio.Queue[tuple[str, int, str]] = asyncio.Queue()
    stop = asyncio.Event()
    seen: set[int] = set()  # message ids already received by some adviser
    reply_requests: list[float] = []  # the project's reply, sent → stored (201 over HTTP)
    answers: dict[str, asyncio.Future[dict[str, Any]]] = {}  # socket replies awaiting theirs
    busy: list[str] = []  # "busy" refusals (client ids), each sent again as the widget does
    dropped: list[str] = []  # visitor sockets closed under the bench (close codes)

    for i in range(args.advisers):
        email, password, office = advisers[i % len(advisers)]
        if floor:
            ws = await websockets.connect(f"{ws_base}/adviser?office={office}", max_queue=None)
            by_office[office].append(_floor_reply(ws))
        else:
            client = await login(base, email, password)
            clients.append(client)
            cookie = f"concierge_session={client.cookies['concierge_session']}"
            ws = await websockets.connect(
                f"{ws_base}/ws/adviser?batch=1",
                additional_headers={"cookie": cookie},
                max_queue=None,
            )
            by_office[office].append(
                _project_http_reply(client, reply_requests)
                if args.http_replies
                else _project_socket_reply(ws, reply_requests, answers)
            )
        await ws.recv()
        adviser_sockets.append((ws, office))

    async def adviser_reader(ws: Any, office: str) -> None:
        async for raw in ws:
            for frame in frames_of(raw):
                await adviser_frame(frame, office)

    async def adviser_frame(frame: dict[str, Any], office: str) -> None:
        if frame["type"] in ("reply.stored", "reply.refused"):
            answers.pop(frame["client_id"]).set_result(frame)
            return
        if frame["type"] != "message.created" or frame["message"]["direction"] != "in":
            return
        tag = frame["message"]["text"].split()[0]
        start = sent_at.get(tag)
        message_id = frame["message"]["id"]
        if start is None or message_id in seen:
            return
        # The first adviser to see it answers, from the office it was routed to (the
        # visitor's own by day, the one on duty in the evening).
        seen.add(message_id)
        if tag.startswith(WARM):  # before the measured load: kept apart
            warm_v2a.append(time.perf_counter() - start)
        else:
            v2a.append(time.perf_counter() - start)
            # A visitor's first message opens a conversation: counted apart.
            (v2a_first if tag.endswith(":1") else v2a_later).append(v2a[-1])
        await pending_replies.put((office, frame["conversation_id"], tag))

    async def responder() -> None:
        turn = 0
        while True:
            office, conversation_id, tag = await pending_replies.get()
            replies = by_office[office]
            send_reply = replies[turn % len(replies)]
            turn += 1
            reply_tag = "r" + tag
            reply_sent_at[reply_tag] = time.perf_counter()
            await send_reply(conversation_id, f"{reply_tag} merci")

    async def visitor(index: int) -> None:
        office = offices[index % len(offices)]
        url = (
            f"{ws_base}/visitor?office={office}&visitor={index}"
            if floor
            else f"{ws_base}/ws/visitor?account={accounts[office]}&batch=1"
        )
        try:
            async with opening:
                ws = await websockets.connect(url, max_queue=None)
                await ws.recv()
        finally:  # a socket that failed to open must not hold the others back
            opened.append(index)
            if len(opened) == args.visitors:
                go.set()
        await go.wait()  # every socket open before the first message: load, not a connect storm
        async with ws:
            counter = 0
            frames: dict[str, str] = {}  # client id → frame, until stored
            # As the widget does: once a message is refused, it and the ones written after it
            # wait, and go again together, in the order written, after the time it was given.
            held: set[str] = set()
            holding: list[asyncio.Task[None]] = []

            async def send_held(seconds: float) -> None:
                await asyncio.sleep(seconds)
                holding.clear()
                going = sorted(held)  # fixed-width counters: the order written
                held.clear()
                with contextlib.suppress(websockets.ConnectionClosed):
                    for client_id in going:
                        await ws.send(frames[client_id])

            def hold(client_id: str, seconds: float) -> None:
                held.add(client_id)
                if not holding:
                    holding.append(asyncio.create_task(send_held(seconds)))

            async def reader() -> None:
                try:
                    await read_frames()
                except websockets.ConnectionClosed as closed:  # counted, not a crash
                    dropped.append(f"{closed.rcvd.code if closed.rcvd else 'none'}")

            async def read_frames() -> None:
                async for raw in ws:
                    for frame in frames_of(raw):
                        read_frame(frame)

            def read_frame(frame: dict[str, Any]) -> None:
                if frame["type"] == "message" and frame["message"]["author"] == "adviser":
                    tag = frame["message"]["text"].split()[0]
                    start = reply_sent_at.pop(tag, None)
                    if start is not None:
                        a2v.append(time.perf_counter() - start)
                elif frame["type"] == "ack":
                    frames.pop(frame["client_id"], None)
                elif frame["type"] == "error" and frame["code"] == "busy":
                    # Kept and sent again after the time it says, the same client id.
                    busy.append(frame["client_id"])
                    hold(frame["client_id"], frame["retry_after"])
                elif frame["type"] == "error":
                    print("visitor error:", frame, file=sys.stderr)

            read_task = asyncio.create_task(reader())
            await asyncio.sleep(args.interval * index / args.visitors)  # spread the load
            while not stop.is_set():
                counter += 1
                tag = f"{office}:{index}:{counter}"
                sent_at[tag] = time.perf_counter()  # retries count from the first send
                client_id = f"c{index:04d}x{counter:06d}"
                frames[client_id] = json.dumps(
                    {"type": "message", "client_id": client_id, "text": f"{tag} bonjour"}
                )
                if holding:  # an earlier one waits to go again: this one goes after it
                    held.add(client_id)
                else:
                    await ws.send(frames[client_id])
                await asyncio.sleep(args.interval)
            await asyncio.sleep(2)
            read_task.cancel()

    async def warm_visitor(index: int) -> None:
        """A visitor of the warm-up: writes WARM_MESSAGES messages, each once the last was
        answered, then leaves."""
        office = offices[index % len(offices)]
        url = (
            f"{ws_base}/visitor?office={office}&visitor={index}"
            if floor
            else f"{ws_base}/ws/visitor?account={accounts[office]}&batch=1"
        )
        async with websockets.connect(url, max_queue=None) as ws:
            await ws.recv()
            for counter in range(1, WARM_MESSAGES + 1):
                tag = f"{WARM}{office}:{index}:{counter}"
                sent_at[tag] = time.perf_counter()
                client_id = f"w{index:04d}x{counter:06d}"
                await ws.send(
                    json.dumps(
                        {"type": "message", "client_id": client_id, "text": f"{tag} bonjour"}
                    )
                )
                answered = False
                while not answered:
                    for frame in frames_of(await ws.recv()):
                        if frame["type"] == "message" and frame["message"]["author"] == "adviser":
                            reply_tag = frame["message"]["text"].split()[0]
                            start = reply_sent_at.pop(reply_tag, None)
                            if start is not None:
                                warm_a2v.append(time.perf_counter() - start)
                            answered = answered or reply_tag == "r" + tag
                sent_at.pop(tag)

    readers = [asyncio.create_task(adviser_reader(ws, office)) for ws, office in adviser_sockets]
    # One reply at a time per adviser, as a person answers.
    responders = [asyncio.create_task(responder()) for _ in range(args.advisers)]
    # A worker that has served for a while, not one just started: the first messages and
    # replies of a new process pay for its code's first run (SQL compiled, the rota's year
    # worked out…), which the warm-up's visitors pay instead, and which is printed apart.
    warm_up = [warm_visitor(args.visitors + i) for i in range(args.warm_up)]
    await asyncio.wait_for(asyncio.gather(*warm_up), timeout=60)
    reply_requests.clear()  # the warm-up's replies: not the load's
    opening = asyncio.Semaphore(50)  # sockets opened 50 at a time, as bench.idle_sockets does
    opened: list[int] = []
    go = asyncio.Event()
    began = time.perf_counter()
    visitors = [asyncio.create_task(visitor(i)) for i in range(args.visitors)]
    await go.wait()
    open_seconds = time.perf_counter() - began
    started = time.perf_counter()
    await asyncio.sleep(args.duration)
    stop.set()
    await asyncio.gather(*visitors, return_exceptions=True)
    elapsed = time.perf_counter() - started
    for task in readers + responders:
        task.cancel()
    for ws, _ in adviser_sockets:
        await ws.close()
    for client in clients:
        await client.aclose()
    return {
        "v2a": v2a,
        "v2a_first": v2a_first,
        "v2a_later": v2a_later,
        "warm_v2a": warm_v2a,
        "warm_a2v": warm_a2v,
        "open_seconds": open_seconds,
        "a2v": a2v,
        "elapsed": elapsed,
        "sent": len(sent_at),
        "replies_sent": len(reply_sent_at) + len(a2v),
        "replies_waiting": pending_replies.qsize(),
        "reply_requests": reply_requests,
        "busy": busy,
        "dropped": dropped,
    }


# Moments of the demo's rota (docs/rota.example.toml), in its destination's time zone.
MOMENTS = {
    "evening": "2026-12-08T19:00:00+01:00",
    "day": "2026-12-08T10:30:00+01:00",
    "night": "2026-12-09T02:00:00+01:00",
}


def moment(value: str) -> str:
    """``--at``: a named moment, or an ISO instant that carries its UTC offset."""
    if value in MOMENTS:
        return MOMENTS[value]
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r}: evening, day, night or an ISO instant"
        ) from None
    if instant.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{value!r}: give its UTC offset, e.g. +01:00")
    return instant.isoformat()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--advisers", type=int, default=20)
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between a visitor's messages"
    )
    parser.add_argument(
        "--at",
        type=moment,
        default=MOMENTS["evening"],
        help="the moment the app runs at: evening (default), day, night or an ISO instant",
    )
    parser.add_argument(
        "--warm-up",
        type=int,
        default=20,
        help="visitors who write and are answered before the measured load (not counted)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="10 s of load and fewer floor samples (smoke test)"
    )
    parser.add_argument(
        "--http-replies",
        action="store_true",
        help="advisers reply with POST .../messages instead of over their socket (as the inbox does)",
    )
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_floor:  # the fan-out floor's own process (see run_floor)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_floor(args.serve_floor, args.redis_url))
        return
    if args.quick:
        args.duration = min(args.duration, 10)

    limits = {
        "CONCIERGE_VISITOR_IP_RATE": "1000000",  # every simulated visitor comes from 127.0.0.1
        "CONCIERGE_CHAT_NEW_IP_BURST": "1000000",
        "CONCIERGE_CONVERSATION_IP_BURST": "1000000",
        "CONCIERGE_SOCKET_IP_BURST": "1000000",
        "CONCIERGE_LOGIN_RATE": "1000",  # and so do the 20 advisers logging in
        "CONCIERGE_DEMO_HISTORY_DAYS": "0",
        "CONCIERGE_CLOCK_START": args.at,
    }
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp), limits) as app:
        logins = []
        for line in (app.var_dir / "demo-logins.txt").read_text().splitlines():
            email, password, role, *_ = line.split()
            office = email.split("@")[1].removesuffix(".example") if role == "adviser" else ""
            logins.append((email, password, office))
        print(
            f"chat latency: {args.visitors} visitors, {args.advisers} advisers,"
            f" {args.duration:.0f} s, one message per visitor every {args.interval:.0f} s,"
            f" each answered; the app's clock from {args.at}"
        )
        result = asyncio.run(load(app.base, logins, args))
        peak = vm_hwm_kib(app.pid)

    fan_out = run_floor(logins, args)
    pub, ws_rtt = asyncio.run(floor(300 if args.quick else 2000))
    floor_samples = [a + b for a, b in zip(pub, ws_rtt, strict=False)]
    v2a, a2v = result["v2a"], result["a2v"]
    total = len(v2a) + len(a2v)
    if args.warm_up:
        print(
            f"  warm-up            {args.warm_up} visitors, {WARM_MESSAGES} messages each, answered"
            " before the load (not counted): visitor → adviser"
            f" {fmt_max(result['warm_v2a'])}, adviser → visitor {fmt_max(result['warm_a2v'])}"
        )
    print(f"  visitor → adviser  {fmt(v2a)}")
    print(f"    first messages   {fmt(result['v2a_first'])}  (each opens a conversation)")
    print(f"    follow-ups       {fmt(result['v2a_later'])}")
    print(f"  adviser → visitor  {fmt(a2v)}")
    print(
        f"  throughput         {total / result['elapsed']:.1f} messages/s delivered"
        f" ({result['sent']} visitor messages sent)"
    )
    print(
        f"  replies            {result['replies_sent']} sent, {len(a2v)} seen by their visitor,"
        f" {result['replies_waiting']} still to send at the end"
    )
    way = "HTTP request" if args.http_replies else "socket frame"
    print(f"  reply ({way}) {fmt(result['reply_requests'])}")
    refused = result["busy"]
    print(
        f"  busy refusals      {len(refused)} ({len(set(refused))} messages refused at least"
        " once, each sent again after the time it was given)"
    )
    print(
        f"  not yet seen       {result['sent'] - len(v2a)} visitor messages no adviser had seen"
        " when the run ended (2 s after the load)"
    )
    if result["dropped"]:
        print(f"  sockets dropped    {len(result['dropped'])} (close codes: {result['dropped']})")
    print(
        f"  sockets opened     {result['open_seconds']:.1f} s for {args.visitors}, 50 at a time,"
        " before the load"
    )
    print(f"  app peak memory    {peak / 1024:.1f} MiB (VmHWM)")
    print(f"  floor: redis pub→sub {fmt(pub)}")
    print(f"  floor: ws echo       {fmt(ws_rtt)}")
    print(f"  floor: sum           {fmt(floor_samples)}")
    worst = max(pct(v2a, 99), pct(a2v, 99))
    print(f"  ratio p99 project / bare round trip: {worst / pct(floor_samples, 99):.1f}x")
    f_v2a, f_a2v = fan_out["v2a"], fan_out["a2v"]
    floor_rate = (len(f_v2a) + len(f_a2v)) / fan_out["elapsed"]
    print(f"  fan-out floor: visitor → adviser  {fmt(f_v2a)}")
    print(f"  fan-out floor: adviser → visitor  {fmt(f_a2v)}")
    print(
        f"  fan-out floor: throughput         {floor_rate:.1f} messages/s delivered"
        f" ({fan_out['sent']} visitor messages sent)"
    )
    for name, ours, bare in (("visitor → adviser", v2a, f_v2a), ("adviser → visitor", a2v, f_a2v)):
        print(
            f"  ratio project / fan-out floor, {name}:"
            f" p50 {pct(ours, 50) / pct(bare, 50):.1f}x   p99 {pct(ours, 99) / pct(bare, 99):.1f}x"
        )
    print(
        "  ratio project / fan-out floor, messages/s:"
        f" {total / result['elapsed'] / floor_rate:.2f}  (goal: p99 ≤ 3x)"
    )


def run_floor(logins: list[tuple[str, str, str]], args: argparse.Namespace) -> dict[str, Any]:
    """The same load against the fan-out floor: its own Redis and its own process."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), persist=False) as redis:
        port = free_port()
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.chat_latency"),
                *("--serve-floor", str(port), "--redis-url", redis.url),
            ],
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("the fan-out floor server did not start") from None
                    time.sleep(0.1)
            return asyncio.run(load(f"http://127.0.0.1:{port}", logins, args, floor=True))
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # stuck closing its sockets: its figures are in
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


if __name__ == "__main__":
    main()
