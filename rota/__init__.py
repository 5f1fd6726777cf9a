"""Pure scheduling of offices and the shared duty rota: datetimes in, decisions out.

Build a :class:`Rota` (``build(data)`` or ``loads_toml(text)``), then ask a :class:`Schedule`:
``on_duty(at)``, ``next_on_duty(after)``, ``route(account, at)``, ``gaps(start, end)``. The
planner balances a season; :func:`feed` writes iCalendar. Nothing here reads a clock or a file.
"""

from rota.check import Problem, check
from rota.errors import Reason, RotaError, refused
from rota.ical import feed, parse_events
from rota.model import (
    Override,
    Rota,
    RotaValidationError,
    Swap,
    build,
    check_override,
    reasons_of,
)
from rota.planner import Assignment, Plan, as_overrides, fairness, plan
from rota.schedule import (
    FAR_FUTURE,
    SLOT_CLASSES,
    DutyAnswer,
    RouteAnswer,
    Schedule,
    Segment,
    Window,
)
from rota.toml_io import dumps_toml, loads_toml

__all__ = [
    "FAR_FUTURE",
    "SLOT_CLASSES",
    "Assignment",
    "DutyAnswer",
    "Override",
    "Plan",
    "Problem",
    "Reason",
    "Rota",
    "RotaError",
    "RotaValidationError",
    "RouteAnswer",
    "Schedule",
    "Segment",
    "Swap",
    "Window",
    "as_overrides",
    "build",
    "check",
    "check_override",
    "dumps_toml",
    "fairness",
    "feed",
    "loads_toml",
    "parse_events",
    "plan",
    "reasons_of",
    "refused",
]
