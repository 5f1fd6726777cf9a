"""Per-day rollups: the same figures as the turns themselves, kept right when a day changes."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from app import actions, keys
from app.dashboard import kth, median, nearest_rank
from app.models import Conversation, CsvRollup, Destination, RollupDay, TurnRollup, User
from app.rollups import DAY_FORMAT, build_pass, build_stale, day_changed
from app.services import Services
from tests.app.test_dashboard import DAY, history, manager
from tests.conftest import LiveServer, login

durations = st.lists(
    st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), max_size=40), max_size=8
)


@given(durations, st.data())
def test_kth_matches_sorting_everything(lists: list[list[float]], data: Any) -> None:
    ordered = [sorted(values) for values in lists]
    everything = sorted(v for values in lists for v in values)
    if not everything:
        assert median(ordered) is None and nearest_rank(ordered, 90) is None
        return
    k = data.draw(st.integers(0, len(everything) - 1))
    assert kth(ordered, k) == everything[k]
    n = len(everything)
    assert median(ordered) == everything[math.ceil(n / 2) - 1]  # nearest rank, from 1
    assert nearest_rank(ordered, 90) == everything[math.ceil(0.9 * n - 1e-9) - 1]


async def destination(services: Services) -> Destination:
    async with services.db.session() as session:
        found = (await session.exec(select(Destination))).one()
    return found


async def marks(services: Services) -> dict[str, tuple[int, int]]:
    async with services.db.session() as session:
        rows = (await session.exec(select(RollupDay))).all()
    return {r.local_day: (r.changes, r.built) for r in rows}


def figures(live: LiveServer, query: str = DAY) -> tuple[dict[str, Any], list[dict[str, str]]]:
    with login(live.url, *manager(live)) as client:
        data = client.get(f"/api/metrics?{query}").json()
        rows = list(
            csv.DictReader(io.StringIO(client.get(f"/api/metrics/export.csv?{query}").text))
        )
    return data, rows


def by_turn(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    return sorted(tuple(r.values()) for r in rows)


async def test_rollups_give_the_figures_of_the_turns(live: LiveServer, services: Services) -> None:
    await history(services)
    before, rows_before = figures(live)  # today: read from the turns
    assert (await marks(services))["2026-07-21"][1] == 0  # never built
    place = await destination(services)
    assert await build_stale(services.db, place, date(2026, 7, 21)) == 0  # today is never built
    assert await build_stale(services.db, place, date(2026, 7, 22)) == 1
    changes, built = (await marks(services))["2026-07-21"]
    assert changes == built > 0
    async with services.db.session() as session:
        stored = (await session.exec(select(TurnRollup))).all()
    assert {r.grain for r in stored} == {0, 1}
    after, rows_after = figures(live)  # now from the rollups
    assert after == before
    assert by_turn(rows_after) == by_turn(rows_before) and len(rows_after) == 4
    # What an office manager and an adviser see is filtered the same way from the rollups.
    with login(live.url, "boss@saint-clair.example", "boss-password-1") as client:
        own = client.get(f"/api/metrics?{DAY}").json()
        own_rows = list(
            csv.DictReader(io.StringIO(client.get(f"/api/metrics/export.csv?{DAY}").text))
        )
    assert [row["label"] for row in own["accounts"]] == ["Chat de Saint-Clair"]
    assert [(r["account_key"], r["account"]) for r in own_rows] == [
        ("chat-saint-clair", "Chat de Saint-Clair")
    ]
    with login(
        live.url, "camille@port-argent.example", live.logins["camille@port-argent.example"].password
    ) as client:
        mine = client.get(f"/api/metrics?{DAY}").json()
    assert [(r["label"], r["conversations_first_answered"]) for r in mine["advisers"]] == [
        ("Camille Martin", 2)
    ]
    assert sum(n for row in mine["heat"] for n in [c["turns"] for c in row]) == 2


async def test_a_late_reply_marks_its_day_and_counts_at_once(
    live: LiveServer, services: Services
) -> None:
    await history(services)
    place = await destination(services)
    await build_stale(services.db, place, date(2026, 7, 22))
    built, _ = figures(live)
    port = {r["label"]: r for r in built["accounts"]}["Chat de Port-Argent"]
    assert (port["conversations"], port["replied"]) == (3, 2)
    # The next morning, Camille answers the visitor who wrote at 23:30 the evening before.
    async with services.db.session() as session:
        waiting = (
            await session.exec(select(Conversation).where(Conversation.thread_key == "d"))
        ).one()
        camille = (
            await session.exec(select(User).where(User.email == "camille@port-argent.example"))
        ).one()
    answered = datetime(2026, 7, 22, 7, 30, tzinfo=UTC)  # 09:30 in Paris
    services.clock.set(answered, frozen=True)
    await actions.reply(services, camille, waiting.id or 0, "Bonjour, oui !")
    changes, built_count = (await marks(services))["2026-07-21"]
    assert changes > built_count  # stale: read from the turns until rebuilt
    late, late_rows = figures(live)
    port = {r["label"]: r for r in late["accounts"]}["Chat de Port-Argent"]
    assert (port["conversations"], port["replied"]) == (3, 3)
    assert port["p90_seconds"] == 10 * 3600  # 21:30 UTC → 07:30 UTC
    # The background pass rebuilds it (the clock says the 22nd: the 21st is a past day), in the
    # one worker holding the lease (here, not the live server's).
    await services.redis.delete(keys.rollup_lease())
    assert await build_pass(services, "test-worker") == 1
    async with services.db.session() as session:
        await day_changed(session, place.id or 0, "2026-07-21")
        await session.commit()
    assert await build_pass(services, "another-worker") == 0  # the lease is test-worker's
    assert await build_pass(services, "test-worker") == 1
    changes, built_count = (await marks(services))["2026-07-21"]
    assert changes == built_count
    rebuilt, rebuilt_rows = figures(live)
    assert rebuilt == late and by_turn(rebuilt_rows) == by_turn(late_rows)


async def test_history_written_before_rollups_is_marked_and_built(
    live: LiveServer, services: Services
) -> None:
    await history(services)
    async with services.db.session() as session:
        for mark in (await session.exec(select(RollupDay))).all():
            await session.delete(mark)
        await session.commit()
    services.clock.set(datetime(2026, 7, 23, 8, tzinfo=UTC), frozen=True)
    await services.redis.delete(keys.rollup_lease())
    assert await build_pass(services, "test-worker") == 1
    assert (await marks(services))["2026-07-21"] == (1, 1)
    data, _ = figures(live)
    assert data["total"]["conversations"] == 4


async def test_a_day_built_in_the_older_format_is_read_from_its_turns_and_rebuilt(
    live: LiveServer, services: Services
) -> None:
    await history(services)
    place = await destination(services)
    await build_stale(services.db, place, date(2026, 7, 22))
    built, built_rows = figures(live)
    # As an older version left it: DAY rows marked -1, CSV lines with their ids only.
    async with services.db.session() as session:
        for row in (await session.exec(select(TurnRollup).where(TurnRollup.grain == 0))).all():
            row.hour_of_week = -1
            session.add(row)
        for body in (await session.exec(select(CsvRollup))).all():
            body.body = b"stale,line\r\n"
            session.add(body)
        await session.commit()
    changes, built_count = (await marks(services))["2026-07-21"]
    assert changes == built_count  # the counters say clean; the format says otherwise
    read, read_rows = figures(live)  # from the turns, not from the old rows
    assert read == built and by_turn(read_rows) == by_turn(built_rows)
    assert all("stale" not in ",".join(r.values()) for r in read_rows)
    assert await build_stale(services.db, place, date(2026, 7, 22)) == 1  # rebuilt once
    async with services.db.session() as session:
        marks_left = {
            r.hour_of_week
            for r in (await session.exec(select(TurnRollup).where(TurnRollup.grain == 0))).all()
        }
    assert marks_left == {DAY_FORMAT}
    again, again_rows = figures(live)
    assert again == built and by_turn(again_rows) == by_turn(built_rows)
