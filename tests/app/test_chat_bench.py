"""The chat bench's fan-out floor (bench/chat_latency.py) really delivers: a visitor's message
reaches its office's adviser sockets only, is acknowledged, and a reply reaches the visitor —
over a real Redis; and the bench's own client, driven against it, sees every message arrive."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from app.embedded_redis import free_port
from bench.chat_latency import load, serve_floor


@contextlib.asynccontextmanager
async def floor_server(redis_url: str) -> AsyncIterator[str]:
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(serve_floor(port, redis_url, ready))
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def frame(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


async def test_the_floor_fans_a_visitor_message_out_to_its_office_and_back(
    redis_url: str,
) -> None:
    async with (
        floor_server(redis_url) as base,
        websockets.connect(f"{base}/adviser?office=port-argent") as ours,
        websockets.connect(f"{base}/adviser?office=port-argent") as colleague,
        websockets.connect(f"{base}/adviser?office=saint-clair") as other,
        websockets.connect(f"{base}/visitor?office=port-argent&visitor=7") as visitor,
    ):
        for ws in (ours, colleague, other, visitor):
            assert (await frame(ws))["type"] == "hello"
        await visitor.send(json.dumps({"type": "message", "client_id": "c1", "text": "Bonjour"}))
        ack = await frame(visitor)
        assert ack["type"] == "ack" and ack["client_id"] == "c1"
        for ws in (ours, colleague):
            created = await frame(ws)
            assert created["type"] == "message.created"
            assert created["conversation_id"] == 7
            assert created["message"] == {"id": ack["id"], "direction": "in", "text": "Bonjour"}
        with pytest.raises(TimeoutError):  # another office's sockets are not told
            await frame(other, timeout=0.5)
        await ours.send(json.dumps({"type": "reply", "conversation_id": 7, "text": "Oui"}))
        reply = await frame(visitor)
        assert reply == {"type": "message", "message": {"author": "adviser", "text": "Oui"}}


async def test_the_bench_client_sees_every_message_through_the_floor(redis_url: str) -> None:
    logins = [
        ("a@port-argent.example", "", "port-argent"),
        ("b@saint-clair.example", "", "saint-clair"),
    ]
    args = argparse.Namespace(duration=1.5, visitors=6, advisers=4, interval=0.5, warm_up=3)
    async with floor_server(redis_url) as base:
        result = await load(base.replace("ws://", "http://"), logins, args, floor=True)
    # Every visitor message reached an adviser once, and every reply its visitor.
    assert result["sent"] >= 6
    assert len(result["v2a"]) == result["sent"]
    assert len(result["a2v"]) == result["sent"]
    # Every socket was open before the first message; each visitor's first one is counted apart.
    assert result["open_seconds"] > 0
    assert len(result["v2a_first"]) == 6
    # The warm-up's visitors wrote and were answered first, counted apart from the load.
    assert len(result["warm_v2a"]) == len(result["warm_a2v"]) == 3 * 2
    assert result["busy"] == []
