"""X connector: how soon a mention reaches a connected adviser, and what polling costs.

Against the local fake X API: a real app server (embedded Redis, SQLite, demo destination), the
X account configured, an adviser's websocket connected. Each sample adds a mention to the fake
API and times until the adviser's socket shows it. Printed at a short interval (2 s) and at the
default interval (60 s, fewer samples), beside the floor (one poll's round trip, the cost left
when the interval is zero), and the requests per hour per account at the default settings
against X's documented per-user limits.

Run: ``python -m bench.x_bench [--samples 10] [--default-samples 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from app.embedded_redis import free_port
from tests.support.fake_x import FakeX
from tests.support.fake_x import start as start_fake

DEFAULT_INTERVAL = 60.0
LIMITS_PER_HOUR = {"mentions timeline (user token)": 180 * 4, "DM events": 300 * 4}


def run_app(
    tmp: Path, fake: FakeX, interval: float
) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
    env.pop("REDIS_URL", None)
    env.update(
        CONCIERGE_VAR_DIR=str(tmp / "var"),
        CONCIERGE_DEMO_HISTORY_DAYS="0",
        X_API_BASE_URL=fake.url,
    )
    env["CONCIERGE_SECRET_X_PORT_ARGENT_BEARER_TOKEN"] = "bench-" + "bearer"  # the fake checks none
    cli = [sys.executable, "-c", "from app.cli import main; main()"]
    subprocess.run([*cli, "demo"], env=env, check=True, capture_output=True)
    with contextlib.closing(sqlite3.connect(tmp / "var" / "concierge.db")) as db, db:
        settings = {
            "handle": "PortArgentOT",
            "user_id": "1",
            "poll_interval": interval,
            "direct_messages": True,
        }
        db.execute(
            "update account set active = 1, settings = ? where key = 'x-port-argent'",
            (json.dumps(settings),),
        )
        db.execute("update destination set rota_toml = ''")
    port = free_port()
    log = (tmp / "app.log").open("w")
    proc = subprocess.Popen(
        [*cli, "run", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        time.sleep(0.1)
    logins = (tmp / "var" / "demo-logins.txt").read_text().split("\n")
    return proc, url, logins[0].split()[:2]


def session_cookie(url: str, login: list[str]) -> dict[str, str]:
    with httpx.Client(base_url=url) as client:
        token = (
            client.get("/login").text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        )
        client.post("/login", data={"email": login[0], "password": login[1], "csrf_token": token})
        return {"cookie": f"concierge_session={client.cookies['concierge_session']}"}


async def latencies(url: str, cookie: dict[str, str], fake: FakeX, samples: int) -> list[float]:
    out = []
    async with websockets.connect(
        url.replace("http", "ws") + "/ws/adviser", additional_headers=cookie
    ) as ws:
        await ws.recv()
        for n in range(samples):
            text = f"@PortArgentOT bench {n}"
            fake.add_mention(text)
            start = time.perf_counter()
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "message.created" and frame["message"]["text"] == text:
                    break
            out.append(time.perf_counter() - start)
    return out


def measure(interval: float, samples: int) -> tuple[list[float], int, float]:
    fake = FakeX()
    server, thread = start_fake(fake, free_port())
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, login = run_app(Path(tmp), fake, interval)
        try:
            started = time.perf_counter()
            values = asyncio.run(latencies(url, session_cookie(url, login), fake, samples))
            elapsed = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(30)
    server.should_exit = True
    thread.join(10)
    return values, len(fake.requests), elapsed


def floor_round_trip(samples: int = 50) -> float:
    fake = FakeX()
    server, thread = start_fake(fake, free_port())
    times = []
    with httpx.Client() as client:
        for _ in range(samples):
            start = time.perf_counter()
            client.get(f"{fake.url}/2/users/1/mentions")
            times.append(time.perf_counter() - start)
    server.should_exit = True
    thread.join(10)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--default-samples", type=int, default=2)
    args = parser.parse_args(argv)
    floor = floor_round_trip()
    short, _, _ = measure(2.0, args.samples)
    print(
        f"x: mention → adviser at a 2 s interval: p50 {statistics.median(short):.2f} s, max {max(short):.2f} s (n={len(short)})"
    )
    if args.default_samples:
        slow, requests, elapsed = measure(DEFAULT_INTERVAL, args.default_samples)
        print(
            f"x: mention → adviser at the default {DEFAULT_INTERVAL:.0f} s interval: p50 {statistics.median(slow):.1f} s, "
            f"max {max(slow):.1f} s (n={len(slow)}); {requests / elapsed * 3600:.0f} requests/hour measured"
        )
    print(f"x: floor, one API round trip: {floor * 1000:.1f} ms")
    per_hour = 3600 / DEFAULT_INTERVAL
    for name, limit in LIMITS_PER_HOUR.items():
        print(
            f"x: default polling makes {per_hour:.0f} requests/hour on the {name}; X allows {limit}/hour ({per_hour / limit:.0%})"
        )


if __name__ == "__main__":
    main()
