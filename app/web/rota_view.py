"""What the rota page shows, computed from a schedule: the calendar's days and blocks, in the
destination's time and, for an office in another time zone, in that office's own time too.

Pure: no database, no request; the page module fetches, this one lays out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from app import timefmt
from rota import Rota, Schedule, Segment
from rota.timeutil import to_utc

View = Literal["week", "month"]
PALETTE = ("#0b6e77", "#8a4fbf", "#c2571a", "#2f7d32", "#b0306a", "#35609f", "#7a6a00")
GAP_COLOR = "#b3261e"
UNKNOWN_COLOR = "#555"


@dataclass(frozen=True, slots=True)
class Period:
    """The dates a view covers (``first``..``last``) and the whole weeks its grid shows."""

    view: View
    first: date
    last: date
    grid_first: date  # a Monday
    grid_last: date  # a Sunday
    previous: date
    next: date


def period(view: View, start: date) -> Period:
    """A week from its Monday, or a month laid out in whole weeks, Monday to Sunday."""
    if view == "month":
        first = start.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        last = following - timedelta(days=1)
        previous = (first - timedelta(days=1)).replace(day=1)
    else:
        first = start - timedelta(days=start.weekday())
        last = first + timedelta(days=6)
        following = last + timedelta(days=1)
        previous = first - timedelta(days=7)
    grid_first = first - timedelta(days=first.weekday())
    grid_last = last + timedelta(days=6 - last.weekday())
    return Period(view, first, last, grid_first, grid_last, previous, following)


@dataclass(frozen=True, slots=True)
class LocalTime:
    """A block's times as an office in another time zone reads them."""

    start: str
    end: str
    place: str  # "Cayenne", from "America/Cayenne"


@dataclass(frozen=True, slots=True)
class Block:
    start: str
    end: str
    label: str  # the lead office's name ("" for a gap)
    reason: str  # shared_duty | swap | override | gap
    color: str
    gap: bool = False
    also: tuple[str, ...] = ()  # the other offices on duty at the same time, by name
    also_colors: tuple[str, ...] = ()
    local: tuple[LocalTime, ...] = ()


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    blocks: list[Block]
    today: bool
    outside: bool = False  # a day of the month before or after, completing a week


@dataclass(frozen=True, slots=True)
class OfficeLook:
    """How the page names and colours an office, and its own time zone when it has one."""

    name: str
    color: str
    zone: str | None = None


@dataclass(slots=True)
class Looks:
    offices: dict[str, OfficeLook] = field(default_factory=dict)

    def of(self, office: str) -> OfficeLook:
        return self.offices.get(office, OfficeLook(office, UNKNOWN_COLOR))


def looks(rota: Rota, names: Mapping[str, str]) -> Looks:
    """Each rota office's display name (the destination's name for it first) and colour."""
    found = Looks()
    for i, office in enumerate(rota.offices):
        zone = office.timezone if office.timezone and office.timezone != rota.timezone else None
        found.offices[office.id] = OfficeLook(
            names.get(office.id) or office.name or office.id, PALETTE[i % len(PALETTE)], zone
        )
    for slug, name in names.items():
        found.offices.setdefault(slug, OfficeLook(name, UNKNOWN_COLOR))
    return found


def place(zone: str) -> str:
    """The city a tz database name is named after: "America/Cayenne" → "Cayenne"."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def _clock(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%H:%M")


def _local_times(seg: Segment, destination: ZoneInfo, found: Looks) -> tuple[LocalTime, ...]:
    """The block's times in each of its offices' own zones that differ from the destination's
    (once per zone; a zone whose clock reads the same, like Brussels for Paris, adds nothing)."""
    shown: list[LocalTime] = []
    seen: set[str] = set()
    for office in (seg.office, *seg.also):
        zone_name = found.of(office).zone
        if zone_name is None or zone_name in seen:
            continue
        seen.add(zone_name)
        zone = ZoneInfo(zone_name)
        if seg.start.astimezone(zone).utcoffset() == seg.start.astimezone(destination).utcoffset():
            continue
        shown.append(LocalTime(_clock(seg.start, zone), _clock(seg.end, zone), place(zone_name)))
    return tuple(shown)


def block(seg: Segment, zone: ZoneInfo, found: Looks) -> Block:
    lead = found.of(seg.office)
    others = [found.of(o) for o in seg.also]
    return Block(
        _clock(seg.start, zone),
        _clock(seg.end, zone),
        lead.name,
        seg.reason,
        lead.color,
        also=tuple(o.name for o in others),
        also_colors=tuple(o.color for o in others),
        local=_local_times(seg, zone, found),
    )


def days(
    segments: Iterable[Segment],
    gaps: Iterable[tuple[datetime, datetime]],
    shown: Period,
    zone: ZoneInfo,
    found: Looks,
    today: date,
) -> list[Day]:
    """Every date of the grid with its duty blocks and gaps, in time order."""
    count = (shown.grid_last - shown.grid_first).days + 1
    by_day: dict[date, list[Block]] = {
        shown.grid_first + timedelta(days=n): [] for n in range(count)
    }
    for seg in segments:
        blocks = by_day.get(seg.start.astimezone(zone).date())
        if blocks is not None:
            blocks.append(block(seg, zone, found))
    for gap_start, gap_end in gaps:
        blocks = by_day.get(gap_start.astimezone(zone).date())
        if blocks is not None:
            blocks.append(
                Block(_clock(gap_start, zone), _clock(gap_end, zone), "", "gap", GAP_COLOR, True)
            )
    for blocks in by_day.values():
        blocks.sort(key=lambda b: b.start)
    return [
        Day(d, blocks, d == today, not shown.first <= d <= shown.last)
        for d, blocks in by_day.items()
    ]


def calendar(schedule: Schedule, shown: Period, found: Looks, today: date) -> list[Day]:
    """The grid's days for a schedule (whole weeks, so a month's neighbours' days too)."""
    zone = schedule.zone
    begin = to_utc(shown.grid_first, 0, zone)
    end = to_utc(shown.grid_last + timedelta(days=1), 0, zone)
    return days(schedule.segments(begin, end), schedule.gaps(begin, end), shown, zone, found, today)


def slots(value: float, language: str) -> str:
    """A fairness figure: whole slots stay whole ("3"); a share of a slot keeps one decimal
    ("2,5" in French, "2.5" in English), as the time actually held makes it."""
    rounded = round(value, 1)
    if rounded == int(rounded):
        return timefmt.number(int(rounded), language)
    return timefmt.number(rounded, language, digits=1)
