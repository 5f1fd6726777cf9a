"""Response-time figures for managers: per account, per office on duty, per adviser, per day and
per hour of the week. Definitions: docs/metrics.md.

Figures come from the per-day rollups of the response turns (``app.rollups``): sorted durations
per day, account, office and adviser, merged here without re-sorting where they can be; today and
any day changed since its rollup are summarised from the turns. No page scans messages.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
    """One line of a table. Definitions: docs/metrics.md.

    For accounts, offices and the totals, ``conversations`` are the conversations started in the
    period (first turns) credited there; for an adviser (``adviser=True``), the conversations whose
    first reply they wrote, so they have no reply rate. The first-response figures are over
    answered first turns, in wall-clock seconds and in on-duty seconds; ``within_target`` counts
    the first replies within the account's target on duty. Later turns (after a reply, or after a
    reopen) are counted apart. ``answered_elsewhere``: turns, first or later, answered by an
    adviser of another office than the one on duty."""

    key: int
    label: str
    conversations: int = 0
    replied: int = 0
    within_target: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    median_duty: float | None = None
    p90_duty: float | None = None
    mean_duty: float | None = None
    later_turns: int = 0
    later_replied: int = 0
    later_median: float | None = None
    later_median_duty: float | None = None
    answered_elsewhere: int = 0
    adviser: bool = False

    @property
    def reply_rate(self) -> float | None:
        if self.adviser:
            return None  # every conversation counted for an adviser is one they answered
        return self.replied / self.conversations if self.conversations else None

    @property
    def within_rate(self) -> float | None:
        return self.within_target / self.conversations if self.conversations else None

    def as_dict(self) -> dict[str, object]:
        first: dict[str, object] = (
            {"conversations_first_answered": self.conversations}
            if self.adviser
            else {
                "conversations": self.conversations,
                "replied": self.replied,
                "reply_rate": self.reply_rate,
            }
        )
        found: dict[str, object] = {
            "key": self.key,
            "label": self.label,
            **first,
            "mean_seconds": self.mean,
            "mean_duty_seconds": self.mean_duty,
            "median_seconds": self.median,
            "median_duty_seconds": self.median_duty,
            "p90_seconds": self.p90,
            "p90_duty_seconds": self.p90_duty,
            "within_target": self.within_rate,
            "within_target_count": self.within_target,
        }
        if not self.adviser:
            found["later_turns"] = self.later_turns
        found["later_replied"] = self.later_replied
        found["later_median_seconds"] = self.later_median
        found["later_median_duty_seconds"] = self.later_median_duty
        if not self.adviser:
            found["answered_by_another_office"] = self.answered_elsewhere
        return found


@dataclass(frozen=True, slots=True)
class Day:
    """One day of the trend: conversations started, and their first responses' medians."""

    day: date
    conversations: int
    median: float | None
    median_duty: float | None


@dataclass
class Report:
    period: Period
    accounts: list[Row]
    offices: list[Row]
    advisers: list[Row]
    total: Row
    trend: list[tuple[date, float | None, int]]  # day, median first response, conversations
    heat: list[list[tuple[int, float | None]]]  # [weekday][hour] → (turns started, median)
    days: list[Day] = field(default_factory=list)  # the trend with on-duty medians
    heat_duty: list[list[float | None]] = field(default_factory=list)  # [weekday][hour] median


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


def nearest_rank(lists: Sequence[Sequence[float]], q: int) -> float | None:
    """The ``q``-th percentile (0 < q <= 100) of sorted lists by the nearest-rank method: the
    ceil(q·n/100)-th smallest value (from 1) of the n values, None when there are none."""
    n = sum(len(values) for values in lists)
    if not n:
        return None
    rank = max(1, -(-q * n // 100))  # ceil in integers: no rounding error
    return kth(lists, rank - 1)


def median(lists: Sequence[Sequence[float]]) -> float | None:
    """The median by the nearest-rank method: the ceil(n/2)-th smallest value (from 1), always
    one of the values (the lower middle one for an even count)."""
    return nearest_rank(lists, 50)


class _Turns:
    """Counts and sorted durations of some turns (first ones, or later ones)."""

    __slots__ = ("count", "duty", "duty_sum", "replied", "times", "wall_sum", "within")

    def __init__(self) -> None:
        self.count = 0
        self.replied = 0
        self.within = 0
        self.wall_sum = 0.0
        self.duty_sum = 0.0
        self.times: list[list[float]] = []  # sorted lists (wall-clock seconds)
        self.duty: list[list[float]] = []  # sorted lists (on-duty seconds)

    def merge(self, other: _Turns) -> None:
        self.count += other.count
        self.replied += other.replied
        self.within += other.within
        self.wall_sum += other.wall_sum
        self.duty_sum += other.duty_sum
        self.times.extend(other.times)
        self.duty.extend(other.duty)

    def fill(self, found: Iterable[Piece], target: float | None, answered_only: bool) -> None:
        """Adds ``found``, their durations merged and sorted once."""
        times: list[float] = []
        duty: list[float] = []
        for piece in found:
            self.count += piece.replied if answered_only else piece.turns
            self.replied += piece.replied
            self.wall_sum += piece.wall_sum
            times.extend(piece.walls)
            duty.extend(piece.duties)
        times.sort()
        duty.sort()
        self.duty_sum += sum(duty)
        if target is not None:
            self.within += bisect_right(duty, target)  # judged on the time on duty
        self.times.append(times)
        self.duty.append(duty)


class _Group:
    """First turns, later turns, and the turns answered by another office than the one on duty."""

    __slots__ = ("elsewhere", "first", "later")

    def __init__(self) -> None:
        self.first = _Turns()
        self.later = _Turns()
        self.elsewhere = 0

    def merge(self, other: _Group) -> None:
        self.first.merge(other.first)
        self.later.merge(other.later)
        self.elsewhere += other.elsewhere

    def row(self, key: int, label: str, adviser: bool = False) -> Row:
        first, later = self.first, self.later
        return Row(
            key, label, first.count, first.replied, first.within,
            first.wall_sum / first.replied if first.replied else None,
            median(first.times), nearest_rank(first.times, 90),
            median(first.duty), nearest_rank(first.duty, 90),
            first.duty_sum / first.replied if first.replied else None,
            later.count, later.replied, median(later.times), median(later.duty),
            self.elsewhere, adviser,
        )  # fmt: skip


def _sorted_group(
    found: Sequence[Piece], target: float | None, answered_only: bool = False
) -> _Group:
    """One group of pieces, each kind of turn's durations merged and sorted once."""
    group = _Group()
    group.first.fill((p for p in found if p.first), target, answered_only)
    group.later.fill((p for p in found if not p.first), None, answered_only)
    group.elsewhere = sum(
        p.replied
        for p in found
        if p.responder_office_id and p.responder_office_id != p.office_on_duty_id
    )
    return group


def _by(found: Iterable[Piece], key: Callable[[Piece], Any]) -> dict[Any, list[Piece]]:
    groups: dict[Any, list[Piece]] = {}
    for piece in found:
        groups.setdefault(key(piece), []).append(piece)
    return groups


def _table(groups: dict[int, _Group], labels: dict[int, str], adviser: bool = False) -> list[Row]:
    built = [group.row(key, labels.get(key, "?"), adviser) for key, group in groups.items()]
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
    """The per-account table, the same per office on duty, and the totals."""
    pairs = {
        pair: _sorted_group(group, seen.target(pair[0]))
        for pair, group in _by(found, lambda p: (p.account_id, p.office_on_duty_id)).items()
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
    """Per adviser: the conversations whose first reply they wrote (with those replies'
    figures) and the later turns they answered, apart."""
    groups: dict[int, _Group] = {}
    for responder, group in _by(
        (p for p in found if p.responder_id), lambda p: p.responder_id
    ).items():
        merged = _Group()
        for account_id, same in _by(group, lambda p: p.account_id).items():
            merged.merge(_sorted_group(same, seen.target(account_id), answered_only=True))
        groups[responder] = merged
    return _table(groups, seen.users, adviser=True)


def days(period: Period, found: Sequence[Piece]) -> list[Day]:
    """Per day: the conversations started and their first responses' medians (wall, on duty)."""
    by_day = _by((p for p in found if p.first), lambda p: p.day)
    out: list[Day] = []
    for n in range((period.last - period.first).days + 1):
        day = period.first + timedelta(days=n)
        group = by_day.get(day.isoformat())
        if group is None:
            out.append(Day(day, 0, None, None))
            continue
        first = _sorted_group(group, None).first
        out.append(Day(day, first.count, median(first.times), median(first.duty)))
    return out


def trend(period: Period, found: Sequence[Piece]) -> list[tuple[date, float | None, int]]:
    """Per day: the median first response (wall clock) and the number of conversations."""
    return [(d.day, d.median, d.conversations) for d in days(period, found)]


async def heat_map(
    session: AsyncSession, seen: Scope, period: Period
) -> tuple[list[list[tuple[int, float | None]]], list[list[float | None]]]:
    """Per weekday and hour (local time): the turns that started then and their median (wall
    clock); and the same turns' median on duty."""
    found = await pieces(
        session, seen.where, RollupGrain.HOUR, period.first, period.last, seen.timezone
    )
    cells: dict[int, tuple[int, float | None, float | None]] = {}
    for hour, group in _by(found, lambda p: p.hour).items():
        turns = _Turns()
        turns.fill(group, None, answered_only=False)
        cells[hour] = (turns.count, median(turns.times), median(turns.duty))
    empty = (0, None, None)
    counts = [[_count(cells.get(w * 24 + h, empty)) for h in range(24)] for w in range(7)]
    duty = [[cells.get(w * 24 + h, empty)[2] for h in range(24)] for w in range(7)]
    return counts, duty


def _count(cell: tuple[int, float | None, float | None]) -> tuple[int, float | None]:
    return cell[0], cell[1]


async def heat(
    session: AsyncSession, seen: Scope, period: Period
) -> list[list[tuple[int, float | None]]]:
    """Per weekday and hour (local time): the turns that started then, and their median."""
    return (await heat_map(session, seen, period))[0]


async def report(
    session: AsyncSession, user: User, period: Period, filters: Filters, timezone: str
) -> Report:
    """Everything the dashboard shows for one period."""
    seen = await scope(session, user, filters, timezone)
    found = await day_pieces(session, seen, period)
    tables = account_tables(seen, found)
    daily = days(period, found)
    cells, cells_duty = await heat_map(session, seen, period)
    return Report(
        period,
        tables.accounts,
        tables.offices,
        adviser_table(seen, found),
        tables.total,
        [(d.day, d.median, d.conversations) for d in daily],
        cells,
        daily,
        cells_duty,
    )


async def totals(
    session: AsyncSession, user: User, period: Period, filters: Filters, timezone: str
) -> Row:
    """The totals alone (the previous period's comparison, the live tiles)."""
    seen = await scope(session, user, filters, timezone)
    return account_tables(seen, await day_pieces(session, seen, period)).total
