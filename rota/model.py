"""The rota of a destination, as data: offices and their hours, the shared duty, the rotation,
overrides and swaps. Validated on construction; every error names its field.

Wall-clock times are local to the destination's time zone; overrides are aware instants.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*(\+1)?\s*$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


class RotaValidationError(ValueError):
    """The rota was refused; ``errors`` lists (field path, reason) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in errors))


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
                raise ValueError(f"{value!r} is not HH:MM-HH:MM (add +1 for an overnight window)")
            h1, m1, h2, m2, plus = match.groups()
            if int(h1) > 23 or int(h2) > 23 or int(m1) > 59 or int(m2) > 59:
                raise ValueError(f"{value!r} has an impossible time")
            return {
                "start": time(int(h1), int(m1)),
                "end": time(int(h2), int(m2)),
                "overnight": bool(plus),
            }
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if not self.overnight and self.end <= self.start:
            raise ValueError(
                f"ends at {self.end:%H:%M}, not after its start {self.start:%H:%M}: an overnight"
                f" window must be explicit ({self.start:%H:%M}-{self.end:%H:%M}+1)"
            )
        if self.overnight and self.end > self.start:
            raise ValueError("an overnight window must end at or before its start time, next day")
        return self

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}" + ("+1" if self.overnight else "")

    def minutes(self) -> tuple[int, int]:
        """Start and end in minutes from the day's midnight (end may pass 1440)."""
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute + (1440 if self.overnight else 0)
        return start, end


IntervalField = Annotated[Interval, PlainSerializer(str, return_type=str)]


def _no_overlap(intervals: list[Interval]) -> list[Interval]:
    spans = sorted(i.minutes() for i in intervals)
    for (s1, e1), (s2, _e2) in itertools.pairwise(spans):
        if s2 < e1:
            raise ValueError(
                f"windows overlap ({s1 // 60:02d}:{s1 % 60:02d} and {s2 // 60:02d}:{s2 % 60:02d})"
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
        return _no_overlap(value)

    def day(self, weekday: int) -> list[Interval]:
        intervals: list[Interval] = getattr(self, WEEKDAYS[weekday])
        return intervals


def _month_day(value: Any) -> Any:
    if isinstance(value, str):
        match = _MONTH_DAY.match(value)
        if not match:
            raise ValueError(f"{value!r} is not MM-DD")
        month, day = int(match.group(1)), int(match.group(2))
        date(2000, month, day)  # 2000 is a leap year: 02-29 is allowed
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
            raise ValueError(f"ends {self.end} before it starts {self.start}")
        return self

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


class Office(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = ""
    hours: Week = Week()
    seasons: list[Season] = []
    closures: list[DateRange] = []  # the office is closed: no own hours, no duty
    unavailable: list[DateRange] = []  # cannot take shared duty (the planner respects it)
    closed_on_holidays: bool = False
    accounts: list[str] = []


class Member(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    office: str
    weight: int = 1

    @field_validator("weight")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a whole number above 0")
        return value


class Rotation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    members: list[Member] = []
    turn: Literal["window", "day", "week"] = "week"
    anchor: date = date(2026, 1, 5)  # the first turn counts from here (a Monday for weeks)


class Duty(BaseModel):
    """The shared duty windows: a weekly template, and the one used on public holidays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    week: Week = Week()
    holiday: DayIntervals = []

    @field_validator("holiday")
    @classmethod
    def _check_holiday(cls, value: list[Interval]) -> list[Interval]:
        return _no_overlap(value)


class Holidays(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str = "FR"
    subdivision: str | None = None  # "57" (Moselle) or "6AE" (Alsace) for Alsace-Moselle's days
    extra: list[date] = []  # local public holidays of the destination
    not_holidays: list[date] = []  # dates the library lists that are switched off here
    no_duty: list[date] = []  # dates without any shared duty


class Override(BaseModel):
    """From ``start`` to ``end``, ``office`` is on duty — or nobody, when ``office`` is None."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: datetime
    end: datetime
    office: str | None = None
    priority: int = 0
    note: str = ""

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("needs a UTC offset, e.g. 2026-07-14T22:00:00+02:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        if self.end <= self.start:
            raise ValueError("ends before it starts")
        return self


class Swap(BaseModel):
    """In the turn containing ``turn``, ``a`` and ``b`` exchange: whoever of them was due, the
    other one takes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    turn: date
    a: str
    b: str
    note: str = ""

    @model_validator(mode="after")
    def _different(self) -> Swap:
        if self.a == self.b:
            raise ValueError("an office cannot swap with itself")
        return self


class Rota(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "Europe/Paris"
    offices: list[Office] = []
    duty: Duty = Duty()
    holidays: Holidays = Holidays()
    rotation: Rotation = Rotation()
    overrides: list[Override] = []
    swaps: list[Swap] = []

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _references(self) -> Rota:
        errors: list[tuple[str, str]] = []
        ids = [o.id for o in self.offices]
        known = set(ids)
        if len(known) != len(ids):
            errors.append(("offices", "two offices have the same id"))
        accounts: dict[str, str] = {}
        for i, office in enumerate(self.offices):
            for account in office.accounts:
                if account in accounts:
                    errors.append(
                        (
                            f"offices.{i}.accounts",
                            f"{account!r} already belongs to {accounts[account]!r}",
                        )
                    )
                accounts[account] = office.id
        for i, member in enumerate(self.rotation.members):
            if member.office not in known:
                errors.append((f"rotation.members.{i}.office", f"unknown office {member.office!r}"))
        for i, override in enumerate(self.overrides):
            if override.office is not None and override.office not in known:
                errors.append((f"overrides.{i}.office", f"unknown office {override.office!r}"))
        for i, swap in enumerate(self.swaps):
            for side in ("a", "b"):
                if getattr(swap, side) not in known:
                    errors.append((f"swaps.{i}.{side}", f"unknown office {getattr(swap, side)!r}"))
        if errors:
            raise RotaValidationError(errors)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def office(self, office_id: str) -> Office:
        for office in self.offices:
            if office.id == office_id:
                return office
        raise KeyError(office_id)

    def account_office(self, account: str) -> str | None:
        for office in self.offices:
            if account in office.accounts:
                return office.id
        return None


def build(data: Any) -> Rota:
    """A validated rota from plain data; raises :class:`RotaValidationError` naming each field."""
    try:
        return Rota.model_validate(data)
    except ValidationError as exc:
        errors: list[tuple[str, str]] = []
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"])
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, RotaValidationError):
                errors.extend(cause.errors)
                continue
            message = str(error["msg"]).removeprefix("Value error, ")
            errors.append((path or "rota", message))
        raise RotaValidationError(errors) from None


def check_override(override: Override, now: datetime) -> None:
    """A new override must not lie wholly in the past."""
    if override.end <= now:
        raise RotaValidationError([("override.end", "is in the past")])
