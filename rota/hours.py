"""Each office's own opening hours, compiled per year into sorted UTC spans.

An office's hours, closures and dated days are wall-clock times of its own zone
(:meth:`rota.model.Rota.office_zone`: the office's ``timezone``, else the rota's), so an office
overseas opens at 09:00 where it is, whatever the destination's clocks do. Public holidays are
the destination's calendar, read on the office's own dates.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rota.calendar import HolidayCalendar
from rota.intervals import Span, merge_spans
from rota.model import Rota
from rota.timeutil import to_utc


class OwnHours:
    """When each office is open on its own, by bisection over a year's UTC spans.

    A day's hours are, by precedence: none during a closure (a closure wins even over a dated
    entry); the date's own entry in ``dates``; none on a public holiday if
    ``closed_on_holidays``; the season's; the usual week. Years are the office's local years.
    """

    def __init__(self, rota: Rota, calendar: HolidayCalendar, zone: ZoneInfo) -> None:
        self.rota = rota
        self.calendar = calendar
        self.zone = zone  # the destination's; each office's own is in ``zones``
        self.zones = {o.id: rota.office_zone(o.id) for o in rota.offices}
        self._years: dict[tuple[str, int], tuple[list[Span], list[datetime]]] = {}

    def zone_of(self, office_id: str) -> ZoneInfo:
        """The zone of an office's own hours."""
        return self.zones.get(office_id, self.zone)

    def _year(self, office_id: str, year: int) -> tuple[list[Span], list[datetime]]:
        cached = self._years.get((office_id, year))
        if cached is not None:
            return cached
        office = self.rota.office(office_id)
        zone = self.zone_of(office_id)
        spans: list[Span] = []
        day = date(year - 1, 12, 31)  # its overnight hours may reach into this year
        while day <= date(year, 12, 31):
            for interval in office.hours_on(day, self.calendar.is_holiday(day)):
                start_min, end_min = interval.minutes()
                spans.append((to_utc(day, start_min, zone), to_utc(day, end_min, zone)))
            day += timedelta(days=1)
        merged = merge_spans(sorted(spans))
        result = (merged, [s[0] for s in merged])
        self._years[(office_id, year)] = result
        return result

    def closes(self, office_id: str, at: datetime) -> datetime | None:
        """When the office is open at ``at`` (aware UTC): the instant it closes, else None."""
        spans, starts = self._year(office_id, at.astimezone(self.zone_of(office_id)).year)
        i = bisect.bisect_right(starts, at) - 1
        if i >= 0 and spans[i][1] > at:
            return spans[i][1]
        return None

    def next_opening(
        self, office_id: str, after: datetime, horizon_years: int = 2
    ) -> datetime | None:
        """The first opening strictly after ``after`` within the horizon, else None."""
        first_year = after.astimezone(self.zone_of(office_id)).year
        for year in range(first_year, first_year + horizon_years + 1):
            spans, starts = self._year(office_id, year)
            i = bisect.bisect_right(starts, after)
            if i < len(spans):
                return spans[i][0]
        return None
