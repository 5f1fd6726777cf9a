"""Counts per tab and ``attention``: an adviser's unread, and their office's queue since the
current duty began (the demo rota, in Paris time) — never the backlog."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.counts import LOOKBACK, NO_ROTA_WINDOW, duty_since
from app.inbox import Inbox
from app.services import Services
from rota import Schedule, loads_toml
from tests.app.test_api_lists import chat
from tests.conftest import LiveServer, login, office_login

DEMO_ROTA = Path(__file__).resolve().parents[2] / "docs" / "rota.example.toml"


def utc(day: int, hour: int, minute: int = 0, month: int = 7) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def schedule() -> Schedule:
    return Schedule(loads_toml(DEMO_ROTA.read_text("utf-8")))


# July 2026 (summer season): Port-Argent is open 09:00–19:00 and holds the week's shared duty
# 17:00–22:00 (Paris, UTC+2); Saint-Clair 09:30–12:30 and 14:00–17:30 on weekdays, mornings on
# Saturday; Les Salines 10:00–17:00 Tuesday to Saturday.
@pytest.mark.parametrize(
    ("office", "now", "since"),
    [
        # Own hours then the shared duty it holds: one stretch, 09:00 to 22:00.
        ("port-argent", utc(21, 12), utc(21, 7)),
        ("port-argent", utc(21, 19, 59), utc(21, 7)),
        # Off duty since 22:00 last night; before opening at 09:00.
        ("port-argent", utc(21, 6, 59), utc(20, 20)),
        ("port-argent", utc(21, 21), utc(21, 20)),
        # Two openings a day: the afternoon one counts from 14:00, the lunch break from 12:30.
        ("saint-clair", utc(21, 12, 30), utc(21, 12)),
        ("saint-clair", utc(21, 11), utc(21, 10, 30)),
        ("saint-clair", utc(21, 7), utc(20, 15, 30)),
        # Sunday: Saint-Clair has been closed since Saturday 12:30.
        ("saint-clair", utc(26, 13), utc(25, 10, 30)),
        ("les-salines", utc(21, 9), utc(21, 8)),
        # Monday: Les Salines' week of shared duty ended on Sunday at 22:00.
        ("les-salines", utc(20, 9), utc(19, 20)),
        # Closed for the winter (1 January to 15 February) with no turn: a week back at most.
        ("les-salines", utc(10, 12, month=2), utc(10, 12, month=2) - LOOKBACK),
        # An office the rota does not list is never on duty.
        ("elsewhere", utc(21, 12), utc(21, 12) - LOOKBACK),
    ],
)
def test_start_of_the_current_duty(
    schedule: Schedule, office: str, now: datetime, since: datetime
) -> None:
    assert duty_since(schedule, office, now) == since


def test_without_a_rota_only_the_last_day_counts() -> None:
    assert duty_since(None, "port-argent", utc(21, 12)) == utc(21, 12) - NO_ROTA_WINDOW


async def test_counts_per_tab_and_what_needs_the_adviser_now(
    live: LiveServer, services: Services
) -> None:
    inbox = Inbox(services)
    # The server's clock is 10:00 in Paris on Tuesday 21 July: Port-Argent's duty began at
    # 09:00 (07:00 UTC). Written last week, still queued: backlog, not attention.
    await inbox.ingest(chat(1, utc(14, 9)))
    await inbox.ingest(chat(2, utc(21, 7, 30)))
    taken = (await inbox.ingest(chat(3, utc(21, 7, 40)))).conversation_id
    done = (await inbox.ingest(chat(4, utc(21, 7, 45)))).conversation_id
    await inbox.ingest(chat(5, utc(21, 7, 50), "chat-saint-clair"))
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        assert client.post(f"/api/conversations/{taken}/take").status_code == 200
        assert (
            client.post(f"/api/conversations/{done}/status", json={"status": "resolved"})
        ).status_code == 200
        counts = client.get("/api/conversations/counts").json()
        # Open: backlog, fresh, taken. Attention: fresh (queued this duty) and taken (unread).
        assert counts == {
            "mine": 1, "queued": 2, "open": 3, "resolved": 1, "all": 4, "attention": 2
        }  # fmt: skip
        # Marking it read leaves only the fresh queue needing them.
        assert client.post(f"/api/conversations/{taken}/read").status_code == 200
        assert client.get("/api/conversations/counts").json()["attention"] == 1
    colleague = office_login(live, "port-argent", 1)
    with login(live.url, colleague.email, colleague.password) as client:
        counts = client.get("/api/conversations/counts").json()
        assert counts["mine"] == 0 and counts["attention"] == 1  # the fresh queue only
    other = office_login(live, "saint-clair")
    with login(live.url, other.email, other.password) as client:
        counts = client.get("/api/conversations/counts").json()
        # Saint-Clair opens at 09:30 (07:30 UTC): its one queued chat came in at 07:50.
        assert counts == {
            "mine": 0, "queued": 1, "open": 1, "resolved": 0, "all": 1, "attention": 1
        }  # fmt: skip
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        counts = client.get("/api/conversations/counts").json()
        assert counts["all"] == 5 and counts["queued"] == 3
        assert counts["attention"] == 2  # each office's fresh queue, not the backlog
