"""The shared duty as it occurs: windows from the templates and holidays, and whose turn each is.

Turns are counted only where they occur: a day or a week without any duty window (a date switched
off, a week with no template) takes no turn, so nobody loses or gains theirs because of it.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from rota.calendar import HolidayCalendar
from rota.cycle import spread_cycle
from rota.intervals import Window
from rota.model import Interval, Rota, Swap
from rota.timeutil import to_utc

SLOT_CLASSES = ("weekday_evening", "weekend_day", "holiday")
TurnKey = tuple[date, int]


def weighted_cycle(rota: Rota) -> list[str]:
    """The rotation's order over one cycle: each member weight times, spread out (see
    :mod:`rota.cycle`); no office has two turns running, across cycles too, when any order avoids
    it."""
    return spread_cycle((m.office, m.weight) for m in rota.rotation.members)


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
        for index, interval in enumerate(sorted(intervals, key=lambda i: i.minutes())):
            start_min, end_min = interval.minutes()
            start, end = to_utc(day, start_min, self.zone), to_utc(day, end_min, self.zone)
            if end > start:  # a window wholly inside the spring-forward gap does not occur
                windows.append(Window(start, end, day, slot, self.turn_key(day, index)))
        return windows

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
        windows: list[Window] = []
        day = first
        while day <= last:
            for window in self.on(day):
                # Validation keeps templates apart; this guards the bisection all the same.
                if windows and window.start < windows[-1].end:
                    if window.end <= windows[-1].end:
                        continue
                    window = Window(
                        windows[-1].end, window.end, window.day, window.slot, window.turn_key
                    )
                windows.append(window)
            day += timedelta(days=1)
        return windows

    def turn_key(self, day: date, index: int) -> TurnKey:
        """The turn a window belongs to: itself, its day, or its week (keyed by the Monday)."""
        unit = self.rota.rotation.turn
        if unit == "window":
            return (day, index)
        if unit == "day":
            return (day, 0)
        return (day - timedelta(days=day.weekday()), 0)

    def index_of(self, key: TurnKey) -> int:
        """How many occurring turns lie between the anchor's turn and ``key`` (negative before)."""
        anchor = self.turn_key(self.rota.rotation.anchor, 0)
        first, last, sign = (anchor, key, 1) if key >= anchor else (key, anchor, -1)
        seen: set[TurnKey] = set()
        for window in self.between(first[0], last[0] + timedelta(days=6)):
            if first <= window.turn_key < last:
                seen.add(window.turn_key)
        return sign * len(seen)

    def available(self, office_id: str, day: date) -> bool:
        """Whether an office can take shared duty on a local date (not closed nor unavailable)."""
        return not any(r.contains(day) for r in self._unavailable.get(office_id, ()))

    def office_for(self, index: int, day: date) -> str:
        """The turn's office, or the next one in the cycle that can take it that day."""
        size = len(self.cycle)
        for step in range(size):
            office = self.cycle[(index + step) % size]
            if self.available(office, day):
                return office
        return self.cycle[index % size]

    def swap_for(self, window: Window) -> Swap | None:
        """The swap of the turn a window belongs to (the first one listed), if any."""
        for swap in self.rota.swaps:
            if self.rota.rotation.turn == "week":
                if self.turn_key(swap.turn, 0) == window.turn_key:
                    return swap
            elif swap.turn == window.day:
                return swap
        return None
