"""SQL statements per chat message stay few: a visitor's first message, a follow-up, an
adviser's reply and its delivery, counted on the real code paths (bench/sql_statements.py) over
the real SQLite database and Redis. A change that adds statements to these paths fails here:
raise a bound only knowingly (and say why in the commit)."""

from __future__ import annotations

from app.inbox import Inbox
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
)
from app.outbox import REFERENCE_MESSAGES, _outbound
from app.services import Services
from bench.sql_statements import StatementCounter, count_statements
from connectors.base import Author, Channel, InboundMessage

# Measured 2026-12-07: 19, 13, 11, 4 on PostgreSQL (18, 12, 10, 4 on SQLite, whose search
# documents are written after the transaction) — a new conversation's response turn is opened
# without looking for an earlier one.
# Measured 2026-12-05 (last): 20, 13, 11, 4 — a visitor's message and a reply flush once (the
# routing choice of a new conversation is in its one UPDATE).
# Measured 2026-12-05 (later): 21, 13, 11, 4 — a new row's search documents are written
# without first deleting what cannot be there; the destination (the rota) read with the account
# (ingest) or with the conversation and account (reply) in their one joined statement.
# Measured 2026-12-05 (warm caches): 25, 14, 13, 4 — a reply's conversation and account, and a
# delivery's reply, conversation, account and contact, each read in one joined statement (were
# gets one by one); the outcome stored after reading the reply and its conversation together.
# Measured 2026-12-04: 25, 14, 14, 8 — nobody online: no assignment pass (its
# session read the office and the staff on every message of a waiting conversation). Before: 27,
# 16, 14, 8; before that 29, 17, 16 and 12 (a new message's
# owed-events row deleted before being written; the contact and its profile's
# names read apart; the delivery reading the reply, its conversation and account again to record
# the outcome, and a chat reply reading inbound ids it never refers to). Earlier still: 30 (the
# destination read twice), 17, 17 (the rota read twice per reply), 12 (every inbound message,
# texts included, read to build References).
BOUNDS = {
    "first message": 19,
    "follow-up message": 13,
    "adviser reply": 11,
    "reply delivery": 4,
}


async def test_statements_per_message_stay_within_their_bounds(services: Services) -> None:
    counts = {
        kind: len(statements) for kind, statements in (await count_statements(services)).items()
    }
    assert counts.keys() == BOUNDS.keys()
    over = {kind: n for kind, n in counts.items() if n > BOUNDS[kind]}
    assert not over, f"more SQL statements than pinned: {over} (bounds {BOUNDS})"
    # The counter sees real traffic: each kind writes its message (or its delivery status).
    assert all(n > 0 for n in counts.values())


async def test_a_reply_reads_the_destination_once_and_a_chat_delivery_no_inbound_message(
    services: Services,
) -> None:
    statements = await count_statements(services)
    reply = [" ".join(s.split()).lower() for s in statements["adviser reply"]]
    reads = [s for s in reply if s.startswith("select")]
    assert sum("from destination" in s or "join destination" in s for s in reads) == 1
    delivery = [" ".join(s.split()).lower() for s in statements["reply delivery"]]
    assert not [s for s in delivery if "message.direction = " in s]  # a chat refers to nothing
    # A new reply has no owed-events row to replace, a new message no search document.
    assert not [s for s in reply if s.startswith("delete from relay")]
    for kind in ("first message", "follow-up message", "adviser reply"):
        assert not [s for s in statements[kind] if s.lower().startswith("delete from search")]
    # A conversation made by this message has no response turn yet: none is looked for.
    first = [" ".join(s.split()).lower() for s in statements["first message"]]
    assert [s for s in first if s.startswith("insert into responseturn")]
    assert not [s for s in first if s.startswith("select") and "from responseturn" in s]


async def test_an_email_reply_reads_the_latest_inbound_ids_only(services: Services) -> None:
    """References come from the newest inbound mails, ids and details only: a long thread's
    texts are not read again for each reply."""
    inbox = Inbox(services)
    first = None
    for n in range(REFERENCE_MESSAGES + 5):
        stored = await inbox.ingest(
            InboundMessage(
                channel=Channel.EMAIL,
                account="mail-port-argent",
                external_id=f"<m{n}@visitor.example>",
                thread_key="<m0@visitor.example>",
                author=Author(external_id="ana@visitor.example", name="Ana"),
                text=f"Message {n}",
                subject="Horaires",
                received_at=services.clock.now(),
                references=(f"<m{n - 1}@visitor.example>",) if n else (),
            )
        )
        first = first or stored
    assert first is not None
    async with services.db.session() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        account = await session.get(Account, conversation.account_id)
        contact = await session.get(Contact, conversation.contact_id)
        assert account is not None and contact is not None
    # The reply as the outbox reads it (no mail connector runs here to accept a real one).
    reply = Message(
        id=10**6,
        conversation_id=conversation.id or 0,
        account_id=account.id or 0,
        direction=Direction.OUT,
        author_kind=AuthorKind.ADVISER,
        text="Bonjour Ana",
        created_at=services.clock.now(),
        delivery_status=DeliveryStatus.PENDING,
    )
    counter = StatementCounter(services)
    try:
        async with services.db.session() as session:
            with counter.counting() as read:
                outbound = await _outbound(session, reply, conversation, account, contact)
    finally:
        counter.close()
    inbound_reads = [" ".join(s.split()).lower() for s in read if "message.direction" in s]
    assert inbound_reads
    assert all(" limit " in s and "message.text" not in s for s in inbound_reads)
    newest = REFERENCE_MESSAGES + 4
    assert outbound.reply_to_external_id == f"<m{newest}@visitor.example>"
    assert len(outbound.references) == REFERENCE_MESSAGES
