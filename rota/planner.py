"""The fair planner: who takes each shared duty slot of a season.

Each slot class (weekday evening, weekend day, public holiday) is balanced on its own with the
quota method (Balinski and Young): a slot goes to an available member still below its weighted
share of that class once the slot is counted, the one with the most weight per slot it would then
have (then the fewest slots overall per weight, then the rotation's order). When everyone is
available, after every slot each office's count of a class is within one of its exact share
(weight / total weight × slots of the class so far), so with equal weights no office has more than
one slot more than another in any class. Unavailable members are skipped; the others catch up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from rota.model import Override, Rota
from rota.schedule import SLOT_CLASSES, Schedule, Window


@dataclass(frozen=True, slots=True)
class Assignment:
    """One duty window and the office the planner gives it to."""

    window: Window
    office: str | None  # None: no member was available


@dataclass(frozen=True, slots=True)
class Plan:
    """The planner's assignments in time order, and the counts table."""

    assignments: list[Assignment]
    counts: dict[str, dict[str, int]]  # office → slot class → slots


def plan(rota: Rota, first: date, last: date) -> Plan:
    """Gives every duty window of local dates first..last to a rotation member, fairly."""
    schedule = Schedule(rota)
    members = rota.rotation.members
    weights = {m.office: m.weight for m in members}
    total_weight = sum(weights.values())
    order = {m.office: i for i, m in enumerate(members)}
    counts = {m.office: dict.fromkeys(SLOT_CLASSES, 0) for m in members}
    slots = dict.fromkeys(SLOT_CLASSES, 0)
    assignments: list[Assignment] = []
    day = first
    while day <= last:
        for window in schedule.windows_on(day):
            free = [m.office for m in members if schedule.available(m.office, day)]
            if not free:
                assignments.append(Assignment(window, None))
                continue
            slot = window.slot
            slots[slot] += 1
            # Below its share once this slot is counted (integers: no rounding to argue about).
            below = [o for o in free if counts[o][slot] * total_weight < weights[o] * slots[slot]]
            chosen = min(
                below or free,
                key=lambda o: (
                    Fraction(counts[o][slot] + 1, weights[o]),
                    Fraction(sum(counts[o].values()), weights[o]),
                    order[o],
                ),
            )
            counts[chosen][slot] += 1
            assignments.append(Assignment(window, chosen))
        day += timedelta(days=1)
    return Plan(assignments, counts)


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


def fairness(schedule: Schedule, first: date, last: date) -> dict[str, dict[str, int]]:
    """Slots per office and class as the rota stands (after swaps and overrides)."""
    table = {o.id: dict.fromkeys(SLOT_CLASSES, 0) for o in schedule.rota.offices}
    day = first
    while day <= last:
        for window in schedule.windows_on(day):
            middle = window.start + (window.end - window.start) / 2
            office = schedule.on_duty(middle).office
            if office is not None:
                table.setdefault(office, dict.fromkeys(SLOT_CLASSES, 0))[window.slot] += 1
        day += timedelta(days=1)
    return table
