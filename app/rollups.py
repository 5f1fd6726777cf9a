"""Per-day rollups of the response turns, so the dashboard never reads every turn of a period.

Each write to a turn bumps its local day's ``RollupDay.changes`` in the same transaction. A
background pass rebuilds the rollups of past days whose ``built`` count lags behind, from the
turns: one ``TurnRollup`` row per (account, office on duty, responding office, adviser, first or
later turn) with its durations as a sorted array, the same per hour of the week, and the day's
CSV lines. Readers take rollups only for days where ``built == changes`` and summarise the other
days — today, usually — from the turns themselves, with the same code; both paths give the same
figures. A rebuild replaces a day's rows in one transaction, and the count it records was read
before the turns, so a write that races a rebuild leaves the day stale, never wrong.
"""

from __future__ import annotations

import array
import asyncio
import csv
import io
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, text
from sqlalchemy import select as select_core
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db, keys, leadership
from app.models import CsvRollup, Destination, RollupGrain, TurnRollup
from rota.timeutil import to_utc

if TYPE_CHECKING:
    from app.db import Database
    from app.services import Services

log = logging.getLogger(__name__)

CSV_COLUMNS = (
    "conversation_id", "account_id", "account_key", "account", "office_on_duty_id",
    "office_on_duty", "responder_id", "responder", "responder_office_id", "responder_office",
    "answered_by_another_office", "channel", "first_response", "started_at", "answered_at",
    "wall_seconds", "on_duty_seconds",
)  # fmt: skip
# The format of the stored rollups, marked on every DAY row (``hour_of_week``, unused there): a
# day built by an older version (-1: without on-duty durations per hour, CSV lines without
# names; -2: CSV lines with one mark per name) is read from its turns and rebuilt by the next
# pass, with no migration.
DAY_FORMAT = -3
# Stored CSV lines hold this mark in place of who: the account, the offices and the adviser,
# with their names and whether another office answered, written at reading (a rename shows at
# once). Each stored body has one account, office on duty, adviser and office answering, so its
# mark stands for the same text on every line: one replacement per body. No other field
# (numbers, times, a channel) holds a NUL.
_MARK = "\x00"
LEASE_SECONDS = 300
BUILD_BATCH = 31  # days rebuilt per pass and destination


# --- the write side -----------------------------------------------------------------------------

_BUMP = text(
    "INSERT INTO rollupday (destination_id, local_day, changes, built) VALUES (:d, :day, 1, 0) "
    "ON CONFLICT (destination_id, local_day) DO UPDATE SET changes = rollupday.changes + 1"
)


async def day_changed(session: AsyncSession, destination_id: int, day: str) -> None:
    """Marks a local day's rollups stale; call in the transaction that writes its turns."""
    await db.plain_write(session, _BUMP, {"d": destination_id, "day": day})


# --- pieces: the unit both paths produce --------------------------------------------------------


@dataclass(slots=True)
class Piece:
    """Turns sharing a day (and hour), account, offices, responder and first/later."""

    day: str
    hour: int
    account_id: int
    office_on_duty_id: int
    responder_office_id: int
    responder_id: int
    first: bool
    turns: int = 0
    replied: int = 0
    wall_sum: float = 0.0
    walls: list[float] = field(default_factory=list)  # sorted
    duties: list[float] = field(default_factory=list)  # sorted


_TURNS = SQLModel.metadata.tables["responseturn"]
_ACCOUNTS = SQLModel.metadata.tables["account"]
# The columns every summary needs, in this order; the CSV adds its own.
TURN_COLUMNS = (
    _TURNS.c.account_id,
    _TURNS.c.office_on_duty_id,
    func.coalesce(_TURNS.c.responder_office_id, 0),
    func.coalesce(_TURNS.c.responder_id, 0),
    _TURNS.c.first,
    _TURNS.c.wall_seconds,
    _TURNS.c.duty_seconds,
    _TURNS.c.hour_of_week,
    _TURNS.c.local_day,
)
CSV_EXTRA = (
    _TURNS.c.conversation_id,
    _ACCOUNTS.c.key,
    _TURNS.c.channel,
    _TURNS.c.started_at,
    _TURNS.c.answered_at,
)


def summarise(rows: Iterable[Sequence[Any]], grain: RollupGrain) -> list[Piece]:
    """Pieces of ``rows`` (TURN_COLUMNS first), durations sorted."""
    pieces: dict[tuple[Any, ...], Piece] = {}
    by_hour = grain == RollupGrain.HOUR
    for row in rows:
        account, duty_office, responder_office, responder, first, wall, duty, hour, day = row[:9]
        if by_hour:
            key: tuple[Any, ...] = (day, hour, account, duty_office, responder_office)
        else:
            key = (day, account, duty_office, responder_office, responder, bool(first))
        piece = pieces.get(key)
        if piece is None:
            piece = pieces[key] = (
                Piece(day, hour, account, duty_office, responder_office, 0, False)
                if by_hour
                else Piece(day, -1, account, duty_office, responder_office, responder, bool(first))
            )
        piece.turns += 1
        if wall is not None:
            piece.replied += 1
            piece.wall_sum += wall
            piece.walls.append(wall)
            if duty is not None:
                piece.duties.append(duty)
    for piece in pieces.values():
        piece.walls.sort()
        piece.duties.sort()
    return list(pieces.values())


@dataclass(frozen=True, slots=True)
class CsvNames:
    """The names written beside the ids in the CSV (accounts, offices, users), and the
    accounts' keys."""

    accounts: dict[int, str]
    offices: dict[int, str]
    users: dict[int, str]
    keys: dict[int, str]

    def of(self, kind: int, key: int) -> str:
        if not key:
            return ""
        found = (self.accounts, self.offices, self.users, self.offices)[kind]
        return found.get(key, "?")


def seconds(value: float | None) -> int | str:
    """Seconds as a whole number (rounded to the nearest), blank for none."""
    return "" if value is None else int(value + 0.5)


def cell(value: str) -> str:
    """A name a spreadsheet would read as a formula (=, +, -, @, tab, CR) goes after a quote."""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def who(ids: tuple[int, int, int, int], names: CsvNames) -> list[object]:
    """The CSV fields from ``account_id`` to ``answered_by_another_office`` for a turn of
    ``ids`` (account, office on duty, adviser, office answering; 0 for none)."""
    account, duty_office, responder, responder_office = ids
    elsewhere = "" if not responder_office else int(responder_office != duty_office)
    return [
        account, cell(names.keys.get(account, "")), cell(names.of(0, account)),
        duty_office, cell(names.of(1, duty_office)), responder or "",
        cell(names.of(2, responder)), responder_office or "", cell(names.of(3, responder_office)),
        elsewhere,
    ]  # fmt: skip


def csv_line(writer: Any, row: Sequence[Any], names: CsvNames | None = None) -> None:
    """One turn as a CSV row; ``row`` is TURN_COLUMNS then CSV_EXTRA. Without ``names``, who
    answered for whom is a mark to replace at reading (:func:`named`)."""
    (account, duty_office, responder_office, responder, first, wall, duty, _, _,
     conversation, _, channel, started, answered) = row  # fmt: skip
    block: list[object] = (
        [_MARK] if names is None
        else who((account, duty_office, responder, responder_office), names)
    )  # fmt: skip
    writer.writerow(
        (conversation, *block, channel, int(bool(first)), started.isoformat(),
         answered.isoformat() if answered else "", seconds(wall), seconds(duty))
    )  # fmt: skip


def named(
    body: bytes,
    ids: tuple[int, int, int, int],
    names: CsvNames,
    cache: dict[tuple[int, int, int, int], bytes] | None = None,
) -> bytes:
    """A stored body with who answered for whom written in (``ids``: account, office on duty,
    adviser, office answering); ``cache`` keeps each ``ids``' text for the next bodies."""
    text = None if cache is None else cache.get(ids)
    if text is None:
        out = io.StringIO()
        csv.writer(out).writerow(who(ids, names))
        text = out.getvalue().removesuffix("\r\n").encode()
        if cache is not None:
            cache[ids] = text
    return body.replace(_MARK.encode(), text)


# --- reading ------------------------------------------------------------------------------------


def day_bounds(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    return to_utc(first, 0, zone), to_utc(last + timedelta(days=1), 0, zone)


def runs(days: Sequence[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    start = previous = None
    for day in sorted(days):
        if previous is not None and day == previous + timedelta(days=1):
            previous = day
            continue
        if start is not None and previous is not None:
            yield start, previous
        start = previous = day
    if start is not None and previous is not None:
        yield start, previous


@dataclass(frozen=True, slots=True)
class TurnFilter:
    """Which turns a reader may see, as SQL over ``responseturn t JOIN account a``."""

    destination_id: int
    account_ids: frozenset[int] | None = None  # None: every account
    office_id: int | None = None  # turns this office was on duty for or answered
    responder_id: int | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        t = _TURNS.c
        found = [_ACCOUNTS.c.destination_id == self.destination_id]
        if self.account_ids is not None:
            found.append(t.account_id.in_(sorted(self.account_ids)))
        if self.office_id is not None:
            found.append(or_(t.office_on_duty_id == self.office_id,
                             t.responder_office_id == self.office_id))  # fmt: skip
        if self.responder_id is not None:
            found.append(t.responder_id == self.responder_id)
        return found

    def keeps(
        self, account_id: int, duty_office: int, responder_office: int, responder: int
    ) -> bool:
        if self.account_ids is not None and account_id not in self.account_ids:
            return False
        if self.office_id is not None and self.office_id not in (duty_office, responder_office):
            return False
        return self.responder_id is None or responder == self.responder_id


async def clean_days(
    conn: AsyncConnection, destination_id: int, first: date, last: date
) -> set[str]:
    """Days of the period whose stored rollups match their turns (and today's format)."""
    result = await conn.execute(
        text(
            "SELECT local_day FROM rollupday WHERE destination_id = :d AND local_day >= :first "
            "AND local_day <= :last AND built = changes AND NOT EXISTS (SELECT 1 FROM turnrollup r "
            "WHERE r.destination_id = rollupday.destination_id AND r.grain = 0 "
            "AND r.local_day = rollupday.local_day AND r.hour_of_week != :format)"
        ),
        {
            "d": destination_id,
            "first": first.isoformat(),
            "last": last.isoformat(),
            "format": DAY_FORMAT,
        },
    )
    return {row[0] for row in result.all()}


async def scan(
    conn: AsyncConnection,
    where: TurnFilter,
    days: Sequence[date],
    timezone: str,
    csv_columns: bool = False,
) -> list[Sequence[Any]]:
    """The turns of ``days`` that ``where`` keeps, read through the dashboard's covering index
    (TURN_COLUMNS, then CSV_EXTRA in order of arrival if asked)."""
    rows: list[Sequence[Any]] = []
    for first, last in runs(days):
        start, end = day_bounds(first, last, timezone)
        query = (
            select_core(*TURN_COLUMNS, *(CSV_EXTRA if csv_columns else ()))
            .select_from(_TURNS.join(_ACCOUNTS, _ACCOUNTS.c.id == _TURNS.c.account_id))
            .where(_TURNS.c.started_at >= start, _TURNS.c.started_at < end, *where.clauses())
        )
        if csv_columns:
            query = query.order_by(_TURNS.c.started_at)
        rows.extend((await conn.execute(query)).all())
    return rows


def _floats(blob: bytes) -> list[float]:
    values = array.array("d")
    values.frombytes(blob)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


def _blob(values: list[float]) -> bytes:
    packed = array.array("d", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


async def stored(
    conn: AsyncConnection, where: TurnFilter, grain: RollupGrain, days: set[str]
) -> list[Piece]:
    """The stored pieces of ``days`` (clean days) that ``where`` keeps."""
    if not days:
        return []
    result = await conn.execute(
        text(
            "SELECT local_day, hour_of_week, account_id, office_on_duty_id, responder_office_id, "
            "responder_id, first, turns, replied, wall_sum, walls, duties FROM turnrollup "
            "WHERE destination_id = :d AND grain = :grain AND local_day >= :first "
            "AND local_day <= :last"
        ),
        {"d": where.destination_id, "grain": int(grain), "first": min(days), "last": max(days)},
    )
    keeps = where.keeps
    return [
        thaw(row)
        for row in result.all()
        if row[0] in days and keeps(row[2], row[3], row[4], row[5])
    ]


# A stored TurnRollup row as ``stored`` reads it: day, hour, account, office on duty, office
# answering, adviser, first, turns, replied, wall sum, walls (float64 blob), duties (blob).
StoredRow = tuple[str, int, int, int, int, int, bool, int, int, float, bytes, bytes]


def thaw(row: Sequence[Any]) -> Piece:
    """A piece from its stored row (see ``StoredRow``)."""
    (day, hour, account, duty, resp_office, responder, first, turns, replied, wall_sum, walls,
     duties) = row  # fmt: skip
    return Piece(day, hour, account, duty, resp_office, responder, bool(first), turns, replied,
                 wall_sum, _floats(walls), _floats(duties))  # fmt: skip


def freeze(piece: Piece) -> StoredRow:
    """A piece as it is stored (see ``StoredRow``); ``thaw`` gives it back."""
    return (piece.day, piece.hour, piece.account_id, piece.office_on_duty_id,
            piece.responder_office_id, piece.responder_id, piece.first, piece.turns,
            piece.replied, piece.wall_sum, _blob(piece.walls), _blob(piece.duties))  # fmt: skip


async def pieces(
    session: AsyncSession,
    where: TurnFilter,
    grain: RollupGrain,
    first: date,
    last: date,
    timezone: str,
) -> list[Piece]:
    """The period's pieces: stored for clean days, summarised from the turns for the others.

    Rollups carry no adviser on HOUR rows: a reader limited to one adviser reads the turns."""
    conn = await session.connection()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    clean: set[str] = set()
    if not (grain == RollupGrain.HOUR and where.responder_id is not None):
        clean = await clean_days(conn, where.destination_id, first, last)
    live = [d for d in days if d.isoformat() not in clean]
    found = await stored(conn, where, grain, clean)
    if live:
        found.extend(summarise(await scan(conn, where, live, timezone), grain))
    return found


_NAMES = (
    text("SELECT id, name FROM account WHERE destination_id = :d"),
    text("SELECT id, name FROM office WHERE destination_id = :d"),
    text('SELECT id, name FROM "user" WHERE destination_id = :d'),
    text("SELECT id, key FROM account WHERE destination_id = :d"),
)


async def csv_names(conn: AsyncConnection, destination_id: int) -> CsvNames:
    """The destination's account, office and user names, by id."""
    found: list[dict[int, str]] = []
    for query in _NAMES:
        result = await conn.execute(query, {"d": destination_id})
        found.append({row[0]: row[1] for row in result.all()})
    return CsvNames(*found)


async def csv_chunks(
    session: AsyncSession, where: TurnFilter, first: date, last: date, timezone: str
) -> list[bytes]:
    """The period's turns as CSV (UTF-8, no header), day by day: stored lines for clean days,
    with today's names."""
    conn = await session.connection()
    names = await csv_names(conn, where.destination_id)
    clean = await clean_days(conn, where.destination_id, first, last)
    stored_bodies: dict[str, list[bytes]] = {}
    if clean:
        result = await conn.execute(
            text(
                "SELECT local_day, account_id, office_on_duty_id, responder_office_id, "
                "responder_id, body FROM csvrollup WHERE destination_id = :d "
                "AND local_day >= :first AND local_day <= :last ORDER BY local_day, id"
            ),
            {"d": where.destination_id, "first": min(clean), "last": max(clean)},
        )
        keeps = where.keeps
        cache: dict[tuple[int, int, int, int], bytes] = {}
        for day, account, duty, resp_office, responder, body in result.all():
            if day in clean and keeps(account, duty, resp_office, responder):
                stored_bodies.setdefault(day, []).append(
                    named(body, (account, duty, responder, resp_office), names, cache)
                )
    chunks: list[bytes] = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        if day.isoformat() in clean:
            chunks.extend(stored_bodies.get(day.isoformat(), ()))
            continue
        out = io.StringIO()
        writer = csv.writer(out)
        for row in await scan(conn, where, [day], timezone, csv_columns=True):
            csv_line(writer, row, names)
        chunks.append(out.getvalue().encode())
    return chunks


def csv_header() -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(CSV_COLUMNS)
    return out.getvalue().encode()


# --- building -----------------------------------------------------------------------------------


async def build_day(db: Database, destination: Destination, day: date) -> None:
    """Rebuilds one local day's rollups from its turns."""
    assert destination.id is not None
    everything = TurnFilter(destination.id)
    async with db.session() as session:
        conn = await session.connection()
        # The count first, then the turns: the rollups are at least as new as the count says.
        changes = (
            await conn.execute(
                text(
                    "SELECT changes FROM rollupday WHERE destination_id = :d AND local_day = :day"
                ),
                {"d": destination.id, "day": day.isoformat()},
            )
        ).scalar()
        rows = await scan(conn, everything, [day], destination.timezone, csv_columns=True)
    by_day = summarise(rows, RollupGrain.DAY)
    by_hour = summarise(rows, RollupGrain.HOUR)
    bodies: dict[tuple[int, int, int, int], tuple[io.StringIO, Any, int]] = {}
    for row in rows:
        key = (row[0], row[1], row[2], row[3])
        entry = bodies.get(key)
        if entry is None:
            out = io.StringIO()
            entry = (out, csv.writer(out), 0)
        csv_line(entry[1], row)
        bodies[key] = (entry[0], entry[1], entry[2] + 1)
    async with db.session() as session:
        conn = await session.connection()
        where = {"d": destination.id, "day": day.isoformat()}
        await conn.execute(
            text("DELETE FROM turnrollup WHERE destination_id = :d AND local_day = :day"), where
        )
        await conn.execute(
            text("DELETE FROM csvrollup WHERE destination_id = :d AND local_day = :day"), where
        )
        session.add_all(
            TurnRollup(
                destination_id=destination.id, grain=grain, local_day=day_, account_id=account,
                hour_of_week=hour if grain == RollupGrain.HOUR else DAY_FORMAT,
                office_on_duty_id=duty, responder_office_id=resp_office, responder_id=responder,
                first=first, turns=turns, replied=replied, wall_sum=wall_sum, walls=walls,
                duties=duties,
            )
            for grain, found in ((RollupGrain.DAY, by_day), (RollupGrain.HOUR, by_hour))
            for (day_, hour, account, duty, resp_office, responder, first, turns, replied,
                 wall_sum, walls, duties) in map(freeze, found)
        )  # fmt: skip
        session.add_all(
            CsvRollup(
                destination_id=destination.id, local_day=day.isoformat(), account_id=key[0],
                office_on_duty_id=key[1], responder_office_id=key[2], responder_id=key[3],
                rows=count, body=out.getvalue().encode(),
            )
            for key, (out, _, count) in sorted(bodies.items())
        )  # fmt: skip
        if changes is None:  # a day nobody marked (history written before rollups existed)
            await conn.execute(
                text(
                    "INSERT INTO rollupday (destination_id, local_day, changes, built) "
                    "VALUES (:d, :day, 0, 0) ON CONFLICT (destination_id, local_day) DO NOTHING"
                ),
                where,
            )
        else:
            await conn.execute(
                text(
                    "UPDATE rollupday SET built = :built "
                    "WHERE destination_id = :d AND local_day = :day"
                ),
                {**where, "built": changes},
            )
        await session.commit()


async def stale_days(db: Database, destination: Destination, before: date) -> list[date]:
    """Past days whose rollups lag behind their turns, oldest first (at most BUILD_BATCH)."""
    async with db.session() as session:
        conn = await session.connection()
        result = await conn.execute(
            text(
                "SELECT local_day FROM rollupday WHERE destination_id = :d "
                "AND (built != changes OR EXISTS (SELECT 1 FROM turnrollup r "
                "WHERE r.destination_id = rollupday.destination_id AND r.grain = 0 "
                "AND r.local_day = rollupday.local_day AND r.hour_of_week != :format)) "
                "AND local_day < :before ORDER BY local_day LIMIT :limit"
            ),
            {
                "d": destination.id,
                "before": before.isoformat(),
                "limit": BUILD_BATCH,
                "format": DAY_FORMAT,
            },
        )
        return [date.fromisoformat(row[0]) for row in result.all()]


async def mark_unmarked(db: Database, destination: Destination) -> None:
    """Marks the days that have turns but no ``RollupDay``: history written before rollups."""
    async with db.session() as session:
        conn = await session.connection()
        params = {"d": destination.id}
        if (
            await conn.execute(text("SELECT 1 FROM rollupday WHERE destination_id = :d"), params)
        ).first() is not None:
            return
        await conn.execute(
            text(
                "INSERT INTO rollupday (destination_id, local_day, changes, built) "
                "SELECT :d, t.local_day, 1, 0 FROM responseturn t "
                "JOIN account a ON a.id = t.account_id WHERE a.destination_id = :d "
                "GROUP BY t.local_day "
                # A turn recorded meanwhile may have marked its day: that day is marked already.
                "ON CONFLICT (destination_id, local_day) DO NOTHING"
            ),
            params,
        )
        await session.commit()


async def build_stale(db: Database, destination: Destination, today: date) -> int:
    """Rebuilds every past day whose rollups are stale; the number of days rebuilt."""
    built = 0
    while days := await stale_days(db, destination, today):
        for day in days:
            await build_day(db, destination, day)
        built += len(days)
    return built


async def _destinations(db: Database) -> list[Destination]:
    async with db.session() as session:
        return list((await session.exec(select(Destination))).all())


async def build_pass(services: Services, worker: str) -> int:
    """One batch of stale days per destination, by the worker holding the lease; days rebuilt."""
    if not await leadership.holds(services.redis, keys.rollup_lease(), worker, LEASE_SECONDS):
        return 0
    built = 0
    now = services.clock.now()
    for destination in await _destinations(services.db):
        await mark_unmarked(services.db, destination)
        today = now.astimezone(ZoneInfo(destination.timezone)).date()
        for day in await stale_days(services.db, destination, today):
            await build_day(services.db, destination, day)
            built += 1
    return built


async def keep_built(services: Services, worker: str) -> None:
    """Forever: rebuilds the rollups of stale past days, a batch per pass."""
    while True:
        try:
            days = await build_pass(services, worker)
            if days:
                log.info("rollups rebuilt for %d day(s)", days)
        except Exception:  # the pass must outlive a passing database or Redis error
            log.exception("rollup pass failed")
        await asyncio.sleep(services.settings.rollup_seconds)
