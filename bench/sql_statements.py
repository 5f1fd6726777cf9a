"""SQL statements per chat message, counted on the real app code with a SQLAlchemy listener.

Counts the statements the database receives (``before_cursor_execute``) for:

- a visitor's first message (a new conversation): ``Inbox.ingest`` as the visitor socket calls it;
- a follow-up message of the same visitor;
- an adviser's reply: ``actions.reply`` as the API calls it (a chat reply: sent once stored,
  nothing queued);
- a reply's delivery: one outbox dispatch of a reply queued for it — the visitor left an e-mail
  address and is still here, so the outbox sends it on the chat (app.offline_mail).

Another visitor writes first, so the worker's caches are warm (a busy worker's steady state).

Run: ``python -m bench.sql_statements`` (embedded Redis, a temporary SQLite database).
tests/app/test_sql_statements.py pins upper bounds on these counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from app import actions, visitor_presence
from app.channels import load_connectors
from app.db import create_tables
from app.demo import seed
from app.embedded_redis import EmbeddedRedis
from app.inbox import Inbox
from app.models import Account, Conversation, DeliveryStatus, User
from app.outbox import Dispatcher
from app.services import Services
from app.settings import Settings
from connectors.webchat.frames import VisitorMessageFrame, to_inbound

ACCOUNT = "chat-port-argent"
# Tuesday 21 July 2026, 10:00 in Paris: the demo offices are open (as in the tests).
OPEN_HOURS = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)


class StatementCounter:
    """Counts (and keeps) the statements an engine executes while :meth:`counting`."""

    def __init__(self, services: Services) -> None:
        self.engine = services.db.engine.sync_engine
        self.statements: list[str] = []
        self.active = False
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.active:
            self.statements.append(statement)

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _frame(client_id: str, text: str) -> VisitorMessageFrame:
    return VisitorMessageFrame(client_id=client_id, text=text)


async def count_statements(services: Services) -> dict[str, list[str]]:
    """The statements of each message kind, on a seeded demo database (see the module doc)."""
    inbox = Inbox(services)
    await load_connectors(services)
    counter = StatementCounter(services)
    result: dict[str, list[str]] = {}
    try:

        def inbound(client_id: str, text: str, visitor_id: str = "v-statements") -> Any:
            return to_inbound(
                _frame(client_id, text),
                account=ACCOUNT,
                visitor_id=visitor_id,
                received_at=services.clock.now(),
                language="fr",
            )

        # Another visitor first: a worker's per-process caches (rota, names) are warm, as they
        # are after its first minute; what follows is a busy worker's steady state.
        await inbox.ingest(inbound("c0", "Bonsoir", visitor_id="v-warm-up"))
        with counter.counting() as first:
            opened = await inbox.ingest(inbound("c1", "Bonjour, le phare est-il ouvert ?"))
        result["first message"] = list(first)
        with counter.counting() as follow_up:
            await inbox.ingest(inbound("c2", "Et le dimanche ?"))
        result["follow-up message"] = list(follow_up)
        async with services.db.session() as session:
            conversation = await session.get(Conversation, opened.conversation_id)
            assert conversation is not None
            user = (
                await session.exec(
                    select(User)
                    .where(User.office_id == conversation.office_id)
                    .order_by(col(User.id))
                )
            ).first()
            assert user is not None
        with counter.counting() as replied:
            message = await actions.reply(services, user, opened.conversation_id, "Oui, 10–18 h.")
        result["adviser reply"] = list(replied)
        assert message.delivery_status == DeliveryStatus.SENT  # nothing left to deliver
        await leave_an_address(services, opened.conversation_id)
        queued = await actions.reply(services, user, opened.conversation_id, "Je vous écris.")
        assert queued.id is not None and queued.delivery_status == DeliveryStatus.PENDING
        dispatcher = Dispatcher(services, await _destination(services, conversation), "bench")
        with counter.counting() as delivered:
            await dispatcher._handle(queued.id)
        result["reply delivery"] = list(delivered)
    finally:
        counter.close()
    return result


async def leave_an_address(services: Services, conversation_id: int) -> None:
    """The conversation's chat visitor leaves an e-mail address and stays: replies to them are
    queued for the outbox, which sends them on the chat."""
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.reply_email = "visitor@example.org"
        session.add(conversation)
        await session.commit()
        account = await session.get(Account, conversation.account_id)
        assert account is not None
    await visitor_presence.touch(
        services, account.destination_id, conversation.account_id, conversation.thread_key
    )


async def _destination(services: Services, conversation: Conversation) -> int:
    async with services.db.session() as session:
        account = await session.get(Account, conversation.account_id)
    assert account is not None
    return account.destination_id


@contextlib.asynccontextmanager
async def seeded_services(tmp: Path, redis_url: str) -> AsyncIterator[Services]:
    """The app's services on a seeded demo database in ``tmp/concierge.db`` (SQLite), during
    the demo offices' opening hours; closed on leaving."""
    settings = Settings(
        redis_url=redis_url,
        database_url=f"sqlite+aiosqlite:///{tmp / 'concierge.db'}",
        secret_key="bench-secret-" + "x" * 40,
        var_dir=tmp / "var",
        demo=False,
        clock_start=OPEN_HOURS,
    )
    services = Services.create(settings, serving=True)  # as a serving worker's
    try:
        await create_tables(services.db.engine)
        async with services.db.session() as session:
            await seed(session)
        yield services
    finally:
        await services.close()


async def _run(verbose: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), persist=False) as redis:
        async with seeded_services(Path(tmp), redis.url) as services:
            counts = await count_statements(services)
    print("SQL statements per message (SQLite):")
    for kind, statements in counts.items():
        print(f"  {kind:<18} {len(statements):3d}")
        if verbose:
            for statement in statements:
                print("      " + " ".join(statement.split())[:160])


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print each statement")
    args = parser.parse_args(argv)
    asyncio.run(_run(args.verbose))


if __name__ == "__main__":
    main()
