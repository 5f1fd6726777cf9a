"""Fake-X scenarios in real time: refused credentials retried soon and recovered from by
themselves; a hung mentions request never holds up direct messages."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from connectors.twitter.config import XAccountConfig
from connectors.twitter.connector import XConnector
from tests.connectors.twitter.conftest import OAUTH1
from tests.connectors.twitter.test_poll import later


async def test_refused_credentials_back_off_from_seconds_and_say_when(
    fake_x, make_connector, sink, cursors, vtime
):
    fake_x.revoked = True  # every request answers 401
    fake_x.add_mention("@PortArgentOT toujours là ?")
    x = make_connector(direct_messages=False)
    delays = [await later(x, sink, cursors, vtime) for _ in range(9)]
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]  # jitter pinned to its ceiling
    note = x.status.notes[0]
    at = datetime.fromtimestamp(vtime.now + 300, UTC)
    assert note.code == "x.credentials_retry" and note.params["at"] == at.isoformat()
    assert note.params["status"] == "401" and note.params["retry"] == f"{at:%H:%M} UTC"
    assert x.status.state == "error" and f"retrying at {at:%H:%M} UTC" in x.status.detail
    fake_x.revoked = False  # the administrator fixed the tokens
    await later(x, sink, cursors, vtime)
    assert [m.text for m in sink.messages] == ["@PortArgentOT toujours là ?"]
    assert x.status.state == "polling" and x.status.detail == "mentions: polling every 60 s"
    fake_x.revoked = True  # refused again: from a few seconds again, not from minutes
    assert await later(x, sink, cursors, vtime) == 5


async def test_a_forbidden_app_is_retried_with_jitter(fake_x, make_connector, sink, cursors):
    config = make_connector(direct_messages=False).config
    delays = set()
    for _ in range(6):
        fake_x.fail(403, {"title": "Forbidden", "detail": "Client Forbidden"}, path="/mentions")
        delays.add(await XConnector(config).poll_once(sink, cursors))
    assert all(2.5 <= d <= 5 for d in delays) and len(delays) > 1


def connector(fake_x, **changes) -> XConnector:
    config = XAccountConfig(
        account="x-port-argent", handle="PortArgentOT", user_id=fake_x.me,
        bearer_token="test-bearer", api_base_url=fake_x.url, poll_interval=0.5,
        **{**OAUTH1, "request_timeout": 30, **changes},
    )  # type: ignore[arg-type]  # fmt: skip
    return XConnector(config)


async def test_a_hung_mentions_request_never_delays_direct_messages(fake_x, sink, cursors):
    fake_x.clock = time.time
    fake_x.slow(20, path="/mentions")  # the first mentions request hangs for 20 s
    x = connector(fake_x)
    run = asyncio.create_task(x.run(sink, cursors))
    try:
        await asyncio.sleep(1.5)  # both timelines have started; mentions hangs
        assert len(fake_x.calls("/mentions")) == 1
        started = time.monotonic()
        fake_x.add_dm("Bonjour, la navette part à quelle heure ?", sender="4242")
        while not sink.messages and time.monotonic() - started < 10:
            await asyncio.sleep(0.05)
        waited = time.monotonic() - started
        assert [m.thread_key for m in sink.messages] == ["dm:4242"]
        assert waited < 5  # its own poll interval, not the 20 s the mentions request takes
        assert len(fake_x.calls("/dm_events")) >= 2  # DMs kept polling meanwhile
        assert len(fake_x.calls("/mentions")) == 1  # still waiting for that one answer
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert x.status.state == "stopped"


async def test_the_request_timeout_bounds_the_whole_request(fake_x, sink, cursors):
    fake_x.clock = time.time
    fake_x.slow(5, path="/dm_events")
    x = connector(fake_x, request_timeout=0.5)
    started = time.monotonic()
    await x.poll_once(sink, cursors)
    assert time.monotonic() - started < 3
    assert "direct messages: X API unavailable (no answer in time)" in x.status.detail
    assert "mentions: polling every" in x.status.detail  # answered meanwhile
