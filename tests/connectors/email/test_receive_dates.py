"""Through a real Dovecot: a mail's time is the server's INTERNALDATE, its Date: is sent_at."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from connectors.email import EmailConnector, MailboxConfig
from tests.support.dovecot import DovecotServer

from .conftest import MemoryCursors, MemorySink, append_to, mail
from .test_receive import running


async def test_old_and_future_date_headers_keep_the_internaldate_as_arrival(
    make_config: Callable[..., MailboxConfig],
    sink: MemorySink,
    cursors: MemoryCursors,
    dovecot_server: DovecotServer,
) -> None:
    arrived = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    next_year = datetime.now(UTC).year + 1
    dates = {
        "old@x": ("Sun, 12 May 2002 10:00:00 +0000", datetime(2002, 5, 12, 10, tzinfo=UTC)),
        "future@x": (
            f"Wed, 21 Jul {next_year} 10:00:00 +0200",
            datetime(next_year, 7, 21, 8, tzinfo=UTC),
        ),
    }
    for message_id, (header, _) in dates.items():
        raw = mail(message_id=f"<{message_id}>").replace(
            b"Date: Tue, 21 Jul 2026 10:00:00 +0200", f"Date: {header}".encode()
        )
        await append_to(dovecot_server, raw, date=arrived)
    connector = EmailConnector(make_config())
    async with running(connector, sink, cursors):
        await sink.wait_for(2)
    by_id = {m.external_id: m for m in sink.messages}
    for message_id, (_, sent_at) in dates.items():
        assert by_id[message_id].received_at == arrived
        assert by_id[message_id].sent_at == sent_at
