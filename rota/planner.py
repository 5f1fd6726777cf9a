"""The fair planner: who takes each shared duty slot of a season.

Each slot class (weekday evening, weekend day, public holiday) is balanced on its own with the
quota method (Balinski and Young): a slot goes to an available member still below its weighted
share of that class once the slot is counted, the one with the most weight per slot it would then
have (then the fewest slots overall per weight, then the rotation's order). When everyone is
available, after every slot each office's count of a class is within one of its exact share
(weight / total weight × slots of the class so far), so with equal weights no office has more than
one slot more than another in any class. Unavailable members are skipped; the others catch up.
Each rotation plans its own windows among its own members (members outside their ``since`` ..
``until`` are unavailable), ``together`` offices a window, one after another by the same rule.

:func:`fairness` counts what the rota as it stands actually has each office work: each window
credits every office on it with the share of the window it held (segments × time), in
slot-equivalents; a window shared by two offices counts for each of them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from rota.model import Override, Rota
from rota.schedule import SLOT_CLASSES, Schedule, Window


@dataclass(frozen=True, slots=True)
class Assignment:
    """One duty window and the office the planner gives it to."""

    window: Window
    office: str | None  # None: no member was available
    also: tuple[str, ...] = ()  # the other offices sharing it (a rotation's ``together``)


@dataclass(frozen=True, slots=True)
class Plan:
    """The planner's assignments in time order, and the counts table."""

    assignments: list[Assignment]
    counts: dict[str, dict[str, int]]  # office → slot class → slots (all rotations)
    by_rotation: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)


def plan(rota: Rota, first: date, last: date) -> Plan:
    """Gives every duty window of local dates first..last to its rotation's members, fairly."""
    schedule = Schedule(rota)
    offices = list(dict.fromkeys(m.office for r in rota.all_rotations for m in r.members))
    counts = {o: dict.fromkeys(SLOT_CLASSES, 0) for o in offices}
    by_rotation = {
        r.id: {m.office: dict.fromkeys(SLOT_CLASSES, 0) for m in r.members}
        for r in rota.all_rotations
    }
    slots = {r.id: dict.fromkeys(SLOT_CLASSES, 0) for r in rota.all_rotations}
    assignments: list[Assignment] = []
    day = first
    while day <= last:
        for window in schedule.windows_on(day):
            rotation = schedule.duty.rotations.get(window.rotation or "")
            if rotation is None:
                assignments.append(Assignment(window, None))
                continue
            weights: dict[str, int] = {}
            for m in rotation.members:
                if m.member_on(day):
                    weights[m.office] = weights.get(m.office, 0) + m.weight
            total_weight = sum(weights.values())
            order = {o: i for i, o in enumerate(weights)}
            table, seen = by_rotation[rotation.id], slots[rotation.id]
            free = [o for o in weights if schedule.available(o, day)]
            chosen: list[str] = []
            slot = window.slot
            while free and len(chosen) < rotation.together:
                seen[slot] += 1
                # Below its share once this slot is counted (integers: no rounding to argue).
                below = [o for o in free if table[o][slot] * total_weight < weights[o] * seen[slot]]
                office = min(
                    below or free,
                    key=lambda o: (
                        Fraction(table[o][slot] + 1, weights[o]),
                        Fraction(sum(table[o].values()), weights[o]),
                        order[o],
                    ),
                )
                table[office][slot] += 1
                counts[office][slot] += 1
                chosen.append(office)
                free.remove(office)
            lead = chosen[0] if chosen else None
            assignments.append(Assignment(window, lead, tuple(chosen[1:])))
        day += timedelta(days=1)
    return Plan(assignments, counts, by_rotation)


def as_overrides(result: Plan, priority: int = -1) -> list[Override]:
    """The plan as low-priority overrides: hand-made overrides still win over it."""
    return [
        Override(
            start=a.window.start,
            end=a.window.end,
            office=a.office,
            priority=priority,
            note="planned",
        )
        for a in result.assignments
    ]


def fairness(
    schedule: Schedule, first: date, last: date, rotation: str | None = None
) -> dict[str, dict[str, float]]:
    """Slot-equivalents per office and class as the rota stands (after swaps and overrides):
    each office on duty during a window (lead or sharing) is credited the share of the window it
    held. Without sharing, an office's row sums to the windows it covered and the table to the
    windows anybody covered. With ``rotation``, only that rotation's windows count. Summed
    exactly (fractions), then given as floats."""
    table = {o.id: dict.fromkeys(SLOT_CLASSES, Fraction(0)) for o in schedule.rota.offices}
    windows: list[Window] = []
    day = first
    while day <= last:
        windows += [
            w for w in schedule.windows_on(day) if rotation is None or w.rotation == rotation
        ]
        day += timedelta(days=1)
    if not windows:
        return _floats(table)
    segments = list(schedule.segments(windows[0].start, max(w.end for w in windows)))
    starts = [seg.start for seg in segments]
    for window in windows:
        length = _micros(window.end - window.start)
        i = max(bisect.bisect_right(starts, window.start) - 1, 0)
        while i < len(segments) and segments[i].start < window.end:
            seg = segments[i]
            i += 1
            overlap = min(seg.end, window.end) - max(seg.start, window.start)
            if overlap <= timedelta(0):
                continue
            held = Fraction(_micros(overlap), length)
            for office in (seg.office, *seg.also):
                row = table.setdefault(office, dict.fromkeys(SLOT_CLASSES, Fraction(0)))
                row[window.slot] += held
    return _floats(table)


def _floats(table: dict[str, dict[str, Fraction]]) -> dict[str, dict[str, float]]:
    return {o: {slot: float(n) for slot, n in row.items()} for o, row in table.items()}


def _micros(span: timedelta) -> int:
    return span // timedelta(microseconds=1)
