"""The compiled rota: who is on duty when, answered by bisection over UTC segments.

A year of the shared duty is compiled once, lazily (windows from the templates and holidays, the
rotations' turns counted only where they occur and dealt with their ledgers (:mod:`rota.dealing`),
swaps, then overrides painted in priority order) into sorted, non-overlapping UTC segments; each
question is then a binary search. Precedence: override > swap > rotation.

Ties are decided explicitly:

- Every stretch is half-open: at the instant one segment ends and another starts, the one
  starting answers; ``valid_until`` is the first instant the answer differs.
- Overrides of equal priority covering the same instant: the one listed last wins.
- ``route``: the owner's own hours come first, so when they open at the instant a duty ends, the
  answer holds until that instant and the owner answers from it. When nobody is on duty and the
  owner opens at the same instant a shared duty starts, the owner is ``next_office`` — the one
  ``route`` answers at that instant, so the promise made to the visitor is kept.
- Dealing (who pays back, who stands in): the first in cycle order after the due place.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from rota.calendar import HolidayCalendar
from rota.dealing import Dealer, Debts
from rota.duty import SLOT_CLASSES, DutyWindows, apart
from rota.hours import OwnHours
from rota.intervals import Segment, Window, merge, paint, subtract
from rota.model import Rota
from rota.timeutil import require_aware, to_utc

__all__ = [
    "FAR_FUTURE",
    "SLOT_CLASSES",
    "DutyAnswer",
    "RouteAnswer",
    "Schedule",
    "Segment",
    "Window",
]

FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
HORIZON_YEARS = 3  # how far ahead "who is next?" looks before answering "nobody, ever"


@dataclass(frozen=True, slots=True)
class DutyAnswer:
    """Who has the shared duty (None: nobody), why, and until when the answer holds."""

    office: str | None
    reason: str | None  # shared_duty | swap | override; None when nobody
    valid_until: datetime  # exclusive; FAR_FUTURE when nothing changes within the horizon
    also: tuple[str, ...] = ()  # other offices on duty at the same time, sharing the load


@dataclass(frozen=True, slots=True)
class RouteAnswer:
    """Who answers a conversation written to an account, why, and until when."""

    office: str | None
    reason: str  # own_hours | shared_duty | swap | override | nobody_on_duty
    valid_until: datetime
    next_office: str | None = None  # when nobody: who answers next, and from when
    next_at: datetime | None = None
    also: tuple[str, ...] = ()  # other offices on duty with ``office``, sharing the load


@dataclass(frozen=True, slots=True)
class _Year:
    windows: list[Window]
    segments: list[Segment]
    starts: list[datetime]
    begin: datetime
    end: datetime


class Schedule:
    """Questions about one rota. Pure: no clock, no I/O; aware instants in, UTC instants out."""

    def __init__(self, rota: Rota) -> None:
        self.rota = rota
        self.zone: ZoneInfo = rota.zone
        self.calendar = HolidayCalendar(rota.holidays)
        self.duty = DutyWindows(rota, self.calendar, self.zone)
        self.dealers = {r.id: Dealer(r, self.duty) for r in rota.all_rotations}
        self.hours = OwnHours(rota, self.calendar, self.zone)
        self._years: dict[int, _Year] = {}
        self._last: _Year | None = None
        self.owners = {a: o.id for o in rota.offices for a in o.accounts}  # account → office

    # ---- compiling a year --------------------------------------------------
    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        begin = to_utc(date(year, 1, 1), 0, self.zone)
        end = to_utc(date(year + 1, 1, 1), 0, self.zone)
        seam = [*self.duty.on(date(year - 1, 12, 31)), *self.duty.year_windows(year)]
        windows = [w for w in apart(seam) if w.end > begin and w.start < end]
        segments: list[Segment] = []
        for window in windows:
            holders = self.dealt(window)
            if not holders:
                continue
            reason = "shared_duty"
            swap = self.duty.swap_for(window)
            if swap is not None and {swap.a, swap.b} & set(holders):
                exchange = {swap.a: swap.b, swap.b: swap.a}
                holders = tuple(exchange.get(o, o) for o in holders)
                reason = "swap"
            segments.append(
                Segment(
                    max(window.start, begin),
                    min(window.end, end),
                    holders[0],
                    reason,
                    holders[1:],
                )
            )
        starts = [s.start for s in segments]
        # Stable sort: among overrides of equal priority the one listed last wins.
        for override in sorted(self.rota.overrides, key=lambda o: o.priority):
            o_start = max(override.start.astimezone(UTC), begin)
            o_end = min(override.end.astimezone(UTC), end)
            if o_end <= o_start:
                continue
            painted = None
            if override.office is not None:
                painted = Segment(o_start, o_end, override.office, "override", tuple(override.also))
            paint(segments, starts, o_start, o_end, painted)
        merged = merge(segments)
        compiled = _Year(windows, merged, [s.start for s in merged], begin, end)
        self._years[year] = compiled
        return compiled

    def dealt(self, window: Window) -> tuple[str, ...]:
        """The offices its rotation deals a window to, the lead first (before swaps and
        overrides); empty when no rotation deals it or the rotation has no members."""
        dealer = self.dealers.get(window.rotation or "")
        return dealer.holders(window) if dealer is not None else ()

    def debts(self, rotation: str, year: int) -> Debts:
        """A rotation's ledger after the windows of local year ``year``: (debtor, creditor) →
        windows owed (see :mod:`rota.dealing`)."""
        return self.dealers[rotation].debts_after(year)

    def _year_at(self, at: datetime) -> _Year:
        last = self._last
        if last is not None and last.begin <= at < last.end:
            return last
        self._last = self._year(at.astimezone(self.zone).year)
        return self._last

    # ---- the shared duty ---------------------------------------------------
    def on_duty(self, at: datetime) -> DutyAnswer:
        """Who has the shared duty at ``at``, why, and until when that answer holds."""
        at = require_aware(at)
        year = self._year_at(at)
        i = bisect.bisect_right(year.starts, at) - 1
        if i >= 0 and year.segments[i].end > at:
            seg = year.segments[i]
            until = seg.end if seg.end < year.end else self._continued(seg)
            return DutyAnswer(seg.office, seg.reason, until, seg.also)
        following = self._next_segment(at)
        return DutyAnswer(None, None, following.start if following else FAR_FUTURE)

    def _continued(self, seg: Segment) -> datetime:
        """Where a segment reaching the end of its year really ends, the same way, later on."""
        end = seg.end
        for _ in range(HORIZON_YEARS * 10):
            following = self._year(end.astimezone(self.zone).year)
            if not following.segments or following.segments[0].start != end:
                break
            head = following.segments[0]
            if (head.office, head.reason, head.also) != (seg.office, seg.reason, seg.also):
                break
            end = head.end
            if end < following.end:
                break
        return end

    def _next_segment(self, at: datetime) -> Segment | None:
        """The first segment starting after ``at`` within the horizon."""
        local_year = at.astimezone(self.zone).year
        for year_number in range(local_year, local_year + HORIZON_YEARS + 1):
            year = self._year(year_number)
            i = bisect.bisect_right(year.starts, at)
            if i < len(year.segments):
                seg = year.segments[i]
                if seg.end >= year.end:
                    seg = replace(seg, end=self._continued(seg))
                return seg
        return None

    def next_on_duty(self, after: datetime) -> Segment | None:
        """The next stretch of shared duty at or after ``after`` (the current one if on now)."""
        after = require_aware(after, "after")
        answer = self.on_duty(after)
        if answer.office is not None and answer.reason is not None:
            return Segment(after, answer.valid_until, answer.office, answer.reason)
        return self._next_segment(after)

    def segments(self, start: datetime, end: datetime) -> Iterator[Segment]:
        """The shared duty between two instants, clipped to them, across years as one."""
        start, end = require_aware(start, "start"), require_aware(end, "end")
        pending: Segment | None = None
        first, last = start.astimezone(self.zone).year, end.astimezone(self.zone).year
        for year_number in range(first, last + 1):
            for seg in self._year(year_number).segments:
                if seg.end <= start or seg.start >= end:
                    continue
                seg = replace(seg, start=max(seg.start, start), end=min(seg.end, end))
                if pending is not None and (
                    pending.end,
                    pending.office,
                    pending.reason,
                    pending.also,
                ) == (seg.start, seg.office, seg.reason, seg.also):
                    pending = replace(pending, end=seg.end)
                    continue
                if pending is not None:
                    yield pending
                pending = seg
        if pending is not None:
            yield pending

    def windows(self, start: datetime, end: datetime) -> Iterator[Window]:
        """The duty windows (slots) overlapping two instants, each once, in order."""
        start, end = require_aware(start, "start"), require_aware(end, "end")
        first, last = start.astimezone(self.zone).year, end.astimezone(self.zone).year
        for year_number in range(first, last + 1):
            for window in self._year(year_number).windows:
                if year_number > first and window.day.year < year_number:
                    continue  # a New Year's Eve window: the year before listed it
                if window.end > start and window.start < end:
                    yield window

    def windows_on(self, day: date) -> list[Window]:
        """The duty windows of one local date."""
        return self.duty.on(day)

    def available(self, office_id: str, day: date) -> bool:
        """Whether an office can take shared duty on a local date."""
        return self.duty.available(office_id, day)

    def gaps(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Stretches of the duty windows with nobody on duty (a "closed" override, no members)."""
        start, end = require_aware(start, "start"), require_aware(end, "end")
        wanted = [(max(w.start, start), min(w.end, end)) for w in self.windows(start, end)]
        covered = [(s.start, s.end) for s in self.segments(start, end)]
        return subtract(wanted, covered)

    # ---- offices' own hours and routing --------------------------------------
    def is_open(self, office_id: str, at: datetime) -> datetime | None:
        """When the office is in its own opening hours at ``at``: the instant they end."""
        return self.hours.closes(office_id, require_aware(at))

    def next_opening(self, office_id: str, after: datetime) -> datetime | None:
        """The office's next own opening after ``after`` (within two years), else None."""
        return self.hours.next_opening(office_id, require_aware(after, "after"))

    def route(self, account: str, at: datetime, office: str | None = None) -> RouteAnswer:
        """Who answers a conversation written to ``account`` at ``at``.

        The owning office in its own hours; otherwise the office on shared duty; otherwise
        nobody, with who answers next and from when (the duty or the owner's opening). When the
        owner opens at the instant a duty starts, the owner is next (it answers then).

        The owner is the office whose ``accounts`` name ``account``; for an account the rota
        does not name (added after the rota was written), ``office``, the office the account
        belongs to, when the rota has that office.
        """
        at = require_aware(at)
        owner = self.owners.get(account)
        if owner is None and office in self.hours.zones:
            owner = office
        if owner is not None:
            closes = self.hours.closes(owner, at)
            if closes is not None:
                return RouteAnswer(owner, "own_hours", closes)
        duty = self.on_duty(at)
        opening = self.hours.next_opening(owner, at) if owner is not None else None
        if duty.office is not None and duty.reason is not None:
            until = min(duty.valid_until, opening) if opening else duty.valid_until
            return RouteAnswer(duty.office, duty.reason, until, also=duty.also)
        candidates: list[tuple[datetime, str]] = []
        if duty.valid_until < FAR_FUTURE:
            following = self.on_duty(duty.valid_until)
            if following.office is not None:
                candidates.append((duty.valid_until, following.office))
        if opening is not None and owner is not None:
            candidates.append((opening, owner))
        if not candidates:
            return RouteAnswer(None, "nobody_on_duty", FAR_FUTURE)
        # A tie goes to the owner: at that instant its own hours answer first.
        next_at, next_office = min(candidates, key=lambda c: (c[0], c[1] != owner))
        return RouteAnswer(None, "nobody_on_duty", next_at, next_office, next_at)
