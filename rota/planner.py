"""The fair planner: who takes each shared duty slot of a season.

Each slot class (weekday evening, weekend day, public holiday) is balanced on its own: a slot goes
to the available member with the fewest slots of that class per unit of weight (then the fewest
slots overall, then the rotation's order). With equal weights and no unavailability no office ends
up with more than one slot more than another in any class.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from rota.model import Override, Rota
from rota.schedule import SLOT_CLASSES, Schedule, Window


@dataclass(frozen=True, slots=True)
class Assignment:
    window: Window
    office: str | None  # None: no member was available


@dataclass(frozen=True, slots=True)
class Plan:
    assignments: list[Assignment]
    counts: dict[str, dict[str, int]]  # office → slot class → slots


def plan(rota: Rota, first: date, last: date) -> Plan:
    schedule = Schedule(rota)
    members = rota.rotation.members
    weights = {m.office: m.weight for m in members}
    order = {m.office: i for i, m in enumerate(members)}
    counts = {m.office: dict.fromkeys(SLOT_CLASSES, 0) for m in members}
    assignments: list[Assignment] = []
    day = first
    while day <= last:
        for window in schedule.windows_on(day):
            free = [m.office for m in members if schedule.available(m.office, day)]
            if not free:
                assignments.append(Assignment(window, None))
                continue
            chosen = min(
                free,
                key=lambda o: (
                    counts[o][window.slot] / weights[o],
                    sum(counts[o].values()) / weights[o],
                    order[o],
                ),
            )
            counts[chosen][window.slot] += 1
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
