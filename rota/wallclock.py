"""Wall-clock building blocks of a rota: intervals like "17:00-22:00" (or "22:00-08:00+1"),
weeks of them, seasons by month-day and date ranges. Local times, no time zone yet.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, time
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    field_validator,
    model_validator,
)

from rota.errors import Reason, RotaError, RotaValidationError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*(\+1)?\s*$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


class Interval(BaseModel):
    """A local wall-clock interval; ``overnight`` means it ends on the next day."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time
    overnight: bool = False

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _INTERVAL.match(value)
            if not match:
                raise RotaError(
                    "bad_interval",
                    f"{value!r} is not HH:MM-HH:MM (add +1 for an overnight window)",
                    value=value,
                )
            h1, m1, h2, m2, plus = match.groups()
            if int(h1) > 23 or int(h2) > 23 or int(m1) > 59 or int(m2) > 59:
                raise RotaError("impossible_time", f"{value!r} has an impossible time", value=value)
            return {
                "start": time(int(h1), int(m1)),
                "end": time(int(h2), int(m2)),
                "overnight": bool(plus),
            }
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if not self.overnight and self.end <= self.start:
            raise RotaError(
                "overnight_not_marked",
                f"ends at {self.end:%H:%M}, not after its start {self.start:%H:%M}: an overnight"
                f" window must be explicit ({self.start:%H:%M}-{self.end:%H:%M}+1)",
                start=f"{self.start:%H:%M}",
                end=f"{self.end:%H:%M}",
            )
        if self.overnight and self.end > self.start:
            raise RotaError(
                "overnight_too_long",
                "an overnight window must end at or before its start time, next day",
            )
        return self

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}" + ("+1" if self.overnight else "")

    def minutes(self) -> tuple[int, int]:
        """Start and end in minutes from the day's midnight (end may pass 1440)."""
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute + (1440 if self.overnight else 0)
        return start, end


IntervalField = Annotated[Interval, PlainSerializer(str, return_type=str)]


def no_overlap(intervals: list[Interval]) -> list[Interval]:
    spans = sorted(i.minutes() for i in intervals)
    for (s1, e1), (s2, _e2) in itertools.pairwise(spans):
        if s2 < e1:
            first, second = f"{s1 // 60:02d}:{s1 % 60:02d}", f"{s2 // 60:02d}:{s2 % 60:02d}"
            raise RotaError(
                "windows_overlap", f"windows overlap ({first} and {second})", a=first, b=second
            )
    return intervals


DayIntervals = Annotated[
    list[IntervalField], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)
]


class Week(BaseModel):
    """Intervals for each weekday; a missing day has none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mon: DayIntervals = []
    tue: DayIntervals = []
    wed: DayIntervals = []
    thu: DayIntervals = []
    fri: DayIntervals = []
    sat: DayIntervals = []
    sun: DayIntervals = []

    @field_validator(*WEEKDAYS)
    @classmethod
    def _check_day(cls, value: list[Interval]) -> list[Interval]:
        return no_overlap(value)

    @model_validator(mode="after")
    def _across_midnight(self) -> Week:
        errors: list[Reason] = []
        for weekday, name in enumerate(WEEKDAYS):
            following = WEEKDAYS[(weekday + 1) % 7]
            problem = runs_into(self.day(weekday), self.day((weekday + 1) % 7), following)
            if problem:
                errors.append(Reason(name, problem.code, problem.text, problem.params))
        if errors:
            raise RotaValidationError(errors)
        return self

    def day(self, weekday: int) -> list[Interval]:
        intervals: list[Interval] = getattr(self, WEEKDAYS[weekday])
        return intervals


def runs_into(day: list[Interval], next_day: list[Interval], next_name: str) -> RotaError | None:
    """Why an overnight window of ``day`` overlaps a window of the following day, if it does.

    ``next_name`` is a weekday (``"tue"``) or ``"a public holiday"``.
    """
    for late in day:
        spill = late.minutes()[1] - 1440
        for early in next_day:
            if late.overnight and early.minutes()[0] < spill:
                text = f"{late} runs into {next_name} {early}"
                if next_name in WEEKDAYS:
                    return RotaError("runs_into", text, window=late, weekday=next_name, next=early)
                return RotaError("runs_into_holiday", text, window=late, next=early)
    return None


def _month_day(value: Any) -> Any:
    if isinstance(value, str):
        match = _MONTH_DAY.match(value)
        if not match:
            raise RotaError("bad_month_day", f"{value!r} is not MM-DD", value=value)
        month, day = int(match.group(1)), int(match.group(2))
        try:
            date(2000, month, day)  # 2000 is a leap year: 02-29 is allowed
        except ValueError:
            raise RotaError(
                "bad_month_day", f"{value!r}: day is out of range for month", value=value
            ) from None
        return (month, day)
    return value


MonthDay = Annotated[
    tuple[int, int],
    BeforeValidator(_month_day),
    PlainSerializer(lambda v: f"{v[0]:02d}-{v[1]:02d}", return_type=str),
]


class Season(BaseModel):
    """Opening hours used every year between two month-days (inclusive), e.g. July–August."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: MonthDay
    end: MonthDay
    hours: Week

    def contains(self, day: date) -> bool:
        key = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end  # a season across New Year


class DateRange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise RotaError(
                "range_ends_before_start",
                f"ends {self.end} before it starts {self.start}",
                start=self.start.isoformat(),
                end=self.end.isoformat(),
            )
        return self

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end
