"""Public holidays of the destination: the ``holidays`` library, plus local edits."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

import holidays as holiday_library

if TYPE_CHECKING:
    from rota.model import Holidays

# The library knows Alsace as one subdivision ("6AE"); people write its two départements.
SUBDIVISION_ALIASES = {"67": "6AE", "68": "6AE"}


def library_subdivision(subdivision: str | None) -> str | None:
    """The library's code for a subdivision (Bas-Rhin "67" and Haut-Rhin "68" are "6AE")."""
    if subdivision is None:
        return None
    return SUBDIVISION_ALIASES.get(subdivision, subdivision)


def unknown_region(country: str, subdivision: str | None) -> str | None:
    """Why the library cannot give holidays for this country and subdivision, or None."""
    try:
        holiday_library.country_holidays(country, subdiv=library_subdivision(subdivision))
    except NotImplementedError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=64)
def _library_days(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    days = holiday_library.country_holidays(
        country, subdiv=library_subdivision(subdivision), years=year
    )
    return frozenset(days.keys())


class HolidayCalendar:
    """Which dates are public holidays here, and which have shared duty at all."""

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
