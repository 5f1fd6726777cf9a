"""The app on a real Redis Cluster (3 Valkey masters, a replica each) and through Sentinel,
every process started by tests/support/valkey_cluster.py from the binary the app ships.

* every key of app/keys.py has one hash tag, and the keys used together share a slot;
* a visitor and an adviser chat live, sessions and rate limits hold, signals (sharded pub/sub)
  arrive — on the cluster;
* the master serving the destination is killed (SIGKILL) mid-chat: its replica takes over,
  the chat resumes within seconds and every message sent before, during and after is stored
  once and reaches the adviser;
* through ``redis+sentinel://`` the app works, and follows a ``SENTINEL FAILOVER``.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis.crc import key_slot
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app import keys, redis_connect
from app.embedded_redis import free_port
from app.redis_send import QuickSend
from app.settings import Settings
from tests.app.test_cli import CONCIERGE
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login, seed_demo, start_server, stop_server
from tests.support.valkey_cluster import ValkeyCluster, ValkeySentinel

DESTINATION = 1  # the demo's destination
APP = Path(__file__).resolve().parents[2] / "app"


def slot(key: str) -> int:
    return key_slot(key.encode())


# --- the key design, checked statically --------------------------------------------------------


def _sample(parameter: inspect.Parameter) -> object:
    return 7 if parameter.annotation in (int, "int") else "sub:ject"


def test_every_key_has_exactly_one_hash_tag() -> None:
    builders = [
        f
        for name, f in inspect.getmembers(keys, inspect.isfunction)
        if not name.startswith("_") and f.__module__ == keys.__name__
    ]
    assert len(builders) > 25
    for builder in builders:
        parameters = inspect.signature(builder).parameters.values()
        key = builder(*(_sample(p) for p in parameters))
        assert key.startswith("concierge:"), builder.__name__
        assert len(re.findall(r"\{[^{}]+\}", key)) == 1, (builder.__name__, key)
        assert key.count("{") == key.count("}") == 1, (builder.__name__, key)
    # A subject with braces of its own cannot move a rate limit's windows apart.
    odd = "a}b{c"
    assert slot(keys.rate("x", odd, 1)) == slot(keys.rate("x", odd, 2))
    assert keys.rate("x", odd, 1).count("{") == 1


def test_the_keys_used_together_share_a_slot() -> None:
    d, other = 7, 8
    together = {
        # app/realtime.py: one script appends to both streams
        "publish twice": [keys.events(d), keys.conversation_events(d, 123)],
        # app/socket_presence.py: a transaction and a script over a count and its set
        "visitor sockets": [keys.live_visitor_sockets(d, "3:abc"), keys.live_visitors(d)],
        "adviser sockets": [keys.adviser_sockets(d, 5), keys.online(d)],
        # app/presence.py: one MGET of the advisers' statuses
        "presence": [keys.presence(d, u) for u in range(1, 40)],
        # app/ratelimit.py: both windows of a subject
        "rate": [keys.rate("login", "203.0.113.9", 100), keys.rate("login", "203.0.113.9", 99)],
        # app/login_limits.py: one transaction sets the lock and drops the count
        "login": [keys.login_failures("ab12"), keys.login_lock("ab12")],
        # app/socket_guard.py: one script takes from several buckets
        "admission": [keys.admission("ip", "203.0.113.9"), keys.admission("widget", "chat-x")],
    }
    for name, group in together.items():
        assert len({slot(k) for k in group}) == 1, name
    # Destinations are spread: their keys are not all on one slot.
    assert slot(keys.events(d)) != slot(keys.events(other))


def test_no_key_is_spelled_outside_app_keys() -> None:
    stray = []
    for path in APP.rglob("*.py"):
        if path.name == "keys.py" or "migrations" in path.parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"""f?["']concierge:\{""", line) or re.search(
                r"""redis\.\w+\(\s*f?["'][a-z-]+:""", line
            ):
                stray.append(f"{path.name}:{n}: {line.strip()}")
    assert stray == []


def test_bad_redis_urls_name_the_setting_and_never_the_password() -> None:
    for url, reason in [
        ("redis+cluster://:s3cret@/", "host:port"),
        ("redis+cluster://:s3cret@h1:6379,h2/", "'h2' is not host:port"),
        ("redis+cluster://:s3cret@h1:99999/", "not host:port"),
        ("redis+cluster://:s3cret@h1:7000/0", "no path"),
        ("redis+sentinel://:s3cret@h1:26379/", "service name is missing"),
        ("redis+sentinel://:s3cret@h1:26379/main?db=x", "db must be a number"),
        ("redis+sentinel://:s3cret@h1:26379/main?tls=1", "unknown parameter 'tls'"),
        ("http://:s3cret@h1:6379/0", "scheme"),
    ]:
        with pytest.raises(redis_connect.RedisUrlError) as caught:
            redis_connect.connect(url)
        message = str(caught.value)
        assert message.startswith("REDIS_URL "), message
        assert reason in message, message
        assert "s3cret" not in message, message
    assert str(caught.value).endswith("(or redis+cluster://, redis+sentinel://)")
    target = redis_connect.parse("redis+sentinel://u:p%40ss@[::1]:26379,h2:26380/main?db=2")
    assert target.nodes == (("::1", 26379), ("h2", 26380))
    assert (target.service, target.db, target.username, target.password) == ("main", 2, "u", "p@ss")


def test_run_with_a_bad_redis_url_stops_at_once_naming_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "REDIS_URL": "redis+sentinel://:s3cret@sentinel-1:26379/",
        "CONCIERGE_VAR_DIR": str(tmp_path / "var"),
        "CONCIERGE_PORT": str(free_port()),
    }
    result = subprocess.run(
        [*CONCIERGE, "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "REDIS_URL 'redis+sentinel://:***@sentinel-1:26379/'" in result.stderr
    assert "service name is missing" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var" / "concierge.db").exists()  # nothing was started


# --- the app on a real cluster -----------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    began = time.monotonic()
    topology = ValkeyCluster(tmp_path_factory.mktemp("cluster"), masters=3, replicas=1)
    try:
        topology.start()
        print(f"cluster of 6 up in {time.monotonic() - began:.1f} s")
        yield topology
    finally:
        topology.stop()


def _flush(cluster: ValkeyCluster) -> None:
    for node in cluster.nodes:
        if node.alive:
            with node.client() as client:
                if client.execute_command("ROLE")[0] == "master":
                    client.flushall()


@pytest.fixture
def on_cluster(settings: Settings, cluster: ValkeyCluster) -> Iterator[LiveServer]:
    cluster.wait_ok()
    _flush(cluster)
    own = settings.model_copy(update={"redis_url": cluster.url, "login_rate": 3})
    logins = seed_demo(own)
    server, thread, url = start_server(own)
    yield LiveServer(url, own, logins, server.config.app)
    stop_server(server, thread)


def _cookie(client: httpx.Client) -> dict[str, str]:
    return {"cookie": f"concierge_session={client.cookies['concierge_session']}"}


async def test_the_app_works_on_a_cluster(on_cluster: LiveServer, cluster: ValkeyCluster) -> None:
    live = on_cluster
    adviser = office_login(live, "port-argent")
    services: Any = live.services()
    assert redis_connect.is_cluster(services.redis)
    redis = redis_connect.connect(live.settings.redis_url)  # the test's own, in its own loop
    with login(live.url, adviser.email, adviser.password) as client:
        async with (
            websockets.connect(
                f"{live.ws_url}/ws/adviser", additional_headers=_cookie(client)
            ) as ws,
            websockets.connect(visitor_url(live)) as visitor,
        ):
            await recv_until(ws, "hello")
            await recv_until(visitor, "hello")
            await send_message(visitor, "Le phare se visite-t-il ?")
            created = await recv_until(ws, "message.created")
            assert created["message"]["text"] == "Le phare se visite-t-il ?"
            conversation_id = created["conversation_id"]
            # A signal: sharded pub/sub on the destination's shard.
            await ws.send(json.dumps({"type": "typing", "conversation_id": conversation_id}))
            typing = await recv_until(visitor, "typing")
            assert typing["active"] is True
            reply = client.post(
                f"/api/conversations/{conversation_id}/messages", json={"text": "Oui, à 15 h."}
            )
            assert reply.status_code == 201
            while (frame := await recv_until(visitor, "message"))["message"]["author"] != "adviser":
                pass
            assert frame["message"]["text"] == "Oui, à 15 h."
        # The session lives on the cluster: it works, and logging out ends it.
        assert client.get("/api/conversations").status_code == 200
        session_key = keys.session(client.cookies["concierge_session"])
        assert await redis.exists(session_key) == 1
        logout = client.post("/logout", data={"csrf_token": client.headers["X-CSRF-Token"]})
        assert logout.status_code in (302, 303), logout.text
        assert await redis.exists(session_key) == 0
        assert client.get("/api/conversations").status_code == 401
    await redis.aclose()
    # The sign-in rate limit (3 per window here) counts on the cluster.
    with httpx.Client(base_url=live.url, timeout=10) as browser:
        page = browser.get("/login")
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        codes = [
            browser.post(
                "/login", data={"email": "x@example.org", "password": "no", "csrf_token": token}
            ).status_code
            for _ in range(5)
        ]
    # One sign-in above, two refusals of the password, then the address is held back.
    assert 429 not in codes[:2] and codes[2:] == [429, 429, 429], codes
    # Every key the app wrote lands where its tag says, on the master that owns that slot.
    written = 0
    for node in cluster.nodes:
        if node.alive:
            with node.client() as client_:
                if client_.execute_command("ROLE")[0] != "master":
                    continue
                for key in client_.scan_iter("concierge:*"):
                    assert len(re.findall(r"\{[^{}]+\}", key)) >= 1, key
                    assert cluster.owner(key).port == node.port
                    written += 1
    assert written > 5


# --- a master killed mid-chat ------------------------------------------------------------------


async def _visitor(live: LiveServer, count: int, every: float, sent: dict[int, float]) -> str:
    """Sends ``count`` messages, reconnecting (same token) and resending (same client id: stored
    once) whatever the outage does; returns the token."""
    token: str | None = None
    n = 0
    while n < count:
        try:
            async with websockets.connect(visitor_url(live, token), open_timeout=5) as ws:
                token = (await recv_until(ws, "hello", timeout=10))["token"]
                while n < count:
                    await ws.send(
                        json.dumps(
                            {"type": "message", "client_id": f"client-{n:04d}", "text": f"m{n}"}
                        )
                    )
                    frame = await _ack_or_error(ws)
                    if frame["type"] == "ack":
                        sent.setdefault(n, time.monotonic())
                        n += 1
                        await asyncio.sleep(every)
                    else:
                        await asyncio.sleep(0.2)  # Redis unavailable for a moment: again
        except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
            await asyncio.sleep(0.2)
    assert token is not None
    return token


async def _ack_or_error(ws: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        frame: dict[str, Any] = json.loads(
            await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
        )
        if frame["type"] in ("ack", "error"):
            return frame


async def _adviser(
    live: LiveServer, cookie: dict[str, str], got: dict[str, float], stop: asyncio.Event
) -> None:
    """Collects the texts of message.created, resuming from the last event id on a drop."""
    last = ""
    while not stop.is_set():
        url = f"{live.ws_url}/ws/adviser" + (f"?last_event_id={last}" if last else "")
        try:
            async with websockets.connect(url, additional_headers=cookie, open_timeout=5) as ws:
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    frame = json.loads(raw)
                    if frame.get("event_id"):
                        last = frame["event_id"]
                    if frame["type"] == "message.created":
                        got.setdefault(frame["message"]["text"], time.monotonic())
        except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
            await asyncio.sleep(0.2)


async def test_a_killed_master_is_replaced_and_the_chat_loses_nothing(
    on_cluster: LiveServer, cluster: ValkeyCluster
) -> None:
    live = on_cluster
    count, every = 40, 0.05
    owner = cluster.owner(keys.events(DESTINATION))
    adviser = office_login(live, "port-argent")
    sent: dict[int, float] = {}
    got: dict[str, float] = {}
    stop = asyncio.Event()
    with login(live.url, adviser.email, adviser.password) as client:
        reader = asyncio.create_task(_adviser(live, _cookie(client), got, stop))
        await asyncio.sleep(0.5)
        visitor = asyncio.create_task(_visitor(live, count, every, sent))
        while len(sent) < 15:
            await asyncio.sleep(0.05)
        began = time.monotonic()
        killed_at = time.monotonic()
        owner.kill()  # mid-chat: the master of the destination's streams and channel
        await asyncio.wait_for(visitor, 60)
        deadline = time.monotonic() + 20
        while len(got) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await reader
        print(f"chat of {count} messages done {time.monotonic() - began:.1f} s after the kill")
        new_owner = cluster.owner(keys.events(DESTINATION))
        assert new_owner.port != owner.port and new_owner.alive
        rows = client.get("/api/conversations").json()
        conversation = client.get(f"/api/conversations/{rows[0]['id']}").json()
        # The probe an orchestrator watches is healthy again too (the client's default node
        # may have been the dead one).
        health = [client.get("/healthz").status_code for _ in range(3)]
        assert health == [200, 200, 200], health
        # Signals (sharded pub/sub) subscribed again on the new master.
        async with (
            websockets.connect(
                f"{live.ws_url}/ws/adviser", additional_headers=_cookie(client)
            ) as ws,
            websockets.connect(visitor_url(live, visitor.result())) as visitor_ws,
        ):
            await recv_until(ws, "hello")
            await recv_until(visitor_ws, "hello", timeout=10)
            await ws.send(json.dumps({"type": "typing", "conversation_id": rows[0]["id"]}))
            assert (await recv_until(visitor_ws, "typing", timeout=10))["active"] is True
    texts = [m["text"] for m in conversation["messages"] if re.fullmatch(r"m\d+", m["text"])]
    assert sorted(texts) == sorted(f"m{n}" for n in range(count))  # each stored once
    assert set(got) == {f"m{n}" for n in range(count)}  # each reached the adviser
    after = sorted(t for t in got.values() if t > killed_at)
    assert after, "nothing arrived after the kill"
    pause = after[0] - killed_at
    acks = sorted(sent.values())
    send_pause = max(b - a for a, b in itertools.pairwise(acks))
    print(
        f"master killed: first live message {pause:.2f} s later at the adviser; longest gap "
        f"between two acknowledged sends {send_pause:.2f} s"
    )
    assert pause < 15


# --- Sentinel ----------------------------------------------------------------------------------


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[ValkeySentinel]:
    began = time.monotonic()
    topology = ValkeySentinel(tmp_path / "sentinel")
    try:
        topology.start()
        print(f"master, replica and sentinel up in {time.monotonic() - began:.1f} s")
        yield topology
    finally:
        topology.stop()


async def test_the_app_follows_a_sentinel_failover(
    settings: Settings, sentinel: ValkeySentinel
) -> None:
    own = settings.model_copy(update={"redis_url": sentinel.url})
    logins = seed_demo(own)
    server, thread, url = start_server(own)
    live = LiveServer(url, own, logins, server.config.app)
    try:
        adviser = office_login(live, "port-argent")
        with login(live.url, adviser.email, adviser.password) as client:
            got: dict[str, float] = {}
            stop = asyncio.Event()
            reader = asyncio.create_task(_adviser(live, _cookie(client), got, stop))
            async with websockets.connect(visitor_url(live)) as visitor:
                hello = await recv_until(visitor, "hello")
                await send_message(visitor, "avant", client_id="client-0001")
            first_master = sentinel.master_port()
            began = time.monotonic()
            new_master = await asyncio.to_thread(sentinel.failover)
            assert new_master != first_master
            sent: dict[int, float] = {}
            await asyncio.wait_for(_visitor_after(live, hello["token"], sent), 30)
            deadline = time.monotonic() + 15
            while {"avant", "après"} - set(got) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            stop.set()
            await reader
            print(f"sentinel failover: chat again {got.get('après', 0) - began:.2f} s after")
            assert {"avant", "après"} <= set(got)
            assert client.get("/api/conversations").status_code == 200  # the session survived
        pool = live.services().redis.connection_pool  # type: ignore[attr-defined]
        assert issubclass(pool.connection_class, QuickSend)  # app/redis_send.py
    finally:
        stop_server(server, thread)


async def _visitor_after(live: LiveServer, token: str, sent: dict[int, float]) -> None:
    while not sent:
        try:
            async with websockets.connect(visitor_url(live, token), open_timeout=5) as ws:
                await recv_until(ws, "hello", timeout=10)
                await ws.send(
                    json.dumps({"type": "message", "client_id": "client-0002", "text": "après"})
                )
                if (await _ack_or_error(ws))["type"] == "ack":
                    sent[0] = time.monotonic()
                    return
        except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
            pass
        await asyncio.sleep(0.2)
