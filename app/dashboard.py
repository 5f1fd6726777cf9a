"""Response-time figures for managers: per account, per office on duty, per adviser, per day and
per hour of the week. Definitions: docs/metrics.md.

Figures come from the response turns recorded as conversations happen (``ResponseTurn``), read
through the index on (started_at, account); no page scans messages.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account, Office, ResponseTurn, Role, User
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
    times: list[float] = field(default_factory=list)
    duty_times: list[float] = field(default_factory=list)

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.conversations if self.conversations else None

    @property
    def within_rate(self) -> float | None:
        return self.within_target / self.conversations if self.conversations else None

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.times) if self.times else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def p90(self) -> float | None:
        return percentile(self.times, 90)

    @property
    def median_duty(self) -> float | None:
        return statistics.median(self.duty_times) if self.duty_times else None

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


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


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
    query = select(ResponseTurn).where(
        col(ResponseTurn.started_at) >= period.start,
        col(ResponseTurn.started_at) < period.end,
        col(ResponseTurn.account_id).in_(list(accounts)),
    )
    if filters.channel:
        query = query.where(ResponseTurn.channel == filters.channel)
    if filters.account_id is not None:
        query = query.where(ResponseTurn.account_id == filters.account_id)
    if office_scope is not None:
        query = query.where(
            (col(ResponseTurn.office_on_duty_id) == office_scope)
            | (col(ResponseTurn.responder_office_id) == office_scope)
        )
    if user.role == Role.ADVISER:
        query = query.where(ResponseTurn.responder_id == user.id)
    turns = (await session.exec(query)).all()
    users = {
        u.id: u.name
        for u in (
            await session.exec(select(User).where(User.destination_id == user.destination_id))
        ).all()
    }
    return build_report(period, turns, accounts, offices, users, timezone)


def _target(account: Account | None, channel: str) -> float:
    if account is not None and account.target_seconds:
        return float(account.target_seconds)
    return float(DEFAULT_TARGETS.get(channel, 3600))


def _add(row: Row, turn: ResponseTurn, target: float) -> None:
    row.conversations += 1
    if turn.wall_seconds is not None:
        row.replied += 1
        row.times.append(turn.wall_seconds)
        if turn.duty_seconds is not None:
            row.duty_times.append(turn.duty_seconds)
        if turn.wall_seconds <= target:
            row.within_target += 1


def build_report(
    period: Period,
    turns: Iterable[ResponseTurn],
    accounts: dict[int | None, Account],
    offices: dict[int | None, Office],
    users: dict[int | None, str],
    timezone: str,
) -> Report:
    zone = ZoneInfo(timezone)
    by_account: dict[int, Row] = {}
    by_office: dict[int, Row] = {}
    by_adviser: dict[int, Row] = {}
    total = Row(0, "")
    per_day: dict[date, list[float]] = defaultdict(list)
    per_day_count: dict[date, int] = defaultdict(int)
    heat_count = [[0] * 24 for _ in range(7)]
    heat_times: list[list[list[float]]] = [[[] for _ in range(24)] for _ in range(7)]
    for turn in turns:
        account = accounts.get(turn.account_id)
        target = _target(account, turn.channel)
        weekday, hour = divmod(turn.hour_of_week, 24)
        heat_count[weekday][hour] += 1
        if turn.wall_seconds is not None:
            heat_times[weekday][hour].append(turn.wall_seconds)
        if turn.responder_id is not None and turn.wall_seconds is not None:
            adviser = by_adviser.setdefault(
                turn.responder_id, Row(turn.responder_id, users.get(turn.responder_id, "?"))
            )
            _add(adviser, turn, target)
        if not turn.first:
            continue
        label = account.name if account else "?"
        _add(by_account.setdefault(turn.account_id, Row(turn.account_id, label)), turn, target)
        office = offices.get(turn.office_on_duty_id)
        _add(
            by_office.setdefault(
                turn.office_on_duty_id, Row(turn.office_on_duty_id, office.name if office else "?")
            ),
            turn,
            target,
        )
        _add(total, turn, target)
        day = turn.started_at.astimezone(zone).date()
        per_day_count[day] += 1
        if turn.wall_seconds is not None:
            per_day[day].append(turn.wall_seconds)
    days = [period.first + timedelta(days=n) for n in range((period.last - period.first).days + 1)]
    trend = [
        (d, statistics.median(per_day[d]) if per_day[d] else None, per_day_count[d]) for d in days
    ]
    heat = [
        [
            (heat_count[w][h], statistics.median(heat_times[w][h]) if heat_times[w][h] else None)
            for h in range(24)
        ]
        for w in range(7)
    ]

    def ordered(rows: dict[int, Row]) -> list[Row]:
        return sorted(rows.values(), key=lambda r: (-r.conversations, r.label))

    return Report(
        period, ordered(by_account), ordered(by_office), ordered(by_adviser), total, trend, heat
    )
