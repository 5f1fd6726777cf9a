"""Properties over generated instants and rotas (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rota import Rota, Schedule, build, fairness, feed, parse_events, plan
from tests.rota.test_schedule import SCHEDULE

START = datetime(2026, 1, 1, tzinfo=UTC)
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
