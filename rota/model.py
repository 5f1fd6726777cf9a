"""The rota of a destination, as data: offices and their hours, the shared duty, the rotation,
overrides and swaps. Validated on construction; every error names its field.

Wall-clock times are local to the destination's time zone; overrides are aware instants.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rota.calendar import unknown_region
from rota.errors import Reason, RotaError, RotaValidationError, refused
from rota.timeutil import require_aware
from rota.wallclock import (
    WEEKDAYS,
    DateRange,
    DayIntervals,
    Interval,
    Season,
    Week,
    no_overlap,
    runs_into,
)

__all__ = [
    "WEEKDAYS",
    "DateRange",
    "Duty",
    "Holidays",
    "Interval",
    "Member",
    "Office",
    "Override",
    "Reason",
    "Rota",
    "RotaError",
    "RotaValidationError",
    "Rotation",
    "Season",
    "Swap",
    "Week",
    "build",
    "check_override",
    "reasons_of",
]


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RotaError("unknown_timezone", f"unknown time zone {value!r}", zone=value) from exc
    return value


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
    timezone: str | None = None  # its own hours' zone when not the destination's

    @field_validator("timezone")
    @classmethod
    def _office_zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone(value)

    @field_validator("seasons")
    @classmethod
    def _one_season_a_day(cls, value: list[Season]) -> list[Season]:
        for i, j in itertools.combinations(range(len(value)), 2):
            day = date(2000, 1, 1)  # a leap year: every month-day occurs once
            while day.year == 2000:
                if value[i].contains(day) and value[j].contains(day):
                    raise RotaError(
                        "seasons_overlap",
                        f"seasons {i} and {j} overlap on {day:%m-%d}",
                        a=i,
                        b=j,
                        day=f"{day:%m-%d}",
                    )
                day += timedelta(days=1)
        return value


class Member(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    office: str
    weight: int = 1

    @field_validator("weight")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise RotaError("not_positive", "must be a whole number above 0")
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
        return no_overlap(value)

    @model_validator(mode="after")
    def _holiday_across_midnight(self) -> Duty:
        # A public holiday may fall on any weekday, before or after any other day.
        for weekday, name in enumerate(WEEKDAYS):
            problem = runs_into(self.holiday, self.week.day(weekday), name)
            if problem:
                raise refused("holiday", problem.code, problem.text, **problem.params)
            problem = runs_into(self.week.day(weekday), self.holiday, "a public holiday")
            if problem:
                raise refused(f"week.{name}", problem.code, problem.text, **problem.params)
        return self


class Holidays(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str = "FR"
    subdivision: str | None = (
        None  # "57" (Moselle), "6AE", "67" or "68" (Alsace) for Alsace-Moselle's days
    )
    extra: list[date] = []  # local public holidays of the destination
    not_holidays: list[date] = []  # dates the library lists that are switched off here
    no_duty: list[date] = []  # dates without any shared duty

    @model_validator(mode="after")
    def _known_region(self) -> Holidays:
        reason = unknown_region(self.country, self.subdivision)
        if reason is not None:
            field = "country" if unknown_region(self.country, None) else "subdivision"
            raise refused(
                field,
                "unknown_region",
                reason,
                country=self.country,
                subdivision=self.subdivision or "",
            )
        return self


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
            raise RotaError("needs_offset", "needs a UTC offset, e.g. 2026-07-14T22:00:00+02:00")
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise RotaError("ends_before_start", "ends before it starts")
        return value


class Swap(BaseModel):
    """In the turn containing ``turn``, ``a`` and ``b`` exchange: whoever of them was due, the
    other one takes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    turn: date
    a: str
    b: str
    note: str = ""

    @field_validator("b")
    @classmethod
    def _different(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("a"):
            raise RotaError("swap_with_itself", "an office cannot swap with itself")
        return value


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
        return _known_zone(value)

    @model_validator(mode="after")
    def _references(self) -> Rota:
        errors: list[Reason] = []
        ids = [o.id for o in self.offices]
        known = set(ids)
        if len(known) != len(ids):
            errors.append(Reason("offices", "duplicate_office", "two offices have the same id"))
        accounts: dict[str, str] = {}
        for i, office in enumerate(self.offices):
            for account in office.accounts:
                if account in accounts:
                    errors.append(
                        Reason(
                            f"offices.{i}.accounts",
                            "account_taken",
                            f"{account!r} already belongs to {accounts[account]!r}",
                            {"account": account, "office": accounts[account]},
                        )
                    )
                accounts[account] = office.id

        def unknown(path: str, office: str) -> Reason:
            return Reason(path, "unknown_office", f"unknown office {office!r}", {"office": office})

        for i, member in enumerate(self.rotation.members):
            if member.office not in known:
                errors.append(unknown(f"rotation.members.{i}.office", member.office))
        for i, override in enumerate(self.overrides):
            if override.office is not None and override.office not in known:
                errors.append(unknown(f"overrides.{i}.office", override.office))
        for i, swap in enumerate(self.swaps):
            for side in ("a", "b"):
                if getattr(swap, side) not in known:
                    errors.append(unknown(f"swaps.{i}.{side}", getattr(swap, side)))
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


def build(data: Any, now: datetime | None = None) -> Rota:
    """A validated rota from plain data; raises :class:`RotaValidationError` naming each field.

    With ``now``, an override that ends at or before it is refused as well (nothing here reads a
    clock: the caller says what time it is).
    """
    try:
        rota = Rota.model_validate(data)
    except ValidationError as exc:
        raise RotaValidationError(reasons_of(exc, "rota")) from None
    if now is not None:
        now = require_aware(now, "now")
        past = [
            Reason(f"overrides.{i}.end", "in_the_past", "is in the past")
            for i, override in enumerate(rota.overrides)
            if override.end <= now
        ]
        if past:
            raise RotaValidationError(past)
    return rota


def check_override(override: Override, now: datetime) -> None:
    """A new override must not lie wholly in the past."""
    if override.end <= require_aware(now, "now"):
        raise refused("override.end", "in_the_past", "is in the past")


def reasons_of(exc: ValidationError, whole: str) -> list[Reason]:
    """The coded reasons of a model's validation error; ``whole`` names a model-wide error.

    Pydantic's own checks (a missing field, a malformed date) keep pydantic's error type as
    their code, prefixed ``type.``, so they can be said in another language too.
    """
    reasons: list[Reason] = []
    for error in exc.errors():
        path = ".".join(str(p) for p in error["loc"])
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, RotaValidationError):
            reasons.extend(
                Reason(f"{path}.{r.field}" if path else r.field, r.code, r.text, r.params)
                for r in cause.reasons
            )
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        if isinstance(cause, RotaError):
            reasons.append(Reason(path or whole, cause.code, message, cause.params))
        else:
            reasons.append(Reason(path or whole, f"type.{error['type']}", message))
    return reasons
