"""What an open, idle chat socket costs one worker: memory and CPU per socket.

Starts ``concierge run`` (one worker, embedded Redis, SQLite, demo destination) in a temporary
directory, opens chat visitor sockets in steps (each waits for its ``hello``, then sends nothing
but the widget's ping every 25 s), and after each step, once the worker is idle again, prints
the worker's VmRSS, the growth per socket since the start, and the worker's CPU over 10 s of
doing nothing but keeping them open.

Run: ``python -m bench.idle_sockets [--steps 1000,5000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

from bench.app_process import running_app
from bench.socket_probe import ACCOUNT, OPEN_LIMITS, cpu_ticks, idle, rss_kib


async def open_sockets(url: str, count: int, into: list[Any]) -> None:
    semaphore = asyncio.Semaphore(50)

    async def one() -> None:
        async with semaphore:
            ws = await websockets.connect(url, open_timeout=60, ping_interval=None)
            frame = json.loads(await ws.recv())
            assert frame["type"] == "hello", frame
            into.append(ws)

    await asyncio.gather(*(one() for _ in range(count)))


async def keep_pinging(sockets: list[Any], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for ws in list(sockets):
            await ws.send(json.dumps({"type": "ping"}))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 25)


async def measure(base: str, pid: int, steps: list[int]) -> None:
    url = base.replace("http://", "ws://") + f"/ws/visitor?account={ACCOUNT}"
    sockets: list[Any] = []
    await idle(pid)
    start_kib = rss_kib(pid)
    print(
        f"  {'sockets':>8} {'worker RSS':>11} {'per socket':>11} {'open took':>10} {'idle CPU':>9}"
    )
    print(f"  {0:>8} {start_kib / 1024:>8.1f} MiB {'':>11} {'':>10} {'':>9}")
    stop = asyncio.Event()
    pinger: asyncio.Task[None] | None = None
    hertz = os.sysconf("SC_CLK_TCK")
    for target in steps:
        began = time.perf_counter()
        await open_sockets(url, target - len(sockets), sockets)
        took = time.perf_counter() - began
        if pinger is None:
            pinger = asyncio.create_task(keep_pinging(sockets, stop))
        await idle(pid)
        now_kib = rss_kib(pid)
        before = cpu_ticks(pid)
        await asyncio.sleep(10)
        cpu = (cpu_ticks(pid) - before) / hertz / 10
        per = (now_kib - start_kib) / len(sockets)
        print(
            f"  {len(sockets):>8} {now_kib / 1024:>8.1f} MiB {per:>7.1f} KiB"
            f" {took:>8.1f} s {cpu * 100:>7.1f} %",
            flush=True,
        )
    stop.set()
    if pinger is not None:
        await pinger
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1000,5000", help="socket counts, ascending")
    args = parser.parse_args(argv)
    steps = [int(x) for x in args.steps.split(",")]

    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp), OPEN_LIMITS) as app:
        print(f"idle chat sockets on one worker ({os.cpu_count()} cores)")
        asyncio.run(measure(app.base, app.pid, steps))


if __name__ == "__main__":
    main()
