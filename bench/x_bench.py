"""X connector: how long from a mention appearing on X to ``sink.ingest``, and what polling costs.

Against the local fake X API (real HTTP through tweepy), with the app's side in memory:

* short intervals, in real time: a mention appears at a random moment, timed until the sink
  holds it;
* the default interval (60 s), in virtual time: the waiting is simulated (the connector's
  clock and sleep are injected, mentions appear at random virtual instants) and each poll's
  real HTTP time is added; ``--real-default N`` measures N samples in wall-clock time instead;
* requests and items read per hour per account at default settings (mentions and DMs on,
  a trickle of 30 mentions and 10 DMs an hour), against X's documented per-user limits.

Run: ``python -m bench.x_bench [--samples 20] [--real-default 0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import time

from app.embedded_redis import free_port
from connectors.twitter.config import (
    DEFAULT_POLL_INTERVAL,
    DM_EVENTS_LIMIT_PER_15_MIN,
    MENTIONS_LIMIT_PER_15_MIN,
    XAccountConfig,
)
from connectors.twitter.connector import XConnector
from tests.support.fake_x import ME, FakeX, start
from tests.support.memory import MemoryCursors, MemorySink

CREDENTIALS = {
    "consumer_key": "bench-ck",
    "consumer_secret": "bench-cs",
    "access_token": "bench-at",
    "access_token_secret": "bench-ats",
}


def config(fake: FakeX, interval: float, dms: bool) -> XAccountConfig:
    return XAccountConfig(
        account="x-bench", handle="PortArgentOT", user_id=ME, bearer_token="bench-bearer",  # type: ignore[arg-type]  # noqa: S106 - the fake checks none
        api_base_url=fake.url, poll_interval=interval, direct_messages=dms, **CREDENTIALS,  # type: ignore[arg-type]
    )  # fmt: skip


class Served:
    def __init__(self) -> None:
        self.fake = FakeX()
        self.server, self.thread = start(self.fake, free_port())

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


async def real_time(interval: float, samples: int) -> list[float]:
    served = Served()
    sink, cursors = MemorySink(), MemoryCursors()
    connector = XConnector(config(served.fake, interval, dms=False))
    await connector.poll_once(sink, cursors)  # the cursor is set: from here on, only new ones
    task = asyncio.create_task(connector.run(sink, cursors))
    out = []
    try:
        for n in range(samples):
            # A uniform phase within the real poll period (the rate limit paces below 2 s).
            await asyncio.sleep(random.uniform(0, max(interval, 900 / 450)))
            tweet = served.fake.add_mention(f"@PortArgentOT bench {n}")
            appeared = time.monotonic()
            await sink.wait_for(n + 1, timeout=interval + 30)
            out.append(sink.ingested_at[tweet] - appeared)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        served.close()
    return out


class Virtual:
    def __init__(self) -> None:
        self.now = 1_784_400_000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def virtual_hour(
    interval: float, mentions: int, dms: int, hours: float = 1.0
) -> tuple[list[float], FakeX, XConnector]:
    """Latencies (simulated wait + real poll time) and the fake's request log for ``hours``."""
    served = Served()
    vt = Virtual()
    served.fake.clock = vt.clock
    sink, cursors = MemorySink(), MemoryCursors()
    connector = XConnector(config(served.fake, interval, dms=True), sleep=vt.sleep, clock=vt.clock)
    await connector.poll_once(sink, cursors)
    start_at, end_at = vt.now, vt.now + hours * 3600
    arrivals = sorted((random.uniform(start_at, end_at), "m") for _ in range(mentions))
    arrivals += [(random.uniform(start_at, end_at), "d") for _ in range(dms)]
    arrivals.sort()
    latencies = []
    try:
        while vt.now < end_at:
            vt.now = min(t.due for t in connector.timelines.values())
            appeared = []
            while arrivals and arrivals[0][0] <= vt.now:
                at, kind = arrivals.pop(0)
                if kind == "m":
                    appeared.append((served.fake.add_mention("@PortArgentOT une question"), at))
                else:
                    served.fake.add_dm("une question en privé")
            began = time.perf_counter()
            await connector.poll_once(sink, cursors)
            took = time.perf_counter() - began
            latencies += [vt.now - at + took for tweet, at in appeared if tweet in sink.by_id]
    finally:
        served.close()
    return latencies, served.fake, connector


def summary(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"p50 {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {values[-1]:.2f} s (n={len(values)})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--real-default", type=int, default=0, help="wall-clock samples at 60 s")
    args = parser.parse_args(argv)
    for interval in (0.5, 2.0):
        values = asyncio.run(real_time(interval, args.samples))
        print(
            f"x: mention → sink.ingest at a {interval:g} s interval (real time): {summary(values)}"
        )
    print(
        "x:   (450 requests / 15 min on the mentions timeline: below 2 s the poller paces itself to 2 s)"
    )
    latencies, fake, connector = asyncio.run(
        virtual_hour(DEFAULT_POLL_INTERVAL, 200, 0, hours=200 / 30)
    )
    print(
        f"x: mention → sink.ingest at the default {DEFAULT_POLL_INTERVAL:g} s interval "
        f"(simulated wait + real poll): {summary(latencies)}"
    )
    if args.real_default:
        values = asyncio.run(real_time(DEFAULT_POLL_INTERVAL, args.real_default))
        print(f"x: mention → sink.ingest at the default interval (real time): {summary(values)}")
    _, fake, connector = asyncio.run(virtual_hour(DEFAULT_POLL_INTERVAL, 30, 10))
    mentions = len(fake.calls("/mentions"))
    dm_reads = len(fake.calls("/dm_events"))
    print(
        f"x: default settings, one account, one hour (30 mentions, 10 DMs): {mentions} requests on "
        f"the mentions timeline, {dm_reads} on DM events; "
        f"{connector.status.counters['items_today']} items read"
    )
    for name, made, limits in (
        ("mentions timeline", mentions, MENTIONS_LIMIT_PER_15_MIN),
        ("DM events", dm_reads, DM_EVENTS_LIMIT_PER_15_MIN),
    ):
        for scope, per_15 in limits.items():
            allowed = per_15 * 4
            print(
                f"x:   {name}: {made}/hour against {allowed}/hour per {scope} ({made / allowed:.0%})"
            )


if __name__ == "__main__":
    main()
