"""Search's order and pages on both engines: newest *matching* first (read from the index newest
first with an early stop), every conversation once across pages however its matches interleave,
and a merged visitor's name or address finding every conversation of the profile the user may
see."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlmodel import select

from app import pagination, search, search_results
from app.db import Database
from app.models import AuthorKind, Contact, Conversation, Direction, Message, User
from tests.app.test_search_engines import T0, database, postgres_url, user, world

__all__ = ["database", "postgres_url"]  # fixtures used by name


async def say(db: Database, conversation_id: int, text: str) -> int:
    async with db.session() as s:
        c = await s.get(Conversation, conversation_id)
        assert c is not None
        m = Message(conversation_id=conversation_id, account_id=c.account_id,
                    direction=Direction.IN, author_kind=AuthorKind.VISITOR, text=text,
                    created_at=T0)  # fmt: skip
        s.add(m)
        await s.flush()
        c.last_message_at = T0 + timedelta(seconds=m.id or 0)
        s.add(c)
        await s.commit()
        return m.id or 0


async def pages(db: Database, who: User, q: str, limit: int) -> list[list[int]]:
    out, start = [], None
    while True:
        async with db.session() as s:
            rows = await search_results.ranked(s, who, search.words(q), search_results.Filters(),
                                               limit, start)  # fmt: skip
        out.append([c.id or 0 for c, _ in rows[:limit]])
        if len(rows) <= limit:
            return out
        last, key = rows[limit - 1]
        start = search_results.decode_cursor(search_results.encode_cursor(key, last.id or 0))


async def test_the_newest_match_comes_first_not_the_latest_activity(database: Database) -> None:
    ids = await world(database)
    manager = await user(database, "m@x.example")
    await say(database, ids["c1"], "Le phare est-il ouvert ?")
    await say(database, ids["c2"], "Et le phare de Saint-Clair ?")
    await say(database, ids["c1"], "Merci beaucoup")  # c1 is the latest active, not matching
    assert await pages(database, manager, "phare", 50) == [[ids["c2"], ids["c1"]]]
    # A subject's match ranks by the conversation's latest activity.
    assert await pages(database, manager, "chateau", 50) == [[ids["c1"]]]
    await say(database, ids["c2"], "Le château est fermé")
    assert await pages(database, manager, "chateau", 50) == [[ids["c2"], ids["c1"]]]
    await say(database, ids["c1"], "Bonsoir")  # c1's subject: its latest activity, now newest
    assert await pages(database, manager, "chateau", 50) == [[ids["c1"], ids["c2"]]]


@pytest.mark.parametrize("first_chunk", [1, 3, 256])
async def test_pages_hold_every_match_once_in_order(
    database: Database, monkeypatch: pytest.MonkeyPatch, first_chunk: int
) -> None:
    monkeypatch.setattr(search_results, "STREAM_FIRST", first_chunk)
    ids = await world(database)
    async with database.session() as s:
        base = await s.get(Conversation, ids["c1"])
        assert base is not None
        extra = []
        for n in range(24):
            row = Conversation(destination_id=1, account_id=1 + n % 2, contact_id=base.contact_id,
                             office_id=1 + n % 2, channel="email", thread_key=f"x{n}",
                             subject="Marée basse" if n % 7 == 3 else "",
                             created_at=T0, last_message_at=T0)  # fmt: skip
            s.add(row)
            await s.flush()
            extra.append(row.id or 0)
        await s.commit()
    rng = random.Random(13)
    newest: dict[int, int] = {}  # a matching subject: the newest message, matching or not
    for n, plain in enumerate(extra):
        if n % 7 == 3:
            newest[plain] = 0
    for _ in range(120):  # matches interleaved between conversations, some never matching
        c: int = rng.choice(extra)
        matching = rng.random() < 0.5 and c % 5 != 0
        m = await say(database, c, "Horaires de la marée" if matching else "Bonjour")
        if matching or extra.index(c) % 7 == 3:
            newest[c] = m
    expected = sorted(newest, key=lambda c: (newest[c], c), reverse=True)
    manager, port = await user(database, "m@x.example"), await user(database, "a1@x.example")
    for limit in (1, 4, 50):
        got = await pages(database, manager, "maree", limit)
        assert [c for p in got for c in p] == expected, limit
        assert all(0 < len(p) <= limit for p in got)
        ours = [c for c in expected if c in extra[::2]]  # office 1's only
        assert [c for p in await pages(database, port, "maree", limit) for c in p] == ours


async def test_a_merged_visitors_address_finds_the_whole_profile_as_far_as_one_may_see(
    database: Database,
) -> None:
    ids = await world(database)
    manager, port = await user(database, "m@x.example"), await user(database, "a1@x.example")
    async with database.session() as s:
        c1 = await s.get(Conversation, ids["c1"])
        assert c1 is not None
        root = c1.contact_id
        other = Contact(destination_id=1, channel="webchat", external_id="w-yann", name="",
                        email="yann.kerouac@example.net", created_at=T0,
                        merged_into_id=root)  # fmt: skip
        s.add(other)
        await s.flush()
        c3 = Conversation(destination_id=1, account_id=2, contact_id=other.id or 0, office_id=2,
                          channel="webchat", thread_key="w3", created_at=T0,
                          last_message_at=T0)  # fmt: skip
        s.add(c3)
        await s.commit()
        c3_id = c3.id or 0
    await say(database, c3_id, "Bonjour")  # c3 is the latest active
    assert await pages(database, manager, "kerouac", 50) == [[c3_id, ids["c1"]]]
    assert await pages(database, manager, "v1@example.org", 50) == [[c3_id, ids["c1"]]]
    assert await pages(database, port, "kerouac", 50) == [[ids["c1"]]]  # not Saint-Clair's
    async with database.session() as s:
        row = (await s.exec(select(Conversation).where(Conversation.id == ids["c1"]))).one()
        found = await search_results.snippets(s, ["kerouac"], [row])
        assert [m["field"] for m in found[ids["c1"]]] == ["email"]
        found = await search_results.snippets(s, ["sørensen"], [row])
        assert [m["field"] for m in found[ids["c1"]]] == ["name"]


@pytest.mark.parametrize(
    "value", ["x", "s", "s1", "s1.", "s.1", "s-1.2", "s1.2.3", "1.2", "s" + "9" * 30 + ".1", "%%"]
)
def test_a_cursor_not_written_by_search_is_refused(value: str) -> None:
    import base64

    for raw in (value, base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")):
        with pytest.raises(pagination.BadCursorError):
            search_results.decode_cursor(raw)
