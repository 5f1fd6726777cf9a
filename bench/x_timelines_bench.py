"""X connector under faults: a DM's way to the inbox while the mentions request hangs, and how
soon fixed credentials are picked up after a spell of 401s.

Against the local fake X API (real HTTP through tweepy), the app's side in memory:

* real time: the first mentions request hangs ``--hang`` seconds; DMs appear at random moments
  meanwhile, each timed from appearing on X to ``sink.ingest``;
* virtual time (the connector's clock and sleep injected, each poll's HTTP real): the account's
  tokens are refused for a spell of 1, 5, 15 or 60 minutes, fixed at a random moment, and the
  time from the fix to the next successful read is measured at default settings.

Run: ``python -m bench.x_timelines_bench [--samples 10] [--hang 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
from statistics import median

from bench.x_bench import Served, Virtual, config, summary
from connectors.twitter.config import DEFAULT_POLL_INTERVAL
from connectors.twitter.connector import XConnector
from tests.support.memory import MemoryCursors, MemorySink


async def dm_while_mentions_hang(samples: int, hang: float) -> list[float]:
    served = Served()
    sink, cursors = MemorySink(), MemoryCursors()
    settings = config(served.fake, 0.5, dms=True).model_copy(update={"request_timeout": hang + 10})
    connector = XConnector(settings)
    await connector.poll_once(sink, cursors)  # cursors set: from here on, only new ones
    served.fake.slow(hang, path="/mentions")
    task = asyncio.create_task(connector.run(sink, cursors))
    out = []
    try:
        await asyncio.sleep(0.5)  # the mentions request is out, and hangs
        for n in range(samples):
            await asyncio.sleep(random.uniform(0, 1))
            event = served.fake.add_dm(f"bench {n}")
            appeared = time.monotonic()
            await sink.wait_for(n + 1, timeout=hang + 30)
            out.append(sink.ingested_at[f"dm:{event}"] - appeared)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        served.close()
    return out


async def recovery(spell_minutes: float, runs: int) -> list[float]:
    """Seconds from the tokens being fixed to the next successful read, ``runs`` times."""
    out = []
    served = Served()
    try:
        for _ in range(runs):
            vt = Virtual()
            served.fake.clock = vt.clock
            served.fake.revoked = True
            sink, cursors = MemorySink(), MemoryCursors()
            connector = XConnector(
                config(served.fake, DEFAULT_POLL_INTERVAL, dms=False),
                sleep=vt.sleep,
                clock=vt.clock,
            )
            fixed_at = vt.now + spell_minutes * 60 * random.uniform(0.5, 1.5)
            while True:
                vt.now = max(vt.now, connector.timelines["mentions"].due)
                if served.fake.revoked and vt.now >= fixed_at:
                    served.fake.revoked = False
                await connector.poll_once(sink, cursors)
                if connector.status.state == "polling":
                    out.append(vt.now - fixed_at)
                    break
    finally:
        served.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--hang", type=float, default=20.0)
    args = parser.parse_args(argv)
    values = asyncio.run(dm_while_mentions_hang(args.samples, args.hang))
    # The floor, in the same run: the same DMs while the mentions answer at once.
    floor = asyncio.run(dm_while_mentions_hang(args.samples, 0.0))
    print(
        f"x: DM → sink.ingest at a 0.5 s interval while a mentions request hangs {args.hang:g} s: "
        f"{summary(values)}"
    )
    print(f"x: the same while the mentions answer at once (floor): {summary(floor)}")
    print(f"x: ratio of the medians, hung / floor: {median(values) / median(floor):.2f}")
    for minutes in (1, 5, 15, 60):
        values = asyncio.run(recovery(minutes, 20))
        print(
            f"x: tokens refused for ~{minutes} min, then fixed → next successful read "
            f"(default settings, virtual time): {summary(values)}"
        )


if __name__ == "__main__":
    main()
