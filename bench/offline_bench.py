"""Never silent (app.offline), its two figures through a real server, Redis, Dovecot and SMTP.

1. The "nobody online" notice: visitors write at once with nobody of the office online; the
   time from sending each message to their ``offline`` frame, against the configured delay
   (the issue asks for the delay ± 5 s). Also counts duplicate notices (must be 0).
2. A reply to a visitor who left an address and has gone: the time from the adviser's send
   (the POST answered 201) to the mail reaching the SMTP server (aiosmtpd), the issue asking for
   5 s. It includes ``offline_mail_grace_seconds`` (a reload is not a departure), shown apart.
   The floor in the same run: a plain aiosmtplib send of a mail to the same server.

``python -m bench.offline_bench [--visitors N] [--delay S] [--grace S]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import websockets
from aiosmtpd.controller import Controller

from app.embedded_redis import EmbeddedRedis, free_port
from app.settings import Settings
from bench.figures import pct
from tests.conftest import OFFICE_HOURS, seed_demo, start_server, stop_server
from tests.support.dovecot import DovecotServer, running_dovecot

ACCOUNT = "chat-port-argent"


class Arrivals:
    """aiosmtpd's handler: when each mail arrived, by recipient."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            self.at.setdefault(rcpt.lower(), time.perf_counter())
        return "250 OK"


def configure(db_path: str, dovecot: DovecotServer, smtp_port: int) -> None:
    settings = {
        "address": "info@port-argent.example", "display_name": "Office de Tourisme de Port-Argent",
        "imap_host": dovecot.host, "imap_port": dovecot.port, "imap_security": "plain",
        "imap_user": dovecot.user, "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
        "smtp_security": "plain", "catchup_interval": 30, "timeout": 10,
    }  # fmt: skip
    with contextlib.closing(sqlite3.connect(db_path)) as db, db:
        db.execute(
            "update account set active = 1, settings = ? where key = 'mail-port-argent'",
            (json.dumps(settings),),
        )
        db.execute("update destination set rota_toml = ''")


async def frame_of(ws: Any, wanted: str, limit: float) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if frame["type"] == wanted:
            return dict(frame)
        if frame["type"] == "error":
            raise RuntimeError(f"the server refused: {frame}")


async def one_visitor(url: str, n: int, delay: float) -> tuple[float, int, str]:
    """(seconds from sending the message to the notice, notices heard in the delay after it, token)."""
    ws_url = url.replace("http://", "ws://") + f"/ws/visitor?account={ACCOUNT}&lang=en"
    async with websockets.connect(ws_url) as ws:
        token = str((await frame_of(ws, "hello", 10))["token"])
        started = time.perf_counter()  # the wait starts when the message is stored, just after
        await ws.send(json.dumps({"type": "message", "client_id": f"bench-{n:06d}", "text": "Hi?"}))
        await frame_of(ws, "ack", 10)
        await frame_of(ws, "offline", delay + 30)
        took = time.perf_counter() - started
        extra = 0
        with contextlib.suppress(TimeoutError):
            while True:
                await frame_of(ws, "offline", 3)
                extra += 1
    return took, extra, token


async def signed_in(url: str, email: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=30)
    page = await client.get("/login")
    csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    await client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})
    client.headers["X-CSRF-Token"] = csrf
    return client


async def replies(
    url: str, tokens: list[str], login: tuple[str, str], arrivals: Arrivals
) -> list[float]:
    """Each gone visitor leaves an address; one reply each, one at a time; send → SMTP."""
    for n, token in enumerate(tokens):
        async with httpx.AsyncClient(base_url=url, timeout=30) as api:
            left = await api.post(
                "/api/visitor/contact",
                json={"email": f"visitor{n}@example.org"},
                headers={"authorization": f"Bearer {token}"},
            )
            left.raise_for_status()
    adviser = await signed_in(url, *login)
    rows = (await adviser.get("/api/conversations")).json()
    waiting = [r["id"] for r in rows if r["channel"] == "webchat"]
    samples: list[float] = []
    for n, conversation_id in enumerate(waiting):
        before = set(arrivals.at)
        started = time.perf_counter()
        sent = await adviser.post(
            f"/api/conversations/{conversation_id}/messages", json={"text": f"Answer {n}"}
        )
        sent.raise_for_status()
        deadline = time.monotonic() + 30
        while set(arrivals.at) == before and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)  # polled: aiosmtpd's handler runs in its own thread
        new = set(arrivals.at) - before
        if new:
            samples.append(arrivals.at[new.pop()] - started)
    await adviser.aclose()
    return samples


async def floor(port: int, count: int) -> list[float]:
    samples = []
    for n in range(count):
        mail = EmailMessage()
        mail["From"] = "info@port-argent.example"
        mail["To"] = f"floor{n}@example.org"
        mail["Subject"] = "Re: Your message"
        mail.set_content("Answer\n\nhttp://127.0.0.1/chat/xyz")
        started = time.perf_counter()
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=port)
        samples.append(time.perf_counter() - started)
    return samples


def ms(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 50) * 1000:.0f} ms, p95 {pct(values, 95) * 1000:.0f} ms,"
        f" max {max(values) * 1000:.0f} ms"
    )


async def measure(url: str, args: argparse.Namespace, login: tuple[str, str], smtp: Any) -> None:
    results = await asyncio.gather(*(one_visitor(url, n, args.delay) for n in range(args.visitors)))
    waits = [r[0] for r in results]
    errors = [abs(w - args.delay) for w in waits]
    print(
        f"notice, {args.visitors} visitors at once, delay {args.delay:g} s: message sent → notice"
        f" {ms(waits)}; error |wait − delay| {ms(errors)} (asked: ≤ 5 s)"
    )
    print(f"  duplicate notices in the 3 s after: {sum(r[1] for r in results)} (must be 0)")
    # Every visitor closed their tab above: gone.
    samples = await replies(url, [r[2] for r in results], login, smtp.handler)
    print(
        f"reply to a gone visitor, adviser's send → SMTP server, {len(samples)} replies:"
        f" {ms(samples)} (asked: ≤ 5 s; includes the {args.grace:g} s reload grace)"
    )
    without = [s - args.grace for s in samples]
    print(f"  less the grace: {ms(without)}")
    base = await floor(smtp.port, len(samples) or 1)
    print(f"floor, a plain aiosmtplib send to the same server: {ms(base)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--delay", type=float, default=5.0)
    parser.add_argument("--grace", type=float, default=2.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, running_dovecot() as dovecot:
        os.environ["CONCIERGE_SECRET_MAIL_PORT_ARGENT_IMAP_PASSWORD"] = dovecot.password
        redis = EmbeddedRedis(Path(tmp) / "redis", persist=False)
        redis.start()
        handler = Arrivals()
        smtp_port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        settings = Settings(
            redis_url=redis.url,
            database_url=f"sqlite+aiosqlite:///{tmp}/concierge.db",
            secret_key="bench-secret-" + "x" * 40,
            var_dir=Path(tmp) / "var",
            demo=False,
            clock_start=OFFICE_HOURS,
            conversation_ip_burst=100_000,
            chat_new_ip_burst=100_000,
            offline_notice_seconds=args.delay,
            offline_mail_grace_seconds=args.grace,
        )
        logins = seed_demo(settings)
        configure(f"{tmp}/concierge.db", dovecot, smtp_port)
        server, thread, url = start_server(settings)
        adviser = next(x for x in logins.values() if x.email.endswith("@port-argent.example"))
        smtp = argparse.Namespace(handler=handler, port=smtp_port)
        try:
            asyncio.run(measure(url, args, (adviser.email, adviser.password), smtp))
        finally:
            stop_server(server, thread)
            controller.stop()
            redis.stop()


if __name__ == "__main__":
    main()
