"""What an anonymous socket can cost the worker, and how fast the worker lets go.

Prints:

(a) a chat visitor resuming from ``0-0`` on a destination stream of 100,000 events: the
    worker's memory growth (VmRSS sampled every 5 ms, peak minus before) and the time to the
    first frame (hello) and to the replayed message; the same for five visitors at once and for
    an adviser resuming from ``0-0`` (told to resync);
(b) 1,000 sockets (visitors and advisers) that connect, resume and close at once: tasks and hub
    listeners left in the worker afterwards;
(c) SIGTERM to ``concierge run`` with 1,000 sockets open: seconds until the process exits.

(a) and (c) run a real ``concierge run`` (its own Redis, SQLite in a temporary directory). (b)
counts tasks inside the worker's event loop, so it runs the same app under uvicorn in a thread
of this process: nothing is exposed by the app for it (no debug endpoint, no log line).

Run: ``python -m bench.socket_probe [--events 100000] [--sockets 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from redis import Redis as SyncRedis

from app import keys
from app.db import Database, create_tables
from app.demo import seed
from app.embedded_redis import EmbeddedRedis, free_port
from app.main import create_app
from app.settings import Settings

DESTINATION = 1
ACCOUNT = "chat-port-argent"
OPEN_LIMITS = {  # every simulated client comes from 127.0.0.1
    "CONCIERGE_CHAT_NEW_IP_BURST": "1000000",
    "CONCIERGE_CHAT_NEW_WIDGET_BURST": "1000000",  # and all through one widget
    "CONCIERGE_CONVERSATION_IP_BURST": "1000000",
    "CONCIERGE_SOCKET_IP_BURST": "1000000",
    "CONCIERGE_VISITOR_MAX_TABS": "1000000",
    "CONCIERGE_LOGIN_RATE": "1000",
    "CONCIERGE_DEMO_HISTORY_DAYS": "0",
}


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


async def idle(pid: int) -> None:
    """Waits until the process used under 5% of a core for half a second (its stream reader
    has gone through the events just written)."""
    hertz = os.sysconf("SC_CLK_TCK")
    while True:
        before = cpu_ticks(pid)
        await asyncio.sleep(0.5)
        if (cpu_ticks(pid) - before) / hertz < 0.025:
            return


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Sampler:
    """The peak VmRSS of a process while the block runs, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = rss_kib(pid)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)  # what a late parse would still allocate
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / 1024


def fill(redis_url: str, events: int) -> None:
    """``events`` events of other conversations in the destination's stream (copies of the
    last one, moved to another office): a busy destination's history."""
    client = SyncRedis.from_url(redis_url)
    try:
        stream = keys.events(DESTINATION)
        (_, fields), *_ = client.xrevrange(stream, count=1)
        event = json.loads(fields[b"e"])
        event.update(conversation_id=999_999, office_id=999_999, visitor_key="chat-x:other")
        data = {b"e": json.dumps(event).encode()}
        for start in range(0, events, 5000):
            pipe = client.pipeline(transaction=False)
            for _ in range(min(5000, events - start)):
                pipe.xadd(stream, data, maxlen=100_000, approximate=True)
            pipe.execute()
    finally:
        client.close()


async def first_frames(url: str, headers: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds to the first frame, and to the first message or resync frame after it."""
    started = time.perf_counter()
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        await ws.recv()
        first = time.perf_counter() - started
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame["type"] in ("message", "resync", "message.created"):
                return first, time.perf_counter() - started


async def session_cookie(base: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/login")
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        await client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
        return str(client.cookies["concierge_session"])


def start_app(tmp: Path, redis_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
    env.pop("DATABASE_URL", None)
    env.update(OPEN_LIMITS, CONCIERGE_VAR_DIR=str(tmp / "var"), REDIS_URL=redis_url)
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "run", "--port", str(port)],
        env=env,
        stdout=(tmp / "app.log").open("w"),  # a pipe nobody reads would block the app
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_started(server: uvicorn.Server) -> None:
    while not server.started:
        time.sleep(0.05)


async def part_a_and_c(tmp: Path, events: int, sockets: int) -> None:
    redis = EmbeddedRedis(tmp / "redis", persist=False)
    redis.start()
    port = free_port()
    proc = await asyncio.to_thread(start_app, tmp, redis.url, port)
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                try:
                    if (await client.get(f"{base}/healthz", timeout=1)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        visitor = f"{ws_base}/ws/visitor?account={ACCOUNT}"
        async with websockets.connect(visitor) as ws:
            token = json.loads(await ws.recv())["token"]
            await ws.send(json.dumps({"type": "message", "client_id": "probe-001", "text": "?"}))
            while json.loads(await ws.recv())["type"] != "ack":
                pass
        fill(redis.url, events)
        await idle(proc.pid)  # the worker's reader goes through them (no listener)
        resume = f"{visitor}&token={token}&last_event_id=0-0"
        print(
            f"(a) destination stream: {events:,} events; worker RSS {rss_kib(proc.pid) / 1024:.0f} MiB"
        )
        with Sampler(proc.pid) as one:
            first, replay = await first_frames(resume)
        print(
            f"    1 visitor resuming from 0-0: first frame {first * 1000:.0f} ms, its message "
            f"{replay * 1000:.0f} ms, worker memory +{one.growth_mib:.1f} MiB"
        )
        with Sampler(proc.pid) as five:
            times = await asyncio.gather(*(first_frames(resume) for _ in range(5)))
        worst = max(t[0] for t in times)
        print(
            f"    5 visitors at once: slowest first frame {worst * 1000:.0f} ms, worker memory "
            f"+{five.growth_mib:.1f} MiB"
        )
        logins = (tmp / "var" / "demo-logins.txt").read_text().split("\n")
        email, password = next(line.split()[:2] for line in logins if "port-argent" in line)
        cookie = {"cookie": f"concierge_session={await session_cookie(base, email, password)}"}
        with Sampler(proc.pid) as adviser:
            first, resync = await first_frames(f"{ws_base}/ws/adviser?last_event_id=0-0", cookie)
        print(
            f"    1 adviser resuming from 0-0: first frame {first * 1000:.0f} ms, resync "
            f"{resync * 1000:.0f} ms, worker memory +{adviser.growth_mib:.1f} MiB"
        )
        # (c) SIGTERM with sockets open, half of them resuming.
        tail = SyncRedis.from_url(redis.url).xrevrange(keys.events(DESTINATION), count=1)
        last = tail[0][0].decode()
        opened: list[Any] = []
        for batch in range(0, sockets, 100):  # opened 100 at a time: (b) is the stampede
            opened += await asyncio.gather(
                *(
                    websockets.connect(
                        f"{visitor}&token={token}&last_event_id={last}" if n % 2 else visitor
                    )
                    for n in range(batch, min(sockets, batch + 100))
                )
            )
        for ws in opened:
            await ws.recv()
        started = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 60)
        print(
            f"(c) SIGTERM with {len(opened):,} sockets open: exited in "
            f"{time.perf_counter() - started:.2f} s (code {proc.returncode})"
        )
        for ws in opened:
            await ws.close()
    except Exception:
        print((tmp / "app.log").read_text()[-3000:])  # what the app said about it
        raise
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        redis.stop()


async def part_b(tmp: Path, sockets: int) -> None:
    redis = EmbeddedRedis(tmp / "redis-b", persist=False)
    redis.start()
    settings = Settings(
        redis_url=redis.url,
        database_url=f"sqlite+aiosqlite:///{tmp / 'b.db'}",
        secret_key="bench-secret-" + "x" * 40,
        var_dir=tmp / "var-b",
        demo=False,
        chat_new_ip_burst=1_000_000,
        conversation_ip_burst=1_000_000,
        socket_ip_burst=1_000_000,
        visitor_max_tabs=1_000_000,
    )
    db = Database(settings.sqlalchemy_url)
    await create_tables(db.engine)
    async with db.session() as session:
        logins = await seed(session) or []
    await db.dispose()
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    await asyncio.to_thread(wait_started, server)
    ws_base, base = f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}"
    adviser = next(x for x in logins if x.email.endswith("@port-argent.example"))
    cookie = {
        "cookie": f"concierge_session={await session_cookie(base, adviser.email, adviser.password)}"
    }
    visitor = f"{ws_base}/ws/visitor?account={ACCOUNT}"
    async with websockets.connect(visitor) as ws:
        hello = json.loads(await ws.recv())
    token, tail = hello["token"], hello["last_event_id"]
    hub = app.state.services.hub
    loop = next(iter(hub._tasks.values())).get_loop()

    async def names() -> Counter[str]:
        return Counter(t.get_coro().__qualname__ for t in asyncio.all_tasks())  # type: ignore[union-attr]

    def tasks() -> Counter[str]:
        return asyncio.run_coroutine_threadsafe(names(), loop).result(10)

    before, listeners = tasks(), hub.listeners()

    async def one(n: int) -> None:
        resume = ("0-0", tail, "1-0")[n % 3]
        if n % 10 == 0:
            url, headers = f"{ws_base}/ws/adviser?last_event_id={resume}", cookie
        else:
            url, headers = f"{visitor}&token={token}&last_event_id={resume}", None
        async with websockets.connect(url, additional_headers=headers, open_timeout=60) as ws:
            await ws.recv()

    started = time.perf_counter()
    results = await asyncio.gather(*(one(n) for n in range(sockets)), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    took = time.perf_counter() - started
    await asyncio.sleep(3)
    left = tasks() - before
    print(
        f"(b) {sockets:,} sockets connect, resume and close at once ({took:.1f} s, "
        f"{len(failed)} failed): tasks left {sum(left.values())} {dict(left) or ''}, "
        f"listeners left {hub.listeners() - listeners}"
    )
    server.should_exit = True
    thread.join(30)
    redis.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--sockets", type=int, default=1000)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(part_a_and_c(Path(tmp), args.events, args.sockets))
        asyncio.run(part_b(Path(tmp), args.sockets))


if __name__ == "__main__":
    main()
