"""Problems in a rota over a period: gaps in the duty windows and conflicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rota.model import Rota
from rota.schedule import Schedule
from rota.timeutil import require_aware


@dataclass(frozen=True, slots=True)
class Problem:
    """Something to fix in the rota, with when it happens."""

    kind: str  # gap | conflict
    start: datetime
    end: datetime
    detail: str


def check(rota: Rota | Schedule, start: datetime, days: int = 30) -> list[Problem]:
    """Gaps and conflicts over ``days`` from ``start``, in time order (empty: all is well).

    A gap: a duty window, or part of one, with nobody on duty. A conflict: an office on duty
    while closed or unavailable (leading or sharing), two overrides of one priority naming
    different offices at once (the one listed last wins; the conflict says so).
    """
    schedule = rota if isinstance(rota, Schedule) else Schedule(rota)
    start = require_aware(start, "start")
    end = start + timedelta(days=days)
    problems = [
        Problem("gap", a, b, "nobody is on duty during a duty window")
        for a, b in schedule.gaps(start, end)
    ]
    zone = schedule.zone
    for seg in schedule.segments(start, end):
        day = seg.start.astimezone(zone).date()
        for office in (seg.office, *seg.also):  # sharing the duty is being on duty too
            if not schedule.available(office, day):
                problems.append(
                    Problem(
                        "conflict",
                        seg.start,
                        seg.end,
                        f"{office} is on duty but closed or unavailable",
                    )
                )
    overrides = sorted(schedule.rota.overrides, key=lambda o: o.start)
    for i, first in enumerate(overrides):
        for second in overrides[i + 1 :]:
            if second.start >= first.end:
                break
            overlap = second.start < first.end and second.end > first.start
            disagree = (first.office, first.also) != (second.office, second.also)
            if overlap and first.priority == second.priority and disagree:
                a, b = max(first.start, second.start), min(first.end, second.end)
                if b > start and a < end:
                    problems.append(
                        Problem("conflict", a, b, "two overrides of the same priority disagree")
                    )
    return sorted(problems, key=lambda p: (p.start, p.kind))
