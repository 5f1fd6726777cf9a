"""The rota page's "What the rota says": the rules behind the calendar, read-only and short —
its rotations (who, how often, since and until when), duty by season, and dated exceptions
with their notes — said in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from app import timefmt
from app.i18n import gettext
from rota import Rota
from rota.model import DatedDay, Interval, Rotation, Week
from rota.wallclock import WEEKDAYS

MAX_DATES = 60  # dated exceptions listed from today on; a rota with more is rare


@dataclass(frozen=True, slots=True)
class RotationSaid:
    title: str  # "Rotation evenings" when there are several, else ""
    rule: str  # which windows, how long a turn, how many offices a turn
    members: list[str]


@dataclass(frozen=True, slots=True)
class DateSaid:
    day: date
    label: str  # "jeudi 24 décembre 2026"
    what: str  # "shared duty 20:00–02:00 (next day)", "Les Salines: closed"
    note: str


@dataclass(frozen=True, slots=True)
class Said:
    rotations: list[RotationSaid]
    seasons: list[str]
    dates: list[DateSaid]


class _Say:
    def __init__(self, language: str, names: Mapping[str, str]) -> None:
        self.language = language
        self.names = names

    def __call__(self, key: str, **params: object) -> str:
        return gettext(self.language, key, **params)

    def name(self, office: str) -> str:
        return self.names.get(office, office)

    def day(self, day: date) -> str:
        return f"{timefmt.day_label(day, self.language)} {day.year}"

    def month_day(self, value: tuple[int, int]) -> str:
        month, day = value
        return self("fmt.day", day=day, month=self(f"date.month.{month}"))

    def interval(self, interval: Interval) -> str:
        start, end = f"{interval.start:%H:%M}", f"{interval.end:%H:%M}"
        if interval.overnight:
            return self("rota.says.overnight", start=start, end=end)
        return f"{start}–{end}"

    def intervals(self, intervals: list[Interval]) -> str:
        return ", ".join(self.interval(i) for i in intervals)

    def week(self, week: Week) -> str:
        """Consecutive weekdays with the same windows together: "lun.–ven. 17:00–20:00"."""
        groups: list[tuple[int, int, list[Interval]]] = []
        for n in range(7):
            day = week.day(n)
            if groups and groups[-1][2] == day and groups[-1][1] == n - 1:
                groups[-1] = (groups[-1][0], n, day)
            else:
                groups.append((n, n, day))
        parts = []
        for first, last, day in groups:
            if not day:
                continue
            days = self(f"rota.weekday_short.{first}")
            if last > first:
                days += "–" + self(f"rota.weekday_short.{last}")
            parts.append(f"{days} {self.intervals(day)}")
        return " · ".join(parts) if parts else self("rota.says.no_duty")

    def rotation(self, rotation: Rotation, several: bool) -> RotationSaid:
        dealt = [
            self(f"date.weekday.{WEEKDAYS.index(d)}") if d in WEEKDAYS else self(f"rota.slot.{d}")
            for d in rotation.days
        ]
        rule = [", ".join(dealt) if dealt else self("rota.says.days_all")]
        rule.append(self(f"rota.says.turn.{rotation.turn}"))
        if rotation.together > 1:
            rule.append(self("rota.says.together", n=rotation.together))
        members = []
        for member in rotation.members:
            text = self.name(member.office)
            if member.weight > 1:
                text = self("rota.says.weight", office=text, weight=member.weight)
            if member.since is not None:
                text += " · " + self("rota.says.since", date=self.day(member.since))
            if member.until is not None:
                text += " · " + self("rota.says.until", date=self.day(member.until))
            members.append(text)
        if not members:
            members.append(self("rota.says.no_members"))
        title = self("rota.says.rotation", id=rotation.id) if several else ""
        said = " · ".join(rule)
        return RotationSaid(title, said[:1].upper() + said[1:], members)


def says(rota: Rota, names: Mapping[str, str], language: str, today: date) -> Said:
    say = _Say(language, names)
    rotations = rota.all_rotations
    seasons = []
    for season in rota.duty.seasons:
        text = say(
            "rota.says.season", start=say.month_day(season.start), end=say.month_day(season.end)
        )
        text += " : " if language == "fr" else ": "
        text += say.week(season.week)
        if season.holiday is not None:
            text += " · " + (
                say("rota.says.holiday_windows", hours=say.intervals(season.holiday))
                if season.holiday
                else say("rota.says.no_holiday_duty")
            )
        seasons.append(text)
    dates: list[DateSaid] = []

    def dated(entry: DatedDay, what: str) -> None:
        if entry.date >= today:
            dates.append(DateSaid(entry.date, say.day(entry.date), what, entry.note))

    for entry in rota.duty.dates:
        hours = say.intervals(entry.hours)
        dated(entry, say("rota.says.duty_date", hours=hours) if hours else say("rota.says.no_duty"))
    for day in rota.holidays.no_duty:
        if day >= today and all(e.date != day for e in rota.duty.dates):
            dates.append(DateSaid(day, say.day(day), say("rota.says.no_duty"), ""))
    for office in rota.offices:
        for entry in office.dates:
            hours = say.intervals(entry.hours)
            what = (
                say("rota.says.office_open", office=say.name(office.id), hours=hours)
                if hours
                else say("rota.says.office_closed", office=say.name(office.id))
            )
            dated(entry, what)
    dates.sort(key=lambda d: d.day)
    return Said(
        [say.rotation(r, len(rotations) > 1) for r in rotations if r.members or len(rotations) > 1],
        seasons,
        dates[:MAX_DATES],
    )
