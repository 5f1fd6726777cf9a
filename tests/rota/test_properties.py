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


@given(instants, st.sampled_from(["chat-a", "chat-b", "chat-c"]))
@settings(max_examples=300, deadline=None)
def test_an_account_the_rota_does_not_name_routes_as_its_office_s_own(
    at: datetime, named: str
) -> None:
    """An account added after the rota was written, given its office, is answered exactly as
    the accounts the rota names for that office; an office the rota lacks changes nothing."""
    office = ROTA.account_office(named)
    answer = SCHEDULE.route("chat-added-later", at, office)
    assert answer == SCHEDULE.route(named, at)
    assert SCHEDULE.route("chat-added-later", at, "no-such-office") == SCHEDULE.route(
        "chat-added-later", at
    )
    # A named account keeps the rota's owner whatever office is given.
    assert SCHEDULE.route(named, at, "no-such-office") == SCHEDULE.route(named, at)


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


# ---- ties, the ledger, fairness by time held (issue: routing defects 1, 3 and 4) -------------

TIMES = ["08:00", "10:00", "12:00", "17:00", "20:00", "22:00"]
spans = st.tuples(st.sampled_from(TIMES), st.sampled_from(TIMES)).filter(lambda p: p[0] < p[1])


@given(
    st.lists(st.tuples(st.sampled_from(WEEKDAYS_ALL), spans), min_size=1, max_size=6),
    st.lists(st.tuples(st.sampled_from(WEEKDAYS_ALL), spans), min_size=1, max_size=6),
    st.integers(min_value=0, max_value=365 * 24 * 6 - 1),
    st.sampled_from(["chat-own", "chat-a", "nobody's"]),
)
@settings(max_examples=200, deadline=None)
def test_the_next_office_promised_is_the_one_that_answers(
    hours: list[tuple[str, tuple[str, str]]],
    duty: list[tuple[str, tuple[str, str]]],
    tens: int,
    account: str,
) -> None:
    """Random own hours and duty windows on a few shared times (ties are frequent): whenever
    route(at) says nobody until T with X next, route(T) answers X."""

    def week(items: list[tuple[str, tuple[str, str]]]) -> dict[str, list[str]]:
        # One interval a day (the first drawn): a day's intervals may not overlap.
        days: dict[str, list[str]] = {}
        for day, (start, end) in items:
            days.setdefault(day, [f"{start}-{end}"])
        return days

    rota = build(
        {
            "offices": [
                {"id": "own", "accounts": ["chat-own"], "hours": week(hours)},
                {"id": "a", "accounts": ["chat-a"]},
                {"id": "b"},
            ],
            "duty": {"week": week(duty)},
            "rotation": {"turn": "day", "members": [{"office": o} for o in ("a", "b", "own")]},
        }
    )
    schedule = Schedule(rota)
    at = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=10 * tens)  # 2027's DST nights too
    answer = schedule.route(account, at)
    if answer.office is None and answer.next_at is not None:
        then = schedule.route(account, answer.next_at)
        assert then.office == answer.next_office, (at, answer, then)


unavailable = st.lists(
    st.tuples(st.integers(min_value=-20, max_value=364), st.integers(min_value=0, max_value=30)),
    max_size=3,
)


@given(
    st.lists(st.integers(min_value=1, max_value=3), min_size=2, max_size=4),
    st.lists(unavailable, min_size=4, max_size=4),
    st.sampled_from(["window", "day", "week"]),
)
@settings(max_examples=40, deadline=None)
def test_skipped_turns_are_paid_back(
    weights: list[int], busy: list[list[tuple[int, int]]], turn: str
) -> None:
    """Over 2027, each office leads exactly the windows the plain cycle gives it plus the change
    of its balance (owed to it less owed by it): so it is at most its pending debts and credits
    at the year's start and end away from the plain cycle (which, with equal weights and a window a turn, is
    within one window of the exact share). With everyone available nobody owes anything and the
    dealing is the plain cycle, turn by turn from the anchor."""
    offices = list("pqrs"[: len(weights)])
    first = date(2027, 1, 1)

    def rota(with_busy: bool) -> Rota:
        return build(
            {
                "offices": [
                    {
                        "id": o,
                        "unavailable": [
                            {
                                "start": str(first + timedelta(days=s)),
                                "end": str(first + timedelta(days=s + n)),
                            }
                            for s, n in (busy[i] if with_busy else [])
                        ],
                    }
                    for i, o in enumerate(offices)
                ],
                "duty": {
                    "week": {
                        **{d: ["17:00-22:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                        "sat": ["10:00-13:00", "14:00-22:00"],
                        "sun": ["10:00-22:00"],
                    },
                    "holiday": ["10:00-22:00"],
                },
                "rotation": {
                    "turn": turn,
                    "anchor": "2027-01-01",
                    "members": [
                        {"office": o, "weight": w} for o, w in zip(offices, weights, strict=True)
                    ],
                },
            }
        )

    dealt, plain = Schedule(rota(True)), Schedule(rota(False))
    windows = plain.duty.year_windows(2027)
    led = Counter(dealt.dealt(w)[0] for w in windows)
    due = Counter(plain.dealt(w)[0] for w in windows)
    before, after = dealt.debts("main", 2026), dealt.debts("main", 2027)
    assert plain.debts("main", 2026) == plain.debts("main", 2027) == {}

    def balance(debts: dict[tuple[str, str], int], office: str) -> int:
        owed = sum(n for (_, creditor), n in debts.items() if creditor == office)
        return owed - sum(n for (debtor, _), n in debts.items() if debtor == office)

    for office in offices:
        change = balance(after, office) - balance(before, office)
        assert led[office] == due[office] + change, (office, led, due, before, after)
        pending = sum(n for d in (before, after) for pair, n in d.items() if office in pair)
        assert abs(led[office] - due[office]) <= pending
        if turn == "window" and len(set(weights)) == 1:
            share = Fraction(len(windows), len(offices))
            assert abs(led[office] - share) < 1 + pending
    # With everyone available: the plain cycle from the anchor (a few turns checked by counting).
    cycle = plain.duty.cycle
    for window in windows[:: max(len(windows) // 12, 1)]:
        index = plain.duty.index_of(window.turn_key)
        assert plain.dealt(window) == (cycle[index % len(cycle)],)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=14 * 24 * 6),  # tens of minutes from the start
            st.integers(min_value=1, max_value=5 * 6),
            st.sampled_from(["a", "b", "c", None]),
            st.sampled_from([(), ("a",), ("b", "c")]),
        ),
        max_size=10,
    ),
    st.sampled_from([date(2027, 3, 22), date(2027, 10, 25), date(2026, 12, 24)]),
)
@settings(max_examples=40, deadline=None)
def test_fairness_credits_each_office_exactly_its_held_time(
    raw: list[tuple[int, int, str | None, tuple[str, ...]]], first: date
) -> None:
    """Overrides (some shared, some closed) splitting windows across the DST nights and New Year:
    each office is credited, per slot class, the share of each window it held — lead or sharing —
    as a brute-force walk in ten-minute steps finds it."""
    origin = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    data = ROTA.model_dump(mode="json")
    data["swaps"] = []
    data["overrides"] = [
        {
            "start": (origin + timedelta(minutes=10 * m)).isoformat(),
            "end": (origin + timedelta(minutes=10 * (m + n))).isoformat(),
            "office": office,
            "also": [o for o in also if o != office] if office else [],
        }
        for m, n, office, also in raw
    ]
    schedule = Schedule(build(data))
    last = first + timedelta(days=13)
    expected: dict[str, dict[str, Fraction]] = {
        o: dict.fromkeys(SLOT_CLASSES, Fraction(0)) for o in "abc"
    }
    day = first
    while day <= last:
        for window in schedule.windows_on(day):
            steps = (window.end - window.start) // timedelta(minutes=10)
            for k in range(steps):
                answer = schedule.on_duty(window.start + timedelta(minutes=10 * k + 5))
                for office in (answer.office, *answer.also) if answer.office else ():
                    expected[office][window.slot] += Fraction(1, steps)
        day += timedelta(days=1)
    table = fairness(schedule, first, last)
    assert table == {o: {s: float(n) for s, n in row.items()} for o, row in expected.items()}
