"""SQL statements per chat message stay few: a visitor's first message, a follow-up, an
adviser's reply and its delivery, counted on the real code paths (bench/sql_statements.py) over
the real SQLite database and Redis. A change that adds statements to these paths fails here:
raise a bound only knowingly (and say why in the commit)."""

from __future__ import annotations

from app.services import Services
from bench.sql_statements import count_statements

# Measured 2026-12-04 (warm caches): 29, 17, 16, 12. Before: 30 (the destination read twice),
# 17, 17 (the destination's rota read twice per reply) and 12 (but reading every inbound message
# of the conversation, texts included, to build References).
BOUNDS = {
    "first message": 29,
    "follow-up message": 17,
    "adviser reply": 16,
    "reply delivery": 12,
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


async def test_a_reply_reads_the_destination_once_and_inbound_ids_only(services: Services) -> None:
    statements = await count_statements(services)
    reply = [" ".join(s.split()).lower() for s in statements["adviser reply"]]
    assert sum(s.startswith("select") and "from destination" in s for s in reply) == 1
    delivery = [" ".join(s.split()).lower() for s in statements["reply delivery"]]
    inbound_reads = [s for s in delivery if "message.direction = " in s and s.startswith("select")]
    assert inbound_reads and all(" limit " in s and "message.text" not in s for s in inbound_reads)
