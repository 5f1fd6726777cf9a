"""A visitor's message and an adviser's reply leave nothing to the garbage collector.

Every object of their units of work (the session, its transaction and connection, the rows it
read) is freed by reference counting as the unit ends. Objects caught in a reference cycle wait
for a collection instead, and a collection pauses the worker's event loop (app.gc_tuning): with
about 190 such objects per message and its reply, the chat bench's worker paused about 3 ms every
second at 40 messages a second, which its p99 showed.
"""

from __future__ import annotations

import contextlib
import gc
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app import actions, sqlite_writes
from app.inbox import Inbox
from app.services import Services
from connectors.base import InboundMessage
from connectors.webchat.frames import VisitorMessageFrame, to_inbound
from tests.app.test_metrics import adviser_of

SATURDAY_2114 = datetime(2026, 7, 18, 19, 14, tzinfo=UTC)  # 21:14 in Paris: an office on duty


def chat(services: Services, n: int, visitor: str) -> InboundMessage:
    frame = VisitorMessageFrame(client_id=f"c{n}", text=f"Bonjour, le phare ouvre-t-il ? ({n})")
    return to_inbound(
        frame,
        account="chat-port-argent",
        visitor_id=visitor,
        received_at=services.clock.now(),
        language="fr",
    )


@contextlib.contextmanager
def cycles_made() -> Iterator[list[object]]:
    """What the block leaves in reference cycles, as a collection at its end finds it: of the
    project or of the libraries a unit of work runs (a cycle the test process makes elsewhere
    meanwhile, in the test runner or asyncio, is not the block's; the dicts and tuples of a
    unit's cycle always come with one of these). The collector is put back as it was."""
    found: list[object] = []
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept, to be listed
    try:
        yield found
        gc.collect()
        found.extend(o for o in gc.garbage if type(o).__module__.partition(".")[0] in _UNIT_OF_WORK)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


_UNIT_OF_WORK = {"app", "connectors", "sqlalchemy", "sqlmodel", "pydantic", "redis", "aiosqlite"}


@pytest.mark.parametrize("quick", [True, False], ids=["socket", "request"])
async def test_a_message_and_its_reply_leave_no_reference_cycle(
    services: Services, quick: bool
) -> None:
    services.clock.set(SATURDAY_2114, frozen=True)
    inbox = Inbox(services)
    # The first exchange opens the conversation and fills the worker's caches.
    opened = await inbox.ingest(chat(services, 0, "visitor-cycles"), live=True)
    adviser = await adviser_of(services, opened.conversation_id)
    await actions.reply(services, adviser, opened.conversation_id, "Bonjour !")

    with cycles_made() as cycles:
        for n in range(1, 4):
            with sqlite_writes.quick() if quick else contextlib.nullcontext():
                stored = await inbox.ingest(chat(services, n, "visitor-cycles"), live=True)
            assert stored.conversation_id == opened.conversation_id and stored.created
            with sqlite_writes.quick() if quick else contextlib.nullcontext():
                await actions.reply(services, adviser, stored.conversation_id, f"Oui ({n})")

    assert cycles == [], Counter(type(o).__qualname__ for o in cycles).most_common(8)
