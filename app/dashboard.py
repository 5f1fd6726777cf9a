"""Response-time figures for managers: per account, per office on duty, per adviser, per day and
per hour of the week. Definitions: docs/metrics.md.

Figures come from the per-day rollups of the response turns (``app.rollups``): sorted durations
per day, account, office and adviser, merged here without re-sorting where they can be; today and
any day changed since its rollup are summarised from the turns. No page scans messages.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Account, Office, Role, RollupGrain, User
from app.rollups import Piece, TurnFilter, pieces
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


def kth(lists: Sequence[Sequence[float]], k: int) -> float:
    """The ``k``-th smallest value (from 0) of the union of sorted lists, without merging them.

    Each step takes the weighted median of the middles of the remaining ranges as the pivot and
    counts around it by bisection, so each discards a quarter of what remains or more."""
    live = [values for values in lists if values]
    if len(live) == 1:
        return live[0][k]
    lo = [0] * len(live)
    hi = [len(values) for values in live]
    while True:
        middles = sorted(
            (values[(a + b) // 2], b - a)
            for values, a, b in zip(live, lo, hi, strict=True)
            if b > a
        )
        if not middles:
            raise IndexError(k)
        half, seen = sum(w for _, w in middles) / 2, 0
        pivot = middles[-1][0]
        for value, weight in middles:
            seen += weight
            if seen >= half:
                pivot = value
                break
        below = [bisect_left(v, pivot, a, b) for v, a, b in zip(live, lo, hi, strict=True)]
        under = sum(x - a for x, a in zip(below, lo, strict=True))
        if k < under:
            hi = below
            continue
        upto = [bisect_right(v, pivot, a, b) for v, a, b in zip(live, lo, hi, strict=True)]
        through = sum(x - a for x, a in zip(upto, lo, strict=True))
        if k < through:
            return pivot
        k -= through
        lo = upto


def median(lists: Sequence[Sequence[float]]) -> float | None:
    """The middle value (the mean of the middle pair for an even count) of sorted lists."""
    n = sum(len(values) for values in lists)
    if not n:
        return None
    if n % 2:
        return kth(lists, n // 2)
    return (kth(lists, n // 2 - 1) + kth(lists, n // 2)) / 2


def nearest_rank(lists: Sequence[Sequence[float]], q: int) -> float | None:
    n = sum(len(values) for values in lists)
    if not n:
        return None
    return kth(lists, max(0, -(-q * n // 100) - 1))


class _Group:
    """Sorted durations and counts of some turns."""

    __slots__ = ("count", "duty", "replied", "times", "wall_sum", "within")

    def __init__(self) -> None:
        self.count = 0
        self.replied = 0
        self.within = 0
        self.wall_sum = 0.0
        self.times: list[list[float]] = []  # sorted lists
        self.duty: list[list[float]] = []

    def merge(self, other: _Group) -> None:
        self.count += other.count
        self.replied += other.replied
        self.within += other.within
        self.wall_sum += other.wall_sum
        self.times.extend(other.times)
        self.duty.extend(other.duty)

    def row(self, key: int, label: str) -> Row:
        return Row(
            key, label, self.count, self.replied, self.within,
            self.wall_sum / self.replied if self.replied else None, median(self.times),
            nearest_rank(self.times, 90), median(self.duty),
        )  # fmt: skip


def _sorted_group(
    found: Sequence[Piece], target: float | None, answered_only: bool, with_duty: bool = True
) -> _Group:
    """One group of pieces, their durations merged and sorted once (on-duty ones if asked)."""
    group = _Group()
    times: list[float] = []
    duty: list[float] = []
    for piece in found:
        group.count += piece.replied if answered_only else piece.turns
        group.replied += piece.replied
        group.wall_sum += piece.wall_sum
        times.extend(piece.walls)
        if with_duty:
            duty.extend(piece.duties)
    times.sort()
    duty.sort()
    if target is not None:
        group.within = bisect_right(times, target)
    group.times.append(times)
    group.duty.append(duty)
    return group


def _by(found: Iterable[Piece], key: Callable[[Piece], Any]) -> dict[Any, list[Piece]]:
    groups: dict[Any, list[Piece]] = {}
    for piece in found:
        groups.setdefault(key(piece), []).append(piece)
    return groups


def _table(groups: dict[int, _Group], labels: dict[int, str]) -> list[Row]:
    built = [group.row(key, labels.get(key, "?")) for key, group in groups.items()]
    return sorted(built, key=lambda r: (-r.conversations, r.label))


@dataclass
class Tables:
    accounts: list[Row]
    offices: list[Row]
    total: Row


@dataclass
class Scope:
    """What a user asked for and may see: labels, targets and the filter on turns."""

    where: TurnFilter
    timezone: str
    accounts: dict[int, Account]
    offices: dict[int, Office]
    users: dict[int, str]

    def target(self, account_id: int) -> float:
        account = self.accounts.get(account_id)
        if account is None:
            return float(DEFAULT_TARGETS["twitter"])
        if account.target_seconds:
            return float(account.target_seconds)
        return float(DEFAULT_TARGETS.get(account.channel, DEFAULT_TARGETS["twitter"]))


async def scope(session: AsyncSession, user: User, filters: Filters, timezone: str) -> Scope:
    """Checks ``filters`` against what ``user`` may see (422 unknown, 403 not theirs)."""
    accounts = {
        a.id: a
        for a in (
            await session.exec(select(Account).where(Account.destination_id == user.destination_id))
        ).all()
        if a.id is not None
    }
    offices = {
        o.id: o
        for o in (
            await session.exec(select(Office).where(Office.destination_id == user.destination_id))
        ).all()
        if o.id is not None
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
        if u.id is not None
    }
    chosen: frozenset[int] | None = None
    if filters.channel or filters.account_id is not None:
        chosen = frozenset(
            key
            for key, a in accounts.items()
            if (not filters.channel or a.channel == filters.channel)
            and (filters.account_id is None or key == filters.account_id)
        )
    where = TurnFilter(
        user.destination_id,
        chosen,
        office_scope,
        user.id if user.role == Role.ADVISER else None,
    )
    return Scope(where, timezone, accounts, offices, users)


async def day_pieces(session: AsyncSession, seen: Scope, period: Period) -> list[Piece]:
    return await pieces(
        session, seen.where, RollupGrain.DAY, period.first, period.last, seen.timezone
    )


def account_tables(seen: Scope, found: Sequence[Piece]) -> Tables:
    """The per-account table, the same per office on duty, and the totals (first turns)."""
    pairs = {
        pair: _sorted_group(group, seen.target(pair[0]), answered_only=False)
        for pair, group in _by(
            (p for p in found if p.first), lambda p: (p.account_id, p.office_on_duty_id)
        ).items()
    }
    by_account: dict[int, _Group] = {}
    by_office: dict[int, _Group] = {}
    total = _Group()
    for (account_id, office_id), group in pairs.items():
        by_account.setdefault(account_id, _Group()).merge(group)
        by_office.setdefault(office_id, _Group()).merge(group)
        total.merge(group)
    return Tables(
        _table(by_account, {k: a.name for k, a in seen.accounts.items()}),
        _table(by_office, {k: o.name for k, o in seen.offices.items()}),
        total.row(0, ""),
    )


def adviser_table(seen: Scope, found: Sequence[Piece]) -> list[Row]:
    """Every answered turn (first or later) per adviser who answered it."""
    groups: dict[int, _Group] = {}
    for responder, group in _by(
        (p for p in found if p.responder_id), lambda p: p.responder_id
    ).items():
        merged = _Group()
        for account_id, same in _by(group, lambda p: p.account_id).items():
            part = _sorted_group(same, seen.target(account_id), answered_only=True)
            merged.merge(part)
        groups[responder] = merged
    return _table(groups, seen.users)


def trend(period: Period, found: Sequence[Piece]) -> list[tuple[date, float | None, int]]:
    """Per day: the median first response and the number of conversations."""
    days = _by((p for p in found if p.first), lambda p: p.day)
    out: list[tuple[date, float | None, int]] = []
    for n in range((period.last - period.first).days + 1):
        day = period.first + timedelta(days=n)
        group = days.get(day.isoformat())
        if group is None:
            out.append((day, None, 0))
            continue
        sorted_group = _sorted_group(group, None, answered_only=False, with_duty=False)
        out.append((day, median(sorted_group.times), sorted_group.count))
    return out


async def heat(
    session: AsyncSession, seen: Scope, period: Period
) -> list[list[tuple[int, float | None]]]:
    """Per weekday and hour (local time): the turns that started then, and their median."""
    found = await pieces(
        session, seen.where, RollupGrain.HOUR, period.first, period.last, seen.timezone
    )
    hours = _by(found, lambda p: p.hour)
    cells: dict[int, tuple[int, float | None]] = {}
    for hour, group in hours.items():
        sorted_group = _sorted_group(group, None, answered_only=False, with_duty=False)
        cells[hour] = (sorted_group.count, median(sorted_group.times))
    return [[cells.get(w * 24 + h, (0, None)) for h in range(24)] for w in range(7)]


async def report(
    session: AsyncSession, user: User, period: Period, filters: Filters, timezone: str
) -> Report:
    """Everything the dashboard shows for one period."""
    seen = await scope(session, user, filters, timezone)
    found = await day_pieces(session, seen, period)
    tables = account_tables(seen, found)
    return Report(
        period,
        tables.accounts,
        tables.offices,
        adviser_table(seen, found),
        tables.total,
        trend(period, found),
        await heat(session, seen, period),
    )


async def totals(
    session: AsyncSession, user: User, period: Period, filters: Filters, timezone: str
) -> Row:
    """The totals alone (the previous period's comparison, the live tiles)."""
    seen = await scope(session, user, filters, timezone)
    return account_tables(seen, await day_pieces(session, seen, period)).total
