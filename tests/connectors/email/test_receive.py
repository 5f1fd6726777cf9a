"""The receive loop against a real Dovecot: corpus mail in, IDLE, cursor, restarts, UIDVALIDITY."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.base import MessageKind
from connectors.email import EmailConnector, MailboxConfig
from connectors.email import receiver as receiver_module
from connectors.email.receiver import parse_cursor
from tests.support.dovecot import DovecotServer

from .conftest import CORPUS, Append, MemoryCursors, MemorySink, append_to, mail


@contextlib.asynccontextmanager
async def running(
    connector: EmailConnector, sink: MemorySink, cursors: MemoryCursors
) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(connector.run(sink, cursors))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def corpus_files(folder: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted((CORPUS / folder).iterdir()) if p.is_file()]


async def test_corpus_reaches_the_sink_with_kinds_and_cursor(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    append: Append,
) -> None:
    replies = [p for p in sorted((CORPUS / "talon-replies").glob("*.eml"))]
    bounces = sorted((CORPUS / "flanker").glob("bounce_*.eml"))
    raws = [p.read_bytes() for p in replies + bounces]
    await append(*raws)
    config = make_config()
    connector = EmailConnector(config)
    async with running(connector, sink, cursors):
        await sink.wait_for(len(raws))
        await wait_until(
            lambda: parse_cursor(cursors.values.get(config.cursor_key()))[1] == len(raws)
        )
        assert connector.status.state == "connected"
    assert len(sink.messages) == len(raws)
    by_subject = {m.external_id: m for m in sink.messages}
    gmail = by_subject["CAKsfaBW4hj0Gek6TwbR3erng4P1y0CZzJ0d=pXtCNnYnbe7PLg@mail.gmail.com"]
    assert gmail.text[: int(gmail.metadata["quote_start"])].strip() == "Hello"
    assert gmail.author.external_id == "xxx@gmail.com"
    kinds = [m.kind for m in sink.messages[len(replies) :]]
    assert kinds == [MessageKind.BOUNCE] * len(bounces)
    assert all(m.kind is MessageKind.NORMAL for m in sink.messages[: len(replies)])
    assert connector.status.counters["received"] == len(raws)
    assert connector.status.last_message_at is not None


async def test_malformed_corpus_is_ingested_or_quarantined_never_stuck(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    append: Append,
) -> None:
    raws = corpus_files("mail-parser")
    raws += [p.read_bytes() for p in sorted((CORPUS / "flanker").glob("*.eml"))]
    await append(*raws)
    quarantined: list[tuple[bytes, str]] = []
    config = make_config()
    connector = EmailConnector(
        config, on_quarantine=lambda raw, why: quarantined.append((raw, why))
    )
    async with running(connector, sink, cursors):
        await wait_until(
            lambda: parse_cursor(cursors.values.get(config.cursor_key()))[1] == len(raws), 30
        )
    # Identical corpus files share a Message-ID: the sink stores them once.
    assert sink.calls + len(quarantined) == len(raws)
    assert all(m.received_at.tzinfo is not None for m in sink.messages)


async def test_a_mail_that_cannot_be_parsed_is_quarantined_and_the_cursor_moves(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    append: Append,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = receiver_module.parse_message

    def fragile(raw: bytes, **kwargs: Any) -> Any:
        if b"POISON" in raw:
            raise ValueError("cannot read this one")
        return real(raw, **kwargs)

    monkeypatch.setattr(receiver_module, "parse_message", fragile)
    poison = mail("POISON", message_id="<p@example.org>")
    await append(mail(message_id="<a@x>"), poison, mail(message_id="<b@x>"))
    seen: list[tuple[bytes, str]] = []

    async def on_quarantine(raw: bytes, reason: str) -> None:
        seen.append((raw, reason))

    connector = EmailConnector(make_config(), on_quarantine=on_quarantine)
    async with running(connector, sink, cursors):
        await sink.wait_for(2)
        await wait_until(lambda: bool(seen))
    assert [m.external_id for m in sink.messages] == ["a@x", "b@x"]
    assert seen[0][0].replace(b"\r\n", b"\n") == poison.replace(b"\r\n", b"\n")
    assert "cannot read this one" in seen[0][1] and "UID 2" in seen[0][1]
    assert connector.status.counters["quarantined"] == 1


@pytest.mark.parametrize(
    ("backfill_days", "history"),
    [
        (None, ["week@x", "today@x"]),  # the default: the last 7 days
        (0, []),  # from now on
        (60, ["month@x", "week@x", "today@x"]),
    ],
)
async def test_a_new_mailbox_brings_in_its_recent_mail_not_its_whole_history(
    backfill_days: int | None,
    history: list[str],
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    dovecot_server: DovecotServer,
) -> None:
    now = datetime.now(UTC)
    for message_id, age in [("year", 400), ("month", 30), ("week", 3), ("today", 0)]:
        raw = mail(message_id=f"<{message_id}@x>")
        await append_to(dovecot_server, raw, date=now - timedelta(days=age))
    config = make_config(**({} if backfill_days is None else {"backfill_days": backfill_days}))
    connector = EmailConnector(config)
    async with running(connector, sink, cursors):
        await wait_until(lambda: connector.status.state == "connected")
        await wait_until(lambda: config.cursor_key() in cursors.values)
        # Once the mailbox has a cursor, new mail comes in whatever date it carries.
        await append_to(dovecot_server, mail(message_id="<late@x>"), date=now - timedelta(days=90))
        await sink.wait_for(len(history) + 1)
    assert [m.external_id for m in sink.messages] == [*history, "late@x"]
    # Started again with its cursor, the mailbox goes on from where it was.
    again = EmailConnector(config)
    async with running(again, sink, cursors):
        await append_to(dovecot_server, mail(message_id="<next@x>"))
        await sink.wait_for(len(history) + 2)
    assert [m.external_id for m in sink.messages] == [*history, "late@x", "next@x"]
    assert sink.calls == len(history) + 2


async def test_a_mail_arriving_while_a_new_mailbox_finds_its_start_is_not_lost(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    dovecot_server: DovecotServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first run reads the newest UID and searches the backfill as two commands: a mail
    that lands between them (here the empty mailbox's very first one) is still brought in."""
    newest = receiver_module.Connection.last_uid
    arrived: list[bool] = []

    async def mail_lands_meanwhile(self: Any) -> int:
        if not arrived:
            arrived.append(True)
            await append_to(dovecot_server, mail(message_id="<meanwhile@x>"))
            await self.imap.noop()  # this session now sees it, as a later command would
        return await newest(self)

    monkeypatch.setattr(receiver_module.Connection, "last_uid", mail_lands_meanwhile)
    connector = EmailConnector(make_config())  # the default backfill: the last 7 days
    async with running(connector, sink, cursors):
        await sink.wait_for(1)
    assert arrived and [m.external_id for m in sink.messages] == ["meanwhile@x"]


async def test_idle_delivers_a_new_mail_within_seconds(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    append: Append,
) -> None:
    # A long backstop timer: only IDLE can bring the mail in time.
    connector = EmailConnector(make_config(catchup_interval=600, poll_interval=600))
    async with running(connector, sink, cursors):
        await wait_until(lambda: connector.status.state == "connected")
        await asyncio.sleep(0.3)  # the IDLE command is under way
        for n in range(3):
            started = time.monotonic()
            await append(mail(f"n{n}", message_id=f"<idle-{n}@x>"))
            await sink.wait_for(n + 1, timeout=5)
            assert len(sink.messages) == n + 1
            assert time.monotonic() - started < 3.0


async def test_cursor_only_advances_after_ingest_and_a_failing_sink_is_retried(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    append: Append,
) -> None:
    await append(mail(message_id="<one@x>"), mail(message_id="<two@x>"))
    sink.fail_next = 2
    config = make_config()
    connector = EmailConnector(config)
    async with running(connector, sink, cursors):
        await sink.wait_for(2, timeout=15)
    assert [m.external_id for m in sink.messages] == ["one@x", "two@x"]
    assert connector.status.counters["errors"] >= 1
    assert parse_cursor(cursors.values[config.cursor_key()])[1] == 2


async def test_restart_mid_stream_loses_and_duplicates_nothing(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    append: Append,
    dovecot_server: Any,
) -> None:
    connector = EmailConnector(make_config())
    async with running(connector, sink, cursors):
        await append(*(mail(message_id=f"<r{n}@x>") for n in range(10)))
        await sink.wait_for(10)
        await asyncio.to_thread(dovecot_server.stop)
        await wait_until(lambda: connector.status.state == "error")
        assert "IMAP" in connector.status.detail or "reach" in connector.status.detail
        await asyncio.to_thread(dovecot_server.start)
        await append(*(mail(message_id=f"<r{n}@x>") for n in range(10, 20)))
        await sink.wait_for(20, timeout=20)
    assert [m.external_id for m in sink.messages] == [f"r{n}@x" for n in range(20)]
    assert sink.calls == 20  # nothing ingested twice
    assert connector.status.counters["reconnects"] >= 1


async def test_uidvalidity_change_rescans_without_loss(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    append: Append,
    imap_client: Any,
) -> None:
    await imap_client.create("Visitors")
    config = make_config(folder="Visitors")
    await append(mail(message_id="<v1@x>"), mail(message_id="<v2@x>"), folder="Visitors")
    connector = EmailConnector(config)
    async with running(connector, sink, cursors):
        await sink.wait_for(2)
        validity_before = parse_cursor(cursors.values[config.cursor_key()])[0]
        # The folder is deleted and made again: new UIDVALIDITY, UIDs start at 1 again.
        assert (await imap_client.delete("Visitors")).result == "OK"
        assert (await imap_client.create("Visitors")).result == "OK"
        await append(mail(message_id="<v3@x>"), folder="Visitors")
        await sink.wait_for(3, timeout=20)
        await wait_until(
            lambda: parse_cursor(cursors.values[config.cursor_key()])[0] != validity_before, 20
        )
    assert [m.external_id for m in sink.messages] == ["v1@x", "v2@x", "v3@x"]
    assert connector.status.counters.get("uidvalidity_changes", 0) == 1


async def test_polling_when_the_server_has_no_idle(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    append: Append,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(receiver_module.Connection, "has_idle", lambda self: False)
    connector = EmailConnector(make_config(poll_interval=0.3))
    async with running(connector, sink, cursors):
        await wait_until(lambda: connector.status.state == "polling")
        await append(mail(message_id="<poll@x>"))
        await sink.wait_for(1, timeout=5)
    assert [m.external_id for m in sink.messages] == ["poll@x"]


async def test_wrong_password_is_a_clear_status_and_no_crash_loop(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
) -> None:
    connector = EmailConnector(make_config(imap_password="wrong-one"))
    async with running(connector, sink, cursors) as task:
        await wait_until(lambda: connector.status.state == "error")
        await asyncio.sleep(0.5)
        assert not task.done()
    assert "login refused" in connector.status.detail
    assert "wrong-one" not in connector.status.detail
    assert connector.status.counters["errors"] == 1  # waiting, not hammering the server


async def test_unreachable_server_backs_off(
    make_config: Callable[..., MailboxConfig], sink: MemorySink, cursors: MemoryCursors
) -> None:
    from tests.support.dovecot import free_port

    connector = EmailConnector(make_config(imap_port=free_port(), timeout=1))
    async with running(connector, sink, cursors) as task:
        await wait_until(lambda: connector.status.counters.get("errors", 0) >= 2)
        assert not task.done()
    assert connector.status.state == "stopped"
    assert "cannot reach" in connector.status.detail


async def test_a_25_mb_attachment_is_listed_not_kept(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    append: Append,
) -> None:
    import base64

    blob = base64.encodebytes(b"\0" * (25 * 1024 * 1024)).replace(b"\n", b"\r\n")
    raw = (
        b"From: v@example.org\r\nTo: hello@bay.example\r\nSubject: map\r\n"
        b"Message-ID: <big@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nHere is the map.\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="map.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + blob + b"--b--\r\n"
    )
    await append(raw, mail(message_id="<small@x>"))
    connector = EmailConnector(make_config())
    async with running(connector, sink, cursors):
        await sink.wait_for(2, timeout=60)
    big = sink.by_id["big@x"]
    assert big.text == "Here is the map."
    (attachment,) = big.attachments
    assert (attachment.filename, attachment.size, attachment.data) == (
        "map.pdf",
        25 * 1024 * 1024,
        None,
    )
