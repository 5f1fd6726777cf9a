"""Wall-clock building blocks of a rota: intervals like "17:00-22:00" (or "22:00-08:00+1"),
weeks of them, seasons by month-day, dated days and date ranges. Local times, no time zone yet.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from datetime import date, time, timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
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
    clash = spill_into(day, next_day)
    if clash is None:
        return None
    late, early = clash
    text = f"{late} runs into {next_name} {early}"
    if next_name in WEEKDAYS:
        return RotaError("runs_into", text, window=late, weekday=next_name, next=early)
    return RotaError("runs_into_holiday", text, window=late, next=early)


def spill_into(day: list[Interval], next_day: list[Interval]) -> tuple[Interval, Interval] | None:
    """The first overnight window of ``day`` and the window of the next day it overlaps."""
    for late in day:
        spill = late.minutes()[1] - 1440
        for early in next_day:
            if late.overnight and early.minutes()[0] < spill:
                return late, early
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


class _MonthDays(BaseModel):
    """Every year between two month-days, inclusive; ``11-01`` to ``03-31`` spans New Year."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: MonthDay
    end: MonthDay

    def contains(self, day: date) -> bool:
        key = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end  # a season across New Year


class Season(_MonthDays):
    """Opening hours used every year between two month-days (inclusive), e.g. July–August."""

    hours: Week


class DutySeason(_MonthDays):
    """Duty windows used every year between two month-days (inclusive): ``week`` replaces the
    duty's week; ``holiday``, when given (``[]``: no duty on a holiday), replaces its holiday
    windows, else the duty's own holiday windows apply in the season too."""

    week: Week = Week()
    holiday: DayIntervals | None = None

    @field_validator("holiday")
    @classmethod
    def _check_holiday(cls, value: list[Interval] | None) -> list[Interval] | None:
        return None if value is None else no_overlap(value)


def seasons_apart(seasons: Sequence[_MonthDays]) -> None:
    """Refuses two seasons sharing a day (the first one found, checked over a leap year)."""
    for i, j in itertools.combinations(range(len(seasons)), 2):
        day = date(2000, 1, 1)  # a leap year: every month-day occurs once
        while day.year == 2000:
            if seasons[i].contains(day) and seasons[j].contains(day):
                raise RotaError(
                    "seasons_overlap",
                    f"seasons {i} and {j} overlap on {day:%m-%d}",
                    a=i,
                    b=j,
                    day=f"{day:%m-%d}",
                )
            day += timedelta(days=1)


def duty_templates_apart(
    week: Week, holiday: list[Interval], seasons: Sequence[DutySeason]
) -> list[Reason]:
    """Why the duty's windows would run across midnight into the next day's, if they would.

    Within the usual template and each season (holiday windows before and after any weekday),
    and where one season gives way to another or to the usual template (any weekday, a holiday
    on either side, and 28 February into 1 March of a common year). Fields are relative to the
    duty: ``week.fri``, ``seasons.1.holiday``, …
    """
    # Each template: where its windows are named, its week and its holiday windows.
    templates: list[tuple[str, Week, list[Interval], str]] = [("", week, holiday, "holiday")]
    for i, season in enumerate(seasons):
        own = season.holiday is not None
        templates.append(
            (
                f"seasons.{i}.",
                season.week,
                season.holiday if season.holiday is not None else holiday,
                f"seasons.{i}.holiday" if own else "holiday",
            )
        )
    found: dict[str, Reason] = {}

    def note(field: str, reason: Reason) -> None:
        found.setdefault(field, reason)

    for prefix, days, on_holiday, holiday_field in templates:
        # A public holiday may fall on any weekday, before or after any other day.
        for weekday, name in enumerate(WEEKDAYS):
            problem = runs_into(on_holiday, days.day(weekday), name)
            if problem:
                note(
                    holiday_field, Reason(holiday_field, problem.code, problem.text, problem.params)
                )
            problem = runs_into(days.day(weekday), on_holiday, "a public holiday")
            if problem:
                field = f"{prefix}week.{name}"
                note(field, Reason(field, problem.code, problem.text, problem.params))

    def season_of(day: date) -> int | None:
        return next((i for i, s in enumerate(seasons) if s.contains(day)), None)

    # Where a season starts or ends (in a leap year, and 28 February into 1 March of another).
    pairs = {(date(2001, 2, 28), date(2001, 3, 1))} if seasons else set()
    for season in seasons:
        start, end = date(2000, *season.start), date(2000, *season.end)
        pairs.add((start - timedelta(days=1), start))
        pairs.add((end, end + timedelta(days=1)))
    for first, second in sorted(pairs):
        a, b = season_of(first), season_of(second)
        if a == b:
            continue
        prefix, days, on_holiday, holiday_field = templates[0 if a is None else a + 1]
        _, next_days, next_holiday, _ = templates[0 if b is None else b + 1]
        for weekday, name in enumerate(WEEKDAYS):
            following = (weekday + 1) % 7
            for field, late_side in (
                (f"{prefix}week.{name}", days.day(weekday)),
                (holiday_field, on_holiday),
            ):
                for early_side in (next_days.day(following), next_holiday):
                    clash = spill_into(late_side, early_side)
                    if clash is None:
                        continue
                    late, early = clash
                    note(
                        field,
                        Reason(
                            field,
                            "season_runs_into",
                            f"{late} on {first:%m-%d} runs into {early} on {second:%m-%d},"
                            " when the season changes",
                            {
                                "window": str(late),
                                "day": f"{first:%m-%d}",
                                "next": str(early),
                                "next_day": f"{second:%m-%d}",
                            },
                        ),
                    )
    return list(found.values())


class DatedDay(BaseModel):
    """Hours (or duty windows) for one date, instead of whatever would apply that day;
    no ``hours`` means none at all that date (closed, or no duty)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    hours: DayIntervals = []
    note: str = Field(default="", max_length=200)

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, value: list[Interval]) -> list[Interval]:
        return no_overlap(value)


def one_entry_a_date(days: list[DatedDay]) -> list[DatedDay]:
    """Refuses a date listed twice, naming the later entry's ``date``."""
    seen: dict[date, int] = {}
    errors: list[Reason] = []
    for i, day in enumerate(days):
        if day.date in seen:
            errors.append(
                Reason(
                    f"{i}.date",
                    "date_twice",
                    f"{day.date} is already listed (entry {seen[day.date]})",
                    {"date": day.date.isoformat(), "entry": str(seen[day.date])},
                )
            )
        seen.setdefault(day.date, i)
    if errors:
        raise RotaValidationError(errors)
    return days


def dated_spills(days: list[DatedDay], on: Callable[[date], list[Interval]]) -> list[Reason]:
    """Why a dated day's windows run into the next date's, or the day before's into its own.

    ``on`` gives the windows that apply on any date, dated days included. Each reason names the
    dated entry (``{i}.hours``, relative to the list).
    """
    reasons: list[Reason] = []
    for i, entry in enumerate(days):
        before = entry.date - timedelta(days=1)
        after = entry.date + timedelta(days=1)
        for first, second, late_day in (
            (on(before), entry.hours, before),
            (entry.hours, on(after), entry.date),
        ):
            clash = spill_into(first, second)
            if clash is not None:
                late, early = clash
                reasons.append(
                    Reason(
                        f"{i}.hours",
                        "dated_runs_into",
                        f"{late} of {late_day} runs into {early} of the next day",
                        {"window": str(late), "day": late_day.isoformat(), "next": str(early)},
                    )
                )
                break
    return reasons


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
