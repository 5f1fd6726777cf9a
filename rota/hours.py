"""Each office's own opening hours, compiled per year into sorted UTC spans."""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rota.calendar import HolidayCalendar
from rota.intervals import Span, merge_spans
from rota.model import Office, Rota, Week
from rota.timeutil import to_utc


def week_hours(office: Office, day: date) -> Week:
    """The office's hours that apply on a local date: its season's, else its usual ones."""
    for season in office.seasons:
        if season.contains(day):
            return season.hours
    return office.hours


class OwnHours:
    """When each office is open on its own, by bisection over a year's UTC spans."""

    def __init__(self, rota: Rota, calendar: HolidayCalendar, zone: ZoneInfo) -> None:
        self.rota = rota
        self.calendar = calendar
        self.zone = zone
        self._years: dict[tuple[str, int], tuple[list[Span], list[datetime]]] = {}

    def _year(self, office_id: str, year: int) -> tuple[list[Span], list[datetime]]:
        cached = self._years.get((office_id, year))
        if cached is not None:
            return cached
        office = self.rota.office(office_id)
        spans: list[Span] = []
        day = date(year - 1, 12, 31)  # its overnight hours may reach into this year
        while day <= date(year, 12, 31):
            closed = any(c.contains(day) for c in office.closures) or (
                office.closed_on_holidays and self.calendar.is_holiday(day)
            )
            if not closed:
                for interval in week_hours(office, day).day(day.weekday()):
                    start_min, end_min = interval.minutes()
                    spans.append(
                        (to_utc(day, start_min, self.zone), to_utc(day, end_min, self.zone))
                    )
            day += timedelta(days=1)
        merged = merge_spans(sorted(spans))
        result = (merged, [s[0] for s in merged])
        self._years[(office_id, year)] = result
        return result

    def closes(self, office_id: str, at: datetime) -> datetime | None:
        """When the office is open at ``at`` (aware UTC): the instant it closes, else None."""
        spans, starts = self._year(office_id, at.astimezone(self.zone).year)
        i = bisect.bisect_right(starts, at) - 1
        if i >= 0 and spans[i][1] > at:
            return spans[i][1]
        return None

    def next_opening(
        self, office_id: str, after: datetime, horizon_years: int = 2
    ) -> datetime | None:
        """The first opening strictly after ``after`` within the horizon, else None."""
        first_year = after.astimezone(self.zone).year
        for year in range(first_year, first_year + horizon_years + 1):
            spans, starts = self._year(office_id, year)
            i = bisect.bisect_right(starts, after)
            if i < len(spans):
                return spans[i][0]
        return None
