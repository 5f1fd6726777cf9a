"""Response-time figures for managers: per account, per office on duty, per adviser, per day and
per hour of the week. Definitions: docs/metrics.md.

Figures come from the response turns recorded as conversations happen (``ResponseTurn``), read
through the index on (started_at, account); no page scans messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import TextClause, bindparam, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account, Office, Role, User, UTCDateTime
from rota.timeutil import to_utc

DEFAULT_TARGETS = {"webchat": 120, "twitter": 3600, "email": 4 * 3600}
MAX_DAYS = 400


class DashboardError(ValueError):
    def __init__(self, code: str, status: int = 422) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date  # inclusive
    start: datetime
    end: datetime

    @classmethod
    def of(cls, first: date, last: date, timezone: str) -> Period:
        if last < first:
            raise DashboardError("error.period_inverted")
        if (last - first).days >= MAX_DAYS:
            raise DashboardError("error.period_too_long")
        zone = ZoneInfo(timezone)
        return cls(first, last, to_utc(first, 0, zone), to_utc(last + timedelta(days=1), 0, zone))

    def previous(self, timezone: str) -> Period:
        length = self.last - self.first + timedelta(days=1)
        return Period.of(self.first - length, self.first - timedelta(days=1), timezone)


@dataclass(frozen=True, slots=True)
class Filters:
    channel: str | None = None
    account_id: int | None = None
    office_id: int | None = None


@dataclass
class Row:
    key: int
    label: str
    conversations: int = 0
    replied: int = 0
    within_target: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    median_duty: float | None = None

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.conversations if self.conversations else None

    @property
    def within_rate(self) -> float | None:
        return self.within_target / self.conversations if self.conversations else None

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "label": self.label,
            "conversations": self.conversations,
            "replied": self.replied,
            "reply_rate": self.reply_rate,
            "mean_seconds": self.mean,
            "median_seconds": self.median,
            "p90_seconds": self.p90,
            "median_duty_seconds": self.median_duty,
            "within_target": self.within_rate,
        }


@dataclass
class Report:
    period: Period
    accounts: list[Row]
    offices: list[Row]
    advisers: list[Row]
    total: Row
    trend: list[tuple[date, float | None, int]]  # day, median first response, conversations
    heat: list[list[tuple[int, float | None]]]  # [weekday][hour] → (turns started, median)


def scope_office(user: User, requested: int | None) -> int | None:
    """Which office's figures ``user`` may read: managers of an office see that office."""
    if user.role == Role.DESTINATION_MANAGER:
        return requested
    if requested is not None and requested != user.office_id:
        raise DashboardError("error.not_your_office", 403)
    return user.office_id


async def report(
    session: AsyncSession, user: User, period: Period, filters: Filters, timezone: str
) -> Report:
    accounts = {
        a.id: a
        for a in (
            await session.exec(select(Account).where(Account.destination_id == user.destination_id))
        ).all()
    }
    offices = {
        o.id: o
        for o in (
            await session.exec(select(Office).where(Office.destination_id == user.destination_id))
        ).all()
    }
    if filters.account_id is not None and filters.account_id not in accounts:
        raise DashboardError("error.unknown_account")
    if filters.office_id is not None and filters.office_id not in offices:
        raise DashboardError("error.unknown_office")
    office_scope = scope_office(user, filters.office_id)
    users = {
        u.id: u.name
        for u in (
            await session.exec(select(User).where(User.destination_id == user.destination_id))
        ).all()
    }
    where = ["t.started_at >= :start", "t.started_at < :end", "a.destination_id = :destination"]
    params: dict[str, object] = {
        "start": period.start,
        "end": period.end,
        "destination": user.destination_id,
        **{f"default_{k}": v for k, v in DEFAULT_TARGETS.items()},
    }
    if filters.channel:
        where.append("t.channel = :channel")
        params["channel"] = filters.channel
    if filters.account_id is not None:
        where.append("t.account_id = :account")
        params["account"] = filters.account_id
    if office_scope is not None:
        where.append("(t.office_on_duty_id = :office OR t.responder_office_id = :office)")
        params["office"] = office_scope
    if user.role == Role.ADVISER:
        where.append("t.responder_id = :me")
        params["me"] = user.id
    conn = await session.connection()
    result = await conn.execute(_bound(_SCAN.format(where=" AND ".join(where))), params)
    return _aggregate(period, result.all(), accounts, offices, users)


class _Group:
    __slots__ = ("count", "duty", "replied", "times", "within")

    def __init__(self) -> None:
        self.count = 0
        self.replied = 0
        self.within = 0
        self.times: list[float] = []
        self.duty: list[float] = []

    def add(self, wall: float | None, duty: float | None, target: float) -> None:
        self.count += 1
        if wall is not None:
            self.replied += 1
            self.times.append(wall)
            if wall <= target:
                self.within += 1
            if duty is not None:
                self.duty.append(duty)

    def row(self, key: int, label: str) -> Row:
        times = sorted(self.times)
        return Row(
            key, label, self.count, self.replied, self.within,
            sum(times) / len(times) if times else None, median(times), nearest_rank(times, 90),
            median(sorted(self.duty)),
        )  # fmt: skip


def median(ordered: Sequence[float]) -> float | None:
    """The middle value (the mean of the middle pair for an even count)."""
    n = len(ordered)
    if not n:
        return None
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def nearest_rank(ordered: Sequence[float], q: int) -> float | None:
    if not ordered:
        return None
    return ordered[max(0, -(-q * len(ordered) // 100) - 1)]


def _aggregate(
    period: Period,
    rows: Sequence[Any],
    accounts: dict[int | None, Account],
    offices: dict[int | None, Office],
    users: dict[int | None, str],
) -> Report:
    by_account: dict[int, _Group] = {}
    by_office: dict[int, _Group] = {}
    by_adviser: dict[int, _Group] = {}
    total = _Group()
    by_day: dict[str, _Group] = {}
    by_hour: dict[int, _Group] = {}
    for account_id, office_id, responder_id, first, wall, duty, target, hour, day in rows:
        target = float(target)
        (by_hour.get(hour) or by_hour.setdefault(hour, _Group())).add(wall, duty, target)
        if responder_id is not None and wall is not None:
            (by_adviser.get(responder_id) or by_adviser.setdefault(responder_id, _Group())).add(
                wall, duty, target
            )
        if not first:
            continue
        (by_account.get(account_id) or by_account.setdefault(account_id, _Group())).add(
            wall, duty, target
        )
        (by_office.get(office_id) or by_office.setdefault(office_id, _Group())).add(
            wall, duty, target
        )
        (by_day.get(day) or by_day.setdefault(day, _Group())).add(wall, duty, target)
        total.add(wall, duty, target)

    def table(groups: dict[int, _Group], labels: dict[int | None, str]) -> list[Row]:
        built = [group.row(key, labels.get(key, "?")) for key, group in groups.items()]
        return sorted(built, key=lambda r: (-r.conversations, r.label))

    days = [period.first + timedelta(days=n) for n in range((period.last - period.first).days + 1)]
    trend: list[tuple[date, float | None, int]] = []
    for day in days:
        group = by_day.get(day.isoformat())
        trend.append(
            (day, median(sorted(group.times)) if group else None, group.count if group else 0)
        )
    heat = [
        [
            (by_hour[w * 24 + h].count, median(sorted(by_hour[w * 24 + h].times)))
            if w * 24 + h in by_hour
            else (0, None)
            for h in range(24)
        ]
        for w in range(7)
    ]
    return Report(
        period,
        table(by_account, {k: a.name for k, a in accounts.items()}),
        table(by_office, {k: o.name for k, o in offices.items()}),
        table(by_adviser, users),
        total.row(0, ""),
        trend,
        heat,
    )


def _bound(sql: str) -> TextClause:
    """Instants bound as the columns store them (UTC), on SQLite and PostgreSQL alike."""
    return text(sql).bindparams(
        bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
    )


# One scan of the period, read from the covering index; the target of each turn's account.
_SCAN = """
SELECT t.account_id, t.office_on_duty_id, t.responder_id, t.first, t.wall_seconds, t.duty_seconds,
       COALESCE(a.target_seconds, CASE t.channel WHEN 'webchat' THEN :default_webchat
            WHEN 'email' THEN :default_email ELSE :default_twitter END),
       t.hour_of_week, t.local_day
FROM responseturn t JOIN account a ON a.id = t.account_id
WHERE {where}
"""
