"""The app through a Redis outage, as an operator sees it: a real uvicorn server on a Redis of
the test's own (the embedded server, supervised as ``concierge run`` supervises it), killed with
SIGKILL. While Redis is down /healthz and the API answer 503 with a reason (never 500) and the
outage is logged once; once it is back, everything answers again and the open inbox socket gets
what visitors write."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from redis.exceptions import ConnectionError as RedisConnectionError

from app.embedded_redis import EmbeddedRedis
from app.outage import Outage
from app.settings import Settings
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login, seed_demo, start_server, stop_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(tmp_path / "own-redis")
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def app_on_own_redis(settings: Settings, server: EmbeddedRedis) -> Iterator[LiveServer]:
    own = settings.model_copy(update={"redis_url": server.url})
    logins = seed_demo(own)
    uvicorn_server, thread, url = start_server(own)
    yield LiveServer(url, own, logins, uvicorn_server.config.app)
    stop_server(uvicorn_server, thread)


def kill(server: EmbeddedRedis) -> int:
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_healthy(url: str, seconds: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if httpx.get(f"{url}/healthz", timeout=3).status_code == 200:
            return time.monotonic() - began
        time.sleep(0.05)
    pytest.fail(f"/healthz not 200 within {seconds} s")


async def test_an_outage_answers_503_is_logged_once_and_heals(
    app_on_own_redis: LiveServer, server: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    live = app_on_own_redis
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
        async with websockets.connect(f"{live.ws_url}/ws/adviser", additional_headers=cookie) as ws:
            await recv_until(ws, "hello")
            caplog.clear()
            caplog.set_level(logging.INFO)

            # Down (not restarted yet: the supervisor is not watching): 503 with a reason.
            kill(server)
            assert server._process is not None
            server._process.wait(5)
            health = httpx.get(f"{live.url}/healthz", timeout=5)
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable"
            assert health.json()["reason"].startswith("redis")
            page = client.get("/api/conversations", headers={"accept-language": "fr"})
            assert page.status_code == 503
            assert page.json()["code"] == "error.service_unavailable"
            assert page.json()["detail"].startswith("Le service est momentanément indisponible")
            await asyncio.sleep(3)  # the background loops retry meanwhile

            # The supervisor restarts it on the same port, password and data.
            server.supervise()
            took = await asyncio.to_thread(wait_healthy, live.url, 10)
            assert took < 10
            assert client.get("/api/conversations").status_code == 200

            # The open inbox socket (its worker's stream reader recovered) gets a new chat.
            async with websockets.connect(visitor_url(live)) as visitor:
                await recv_until(visitor, "hello")
                ack = await send_message(visitor, "Bonjour après la panne")
            deadline = time.monotonic() + 10
            while True:
                frame = await recv_until(ws, "message.created", timeout=deadline - time.monotonic())
                if frame["message"]["id"] == ack["message_id"]:
                    break
            assert frame["message"]["text"] == "Bonjour après la panne"
            await asyncio.sleep(1.5)  # the watcher notices the end of the outage

    records = [r for r in caplog.records if r.name.startswith(("app", "uvicorn"))]
    down = [r for r in records if "Redis unreachable" in r.getMessage()]
    up = [r for r in records if "Redis reachable again" in r.getMessage()]
    assert (len(down), len(up)) == (1, 1), [r.getMessage() for r in records]
    tracebacks = [r for r in records if r.exc_info]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
    assert json.dumps([r.getMessage() for r in records]).count("ConnectionError") <= 1


def test_a_new_outage_just_after_the_last_one_is_said_when_the_watcher_sees_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stale connection failing once after Redis came back is the same outage; the watcher's
    own failed ping is a new one, even seconds after the last ended."""
    state = Outage()
    caplog.set_level(logging.WARNING, logger="app.outage")
    assert state.quiet(RedisConnectionError("down"))
    state.back()
    assert state.quiet(RedisConnectionError("stale connection"))  # the aftermath: swallowed
    assert not state.down
    assert state.quiet(RedisConnectionError("down again"), "watch", confirmed=True)
    assert state.down
    said = [r.getMessage() for r in caplog.records if r.name == "app.outage"]
    assert [m.split(" ")[1] for m in said] == ["unreachable", "reachable", "unreachable"]
    assert not state.quiet(ValueError("a bug, not an outage"))
