"""Redis killed mid-run: is anything lost, and how long until the helpdesk answers again?

Runs ``concierge run`` in a temporary directory twice — with its embedded Redis (which it
supervises and restarts itself), then with an external Redis server this script starts, kills and
starts again after a pause, as an operator's service manager would. In each run visitors write
over the chat widget's socket (sending again what was not acknowledged, as the widget does) and
leave an e-mail address (so the replies to them go through the outbox), the manager answers every visitor message over HTTP, and the manager's inbox socket stays open
(reconnecting with ``last_event_id`` when it drops, as the browser does). Redis gets SIGKILL in
the middle. Prints, per run:

- stored messages missing live: stored visitor messages and replies whose ``message.created``
  never reached the open inbox socket (target 0);
- replies left pending after recovery (target 0);
- seconds from the kill until /healthz and the API answered 200 again (target < 10 s);
- what the clients saw meanwhile: 503s, other 5xx (target 0), resyncs; how many stored
  messages the replay announced (their follow-up was owed when Redis fell).

Run: ``python -m bench.redis_kill [--duration 20] [--visitors 10] [--mode both] [--workers 1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from app.embedded_redis import EmbeddedRedis, free_port
from bench.chat_latency import login

MANAGER = "manager@baie-dargent.example"
ACCOUNTS = ("chat-port-argent", "chat-baie-dargent", "chat-pointe-nord")
OUTAGE = 2.0  # seconds an external Redis stays down before "the service manager" restarts it


@dataclass
class Seen:
    live: set[int] = field(default_factory=set)  # message ids from message.created frames
    acked: set[int] = field(default_factory=set)
    replies: set[int] = field(default_factory=set)
    inbound: list[int] = field(default_factory=list)  # conversations to answer
    http: Counter[int] = field(default_factory=Counter)
    resyncs: int = 0
    reconnects: int = 0


async def inbox_socket(ws_base: str, cookie: str, seen: Seen, stop: asyncio.Event) -> None:
    """The manager's open inbox: every message.created, resuming after a drop."""
    last = ""
    while not stop.is_set():
        url = f"{ws_base}/ws/adviser" + (f"?last_event_id={last}" if last else "")
        try:
            async with websockets.connect(
                url, additional_headers={"cookie": cookie}, open_timeout=5
            ) as ws:
                async for raw in ws:
                    frame = json.loads(raw)
                    last = frame.get("event_id") or last
                    if frame["type"] == "hello":
                        last = last or frame.get("last_event_id", "")
                    elif frame["type"] == "resync":
                        seen.resyncs += 1
                        last = frame.get("last_event_id", last)
                    elif frame["type"] == "message.created":
                        message = frame["message"]
                        seen.live.add(message["id"])
                        if message["direction"] == "in":
                            seen.inbound.append(frame["conversation_id"])
        except (OSError, websockets.WebSocketException, TimeoutError):
            pass
        seen.reconnects += 1
        await asyncio.sleep(0.3)


async def leave_address(ws_base: str, token: str, n: int) -> bool:
    """The visitor's e-mail address, left as the widget's form does; True once stored."""
    base = ws_base.replace("ws://", "http://", 1)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            response = await client.post(
                "/api/visitor/contact",
                json={"email": f"visitor{n:03d}@example.org"},
                headers={"authorization": f"Bearer {token}"},
            )
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def visitor(ws_base: str, account: str, n: int, seen: Seen, stop: asyncio.Event) -> None:
    """Writes every second; a message not acknowledged is sent again with its client id. Leaves
    an e-mail address once it has written, so the replies to it go through the outbox (a chat
    reply to a visitor without one is sent once stored)."""
    token, count, pending, addressed = "", 0, "", False
    while not stop.is_set():
        url = f"{ws_base}/ws/visitor?account={account}" + (f"&token={token}" if token else "")
        try:
            async with websockets.connect(url, open_timeout=5) as ws:
                hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
                token = hello.get("token", token)
                while not stop.is_set():
                    if not pending:
                        count += 1
                        pending = f"visitor{n:03d}-{count:05d}"
                    await ws.send(
                        json.dumps({"type": "message", "client_id": pending, "text": pending})
                    )
                    acked = False
                    deadline = time.monotonic() + 5
                    while not acked and time.monotonic() < deadline:
                        frame = json.loads(
                            await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
                        )
                        if frame.get("client_id") != pending:
                            continue
                        if frame["type"] == "ack":
                            seen.acked.add(frame["message_id"])
                            pending, acked = "", True
                            addressed = addressed or await leave_address(ws_base, token, n)
                        elif frame["type"] == "error":
                            break
                    await asyncio.sleep(1.0 if acked else 0.5)
        except (OSError, websockets.WebSocketException, TimeoutError, KeyError):
            await asyncio.sleep(0.5)


async def replier(client: httpx.AsyncClient, seen: Seen, stop: asyncio.Event) -> None:
    """Answers, as the manager, ten times a second through the conversations visitors opened
    (chat replies to visitors who left an address, sent by the outbox) — on through the outage,
    as an adviser would keep trying."""
    n = 0
    while not stop.is_set():
        await asyncio.sleep(0.1)
        if not seen.inbound:
            continue
        conversations = sorted(set(seen.inbound))
        conversation = conversations[n % len(conversations)]
        n += 1
        try:
            response = await client.post(
                f"/api/conversations/{conversation}/messages", json={"text": f"réponse {n}"}
            )
        except httpx.HTTPError:
            seen.http[0] += 1
            continue
        seen.http[response.status_code] += 1
        if response.status_code == 201:
            seen.replies.add(response.json()["id"])


async def answering(client: httpx.AsyncClient, base: str) -> bool:
    try:
        health = await client.get(f"{base}/healthz")
        api = await client.get("/api/conversations?limit=1")
    except httpx.HTTPError:
        return False
    return health.status_code == 200 and api.status_code == 200


def stored(db: Path, after: int) -> tuple[set[int], int]:
    """Ids of the visitor messages and replies stored since ``after``; replies still pending."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "select id, lower(direction), lower(delivery_status) from message"
            " where id > ? and lower(direction) in ('in', 'out')",
            (after,),
        ).fetchall()
    return {r[0] for r in rows}, sum(1 for r in rows if r[1] == "out" and r[2] == "pending")


async def load(
    base: str, password: str, db: Path, kill: Any, revive: Any, args: argparse.Namespace
) -> dict[str, Any]:
    ws_base = base.replace("http://", "ws://")
    with contextlib.closing(sqlite3.connect(db)) as conn:
        before = conn.execute("select coalesce(max(id), 0) from message").fetchone()[0]
    client = await login(base, MANAGER, password)
    seen, stop = Seen(), asyncio.Event()
    cookie = f"concierge_session={client.cookies['concierge_session']}"
    tasks = [asyncio.create_task(inbox_socket(ws_base, cookie, seen, stop))]
    await asyncio.sleep(0.5)
    tasks += [
        asyncio.create_task(visitor(ws_base, ACCOUNTS[i % len(ACCOUNTS)], i, seen, stop))
        for i in range(args.visitors)
    ]
    tasks.append(asyncio.create_task(replier(client, seen, stop)))
    await asyncio.sleep(args.duration / 2)
    killed = time.monotonic()
    kill()
    await asyncio.sleep(0.05)
    revived = asyncio.create_task(asyncio.to_thread(revive))
    while True:
        if await answering(client, base):
            break
        await asyncio.sleep(0.1)
    back = time.monotonic() - killed
    await revived
    await asyncio.sleep(args.duration / 2)
    stop.set()
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks[1:], return_exceptions=True)
    # Settle: replies still in the outbox and events in flight get their time.
    deadline = time.monotonic() + 20
    while True:
        ids, pending = stored(db, before)
        if (not (ids - seen.live) and not pending) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    tasks[0].cancel()
    await asyncio.gather(tasks[0], return_exceptions=True)
    await client.aclose()
    return {"ids": ids, "pending": pending, "back": back, "seen": seen}


def start_app(tmp: Path, env: dict[str, str], port: int, workers: int) -> subprocess.Popen[str]:
    command = ["run", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", *command],
        env=env,
        stdout=(tmp / "app.log").open("w"),  # a pipe nobody reads would block the app
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        time.sleep(0.2)
    raise RuntimeError("concierge run did not start")


def one_run(mode: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
        env.pop("REDIS_URL", None)
        env.pop("DATABASE_URL", None)
        env.update(
            CONCIERGE_VAR_DIR=str(tmp / "var"),
            CONCIERGE_DEMO_HISTORY_DAYS="0",
            CONCIERGE_LOGIN_RATE="1000",
        )
        external: EmbeddedRedis | None = None
        if mode == "external":
            external = EmbeddedRedis(tmp / "external-redis")
            external.start()
            env["REDIS_URL"] = external.url
        proc = start_app(tmp, env, port, args.workers)
        pidfile = tmp / "var" / "redis" / "redis.pid"

        def kill() -> None:
            pid = external.pid if external is not None else int(pidfile.read_text().strip())
            assert pid is not None
            os.kill(pid, signal.SIGKILL)

        def revive() -> None:
            if external is not None:  # the service manager's restart, after a pause
                assert external._process is not None
                external._process.wait()
                time.sleep(OUTAGE)
                external.start()

        try:
            password = next(
                line.split()[1]
                for line in (tmp / "var" / "demo-logins.txt").read_text().splitlines()
                if line.startswith(MANAGER)
            )
            result = asyncio.run(
                load(
                    f"http://127.0.0.1:{port}",
                    password,
                    tmp / "var" / "concierge.db",
                    kill,
                    revive,
                    args,
                )
            )
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.communicate(timeout=60)
            if external is not None:
                external.stop()
        log = (tmp / "app.log").read_text(errors="replace")
    seen: Seen = result["seen"]
    missing = result["ids"] - seen.live
    label = (
        "embedded Redis (restarted by the app)"
        if mode == "embedded"
        else (f"external Redis (restarted after {OUTAGE:.0f} s)")
    )
    errors = sum(n for code, n in seen.http.items() if code >= 500 and code != 503)
    replayed = sum(int(n) for n in re.findall(r"replayed (\d+) stored", log))
    print(f"  {label}")
    print(f"    stored messages missing live      {len(missing)} of {len(result['ids'])}")
    print(f"    replies left pending after recovery {result['pending']} of {len(seen.replies)}")
    print(f"    service answering again after     {result['back']:.2f} s")
    print(
        f"    clients meanwhile: {seen.http.get(503, 0)} replies refused 503, {errors} other 5xx,"
        f" {seen.http.get(0, 0)} transport errors, {seen.resyncs} resyncs,"
        f" inbox socket reconnects {seen.reconnects}"
    )
    print(
        f"    log: {log.count('embedded redis exited')} 'exited' and"
        f" {log.count('Redis unreachable')} 'unreachable' lines,"
        f" {log.count('Traceback')} tracebacks;"
        f" {replayed} messages replayed"
        " (their follow-up owed when Redis fell)"
    )
    for line in log.splitlines():
        if "redis" in line.lower() and (
            "unreachable" in line or "again" in line or "exited" in line or "restarted" in line
        ):
            print(f"      {line[-150:]}")
    if "Traceback" in log:  # the first one, to tell what escaped
        first = log[log.index("Traceback") - 300 :].splitlines()
        print("      first traceback:", *[f"        {line[:160]}" for line in first[:40]], sep="\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--mode", choices=("embedded", "external", "both"), default="both")
    parser.add_argument("--workers", type=int, default=1, help="app processes (concierge run)")
    args = parser.parse_args(argv)
    print(
        f"redis kill: {args.workers} worker(s), {args.visitors} visitors writing every second"
        f" for {args.duration:.0f} s,"
        " manager replying 10/s, SIGKILL of Redis half-way"
    )
    for mode in ("embedded", "external") if args.mode == "both" else (args.mode,):
        one_run(mode, args)


if __name__ == "__main__":
    main()
