"""Email connector benchmark on a real Dovecot: APPEND → ``sink.ingest`` latency and throughput.

1. Latency (IDLE): 200 mails APPENDed one at a time while the connector idles; time from the
   APPEND command to ``sink.ingest`` being called, p50 and p99.
2. Throughput: 5,000 mails already in a folder, a connector starting from an empty cursor;
   mails ingested per second, against a floor in the same run: raw aioimaplib UID FETCH of the
   same mails in the same batches, without parsing.

Later this is meant to measure up to "visible to a connected adviser" through the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from typing import Any

import aioimaplib

from connectors.base import InboundMessage, IngestResult
from connectors.email import EmailConnector, MailboxConfig
from tests.support.dovecot import DovecotServer, running_dovecot
from tests.support.memory import MemoryCursors

LATENCY_MAILS = 200
THROUGHPUT_MAILS = 5_000
BATCH = 100


class TimingSink:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def ingest(self, message: InboundMessage) -> IngestResult:
        self.at.setdefault(message.external_id, time.perf_counter())
        self.changed.set()
        return IngestResult(conversation_id=1, message_id=len(self.at), created=True)

    async def wait_for(self, count: int, limit: float = 600) -> None:
        deadline = time.monotonic() + limit
        while len(self.at) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.at)} of {count} mails ingested")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 1)


def sample_mail(n: int) -> bytes:
    text = (
        f"Hello,\r\n\r\nWe arrive on Friday with two children (booking {n}). Is the ferry to the"
        " island running on Saturday morning, and can we take bicycles on board?\r\n\r\n"
        "Thank you,\r\nMaria\r\n\r\nOn Mon, 20 Jul 2026 at 10:00, Bay Office <hello@bay.example>"
        " wrote:\r\n> Dear Maria,\r\n> thank you for your message.\r\n"
    )
    html = f"<p>Hello,</p><p>We arrive on Friday (booking {n}).</p><blockquote>old</blockquote>"
    return (
        f"From: Maria Rossi <maria.{n % 50}@example.org>\r\nTo: hello@bay.example\r\n"
        f"Subject: Re: Ferry on Saturday [#C{n % 300}]\r\n"
        "Date: Tue, 21 Jul 2026 10:00:00 +0200\r\n"
        f"Message-ID: <bench-{n}@example.org>\r\nIn-Reply-To: <office-{n}@bay.example>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n'
        f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
        f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b--\r\n"
    ).encode()


async def imap_client(server: DovecotServer) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(host=server.host, port=server.port, timeout=120)
    await client.wait_hello_from_server()
    await client.login(server.user, server.password)
    return client


def config(server: DovecotServer, folder: str) -> MailboxConfig:
    return MailboxConfig(
        account="bench",
        address="hello@bay.example",
        imap_host=server.host,
        imap_port=server.port,
        imap_security="plain",
        imap_user=server.user,
        imap_password=server.password,
        folder=folder,
        smtp_host=server.host,
        smtp_security="plain",
        catchup_interval=600,
        timeout=120,
    )


async def latency(server: DovecotServer) -> list[float]:
    sink, cursors = TimingSink(), MemoryCursors()
    connector = EmailConnector(config(server, "INBOX"))
    task = asyncio.create_task(connector.run(sink, cursors))
    client = await imap_client(server)
    samples: list[float] = []
    try:
        while connector.status.state != "connected":  # noqa: ASYNC110 - a status, not an event
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        for n in range(LATENCY_MAILS):
            started = time.perf_counter()
            await client.append(sample_mail(n), mailbox="INBOX")
            await sink.wait_for(n + 1, limit=30)
            samples.append(sink.at[f"bench-{n}@example.org"] - started)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.logout()
    return samples


async def fill(server: DovecotServer, folder: str, count: int) -> None:
    client = await imap_client(server)
    await client.create(folder)
    for n in range(count):
        await client.append(sample_mail(100_000 + n), mailbox=folder)
    await client.logout()


async def throughput(server: DovecotServer, folder: str, count: int) -> float:
    sink, cursors = TimingSink(), MemoryCursors()
    connector = EmailConnector(config(server, folder))
    started = time.perf_counter()
    task = asyncio.create_task(connector.run(sink, cursors))
    try:
        await sink.wait_for(count)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return count / (time.perf_counter() - started)


async def floor(server: DovecotServer, folder: str, count: int) -> float:
    """Raw UID SEARCH + UID FETCH of the same mails, same batches, no parsing, no sink."""
    started = time.perf_counter()
    client = await imap_client(server)
    await client.select(folder)
    response = await client.uid_search("UID 1:*", charset=None)
    uids = [int(x) for line in response.lines[:-1] for x in bytes(line).split() if x.isdigit()]
    fetched = 0
    for i in range(0, len(uids), BATCH):
        chunk = ",".join(str(u) for u in uids[i : i + BATCH])
        await client.uid("fetch", chunk, "(UID INTERNALDATE RFC822.SIZE)")
        result: Any = await client.uid("fetch", chunk, "(UID INTERNALDATE BODY.PEEK[])")
        fetched += sum(1 for line in result.lines if isinstance(line, bytearray))
    elapsed = time.perf_counter() - started
    await client.logout()
    assert fetched == count, fetched
    return count / elapsed


async def run() -> None:
    with running_dovecot() as server:
        samples = sorted(await latency(server))
        p50 = statistics.median(samples) * 1000
        p99 = samples[max(0, int(len(samples) * 0.99) - 1)] * 1000
        print(
            f"APPEND → sink.ingest, IDLE, {len(samples)} mails: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
        print("  (Dovecot itself waits 500 ms before telling an IDLE client about new mail)")
        await fill(server, "Bulk", THROUGHPUT_MAILS)
        raw_rate = await floor(server, "Bulk", THROUGHPUT_MAILS)
        rate = await throughput(server, "Bulk", THROUGHPUT_MAILS)
        print(f"ingest {THROUGHPUT_MAILS} mails from an empty cursor: {rate:,.0f} mails/s")
        print(f"floor, raw aioimaplib UID FETCH without parsing: {raw_rate:,.0f} mails/s")
        print(f"connector / floor: {rate / raw_rate:.2f}")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
