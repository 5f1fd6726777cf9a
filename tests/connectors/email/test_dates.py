"""A mail's time is when it reached us (INTERNALDATE, never later than now); its ``Date:`` is
kept as ``sent_at``, information only, whatever its value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.email.parse import parse_message

from .conftest import mail

NOW = datetime(2026, 7, 21, 9, 0, tzinfo=UTC)
INTERNAL = datetime(2026, 7, 21, 8, 59, 30, tzinfo=UTC)


def dated(value: str | None) -> bytes:
    raw = mail()
    line = b"Date: Tue, 21 Jul 2026 10:00:00 +0200\r\n"
    return raw.replace(line, b"" if value is None else f"Date: {value}\r\n".encode())


@pytest.mark.parametrize(
    ("date", "sent_at"),
    [
        ("Sun, 12 May 2002 10:00:00 +0000", datetime(2002, 5, 12, 10, tzinfo=UTC)),
        ("Wed, 21 Jul 2027 10:00:00 +0200", datetime(2027, 7, 21, 8, tzinfo=UTC)),
        ("Tue, 21 Jul 2099 23:00:00 -0500", datetime(2099, 7, 22, 4, tzinfo=UTC)),
        ("21 Jul 2026 10:00:00 -0000", datetime(2026, 7, 21, 10, tzinfo=UTC)),
        ("Thu, 01 Jan 1970 00:00:00 +0000", datetime(1970, 1, 1, tzinfo=UTC)),
        ("Tue, 21 Jul 26 10:00:00 +0200", datetime(2026, 7, 21, 8, tzinfo=UTC)),
        ("2026-07-21T10:00:00+02:00", datetime(2026, 7, 21, 8, tzinfo=UTC)),
        ("2026-07-21T10:00:00Z", datetime(2026, 7, 21, 10, tzinfo=UTC)),
        ("not a date", None),
        ("Tue, 41 Jul 2026 10:00:00 +0200", None),
        ("", None),
        (None, None),
    ],
)
def test_received_at_is_the_internaldate_and_sent_at_the_date_header(
    date: str | None, sent_at: datetime | None
) -> None:
    message = parse_message(dated(date), account="a", received_at=INTERNAL, now=NOW)
    assert message.received_at == INTERNAL
    assert message.sent_at == sent_at
    if sent_at is not None:
        assert message.sent_at is not None and message.sent_at.utcoffset() == timedelta(0)
    assert "date" not in message.metadata


@pytest.mark.parametrize(
    "date", ["Sun, 12 May 2002 10:00:00 +0000", "Wed, 21 Jul 2027 10:00:00 +0200"]
)
def test_without_internaldate_the_time_is_now_never_the_date_header(date: str) -> None:
    message = parse_message(dated(date), account="a", now=NOW)
    assert message.received_at == NOW


def test_an_internaldate_in_the_future_becomes_now() -> None:
    future = NOW + timedelta(hours=3)
    assert parse_message(mail(), account="a", received_at=future, now=NOW).received_at == NOW


def test_an_internaldate_in_another_zone_is_the_same_instant_in_utc() -> None:
    paris = INTERNAL.astimezone(timezone(timedelta(hours=2)))
    received = parse_message(mail(), account="a", received_at=paris, now=NOW).received_at
    assert received == INTERNAL and received.utcoffset() == timedelta(0)
