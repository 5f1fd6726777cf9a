"""The inbox's own requests one after another: an adviser's reply and marking a conversation
read, each timed from the client, against a floor measured in the same run.

The app runs in its own process (embedded Redis, SQLite in a temporary directory, the demo
destination, by day); a chat visitor opens a conversation on an adviser's office's widget,
then that adviser, signed in, sends ``--requests`` replies to it over HTTP
(``POST /api/conversations/{id}/messages``, as the inbox does), each followed by
``POST .../read`` (which the inbox sends for every message arriving in the open conversation). The floor is the same client's ``GET /healthz``: the same HTTP stack and
middleware, one Redis round trip, no unit of work. Nothing else runs: the figures are a
request's own cost (client, loopback and server), not a load test's (``bench.chat_latency``).

Run: ``python -m bench.inbox_requests [--requests 800]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import websockets

from bench.app_process import running_app
from bench.chat_latency import MOMENTS, login
from bench.figures import pct

WARM_UP = 50  # requests not counted: the first ones fill the caches and compile the statements


async def timed(call: Callable[[], Awaitable[httpx.Response]], expected: int) -> float:
    start = time.perf_counter()
    response = await call()
    elapsed = time.perf_counter() - start
    if response.status_code != expected:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return elapsed


async def measure(
    base: str, adviser: tuple[str, str, str], requests: int
) -> dict[str, list[float]]:
    email, password, office = adviser
    visitor_url = base.replace("http://", "ws://") + f"/ws/visitor?account=chat-{office}"
    async with websockets.connect(visitor_url) as visitor:
        await visitor.recv()
        first = {"type": "message", "client_id": "c0000x000001", "text": "Bonsoir"}
        await visitor.send(json.dumps(first))
        while (frame := json.loads(await visitor.recv()))["type"] != "ack":
            if frame["type"] == "error":
                raise RuntimeError(f"the visitor's message was refused: {frame}")
        client = await login(base, email, password)
        try:
            listed = (await client.get("/api/conversations")).json()
            if not listed:
                raise RuntimeError(f"{email} does not see the visitor's conversation")
            conversation = listed[0]["id"]
            path = f"/api/conversations/{conversation}"
            times: dict[str, list[float]] = {"reply": [], "read": [], "floor": []}
            for n in range(WARM_UP + requests):
                reply = {"text": f"Réponse {n}", "client_id": f"r{n:06d}"}
                sample = [
                    await timed(lambda: client.post(f"{path}/messages", json=reply), 201),  # noqa: B023
                    await timed(lambda: client.post(f"{path}/read"), 200),
                    await timed(lambda: client.get("/healthz"), 200),
                ]
                if n >= WARM_UP:
                    for name, value in zip(times, sample, strict=True):
                        times[name].append(value)
            return times
        finally:
            await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=800)
    args = parser.parse_args()
    settings = {
        "CONCIERGE_DEMO_HISTORY_DAYS": "0",
        # By day each office answers its own widget: the adviser sees the conversation.
        "CONCIERGE_CLOCK_START": MOMENTS["day"],
    }
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp), settings) as app:
        adviser = None
        for line in (app.var_dir / "demo-logins.txt").read_text().splitlines():
            email, password, role, *_ = line.split()
            if role == "adviser":
                adviser = (email, password, email.split("@")[1].removesuffix(".example"))
                break
        assert adviser is not None, "the demo destination has advisers"
        times = asyncio.run(measure(app.base, adviser, args.requests))
    floor = pct(times["floor"], 50)
    print(f"inbox requests: {args.requests} of each, one after another, one adviser")
    for name, label in (
        ("reply", "reply (POST .../messages)"),
        ("read", "mark read (POST .../read)"),
        ("floor", "floor: GET /healthz"),
    ):
        values = [value * 1000 for value in times[name]]
        print(
            f"  {label:28s} p50 {pct(values, 50):6.2f} ms   p90 {pct(values, 90):6.2f} ms"
            f"   p99 {pct(values, 99):6.2f} ms"
        )
    for name in ("reply", "read"):
        print(f"  ratio {name} / floor (p50): {pct(times[name], 50) / floor:.1f}x")


if __name__ == "__main__":
    main()
