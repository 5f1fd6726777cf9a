"""The shared duty as it occurs: windows from the templates and holidays, and whose turn each is.

Each window belongs to the first rotation whose ``days`` match its weekday or slot class (a rota
with one ``[rotation]`` deals them all); a window no rotation matches has nobody on duty. Turns
are counted per rotation, only where they occur: a day or a week without any window of that
rotation (a date switched off, a week with no template) takes no turn, so nobody loses or gains
theirs because of it. Who takes each turn is dealt by :mod:`rota.dealing`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from rota.calendar import HolidayCalendar
from rota.cycle import spread_cycle
from rota.intervals import Window
from rota.model import Interval, Rota, Rotation, Swap
from rota.timeutil import to_utc

SLOT_CLASSES = ("weekday_evening", "weekend_day", "holiday")
TurnKey = tuple[date, int]


def weighted_cycle(rota: Rota) -> list[str]:
    """The rotation's order over one cycle: each member weight times, spread out (see
    :mod:`rota.cycle`); no office has two turns running, across cycles too, when any order avoids
    it."""
    return spread_cycle((m.office, m.weight) for m in rota.all_rotations[0].members)


def apart(windows: list[Window]) -> list[Window]:
    """Windows in order with none overlapping the one before (cut or dropped)."""
    kept: list[Window] = []
    for window in windows:
        # Validation keeps templates apart; this guards the bisection all the same.
        if kept and window.start < kept[-1].end:
            if window.end <= kept[-1].end:
                continue
            window = replace(window, start=kept[-1].end)
        kept.append(window)
    return kept


class DutyWindows:
    """Windows of the shared duty per local date, their turns and the office each turn is for."""

    def __init__(self, rota: Rota, calendar: HolidayCalendar, zone: ZoneInfo) -> None:
        self.rota = rota
        self.calendar = calendar
        self.zone = zone
        self.cycle = weighted_cycle(rota)
        self._unavailable = {
            o.id: [*o.closures, *o.unavailable] for o in rota.offices
        }  # no duty for an office closed or unavailable that day
        self.rotations = {r.id: r for r in rota.all_rotations}
        self._year_windows: dict[int, list[Window]] = {}

    def slot(self, day: date) -> str:
        """The slot class of a local date's windows."""
        if self.calendar.is_holiday(day):
            return "holiday"
        return "weekend_day" if day.weekday() >= 5 else "weekday_evening"

    def on(self, day: date) -> list[Window]:
        """The duty windows of a local date, in UTC, in order."""
        slot = self.slot(day)
        intervals = self.template(day, slot)  # [] on a date without duty (holidays.no_duty)
        windows = []
        rotation = self.rotation_for(day, slot)
        for index, interval in enumerate(sorted(intervals, key=lambda i: i.minutes())):
            start_min, end_min = interval.minutes()
            start, end = to_utc(day, start_min, self.zone), to_utc(day, end_min, self.zone)
            if end > start:  # a window wholly inside the spring-forward gap does not occur
                key = self.turn_key(day, index, rotation)
                rotation_id = rotation.id if rotation is not None else None
                windows.append(Window(start, end, day, slot, key, rotation_id, index))
        return windows

    def rotation_for(self, day: date, slot: str) -> Rotation | None:
        """The rotation dealing a local date's windows: the first whose ``days`` match."""
        return next(
            (r for r in self.rota.all_rotations if r.deals(day.weekday(), slot)),
            None,
        )

    def year_windows(self, year: int) -> list[Window]:
        """The windows of the local dates of one year, in order (kept: dealing reads them)."""
        cached = self._year_windows.get(year)
        if cached is None:
            cached = self.between(date(year, 1, 1), date(year, 12, 31))
            self._year_windows[year] = cached
        return cached

    def template(self, day: date, slot: str) -> list[Interval]:
        """The duty intervals (local wall-clock) that apply on a local date: its dated entry,
        else none on a ``holidays.no_duty`` date, else the season's (holiday or week), else the
        holiday windows, else the week's (see :meth:`rota.model.Duty.template`). The slot class
        stays the calendar's, a dated day's too."""
        return self.rota.duty.template(
            day, holiday=slot == "holiday", no_duty=not self.calendar.has_duty(day)
        )

    def between(self, first: date, last: date) -> list[Window]:
        """The windows of local dates first..last; a window never overlaps the one before."""
        days: list[Window] = []
        day = first
        while day <= last:
            days += self.on(day)
            day += timedelta(days=1)
        return apart(days)

    def turn_key(self, day: date, index: int, rotation: Rotation | None = None) -> TurnKey:
        """The turn a window belongs to: itself, its day, or its week (keyed by the Monday)."""
        unit = (rotation or self.rota.all_rotations[0]).turn
        if unit == "window":
            return (day, index)
        if unit == "day":
            return (day, 0)
        return (day - timedelta(days=day.weekday()), 0)

    def index_of(self, key: TurnKey, rotation: Rotation | None = None) -> int:
        """How many occurring turns of a rotation lie between its anchor's turn and ``key``
        (negative before). Walks the dates between: only turns before the anchor ask it."""
        rotation = rotation or self.rota.all_rotations[0]
        anchor = self.turn_key(rotation.anchor, 0, rotation)
        first, last, sign = (anchor, key, 1) if key >= anchor else (key, anchor, -1)
        seen: set[TurnKey] = set()
        for window in self.between(first[0], last[0] + timedelta(days=6)):
            if window.rotation == rotation.id and first <= window.turn_key < last:
                seen.add(window.turn_key)
        return sign * len(seen)

    def available(self, office_id: str, day: date) -> bool:
        """Whether an office can take shared duty on a local date (not closed nor unavailable)."""
        return not any(r.contains(day) for r in self._unavailable.get(office_id, ()))

    def swap_for(self, window: Window) -> Swap | None:
        """The swap of the turn a window belongs to (the first one listed naming its rotation,
        or none), if any."""
        rotation = self.rotations.get(window.rotation or "")
        if rotation is None:
            return None
        for swap in self.rota.swaps:
            if swap.rotation not in (None, rotation.id):
                continue
            if rotation.turn == "week":
                if self.turn_key(swap.turn, 0, rotation) == window.turn_key:
                    return swap
            elif swap.turn == window.day:
                return swap
        return None
