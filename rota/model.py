"""The rota of a destination, as data: offices and their hours, the shared duty, the rotation,
overrides and swaps. Validated on construction; every error names its field.

Wall-clock times are local to the destination's time zone; overrides are aware instants.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
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

from rota.calendar import HolidayCalendar, unknown_region
from rota.errors import Reason, RotaError, RotaValidationError, refused
from rota.timeutil import require_aware
from rota.wallclock import (
    WEEKDAYS,
    DatedDay,
    DateRange,
    DayIntervals,
    DutySeason,
    Interval,
    Season,
    Week,
    dated_spills,
    duty_templates_apart,
    no_overlap,
    one_entry_a_date,
    seasons_apart,
)

__all__ = [
    "WEEKDAYS",
    "DateRange",
    "DatedDay",
    "Duty",
    "DutySeason",
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
    # Its own hours, closures and dates are read in this zone when given (Rota.office_zone);
    # whether it can take the shared duty is read on the destination's dates, like the duty.
    timezone: str | None = None
    dates: list[DatedDay] = []  # hours of one date (24 December until 16:00), else closed

    @field_validator("timezone")
    @classmethod
    def _office_zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone(value)

    @field_validator("seasons")
    @classmethod
    def _one_season_a_day(cls, value: list[Season]) -> list[Season]:
        seasons_apart(value)
        return value

    @field_validator("dates")
    @classmethod
    def _one_entry_a_date(cls, value: list[DatedDay]) -> list[DatedDay]:
        return one_entry_a_date(value)

    def hours_on(self, day: date, holiday: bool = False) -> list[Interval]:
        """The office's own hours on one of its local dates (``holiday``: a public holiday).

        A closure wins over everything (the office is shut for the whole range, even on a date
        listed in ``dates``); then the date's own entry; then ``closed_on_holidays``; then the
        season's hours; then the usual week.
        """
        if any(c.contains(day) for c in self.closures):
            return []
        for entry in self.dates:
            if entry.date == day:
                return entry.hours
        if holiday and self.closed_on_holidays:
            return []
        for season in self.seasons:
            if season.contains(day):
                return season.hours.day(day.weekday())
        return self.hours.day(day.weekday())


class Member(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    office: str
    weight: int = 1
    since: date | None = None  # first local date of membership (None: always a member)
    until: date | None = None  # last local date of membership, inclusive

    @field_validator("weight")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise RotaError("not_positive", "must be a whole number above 0")
        return value

    @field_validator("until")
    @classmethod
    def _until_after_since(cls, value: date | None, info: ValidationInfo) -> date | None:
        since = info.data.get("since")
        if value is not None and since is not None and value < since:
            raise RotaError(
                "range_ends_before_start",
                f"ends {value} before it starts {since}",
                start=since.isoformat(),
                end=value.isoformat(),
            )
        return value

    def member_on(self, day: date) -> bool:
        """Whether the office belongs to the rotation on a local date."""
        return (self.since is None or self.since <= day) and (
            self.until is None or day <= self.until
        )


ROTATION_DAYS = (*WEEKDAYS, *("holiday", "weekday_evening", "weekend_day"))


class Rotation(BaseModel):
    """Who takes the turns of some duty windows (``days``: weekday names and/or slot classes;
    empty: all), one turn after another from the anchor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default="main", pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    days: list[str] = []
    members: list[Member] = []
    turn: Literal["window", "day", "week"] = "week"
    anchor: date = date(2026, 1, 5)  # the first turn counts from here (a Monday for weeks)
    together: int = 1  # how many members take each turn: the due one and the next available

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: list[str]) -> list[str]:
        for day in value:
            if day not in ROTATION_DAYS:
                raise RotaError(
                    "unknown_day",
                    f"{day!r} is not a weekday (mon..sun) nor holiday, weekday_evening,"
                    " weekend_day",
                    value=day,
                )
        return value

    @field_validator("together")
    @classmethod
    def _together_positive(cls, value: int) -> int:
        if value <= 0:
            raise RotaError("not_positive", "must be a whole number above 0")
        return value

    @model_validator(mode="after")
    def _enough_members(self) -> Rotation:
        offices = {m.office for m in self.members}
        if self.members and self.together > len(offices):
            raise refused(
                "together",
                "together_too_many",
                f"{self.together} offices on each turn, but the rotation has {len(offices)}",
                together=self.together,
                members=len(offices),
            )
        return self

    def deals(self, weekday: int, slot: str) -> bool:
        """Whether this rotation deals a window of that weekday and slot class."""
        return not self.days or WEEKDAYS[weekday] in self.days or slot in self.days


class Duty(BaseModel):
    """The shared duty windows: a weekly template, the one used on public holidays, seasons
    replacing them between two month-days, and windows for single dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    week: Week = Week()
    holiday: DayIntervals = []
    seasons: list[DutySeason] = []  # summer evenings to 23:00, winter ones to 20:00
    dates: list[DatedDay] = []  # a festival night until 02:00 (+1), 24 December without duty

    @field_validator("holiday")
    @classmethod
    def _check_holiday(cls, value: list[Interval]) -> list[Interval]:
        return no_overlap(value)

    @field_validator("seasons")
    @classmethod
    def _one_season_a_day(cls, value: list[DutySeason]) -> list[DutySeason]:
        seasons_apart(value)
        return value

    @field_validator("dates")
    @classmethod
    def _one_entry_a_date(cls, value: list[DatedDay]) -> list[DatedDay]:
        return one_entry_a_date(value)

    @model_validator(mode="after")
    def _holiday_across_midnight(self) -> Duty:
        # Dated days are checked by the rota, which knows its public holidays.
        problems = duty_templates_apart(self.week, self.holiday, self.seasons)
        if problems:
            raise RotaValidationError(problems)
        return self

    def template(self, day: date, holiday: bool = False, no_duty: bool = False) -> list[Interval]:
        """The duty windows (local wall-clock) of a local date.

        The date's own entry wins over everything, ``holidays.no_duty`` included (it is the
        more specific); then ``no_duty``; then the season's holiday windows (the duty's own
        ones when the season has none) or its week; then the holiday windows; then the week.
        """
        for entry in self.dates:
            if entry.date == day:
                return entry.hours
        if no_duty:
            return []
        season = next((s for s in self.seasons if s.contains(day)), None)
        if holiday:
            if season is not None and season.holiday is not None:
                return season.holiday
            return self.holiday
        return (season.week if season is not None else self.week).day(day.weekday())


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
    also: list[str] = []  # other offices on duty with ``office``, sharing its time

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
    rotation: str | None = None  # the rotation whose turn it is (None: every rotation's)

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
    rotation: Rotation = Rotation()  # the one rotation, when ``rotations`` is empty
    rotations: list[Rotation] = []  # several, each dealing its own windows (first match)
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

        if self.rotations and self.rotation != Rotation():
            errors.append(
                Reason(
                    "rotations",
                    "rotation_and_rotations",
                    "give either one [rotation] or a list of [[rotations]], not both",
                )
            )
        named = [("rotation", self.rotation)] if not self.rotations else []
        named += [(f"rotations.{i}", r) for i, r in enumerate(self.rotations)]
        rotation_ids: set[str] = set()
        for path, rotation in named:
            if rotation.id in rotation_ids:
                errors.append(
                    Reason(
                        f"{path}.id",
                        "duplicate_rotation",
                        f"two rotations have the id {rotation.id!r}",
                        {"rotation": rotation.id},
                    )
                )
            rotation_ids.add(rotation.id)
            for i, member in enumerate(rotation.members):
                if member.office not in known:
                    errors.append(unknown(f"{path}.members.{i}.office", member.office))
        for i, override in enumerate(self.overrides):
            if override.office is not None and override.office not in known:
                errors.append(unknown(f"overrides.{i}.office", override.office))
            for j, other in enumerate(override.also):
                if other not in known:
                    errors.append(unknown(f"overrides.{i}.also.{j}", other))
                elif other == override.office or override.office is None:
                    errors.append(
                        Reason(
                            f"overrides.{i}.also.{j}",
                            "also_is_lead" if override.office else "also_without_lead",
                            f"{other!r} is the override's own office"
                            if override.office
                            else "a closed override (no office) has nobody to share with",
                            {"office": other},
                        )
                    )
        for i, swap in enumerate(self.swaps):
            for side in ("a", "b"):
                if getattr(swap, side) not in known:
                    errors.append(unknown(f"swaps.{i}.{side}", getattr(swap, side)))
            if swap.rotation is not None and swap.rotation not in rotation_ids:
                errors.append(
                    Reason(
                        f"swaps.{i}.rotation",
                        "unknown_rotation",
                        f"unknown rotation {swap.rotation!r}",
                        {"rotation": swap.rotation},
                    )
                )
        if errors:
            raise RotaValidationError(errors)
        return self

    @property
    def all_rotations(self) -> list[Rotation]:
        """The rotations in the order windows are matched: ``rotations``, else ``rotation``."""
        return list(self.rotations) if self.rotations else [self.rotation]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def office_zone(self, office_id: str) -> ZoneInfo:
        """The zone of an office's own hours, closures and dates (its own, else the rota's);
        the shared duty is always in the rota's zone. Raises KeyError for an unknown office."""
        return ZoneInfo(self.office(office_id).timezone or self.timezone)

    @model_validator(mode="after")
    def _dated_days_across_midnight(self) -> Rota:
        """A dated day's windows may not run into the next date's, nor the day before's into
        its own: the same rule as the weekly templates, on real dates and real holidays."""
        calendar = HolidayCalendar(self.holidays)
        errors = [
            Reason(f"duty.dates.{r.field}", r.code, r.text, r.params)
            for r in dated_spills(
                self.duty.dates,
                lambda day: self.duty.template(
                    day, calendar.is_holiday(day), not calendar.has_duty(day)
                ),
            )
        ]
        for i, office in enumerate(self.offices):
            errors += [
                Reason(f"offices.{i}.dates.{r.field}", r.code, r.text, r.params)
                for r in dated_spills(office.dates, _office_hours(office, calendar))
            ]
        if errors:
            raise RotaValidationError(errors)
        return self

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


def _office_hours(office: Office, calendar: HolidayCalendar) -> Callable[[date], list[Interval]]:
    return lambda day: office.hours_on(day, calendar.is_holiday(day))


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
