"""The dashboard's tables against a brute-force recomputation from the turns themselves: random
durations, split at random into accounts, offices on duty, advisers and days, some days read from
their stored rollups and the others from their turns, as a reader mixes them.

Percentiles by the nearest rank: of n values sorted, the q-th percentile is the ⌈q·n/100⌉-th
(from 1), computed here with exact fractions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.dashboard import Period, Row, Scope, account_tables, adviser_table, days
from app.models import Account, Office, RollupGrain
from app.rollups import Piece, TurnFilter, freeze, summarise, thaw

FIRST_DAY = date(2026, 7, 20)
OFFICE_OF = {1: 1, 2: 1, 3: 2, 4: 3}  # adviser → their office


@dataclass(frozen=True)
class Turn:
    account: int
    office: int  # on duty
    responder: int  # 0: unanswered
    first: bool
    day: int
    wall: float | None
    duty: float | None

    @property
    def responder_office(self) -> int:
        return OFFICE_OF.get(self.responder, 0)

    def row(self) -> tuple[Any, ...]:
        """As the reader scans it (app.rollups.TURN_COLUMNS)."""
        day = date.fromordinal(FIRST_DAY.toordinal() + self.day).isoformat()
        return (self.account, self.office, self.responder_office, self.responder, self.first,
                self.wall, self.duty, 0, day)  # fmt: skip


seconds = st.one_of(st.integers(0, 600).map(float), st.floats(0, 1e6, allow_nan=False))


@st.composite
def turns(draw: Any) -> Turn:
    responder = draw(st.integers(0, 4))
    wall = draw(seconds) if responder else None
    share = draw(st.sampled_from([0.0, 0.25, 1.0]) | st.floats(0, 1))
    return Turn(
        account=draw(st.integers(1, 3)),
        office=draw(st.integers(1, 3)),
        responder=responder,
        first=draw(st.booleans()),
        day=draw(st.integers(0, 3)),
        wall=wall,
        duty=None if wall is None else wall * share,
    )


def rank(values: list[float], q: int) -> float | None:
    """The brute force: sort everything, take the ⌈q·n/100⌉-th."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(Fraction(q, 100) * len(ordered)) - 1]


def expected(group: list[Turn], target: dict[int, float], adviser: bool = False) -> dict[str, Any]:
    first = [t for t in group if t.first and (t.responder or not adviser)]
    answered = [t for t in first if t.responder]
    later = [t for t in group if not t.first and t.responder]
    walls = [t.wall for t in answered if t.wall is not None]
    duties = [t.duty for t in answered if t.duty is not None]
    return {
        "conversations": len(first),
        "replied": len(answered),
        "within_target": sum(1 for t in answered if (t.duty or 0) <= target[t.account]),
        "median": rank(walls, 50),
        "p90": rank(walls, 90),
        "median_duty": rank(duties, 50),
        "p90_duty": rank(duties, 90),
        "mean": sum(walls) / len(walls) if walls else None,
        "mean_duty": sum(duties) / len(duties) if duties else None,
        # An adviser's turns are the ones they answered.
        "later_turns": len(later) if adviser else len([t for t in group if not t.first]),
        "later_replied": len(later),
        "later_median": rank([t.wall for t in later if t.wall is not None], 50),
        "later_median_duty": rank([t.duty for t in later if t.duty is not None], 50),
        "answered_elsewhere": sum(
            1 for t in group if t.responder and t.responder_office != t.office
        ),
    }


def got(row: Row) -> dict[str, Any]:
    return {
        "conversations": row.conversations, "replied": row.replied,
        "within_target": row.within_target, "median": row.median, "p90": row.p90,
        "median_duty": row.median_duty, "p90_duty": row.p90_duty,
        "mean": None if row.mean is None else pytest.approx(row.mean),
        "mean_duty": None if row.mean_duty is None else pytest.approx(row.mean_duty),
        "later_turns": row.later_turns, "later_replied": row.later_replied,
        "later_median": row.later_median, "later_median_duty": row.later_median_duty,
        "answered_elsewhere": row.answered_elsewhere,
    }  # fmt: skip


def read(found: list[Turn], stored_days: set[int]) -> list[Piece]:
    """What ``app.rollups.pieces`` hands the dashboard: stored days through their stored form
    (summarised day by day, frozen as the rows are written, thawed as they are read), the other
    days summarised from their turns together."""
    pieces: list[Piece] = []
    for day in sorted(stored_days):
        rows = [t.row() for t in found if t.day == day]
        pieces.extend(thaw(freeze(p)) for p in summarise(rows, RollupGrain.DAY))
    live = [t.row() for t in found if t.day not in stored_days]
    pieces.extend(summarise(live, RollupGrain.DAY))
    return pieces


def scope(targets: dict[int, float]) -> Scope:
    accounts = {
        n: Account(id=n, destination_id=1, office_id=1, channel="webchat", key=f"a{n}",
                   name=f"Account {n}", target_seconds=int(targets[n]))
        for n in (1, 2, 3)
    }  # fmt: skip
    offices = {
        n: Office(id=n, destination_id=1, slug=f"o{n}", name=f"Office {n}") for n in (1, 2, 3)
    }
    users = {n: f"Adviser {n}" for n in OFFICE_OF}
    return Scope(TurnFilter(1), "Europe/Paris", accounts, offices, users)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(turns(), max_size=80),
    st.sets(st.integers(0, 3)),
    st.lists(st.integers(1, 3600), min_size=3, max_size=3),
)
def test_tables_match_a_brute_force_recomputation(
    found: list[Turn], stored_days: set[int], target_list: list[int]
) -> None:
    targets = {n + 1: float(v) for n, v in enumerate(target_list)}
    seen = scope(targets)
    pieces = read(found, stored_days)
    tables = account_tables(seen, pieces)

    accounts = {row.key: got(row) for row in tables.accounts}
    assert accounts == {
        a: expected([t for t in found if t.account == a], targets)
        for a in {t.account for t in found}
    }
    offices = {row.key: got(row) for row in tables.offices}
    assert offices == {
        o: expected([t for t in found if t.office == o], targets) for o in {t.office for t in found}
    }
    assert got(tables.total) == expected(found, targets)

    advisers = adviser_table(seen, pieces)
    assert all(row.reply_rate is None for row in advisers)
    assert {row.key: got(row) for row in advisers} == {
        r: expected([t for t in found if t.responder == r], targets, adviser=True)
        | {"replied": len([t for t in found if t.responder == r and t.first])}
        for r in {t.responder for t in found if t.responder}
    }

    period = Period.of(FIRST_DAY, date.fromordinal(FIRST_DAY.toordinal() + 3), "Europe/Paris")
    for n, day in enumerate(days(period, pieces)):
        first = [t for t in found if t.day == n and t.first]
        answered = [t.wall for t in first if t.wall is not None]
        assert (day.conversations, day.median, day.median_duty) == (
            len(first),
            rank(answered, 50),
            rank([t.duty for t in first if t.duty is not None], 50),
        )
