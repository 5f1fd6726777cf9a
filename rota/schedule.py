"""The compiled rota: who is on duty when, answered by bisection over UTC segments.

A year of the shared duty is compiled once (windows from the templates and holidays, the
rotation's turns counted only where they occur, swaps, then overrides painted in priority order)
into sorted, non-overlapping UTC segments; each question is then a binary search.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from rota.calendar import HolidayCalendar
from rota.model import Interval, Office, Rota, Swap, Week
from rota.timeutil import require_aware, to_utc

FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
SLOT_CLASSES = ("weekday_evening", "weekend_day", "holiday")


@dataclass(frozen=True, slots=True)
class Window:
    """One shared duty window as it occurs: a slot of the rota."""

    start: datetime
    end: datetime
    day: date  # the local date it belongs to
    slot: str  # weekday_evening | weekend_day | holiday
    turn_key: tuple[date, int]


@dataclass(frozen=True, slots=True)
class Segment:
    start: datetime
    end: datetime
    office: str
    reason: str  # shared_duty | swap | override


@dataclass(frozen=True, slots=True)
class DutyAnswer:
    office: str | None
    reason: str | None
    valid_until: datetime  # the answer holds until this instant (exclusive)


@dataclass(frozen=True, slots=True)
class RouteAnswer:
    office: str | None
    reason: str  # own_hours | shared_duty | swap | override | nobody_on_duty
    valid_until: datetime
    next_office: str | None = None  # when nobody: who answers next, and from when
    next_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Year:
    windows: list[Window]
    segments: list[Segment]
    starts: list[datetime]
    begin: datetime
    end: datetime


def _cycle(rota: Rota) -> list[str]:
    """The rotation's order with weights, spread out (smooth weighted round robin)."""
    members = rota.rotation.members
    total = sum(m.weight for m in members)
    current = [0] * len(members)
    order: list[str] = []
    for _ in range(total):
        for i, member in enumerate(members):
            current[i] += member.weight
        best = max(range(len(members)), key=lambda i: (current[i], -i))
        current[best] -= total
        order.append(members[best].office)
    return order


def _week_hours(office: Office, day: date) -> Week:
    for season in office.seasons:
        if season.contains(day):
            return season.hours
    return office.hours


class Schedule:
    """Questions about one rota. Pure: no clock, no I/O; instants in, instants out."""

    def __init__(self, rota: Rota) -> None:
        self.rota = rota
        self.zone: ZoneInfo = rota.zone
        self.calendar = HolidayCalendar(rota.holidays)
        self._cycle = _cycle(rota)
        self._years: dict[int, _Year] = {}
        self._own: dict[
            tuple[str, int], tuple[list[tuple[datetime, datetime]], list[datetime]]
        ] = {}

    # ---- windows and turns -------------------------------------------------
    def windows_on(self, day: date) -> list[Window]:
        if not self.calendar.has_duty(day):
            return []
        holiday = self.calendar.is_holiday(day)
        intervals: list[Interval] = (
            self.rota.duty.holiday if holiday else self.rota.duty.week.day(day.weekday())
        )
        slot = (
            "holiday" if holiday else ("weekend_day" if day.weekday() >= 5 else "weekday_evening")
        )
        windows = []
        for index, interval in enumerate(sorted(intervals, key=lambda i: i.minutes())):
            start_min, end_min = interval.minutes()
            start, end = to_utc(day, start_min, self.zone), to_utc(day, end_min, self.zone)
            if end > start:
                windows.append(Window(start, end, day, slot, self._turn_key(day, index)))
        return windows

    def _turn_key(self, day: date, index: int) -> tuple[date, int]:
        unit = self.rota.rotation.turn
        if unit == "window":
            return (day, index)
        if unit == "day":
            return (day, 0)
        return (day - timedelta(days=day.weekday()), 0)

    def _turns_between(self, first: date, last: date) -> list[tuple[date, int]]:
        """Occurring turn keys of the windows of local dates first..last, in order."""
        keys: list[tuple[date, int]] = []
        day = first
        while day <= last:
            for window in self.windows_on(day):
                if not keys or keys[-1] != window.turn_key:
                    keys.append(window.turn_key)
            day += timedelta(days=1)
        return keys

    def _index_before(self, key: tuple[date, int]) -> int:
        """How many occurring turns lie between the anchor's turn and ``key`` (negative before)."""
        anchor_key = self._turn_key(self.rota.rotation.anchor, 0)
        if key >= anchor_key:
            turns = self._turns_between(anchor_key[0], key[0] + timedelta(days=6))
            return sum(1 for k in turns if anchor_key <= k < key)
        turns = self._turns_between(key[0], anchor_key[0] + timedelta(days=6))
        return -sum(1 for k in turns if key <= k < anchor_key)

    # ---- compiling a year --------------------------------------------------
    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        begin = to_utc(date(year, 1, 1), 0, self.zone)
        end = to_utc(date(year + 1, 1, 1), 0, self.zone)
        windows: list[Window] = []
        day = date(year - 1, 12, 31)
        while day <= date(year, 12, 31):
            windows.extend(w for w in self.windows_on(day) if w.end > begin and w.start < end)
            day += timedelta(days=1)
        segments: list[Segment] = []
        if windows and self._cycle:
            index = self._index_before(windows[0].turn_key)
            previous = windows[0].turn_key
            for window in windows:
                if window.turn_key != previous:
                    index += 1
                    previous = window.turn_key
                office = self._available_from(index, window.day)
                reason = "shared_duty"
                swap = self._swap_for(window)
                if swap is not None and office in (swap.a, swap.b):
                    office = swap.b if office == swap.a else swap.a
                    reason = "swap"
                segments.append(
                    Segment(max(window.start, begin), min(window.end, end), office, reason)
                )
        starts = [s.start for s in segments]
        for override in sorted(self.rota.overrides, key=lambda o: o.priority):
            o_start, o_end = override.start.astimezone(UTC), override.end.astimezone(UTC)
            if o_end <= begin or o_start >= end:
                continue
            painted = None
            if override.office is not None:
                painted = Segment(max(o_start, begin), min(o_end, end), override.office, "override")
            _paint(segments, starts, max(o_start, begin), min(o_end, end), painted)
        compiled = _Year(windows, _merge(segments), [], begin, end)
        compiled.starts.extend(s.start for s in compiled.segments)
        self._years[year] = compiled
        return compiled

    def available(self, office_id: str, day: date) -> bool:
        office = self.rota.office(office_id)
        return not any(r.contains(day) for r in (*office.closures, *office.unavailable))

    def _available_from(self, index: int, day: date) -> str:
        """The turn's office, or the next one in the cycle that can take it that day."""
        size = len(self._cycle)
        for step in range(size):
            office = self._cycle[(index + step) % size]
            if self.available(office, day):
                return office
        return self._cycle[index % size]

    def _swap_for(self, window: Window) -> Swap | None:
        unit = self.rota.rotation.turn
        for swap in self.rota.swaps:
            if unit == "week":
                if self._turn_key(swap.turn, 0) == window.turn_key:
                    return swap
            elif swap.turn == window.day:
                return swap
        return None

    def _year_of(self, at: datetime) -> int:
        return at.astimezone(self.zone).year

    # ---- questions ---------------------------------------------------------
    def on_duty(self, at: datetime) -> DutyAnswer:
        """Who has the shared duty at ``at``, and until when that answer holds."""
        at = require_aware(at)
        year = self._year(self._year_of(at))
        i = bisect.bisect_right(year.starts, at) - 1
        if i >= 0 and year.segments[i].end > at:
            seg = year.segments[i]
            return DutyAnswer(seg.office, seg.reason, self._extend(seg, year))
        following = self._next_segment(at)
        return DutyAnswer(None, None, following.start if following else FAR_FUTURE)

    def _extend(self, seg: Segment, year: _Year) -> datetime:
        """A segment ending where the next year's first one starts, the same way, goes on."""
        if seg.end < year.end:
            return seg.end
        nxt = self._year(self._year_of(year.end))
        if nxt.segments and nxt.segments[0].start == seg.end:
            head = nxt.segments[0]
            if (head.office, head.reason) == (seg.office, seg.reason):
                return head.end
        return seg.end

    def _next_segment(self, at: datetime, horizon_years: int = 3) -> Segment | None:
        """The first segment starting after ``at``."""
        local_year = self._year_of(at)
        for year_number in range(local_year, local_year + horizon_years + 1):
            year = self._year(year_number)
            i = bisect.bisect_right(year.starts, at)
            if i < len(year.segments):
                return year.segments[i]
        return None

    def next_on_duty(self, after: datetime) -> Segment | None:
        """The next stretch of shared duty at or after ``after`` (the current one if on now)."""
        after = require_aware(after, "after")
        year = self._year(self._year_of(after))
        i = bisect.bisect_right(year.starts, after) - 1
        if i >= 0 and year.segments[i].end > after:
            return replace(year.segments[i], start=after)
        return self._next_segment(after)

    def segments(self, start: datetime, end: datetime) -> Iterator[Segment]:
        """The shared duty between two instants, clipped to them."""
        start, end = require_aware(start, "start"), require_aware(end, "end")
        for year_number in range(self._year_of(start), self._year_of(end) + 1):
            for seg in self._year(year_number).segments:
                if seg.end > start and seg.start < end:
                    yield replace(seg, start=max(seg.start, start), end=min(seg.end, end))

    def windows(self, start: datetime, end: datetime) -> Iterator[Window]:
        start, end = require_aware(start, "start"), require_aware(end, "end")
        for year_number in range(self._year_of(start), self._year_of(end) + 1):
            for window in self._year(year_number).windows:
                if window.end > start and window.start < end:
                    yield window

    def gaps(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Stretches of the duty windows with nobody on duty (a "closed" override, no members)."""
        covered = list(self.segments(start, end))
        gaps: list[tuple[datetime, datetime]] = []
        for window in self.windows(start, end):
            cursor = max(window.start, require_aware(start))
            stop = min(window.end, require_aware(end))
            for seg in covered:
                if seg.end <= cursor or seg.start >= stop:
                    continue
                if seg.start > cursor:
                    gaps.append((cursor, seg.start))
                cursor = max(cursor, seg.end)
            if cursor < stop:
                gaps.append((cursor, stop))
        return _merge_spans(gaps)

    # ---- offices' own hours --------------------------------------------------
    def _own_year(
        self, office_id: str, year: int
    ) -> tuple[list[tuple[datetime, datetime]], list[datetime]]:
        cached = self._own.get((office_id, year))
        if cached is not None:
            return cached
        office = self.rota.office(office_id)
        spans: list[tuple[datetime, datetime]] = []
        day = date(year - 1, 12, 31)
        while day <= date(year, 12, 31):
            closed = any(c.contains(day) for c in office.closures) or (
                office.closed_on_holidays and self.calendar.is_holiday(day)
            )
            if not closed:
                for interval in _week_hours(office, day).day(day.weekday()):
                    start_min, end_min = interval.minutes()
                    spans.append(
                        (to_utc(day, start_min, self.zone), to_utc(day, end_min, self.zone))
                    )
            day += timedelta(days=1)
        spans = _merge_spans(sorted(s for s in spans if s[1] > s[0]))
        result = (spans, [s[0] for s in spans])
        self._own[(office_id, year)] = result
        return result

    def is_open(self, office_id: str, at: datetime) -> datetime | None:
        """When the office is in its own opening hours at ``at``: the instant they end."""
        at = require_aware(at)
        spans, starts = self._own_year(office_id, self._year_of(at))
        i = bisect.bisect_right(starts, at) - 1
        if i >= 0 and spans[i][1] > at:
            return spans[i][1]
        return None

    def next_opening(
        self, office_id: str, after: datetime, horizon_years: int = 2
    ) -> datetime | None:
        after = require_aware(after, "after")
        first_year = self._year_of(after)
        for year in range(first_year, first_year + horizon_years + 1):
            spans, starts = self._own_year(office_id, year)
            i = bisect.bisect_right(starts, after)
            if i < len(spans):
                return spans[i][0]
        return None

    def route(self, account: str, at: datetime) -> RouteAnswer:
        """Who answers a conversation written to ``account`` at ``at``."""
        at = require_aware(at)
        owner = self.rota.account_office(account)
        if owner is not None:
            closes = self.is_open(owner, at)
            if closes is not None:
                return RouteAnswer(owner, "own_hours", closes)
        duty = self.on_duty(at)
        opening = self.next_opening(owner, at) if owner is not None else None
        if duty.office is not None and duty.reason is not None:
            until = min(duty.valid_until, opening) if opening else duty.valid_until
            return RouteAnswer(duty.office, duty.reason, until)
        following = self._next_segment(at)
        candidates: list[tuple[datetime, str]] = []
        if following is not None:
            candidates.append((following.start, following.office))
        if opening is not None and owner is not None:
            candidates.append((opening, owner))
        if not candidates:
            return RouteAnswer(None, "nobody_on_duty", FAR_FUTURE)
        next_at, next_office = min(candidates)
        return RouteAnswer(None, "nobody_on_duty", next_at, next_office, next_at)


def _paint(
    segments: list[Segment],
    starts: list[datetime],
    start: datetime,
    end: datetime,
    new: Segment | None,
) -> None:
    """Replaces whatever covers [start, end) with ``new`` (or nothing), in place."""
    lo = max(bisect.bisect_right(starts, start) - 1, 0)
    hi = bisect.bisect_left(starts, end)
    replacement: list[Segment] = []
    for seg in segments[lo:hi]:
        if seg.end <= start or seg.start >= end:
            replacement.append(seg)
            continue
        if seg.start < start:
            replacement.append(replace(seg, end=start))
        if seg.end > end:
            replacement.append(replace(seg, start=end))
    if new is not None:
        replacement.append(new)
    replacement.sort(key=lambda s: s.start)
    segments[lo:hi] = replacement
    starts[lo:hi] = [s.start for s in replacement]


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for seg in segments:
        if seg.end <= seg.start:
            continue
        last = merged[-1] if merged else None
        if (
            last
            and last.end == seg.start
            and (last.office, last.reason) == (seg.office, seg.reason)
        ):
            merged[-1] = replace(last, end=seg.end)
        else:
            merged.append(seg)
    return merged


def _merge_spans(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
