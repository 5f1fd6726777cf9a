"""Quarantine a manager can act on (app/quarantine.py): coded reasons in the reader's language,
permission per office, a retry that goes in after a parser fix, one that still fails and keeps
the item, and dismissal — on a real SQLite database and Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app import quarantine
from app.connector_registry import quarantine as quarantine_callback
from app.i18n import Translator
from app.models import Conversation, Message, Office, Quarantine, Role, User
from app.services import Services
from connectors.email.receiver import QuarantineReason

MAIL = (
    b"From: Ana Lopes <ana@example.org>\r\n"
    b"To: info@saint-clair.example\r\n"
    b"Subject: Horaires du phare\r\n"
    b"Message-ID: <phare-1@example.org>\r\n"
    b"Date: Tue, 21 Jul 2026 08:00:00 +0200\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Bonjour, le phare est-il ouvert dimanche ?\r\n"
)


async def add_row(
    services: Services, account: str, raw: bytes, code: str, params: dict[str, str], at: datetime
) -> int:
    async with services.db.session() as session:
        row = Quarantine(
            account_key=account,
            reason=f"unparseable: {params}",
            raw=raw,
            at=at,
            code=code,
            params=json.dumps(params),
        )
        session.add(row)
        await session.commit()
        assert row.id is not None
        return row.id


async def user(services: Services, role: Role, office_slug: str | None) -> User:
    async with services.db.session() as session:
        office = (
            (await session.exec(select(Office).where(Office.slug == office_slug))).one()
            if office_slug
            else None
        )
        person = User(
            destination_id=1,
            office_id=office.id if office else None,
            email=f"{role}-{office_slug}@example.org",
            name="Test",
            password_hash="-",
            role=role,
        )
        session.add(person)
        await session.commit()
        await session.refresh(person)
        return person


async def test_a_connector_reason_keeps_its_code_and_is_said_in_each_language(
    services: Services,
) -> None:
    keep = quarantine_callback(services, "mail-saint-clair")
    await keep(
        b"\x00broken",
        QuarantineReason(
            "unparseable (UID 7): ValueError: bad",
            "email.unparseable",
            {"uid": "7", "error": "ValueError: bad"},
        ),
    )
    await keep(b"", "a reason without a code")  # a plain text still works
    async with services.db.session() as session:
        coded, plain = (await session.exec(select(Quarantine).order_by(Quarantine.id))).all()
    assert (coded.code, json.loads(coded.params)) == (
        "email.unparseable",
        {"uid": "7", "error": "ValueError: bad"},
    )
    assert coded.raw == b"\x00broken" and coded.resolved_at is None
    assert quarantine.describe(Translator("fr"), coded) == (
        "le mail n'a pas pu être lu (UID IMAP 7) : ValueError: bad"
    )
    assert quarantine.describe(Translator("en"), coded) == (
        "the mail could not be read (IMAP UID 7): ValueError: bad"
    )
    assert plain.code == ""
    assert quarantine.describe(Translator("fr"), plain) == "illisible : a reason without a code"


async def test_managers_see_their_accounts_items_newest_first(services: Services) -> None:
    now = services.clock.now()
    old = await add_row(services, "mail-saint-clair", MAIL, "email.empty_body", {"uid": "1"}, now)
    new = await add_row(
        services, "mail-saint-clair", MAIL, "email.empty_body", {"uid": "2"}, now + timedelta(1)
    )
    other = await add_row(
        services, "mail-port-argent", MAIL, "email.empty_body", {"uid": "3"}, now - timedelta(1)
    )
    everyone = await user(services, Role.DESTINATION_MANAGER, None)
    saint_clair = await user(services, Role.OFFICE_MANAGER, "saint-clair")
    port_argent = await user(services, Role.OFFICE_MANAGER, "port-argent")
    adviser = await user(services, Role.ADVISER, "saint-clair")
    async with services.db.session() as session:
        assert [i.row.id for i in await quarantine.waiting(session, everyone)] == [new, old, other]
        assert [i.row.id for i in await quarantine.waiting(session, saint_clair)] == [new, old]
        assert [i.row.id for i in await quarantine.waiting(session, port_argent)] == [other]
        assert await quarantine.waiting(session, adviser) == []
    for intruder, item in ((port_argent, old), (adviser, old), (saint_clair, other)):
        with pytest.raises(quarantine.QuarantineError) as refused:
            await quarantine.retry(services, intruder, item)
        assert refused.value.status == 404
        with pytest.raises(quarantine.QuarantineError):
            await quarantine.dismiss(services, intruder, item)
    with pytest.raises(quarantine.QuarantineError) as missing:
        await quarantine.retry(services, everyone, 10**9)
    assert missing.value.status == 404
    async with services.db.session() as session:
        rows = (await session.exec(select(Quarantine))).all()
    assert all(r.resolved_at is None for r in rows)


async def test_a_retry_after_a_parser_fix_goes_in(services: Services) -> None:
    # Quarantined by a parser bug since fixed: the same bytes parse today.
    arrived = datetime(2026, 7, 21, 6, 5, tzinfo=UTC)
    item = await add_row(
        services,
        "mail-saint-clair",
        MAIL,
        "email.unparseable",
        {"uid": "42", "error": "AttributeError: 'NoneType' object has no attribute 'get'"},
        arrived,
    )
    manager = await user(services, Role.OFFICE_MANAGER, "saint-clair")
    result = await quarantine.retry(services, manager, item)
    assert result.created
    async with services.db.session() as session:
        message = await session.get(Message, result.message_id)
        conversation = await session.get(Conversation, result.conversation_id)
        row = await session.get(Quarantine, item)
        assert await quarantine.waiting(session, manager) == []
    assert message is not None and conversation is not None and row is not None
    assert "le phare est-il ouvert dimanche" in message.text
    assert message.created_at == arrived  # it arrived then, whatever the retry's time
    assert row.resolved_at is not None and row.raw == MAIL  # kept for the retention sweep
    # Retrying twice is refused, never stored twice.
    with pytest.raises(quarantine.QuarantineError) as again:
        await quarantine.retry(services, manager, item)
    assert again.value.status == 409


async def test_a_retry_that_still_fails_keeps_the_item(services: Services) -> None:
    now = services.clock.now()
    empty = await add_row(services, "mail-saint-clair", b"", "email.empty_body", {"uid": "5"}, now)
    tweet = await add_row(services, "x-port-argent", b'{"id": "1"}', "x.unreadable", {}, now)
    manager = await user(services, Role.DESTINATION_MANAGER, None)
    for item, code in ((empty, "quarantine.retry_empty"), (tweet, "quarantine.retry_unsupported")):
        with pytest.raises(quarantine.QuarantineError) as refused:
            await quarantine.retry(services, manager, item)
        assert (refused.value.code, refused.value.status) == (code, 422)
    async with services.db.session() as session:
        listed = [i.row.id for i in await quarantine.waiting(session, manager)]
        assert (await session.exec(select(Message))).all() == []
    assert sorted(listed) == sorted([empty, tweet])
    # A manager who gives up dismisses it: off the list, bytes kept until the retention sweep.
    await quarantine.dismiss(services, manager, empty)
    async with services.db.session() as session:
        assert [i.row.id for i in await quarantine.waiting(session, manager)] == [tweet]
        row = await session.get(Quarantine, empty)
    assert row is not None and row.resolved_at is not None


async def test_the_mail_receiver_quarantines_with_a_code(services: Services) -> None:
    from app.inbox import Inbox
    from connectors.base import ConnectorStatus
    from connectors.email.config import MailboxConfig
    from connectors.email.imap import Fetched
    from connectors.email.receiver import Receiver

    config = MailboxConfig(
        account="mail-saint-clair",
        address="info@saint-clair.example",
        imap_host="127.0.0.1",
        imap_user="info",
        imap_password="unused",
        smtp_host="127.0.0.1",
    )
    receiver = Receiver(config, ConnectorStatus(), quarantine_callback(services, config.account))
    arrived = datetime(2026, 7, 21, 6, 0, tzinfo=UTC)
    await receiver._handle(Fetched(uid=77, internaldate=arrived, size=0, raw=b""), Inbox(services))
    async with services.db.session() as session:
        (row,) = (await session.exec(select(Quarantine))).all()
    assert (row.account_key, row.code, json.loads(row.params)) == (
        "mail-saint-clair",
        "email.empty_body",
        {"uid": "77"},
    )
    assert quarantine.describe(Translator("en"), row) == (
        "the mail server returned no content for this mail (IMAP UID 77)"
    )
    assert receiver.status.counters["quarantined"] == 1
