"""Public holidays of the destination: the ``holidays`` library, plus local edits."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays as holiday_library

from rota.model import Holidays


@lru_cache(maxsize=64)
def _library_days(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    days = holiday_library.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(days.keys())


class HolidayCalendar:
    def __init__(self, config: Holidays) -> None:
        self.config = config
        self._extra = frozenset(config.extra)
        self._off = frozenset(config.not_holidays)
        self._no_duty = frozenset(config.no_duty)

    def is_holiday(self, day: date) -> bool:
        if day in self._off:
            return False
        return day in self._extra or day in _library_days(
            self.config.country, self.config.subdivision, day.year
        )

    def has_duty(self, day: date) -> bool:
        return day not in self._no_duty
