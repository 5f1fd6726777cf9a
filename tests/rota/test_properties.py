"""Properties over generated instants and rotas (hypothesis)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rota import Rota, Schedule, build, fairness, feed, parse_events, plan
from rota.duty import SLOT_CLASSES
from tests.rota.test_schedule import ROTA, SCHEDULE

START = datetime(2026, 1, 1, tzinfo=UTC)
WEEKDAYS_ALL = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
instants = st.integers(min_value=0, max_value=365 * 24 * 60 - 1).map(
    lambda m: START + timedelta(minutes=m)
)


@given(instants)
@settings(max_examples=400, deadline=None)
def test_on_duty_agrees_with_the_gaps(at: datetime) -> None:
    day_start = at.replace(hour=0, minute=0)
    gaps = SCHEDULE.gaps(day_start - timedelta(days=1), day_start + timedelta(days=2))
    in_gap = any(a <= at < b for a, b in gaps)
    in_window = any(
        w.start <= at < w.end
        for w in SCHEDULE.windows(at - timedelta(days=1), at + timedelta(days=1))
    )
    answer = SCHEDULE.on_duty(at)
    assert in_gap == (in_window and answer.office is None)
    assert answer.valid_until > at
    # Until valid_until the answer stands.
    just_before = answer.valid_until - timedelta(seconds=1)
    if just_before > at:
        assert SCHEDULE.on_duty(just_before).office == answer.office


@given(
    st.lists(st.sampled_from("pqrs"), min_size=2, max_size=4, unique=True),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 1)),
    st.integers(min_value=7, max_value=120),
)
@settings(max_examples=60, deadline=None)
def test_the_planner_is_fair_with_equal_weights(offices: list[str], first: date, days: int) -> None:
    rota = _rota(offices, weights=[1] * len(offices))
    result = plan(rota, first, first + timedelta(days=days))
    for slot in ("weekday_evening", "weekend_day", "holiday"):
        counts = [result.counts[o][slot] for o in offices]
        assert max(counts) - min(counts) <= 1, (slot, counts)
    assert all(a.office is not None for a in result.assignments)


@given(
    st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=4),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 1)),
    st.integers(min_value=1, max_value=150),
)
@settings(max_examples=80, deadline=None)
def test_the_planner_keeps_every_class_within_one_slot_of_its_share(
    weights: list[int], first: date, days: int
) -> None:
    offices = list("pqrs"[: len(weights)])
    result = plan(_rota(offices, weights), first, first + timedelta(days=days))
    for slot in ("weekday_evening", "weekend_day", "holiday"):
        slots = sum(result.counts[o][slot] for o in offices)
        for office, weight in zip(offices, weights, strict=True):
            share = Fraction(weight * slots, sum(weights))
            assert abs(result.counts[office][slot] - share) < 1, (slot, office, result.counts)
    # The counts table is the assignments, counted.
    counted = Counter((a.office, a.window.slot) for a in result.assignments)
    assert all(result.counts[o][s] == counted[(o, s)] for o in offices for s in SLOT_CLASSES)


@given(st.lists(st.integers(min_value=1, max_value=4), min_size=2, max_size=4))
@settings(max_examples=40, deadline=None)
def test_the_planner_follows_weights(weights: list[int]) -> None:
    offices = list("pqrs"[: len(weights)])
    rota = _rota(offices, weights)
    result = plan(rota, date(2026, 1, 1), date(2026, 12, 31))
    total_slots = sum(sum(c.values()) for c in result.counts.values())
    for office, weight in zip(offices, weights, strict=True):
        share = sum(result.counts[office].values()) / total_slots
        assert abs(share - weight / sum(weights)) < 0.03, (office, share)


def test_the_planner_respects_unavailability() -> None:
    rota = build(
        {
            **_rota(["p", "q"], [1, 1]).model_dump(mode="json"),
            "offices": [
                {"id": "p", "unavailable": [{"start": "2026-07-01", "end": "2026-07-31"}]},
                {"id": "q"},
            ],
        }
    )
    result = plan(rota, date(2026, 6, 1), date(2026, 8, 31))
    july = [a for a in result.assignments if a.window.day.month == 7]
    assert july and all(a.office == "q" for a in july)
    counts = fairness(Schedule(rota), date(2026, 6, 1), date(2026, 6, 30))
    assert set(counts) == {"p", "q"}


@given(st.integers(min_value=0, max_value=330), st.sampled_from([None, "a", "b", "c"]))
@settings(max_examples=40, deadline=None)
def test_ical_round_trips(start_day: int, office: str | None) -> None:
    start = START + timedelta(days=start_day)
    end = start + timedelta(days=35)
    events = parse_events(feed(SCHEDULE, start, end, office=office))
    expected = [
        (s.start, s.end) for s in SCHEDULE.segments(start, end) if office in (None, s.office)
    ]
    assert [(a, b) for a, b, _ in events] == expected
    for a, b, summary in events:
        mid = a + (b - a) / 2
        assert SCHEDULE.on_duty(mid).office in summary


overrides = st.lists(
    st.tuples(
        st.integers(min_value=-3 * 24 * 60, max_value=40 * 24 * 60),  # minutes from 2026-10-01
        st.sampled_from([15, 60, 300, 24 * 60, 10 * 24 * 60]),
        st.sampled_from(["a", "b", "c", None]),
        st.integers(min_value=-1, max_value=2),
    ),
    max_size=12,
)


@given(overrides, st.lists(st.integers(min_value=0, max_value=45 * 24 * 60), min_size=5))
@settings(max_examples=150, deadline=None)
def test_overrides_win_by_priority_then_by_order(
    raw: list[tuple[int, int, str | None, int]], probes: list[int]
) -> None:
    """Against a brute-force reading: the last-listed of the highest-priority overrides covering
    an instant decides it; with none, the rota without overrides does (swaps, rotation)."""
    origin = datetime(2026, 10, 1, tzinfo=UTC)  # the fall-back night is in the range
    data = [
        {
            "start": (origin + timedelta(minutes=m)).isoformat(),
            "end": (origin + timedelta(minutes=m + length)).isoformat(),
            "office": office,
            "priority": priority,
        }
        for m, length, office, priority in raw
    ]
    schedule = Schedule(build({**ROTA.model_dump(mode="json"), "overrides": data}))
    plain = Schedule(build({**ROTA.model_dump(mode="json"), "overrides": []}))
    for probe in probes:
        at = origin + timedelta(minutes=probe, seconds=30)
        covering = [
            (o.priority, i, o)
            for i, o in enumerate(schedule.rota.overrides)
            if o.start <= at < o.end
        ]
        if covering:
            winner = max(covering, key=lambda c: (c[0], c[1]))[2]
            expected = (winner.office, "override" if winner.office else None)
        else:
            base = plain.on_duty(at)
            expected = (base.office, base.reason)
        answer = schedule.on_duty(at)
        assert (answer.office, answer.reason) == expected, at
        # valid_until is exact: the answer holds just before it and changes at it.
        assert answer.valid_until > at
        last_second = schedule.on_duty(answer.valid_until - timedelta(seconds=1))
        assert (last_second.office, last_second.reason) == (answer.office, answer.reason)
        after = schedule.on_duty(answer.valid_until)
        assert (after.office, after.reason) != (answer.office, answer.reason)


@given(instants, st.sampled_from(["chat-a", "chat-b", "chat-c", "nobody's"]))
@settings(max_examples=300, deadline=None)
def test_route_is_own_hours_then_duty_then_the_next_answer(at: datetime, account: str) -> None:
    answer = SCHEDULE.route(account, at)
    owner = ROTA.account_office(account)
    closes = SCHEDULE.is_open(owner, at) if owner else None
    duty = SCHEDULE.on_duty(at)
    if closes is not None:
        assert (answer.office, answer.reason, answer.valid_until) == (owner, "own_hours", closes)
    elif duty.office is not None:
        assert (answer.office, answer.reason) == (duty.office, duty.reason)
        assert answer.valid_until <= duty.valid_until
    else:
        assert answer.office is None and answer.reason == "nobody_on_duty"
        assert answer.next_at == answer.valid_until > at
        # Nobody answers in between, and someone does from next_at.
        middle = at + (answer.valid_until - at) / 2
        assert SCHEDULE.route(account, middle).office is None
        assert SCHEDULE.route(account, answer.valid_until).office == answer.next_office


@given(
    st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4),
    st.dates(min_value=date(2026, 11, 1), max_value=date(2027, 1, 31)),
)
@settings(max_examples=40, deadline=None)
def test_turns_as_they_occur_keep_weights_and_spread(weights: list[int], anchor: date) -> None:
    """Day turns across New Year, public holidays (no window) taking none: every run of a cycle's
    length of turns holds each office's weight, and an office takes two turns running only when it
    outweighs all the others together."""
    offices = list("pqrs"[: len(weights)])
    rota = build(
        {
            "offices": [{"id": o} for o in offices],
            "duty": {"week": {d: ["18:00-20:00"] for d in WEEKDAYS_ALL}},
            "rotation": {
                "turn": "day",
                "anchor": anchor.isoformat(),
                "members": [
                    {"office": o, "weight": w} for o, w in zip(offices, weights, strict=True)
                ],
            },
        }
    )
    schedule = Schedule(rota)
    turns = [
        schedule.on_duty(w.start).office
        for w in schedule.windows(
            datetime(2026, 11, 15, tzinfo=UTC), datetime(2027, 2, 15, tzinfo=UTC)
        )
    ]
    cycle = sum(weights)
    for i in range(len(turns) - cycle + 1):
        assert Counter(turns[i : i + cycle]) == dict(zip(offices, weights, strict=True)), i
    for office, weight in zip(offices, weights, strict=True):
        if weight <= cycle - weight:
            assert not any(a == b == office for a, b in itertools.pairwise(turns)), turns


def _rota(offices: list[str], weights: list[int]) -> Rota:
    return build(
        {
            "offices": [{"id": o} for o in offices],
            "duty": {
                "week": {
                    **{d: ["17:00-22:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                    "sat": ["12:00-22:00"],
                    "sun": ["10:00-22:00"],
                },
                "holiday": ["10:00-22:00"],
            },
            "rotation": {
                "turn": "window",
                "members": [
                    {"office": o, "weight": w} for o, w in zip(offices, weights, strict=True)
                ],
            },
        }
    )
