"""Every column of the dashboard's JSON and of each CSV, for conversations with known delays
across a duty change, a transfer, a reopen and a night, against figures worked out by hand.

The rota is written for the test, so who is on duty is plain to read:

- Port-Argent's own hours 09:00–12:00 for chat-port-argent, Saint-Clair's 09:00–17:00 for
  chat-saint-clair, and the shared duty 12:00–20:00 held by Saint-Clair every week; nobody from
  20:00 to 09:00. Paris is UTC+2 in July.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from app import actions
from app.inbox import Inbox
from app.models import Account, ConversationStatus, Destination, Office, User
from app.rollups import build_stale
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.conftest import LiveServer, login

ROTA = (Path(__file__).parent / "data" / "figures_rota.toml").read_text("utf-8")
DAY = "preset=custom&first=2026-07-21&last=2026-07-21"
PORT, SAINT = "Office de Tourisme de Port-Argent", "Office de Tourisme de Saint-Clair"
CHAT_PORT, CHAT_SAINT = "Chat de Port-Argent", "Chat de Saint-Clair"


def utc(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 7, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Ids:
    conversations: dict[str, int]
    accounts: dict[str, int]  # name → id
    offices: dict[str, int]
    users: dict[str, int]


async def write(services: Services, account: str, visitor: str, n: int, at: datetime) -> int:
    services.clock.set(at, frozen=True)
    result = await Inbox(services).ingest(
        InboundMessage(
            channel=Channel.WEBCHAT, account=account, external_id=f"{visitor}:{n}",
            thread_key=visitor, author=Author(external_id=visitor), text=f"Question {n}",
            received_at=at,
        )
    )  # fmt: skip
    return result.conversation_id


async def user(services: Services, email: str) -> User:
    async with services.db.session() as session:
        return (await session.exec(select(User).where(User.email == email))).one()


async def answer(services: Services, email: str, conversation_id: int, at: datetime) -> None:
    services.clock.set(at, frozen=True)
    await actions.reply(services, await user(services, email), conversation_id, "Bonjour !")


async def history(services: Services) -> Ids:
    async with services.db.session() as session:
        place = (await session.exec(select(Destination))).one()
        place.rota_toml = ROTA
        session.add(place)
        await session.commit()
        accounts = {a.name: a.id or 0 for a in (await session.exec(select(Account))).all()}
        offices = {o.name: o.id or 0 for o in (await session.exec(select(Office))).all()}
        users = {u.name: u.id or 0 for u in (await session.exec(select(User))).all()}
    camille, lea = "camille@port-argent.example", "lea@saint-clair.example"
    # A: written at 11:50 in Port-Argent's hours; answered at 12:20, after the duty passed to
    # Saint-Clair at 12:00 (30 min, all on duty). The visitor writes again at 12:30: a later
    # turn of Saint-Clair's duty although the conversation sits in Port-Argent, where Camille
    # answers it in a minute.
    a = await write(services, "chat-port-argent", "a", 1, utc(21, 9, 50))
    await answer(services, camille, a, utc(21, 10, 20))
    await write(services, "chat-port-argent", "a", 2, utc(21, 10, 30))
    await answer(services, camille, a, utc(21, 10, 31))
    # D: answered in 90 s, resolved; the visitor reopens it at 13:00: a later turn (240 s).
    d = await write(services, "chat-saint-clair", "d", 1, utc(21, 8, 0))
    await answer(services, lea, d, utc(21, 8, 1, 30))
    await actions.set_status(services, await user(services, lea), d, ConversationStatus.RESOLVED)
    assert await write(services, "chat-saint-clair", "d", 2, utc(21, 11, 0)) == d
    await answer(services, lea, d, utc(21, 11, 4))
    # B: written at 19:59:30, 30 s before the duty ends; Léa transfers it to Port-Argent, where
    # Camille answers at 09:00:45 the next morning: 13 h 01 min 15 s on the wall clock, 75 s on
    # duty (30 s that evening, 45 s from Saint-Clair's opening at 09:00).
    b = await write(services, "chat-saint-clair", "b", 1, utc(21, 17, 59, 30))
    services.clock.set(utc(21, 18, 5), frozen=True)
    await actions.transfer(
        services, await user(services, lea), b, offices[PORT], "Pour Port-Argent"
    )
    # C: written at 23:30, nobody on duty: waits for Port-Argent's opening, never answered.
    c = await write(services, "chat-port-argent", "c", 1, utc(21, 21, 30))
    await answer(services, camille, b, utc(22, 7, 0, 45))
    return Ids({"a": a, "b": b, "c": c, "d": d}, accounts, offices, users)


def expected_rows(ids: Ids) -> dict[str, dict[str, Any]]:
    """The JSON rows worked out by hand (seconds; nearest rank: of n sorted values the median
    is the ⌈n/2⌉-th, the p90 the ⌈0.9 n⌉-th)."""
    return {
        # Chat de Port-Argent: first turns A (1800 s) and C (unanswered); later turn A2 (60 s),
        # of Saint-Clair's duty, answered by Camille of Port-Argent.
        CHAT_PORT: dict(
            key=ids.accounts[CHAT_PORT], label=CHAT_PORT, conversations=2, replied=1,
            reply_rate=0.5, mean_seconds=1800, mean_duty_seconds=1800, median_seconds=1800,
            median_duty_seconds=1800, p90_seconds=1800, p90_duty_seconds=1800,
            within_target=0.0, within_target_count=0, later_turns=1, later_replied=1,
            later_median_seconds=60, later_median_duty_seconds=60, answered_by_another_office=1,
        ),
        # Chat de Saint-Clair: D (90 s) and B (46,875 s wall, 75 s on duty): both within the
        # 2-minute target on duty (on the wall clock B would not be); later turn D2 (240 s).
        CHAT_SAINT: dict(
            key=ids.accounts[CHAT_SAINT], label=CHAT_SAINT, conversations=2, replied=2,
            reply_rate=1.0, mean_seconds=(90 + 46875) / 2, mean_duty_seconds=(90 + 75) / 2,
            median_seconds=90, median_duty_seconds=75, p90_seconds=46875, p90_duty_seconds=90,
            within_target=1.0, within_target_count=2, later_turns=1, later_replied=1,
            later_median_seconds=240, later_median_duty_seconds=240,
            answered_by_another_office=1,
        ),
        # Offices on duty: Port-Argent had A and C; Saint-Clair B, D, and the later turns A2
        # and D2. A2 and B were answered by Port-Argent.
        PORT: dict(
            key=ids.offices[PORT], label=PORT, conversations=2, replied=1, reply_rate=0.5,
            mean_seconds=1800, mean_duty_seconds=1800, median_seconds=1800,
            median_duty_seconds=1800, p90_seconds=1800, p90_duty_seconds=1800,
            within_target=0.0, within_target_count=0, later_turns=0, later_replied=0,
            later_median_seconds=None, later_median_duty_seconds=None,
            answered_by_another_office=0,
        ),
        SAINT: dict(
            key=ids.offices[SAINT], label=SAINT, conversations=2, replied=2, reply_rate=1.0,
            mean_seconds=(90 + 46875) / 2, mean_duty_seconds=(90 + 75) / 2, median_seconds=90,
            median_duty_seconds=75, p90_seconds=46875, p90_duty_seconds=90, within_target=1.0,
            within_target_count=2, later_turns=2, later_replied=2, later_median_seconds=60,
            later_median_duty_seconds=60, answered_by_another_office=2,
        ),
        "total": dict(
            key=0, label="", conversations=4, replied=3, reply_rate=0.75,
            mean_seconds=(1800 + 90 + 46875) / 3, mean_duty_seconds=(1800 + 90 + 75) / 3,
            median_seconds=1800, median_duty_seconds=90, p90_seconds=46875,
            p90_duty_seconds=1800, within_target=0.5, within_target_count=2, later_turns=2,
            later_replied=2, later_median_seconds=60, later_median_duty_seconds=60,
            answered_by_another_office=2,
        ),
        # Advisers: the conversations whose first reply they wrote (no reply rate: always all),
        # and their later turns apart. Camille: A (1800/1800) and B (46,875/75); later A2.
        "Camille Martin": dict(
            key=ids.users["Camille Martin"], label="Camille Martin",
            conversations_first_answered=2, mean_seconds=(1800 + 46875) / 2,
            mean_duty_seconds=(1800 + 75) / 2, median_seconds=1800, median_duty_seconds=75,
            p90_seconds=46875, p90_duty_seconds=1800, within_target=0.5, within_target_count=1,
            later_replied=1, later_median_seconds=60, later_median_duty_seconds=60,
        ),
        "Léa Dubois": dict(
            key=ids.users["Léa Dubois"], label="Léa Dubois", conversations_first_answered=1,
            mean_seconds=90, mean_duty_seconds=90, median_seconds=90, median_duty_seconds=90,
            p90_seconds=90, p90_duty_seconds=90, within_target=1.0, within_target_count=1,
            later_replied=1, later_median_seconds=240, later_median_duty_seconds=240,
        ),
    }  # fmt: skip


def expected_turns(ids: Ids) -> list[dict[str, str]]:
    """The conversation CSV's rows by hand: one per turn, names beside ids, whole seconds."""
    port, saint = ids.offices[PORT], ids.offices[SAINT]
    camille, lea = ids.users["Camille Martin"], ids.users["Léa Dubois"]

    def row(
        conversation: str, account: str, key: str, office: str, first: int, started: str,
        answered: str, wall: str, duty: str, responder: str, responder_office: str,
    ) -> dict[str, str]:  # fmt: skip
        responder_id = {"": "", "Camille Martin": camille, "Léa Dubois": lea}[responder]
        answering = {"": "", PORT: port, SAINT: saint}[responder_office]
        return {
            "conversation_id": str(ids.conversations[conversation]),
            "account_id": str(ids.accounts[account]),
            "account_key": key,
            "account": account,
            "channel": "webchat",
            "office_on_duty_id": str(ids.offices[office]),
            "office_on_duty": office,
            "first_response": str(first),
            "started_at": started,
            "answered_at": answered,
            "wall_seconds": wall,
            "on_duty_seconds": duty,
            "responder_id": str(responder_id),
            "responder": responder,
            "responder_office_id": str(answering),
            "responder_office": responder_office,
            "answered_by_another_office": ""
            if not responder_office
            else str(int(responder_office != office)),
        }

    cp, cs = (CHAT_PORT, "chat-port-argent"), (CHAT_SAINT, "chat-saint-clair")
    return sorted(
        [
            row("a", *cp, PORT, 1, "2026-07-21T09:50:00+00:00", "2026-07-21T10:20:00+00:00",
                "1800", "1800", "Camille Martin", PORT),
            row("a", *cp, SAINT, 0, "2026-07-21T10:30:00+00:00", "2026-07-21T10:31:00+00:00",
                "60", "60", "Camille Martin", PORT),
            row("d", *cs, SAINT, 1, "2026-07-21T08:00:00+00:00", "2026-07-21T08:01:30+00:00",
                "90", "90", "Léa Dubois", SAINT),
            row("d", *cs, SAINT, 0, "2026-07-21T11:00:00+00:00", "2026-07-21T11:04:00+00:00",
                "240", "240", "Léa Dubois", SAINT),
            row("b", *cs, SAINT, 1, "2026-07-21T17:59:30+00:00", "2026-07-22T07:00:45+00:00",
                "46875", "75", "Camille Martin", PORT),
            row("c", *cp, PORT, 1, "2026-07-21T21:30:00+00:00", "", "", "", "", ""),
        ],
        key=lambda r: (r["conversation_id"], r["started_at"]),
    )  # fmt: skip


def csv_value(name: str, value: object) -> str:
    """How the aggregated CSVs write a JSON value: whole seconds, rates to 4 places."""
    if value is None:
        return ""
    if name.endswith("_seconds"):
        assert isinstance(value, int | float)
        return str(int(value + 0.5))
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def read(live: LiveServer) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        data = client.get(f"/api/metrics?{DAY}").json()
        tables = {
            kind: list(csv.DictReader(io.StringIO(
                client.get(f"/api/metrics/export.csv?kind={kind}&{DAY}").text)))
            for kind in ("conversations", "accounts", "offices", "advisers")
        }  # fmt: skip
    return data, tables


def check(data: dict[str, Any], tables: dict[str, list[dict[str, str]]], ids: Ids) -> None:
    rows = expected_rows(ids)
    # Most conversations first, then by name.
    assert data["accounts"] == [rows[CHAT_PORT], rows[CHAT_SAINT]]
    assert data["offices"] == [rows[PORT], rows[SAINT]]
    assert data["total"] == rows["total"]
    assert data["advisers"] == [rows["Camille Martin"], rows["Léa Dubois"]]
    assert data["trend"] == [
        {
            "day": "2026-07-21",
            "median_seconds": 1800,  # of 90, 1800, 46875: the 2nd
            "median_duty_seconds": 90,  # of 75, 90, 1800
            "conversations": 4,
        }
    ]
    tuesday = data["heat"][1]
    assert [(h, c["turns"], c["median_seconds"], c["median_duty_seconds"])
            for h, c in enumerate(tuesday) if c["turns"]] == [
        (10, 1, 90, 90), (11, 1, 1800, 1800), (12, 1, 60, 60), (13, 1, 240, 240),
        (19, 1, 46875, 75), (23, 1, None, None),
    ]  # fmt: skip
    assert sum(c["turns"] for day in data["heat"] for c in day) == 6

    turns = sorted(tables["conversations"], key=lambda r: (r["conversation_id"], r["started_at"]))
    assert turns == expected_turns(ids)
    for kind, key, order in (
        ("accounts", "account", [CHAT_PORT, CHAT_SAINT]),
        ("offices", "office", [PORT, SAINT]),
        ("advisers", "adviser", ["Camille Martin", "Léa Dubois"]),
    ):
        wanted = [
            {f"{key}_id": str(rows[name]["key"]), key: name}
            | {c: csv_value(c, v) for c, v in rows[name].items() if c not in ("key", "label")}
            for name in order
        ]
        assert tables[kind] == wanted, kind
    assert tables["advisers"][0]["mean_seconds"] == "24338"  # 24,337.5 s rounded


async def test_every_column_of_the_json_and_the_csvs(live: LiveServer, services: Services) -> None:
    ids = await history(services)
    data, tables = read(live)  # the 21st read from its turns (its rollups not built yet)
    check(data, tables, ids)
    async with services.db.session() as session:
        place = (await session.exec(select(Destination))).one()
    assert await build_stale(services.db, place, date(2026, 7, 22)) == 1
    built, built_tables = read(live)  # now from the rollups, the same to the last column
    check(built, built_tables, ids)
    assert built == data


async def test_names_are_todays_and_a_formula_stays_text(
    live: LiveServer, services: Services
) -> None:
    ids = await history(services)
    async with services.db.session() as session:
        place = (await session.exec(select(Destination))).one()
    await build_stale(services.db, place, date(2026, 7, 22))  # the 21st from its rollups
    async with services.db.session() as session:
        office = await session.get(Office, ids.offices[PORT])
        camille = await session.get(User, ids.users["Camille Martin"])
        assert office is not None and camille is not None
        office.name = '=HYPERLINK("http://evil.example","Port")'
        camille.name = "+Camille, dite « Cam »"
        session.add_all([office, camille])
        await session.commit()
    _, tables = read(live)
    answered_by_camille = [
        r for r in tables["conversations"] if r["responder_id"] == str(camille.id)
    ]
    assert len(answered_by_camille) == 3
    assert {r["responder"] for r in answered_by_camille} == {"'+Camille, dite « Cam »"}
    assert {r["responder_office"] for r in answered_by_camille} == {
        '\'=HYPERLINK("http://evil.example","Port")'
    }
    offices = {r["office_id"]: r["office"] for r in tables["offices"]}
    assert offices[str(ids.offices[PORT])].startswith("'=HYPERLINK")
    advisers = {r["adviser_id"]: r["adviser"] for r in tables["advisers"]}
    assert advisers[str(camille.id)] == "'+Camille, dite « Cam »"
