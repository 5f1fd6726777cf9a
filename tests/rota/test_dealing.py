"""Ties, the ledger that pays skipped turns back, several rotations, offices sharing a turn and
members joining or leaving: tables of explicit instants (Europe/Paris: CET = UTC+1; CEST = UTC+2
from 2027-03-28 01:00 UTC to 2027-10-31 01:00 UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rota import (
    Rota,
    RotaValidationError,
    Schedule,
    build,
    check,
    dumps_toml,
    fairness,
    feed,
    loads_toml,
    parse_events,
    plan,
)

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
ALL_DAYS = [*WEEKDAYS, "sat", "sun"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def reasons(data: dict[str, Any]) -> set[tuple[str, str]]:
    with pytest.raises(RotaValidationError) as caught:
        build(data)
    return {(r.field, r.code) for r in caught.value.reasons}


# ---- 1. ties ---------------------------------------------------------------------------------


def _tie_rota() -> Rota:
    """ "aaa" has every shared duty (alphabetically first); "zzz" opens at 10:00 every day: the
    instant Sunday's and holidays' duty starts, and the instant Sunday's overnight duty ends."""
    return build(
        {
            "offices": [
                {"id": "aaa", "accounts": ["chat-aaa"]},
                {
                    "id": "zzz",
                    "accounts": ["chat-zzz"],
                    "hours": {d: ["10:00-12:00"] for d in ALL_DAYS},
                },
            ],
            "duty": {
                "week": {
                    "sat": ["18:00-22:00"],
                    "sun": ["10:00-13:00", "20:00-10:00+1"],
                },
                "holiday": ["10:00-13:00"],
            },
            "rotation": {"members": [{"office": "aaa"}]},
        }
    )


@pytest.mark.parametrize(
    ("at", "next_at"),
    [
        # An ordinary Saturday night: Sunday 10:00 CET.
        (utc(2027, 2, 6, 22, 0), utc(2027, 2, 7, 9, 0)),
        # The spring-forward night: Sunday 28 March 10:00 is CEST.
        (utc(2027, 3, 27, 22, 0), utc(2027, 3, 28, 8, 0)),
        # The fall-back night: Sunday 31 October 10:00 is CET again.
        (utc(2027, 10, 30, 21, 0), utc(2027, 10, 31, 9, 0)),
        # New Year's Eve night: 1 January (a Friday, a holiday) 10:00 CET.
        (utc(2026, 12, 31, 23, 30), utc(2027, 1, 1, 9, 0)),
    ],
)
def test_the_owner_wins_a_tie_with_a_duty_starting_at_its_opening(
    at: datetime, next_at: datetime
) -> None:
    schedule = Schedule(_tie_rota())
    answer = schedule.route("chat-zzz", at)
    assert (answer.office, answer.reason, answer.next_office, answer.next_at) == (
        None,
        "nobody_on_duty",
        "zzz",
        next_at,
    )
    # The promise is kept: at that instant the owner answers, in its own hours.
    then = schedule.route("chat-zzz", next_at)
    assert (then.office, then.reason) == ("zzz", "own_hours")
    # The duty starts then too; another office's account is told "aaa".
    other = schedule.route("chat-aaa", at)
    assert (other.next_office, other.next_at) == ("aaa", next_at)


def test_an_own_opening_at_the_instant_a_duty_ends_hands_over_at_that_instant() -> None:
    schedule = Schedule(_tie_rota())
    # Sunday 7 Feb 20:00 → Monday 10:00 duty; zzz opens Monday 10:00 CET (09:00 UTC).
    answer = schedule.route("chat-zzz", utc(2027, 2, 8, 3, 0))
    assert (answer.office, answer.reason, answer.valid_until) == (
        "aaa",
        "shared_duty",
        utc(2027, 2, 8, 9, 0),
    )
    assert schedule.route("chat-zzz", utc(2027, 2, 8, 9, 0)).reason == "own_hours"
    # Sunday's 10:00–13:00 window starts at zzz's opening: zzz's account stays with zzz.
    sunday = schedule.route("chat-zzz", utc(2027, 2, 7, 9, 0))
    assert (sunday.office, sunday.reason, sunday.valid_until) == (
        "zzz",
        "own_hours",
        utc(2027, 2, 7, 11, 0),
    )
    after = schedule.route("chat-zzz", utc(2027, 2, 7, 11, 0))
    assert (after.office, after.reason) == ("aaa", "shared_duty")


def test_overrides_of_equal_priority_go_to_the_one_listed_last() -> None:
    data = _tie_rota().model_dump(mode="json")
    data["offices"].append({"id": "mmm"})
    data["overrides"] = [
        {"start": "2027-03-27T19:00:00+01:00", "end": "2027-03-27T21:00:00+01:00", "office": "mmm"},
        {"start": "2027-03-27T20:00:00+01:00", "end": "2027-03-27T22:00:00+01:00", "office": "zzz"},
    ]
    schedule = Schedule(build(data))
    assert schedule.on_duty(utc(2027, 3, 27, 18, 30)).office == "mmm"
    answer = schedule.on_duty(utc(2027, 3, 27, 19, 30))  # both cover it: the later listed
    assert (answer.office, answer.reason, answer.valid_until) == (
        "zzz",
        "override",
        utc(2027, 3, 27, 21, 0),
    )
    data["overrides"].reverse()
    assert Schedule(build(data)).on_duty(utc(2027, 3, 27, 19, 30)).office == "mmm"


# ---- 3. the ledger -----------------------------------------------------------------------------


def _daily(
    members: str = "abcd", offices: list[dict[str, Any]] | None = None, **rotation: Any
) -> Rota:
    """One window a day (holidays too), one turn a day from Monday 22 March 2027."""
    return build(
        {
            "offices": offices or [{"id": o} for o in members],
            "duty": {"week": {d: ["18:00-20:00"] for d in ALL_DAYS}, "holiday": ["18:00-20:00"]},
            "rotation": {
                "turn": "day",
                "anchor": "2027-03-22",
                "members": [{"office": o} for o in members],
                **rotation,
            },
        }
    )


def evenings(schedule: Schedule, first: date, days: int) -> list[str | None]:
    """Who is on duty at 19:00 local each evening."""
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        (window,) = schedule.windows_on(day)
        out.append(schedule.on_duty(window.start + timedelta(hours=1)).office)
    return out


def test_a_skipped_turn_is_paid_back_at_the_creditors_next_turn_across_the_dst_night() -> None:
    # b, c and d cannot take 23 and 24 March: a stands in for b then c, who both owe it one.
    busy = {"unavailable": [{"start": "2027-03-23", "end": "2027-03-24"}]}
    offices = [{"id": "a"}, *({"id": o, **busy} for o in "bc"), {"id": "d", **busy}]
    schedule = Schedule(_daily(offices=offices))
    # 28 March (the spring-forward Sunday) is a's turn: b, the first debtor in cycle order after
    # a, pays; on a's next turn (1 April) c pays. Then the plain cycle again.
    assert evenings(schedule, date(2027, 3, 22), 14) == [
        *("a", "a", "a", "d"),  # 22–25: a's own, b's and c's stood in for, d's own
        *("b", "b", "c", "d"),  # 26 a's turn paid by b; 27 b, 28 c (CEST), 29 d
        *("c", "b", "c", "d"),  # 30 a's turn paid by c; 31 b, 1 c, 2 d
        *("a", "b"),
    ]
    assert schedule.debts("main", 2027) == {}


def test_the_ledger_of_a_year_carries_into_the_next_and_new_year_pays() -> None:
    # c is closed over New Year's Eve (its turn): d stands in; on d's next turn c pays.
    offices = [
        {"id": "a"},
        {"id": "b"},
        {"id": "c", "closures": [{"start": "2026-12-31", "end": "2026-12-31"}]},
        {"id": "d"},
    ]
    schedule = Schedule(_daily(offices=offices, anchor="2026-12-29"))
    # d's next turn is New Year's Day (a holiday, one window): c pays it.
    assert evenings(schedule, date(2026, 12, 29), 8) == ["a", "b", "d", "c", "a", "b", "c", "d"]
    assert schedule.debts("main", 2026) == {("c", "d"): 1}
    assert schedule.debts("main", 2027) == {}


def test_everyone_available_is_the_plain_cycle_and_nobody_owes() -> None:
    schedule = Schedule(_daily())
    assert evenings(schedule, date(2027, 3, 22), 9) == list("abcdabcda")
    assert schedule.debts("main", 2027) == {}


def test_nobody_able_leaves_the_due_office_without_debt() -> None:
    closed = {"closures": [{"start": "2027-03-23", "end": "2027-03-23"}]}
    assert evenings(Schedule(_daily("ab")), date(2027, 3, 22), 3) == ["a", "b", "a"]
    both = _daily("ab", offices=[{"id": "a", **closed}, {"id": "b", **closed}])
    assert evenings(Schedule(both), date(2027, 3, 22), 3) == ["a", "b", "a"]
    assert Schedule(both).debts("main", 2027) == {}


# ---- 4. fairness by time held -----------------------------------------------------------------


def test_fairness_credits_the_time_each_office_held_on_the_fall_back_night() -> None:
    # Saturday 30 October 2027 18:00–20:00 CEST (c's turn), Sunday 31 18:00–20:00 CET (d's).
    data = _daily().model_dump(mode="json")
    data["overrides"] = [
        # A quarter of Saturday's window to a; half of Sunday's to b.
        {"start": "2027-10-30T18:00:00+02:00", "end": "2027-10-30T18:30:00+02:00", "office": "a"},
        {"start": "2027-10-31T19:00:00+01:00", "end": "2027-10-31T20:00:00+01:00", "office": "b"},
    ]
    schedule = Schedule(build(data))
    table = fairness(schedule, date(2027, 10, 30), date(2027, 10, 31))
    assert {o: table[o]["weekend_day"] for o in "abcd"} == {
        "a": 0.25,
        "b": 0.5,
        "c": 0.75,
        "d": 0.5,
    }
    assert sum(row["weekend_day"] for row in table.values()) == 2


# ---- 7. two rotations -------------------------------------------------------------------------


def _two_rotations(**extra: Any) -> dict[str, Any]:
    return {
        "offices": [{"id": o} for o in "abcxy"],
        "duty": {
            "week": {**{d: ["17:00-22:00"] for d in WEEKDAYS}, "sun": ["10:00-18:00"]},
            "holiday": ["10:00-18:00"],
        },
        "rotations": [
            {
                "id": "evenings",
                "days": WEEKDAYS,
                "turn": "week",
                "anchor": "2026-12-28",
                "members": [{"office": o} for o in "abc"],
            },
            {
                "id": "sundays",
                "days": ["sun", "holiday"],
                "turn": "day",
                "anchor": "2026-12-27",
                "members": [{"office": "x"}, {"office": "y"}],
            },
        ],
        **extra,
    }


def test_two_rotations_deal_their_own_windows_across_new_year_and_dst() -> None:
    schedule = Schedule(build(_two_rotations()))

    def at(*args: int) -> str | None:
        return schedule.on_duty(utc(*args)).office

    # Week of 28 Dec: a's evenings. Friday 1 January is a holiday: both rotations match it
    # ("fri", "holiday"); the first listed, the evenings, deals it.
    assert at(2026, 12, 28, 17) == "a"
    assert at(2027, 1, 1, 10) == "a"
    assert schedule.windows_on(date(2027, 1, 1))[0].rotation == "evenings"
    # Sundays by day: 27 Dec x, 3 Jan y, …; 28 March (spring forward) 10:00 CEST.
    assert [at(2026, 12, 27, 10), at(2027, 1, 3, 10), at(2027, 1, 10, 10)] == ["x", "y", "x"]
    assert at(2027, 3, 28, 8) == "y"  # 10:00 CEST, the 14th Sunday
    assert at(2027, 3, 28, 7, 59) is None
    # Evenings: one week each, a b c from 28 Dec; the week of 25 Oct 2027 is week 43 → c.
    assert at(2027, 10, 25, 16) == "b"
    # The fall-back Sunday 31 October 2027: 10:00 CET is 09:00 UTC.
    assert at(2027, 10, 31, 9) is not None and at(2027, 10, 31, 8, 59) is None


def test_a_swap_names_its_rotation() -> None:
    swap = {"turn": "2027-01-10", "a": "x", "b": "b", "rotation": "sundays"}
    schedule = Schedule(build(_two_rotations(swaps=[swap])))
    answer = schedule.on_duty(utc(2027, 1, 10, 10))
    assert (answer.office, answer.reason) == ("b", "swap")
    # b's evenings of that date's week (from 4 January) are not touched by the Sundays' swap…
    answer = schedule.on_duty(utc(2027, 1, 5, 17))
    assert (answer.office, answer.reason) == ("b", "shared_duty")
    # … as they are by a swap naming no rotation.
    anywhere = Schedule(build(_two_rotations(swaps=[{**swap, "rotation": None}])))
    answer = anywhere.on_duty(utc(2027, 1, 5, 17))
    assert (answer.office, answer.reason) == ("x", "swap")


def test_a_window_no_rotation_deals_is_a_gap() -> None:
    data = _two_rotations()
    data["rotations"][1]["days"] = ["holiday"]  # Sundays left out
    schedule = Schedule(build(data))
    assert schedule.gaps(utc(2027, 1, 10), utc(2027, 1, 11)) == [
        (utc(2027, 1, 10, 9), utc(2027, 1, 10, 17))
    ]


def test_the_planner_and_fairness_count_each_rotation() -> None:
    rota = build(_two_rotations())
    result = plan(rota, date(2027, 1, 1), date(2027, 3, 31))
    assert set(result.by_rotation) == {"evenings", "sundays"}
    assert set(result.by_rotation["sundays"]) == {"x", "y"}
    sundays = [a for a in result.assignments if a.window.rotation == "sundays"]
    assert {a.office for a in sundays} == {"x", "y"}
    counts = [sum(result.by_rotation["sundays"][o].values()) for o in "xy"]
    assert abs(counts[0] - counts[1]) <= 1 and sum(counts) == len(sundays)
    schedule = Schedule(rota)
    only = fairness(schedule, date(2027, 1, 1), date(2027, 3, 31), rotation="sundays")
    assert {o for o, row in only.items() if sum(row.values())} == {"x", "y"}
    assert sum(sum(row.values()) for row in only.values()) == len(sundays)


def test_rotations_are_validated_naming_the_field() -> None:
    data = _two_rotations(rotation={"members": [{"office": "a"}]})
    assert ("rotations", "rotation_and_rotations") in reasons(data)
    data = _two_rotations()
    data["rotations"][1]["id"] = "evenings"
    assert ("rotations.1.id", "duplicate_rotation") in reasons(data)
    data = _two_rotations(swaps=[{"turn": "2027-01-10", "a": "x", "b": "y", "rotation": "nope"}])
    assert reasons(data) == {("swaps.0.rotation", "unknown_rotation")}
    data = _two_rotations()
    data["rotations"][0]["days"] = ["monday"]
    assert reasons(data) == {("rotations.0.days", "unknown_day")}
    data = _two_rotations()
    data["rotations"][0]["members"].append({"office": "nowhere"})
    assert reasons(data) == {("rotations.0.members.3.office", "unknown_office")}


# ---- 8. two offices at once -------------------------------------------------------------------


def test_together_puts_the_next_member_on_the_turn_too() -> None:
    busy = [{"start": "2027-03-24", "end": "2027-03-24"}]
    offices = [{"id": "a"}, {"id": "b"}, {"id": "c", "unavailable": busy}]
    schedule = Schedule(_daily("abc", offices=offices, together=2))
    answers = []
    for n in range(4):
        (window,) = schedule.windows_on(date(2027, 3, 22) + timedelta(days=n))
        answer = schedule.on_duty(window.start)
        answers.append((answer.office, answer.also))
    # 24 March is c's turn: c cannot; a, the next able in cycle order, leads and c owes it one,
    # b shares. On 25 March (a's turn) c pays and leads, a shares.
    assert answers == [("a", ("b",)), ("b", ("c",)), ("a", ("b",)), ("c", ("a",))]
    route = schedule.route("anyone", datetime(2027, 3, 22, 17, 30, tzinfo=UTC))
    assert (route.office, route.also) == ("a", ("b",))


def test_two_a_turn_across_new_year_and_the_spring_forward_sunday() -> None:
    schedule = Schedule(_daily("abc", together=2, anchor="2026-12-30"))
    turns = []
    for day in (date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1)):
        (window,) = schedule.windows_on(day)
        answer = schedule.on_duty(window.start)
        turns.append((answer.office, answer.also, window.slot))
    assert turns == [
        ("a", ("b",), "weekday_evening"),
        ("b", ("c",), "weekday_evening"),
        ("c", ("a",), "holiday"),
    ]
    # 28 March 2027 is the 88th turn from 30 December: b with c, 18:00–20:00 CEST.
    answer = schedule.on_duty(utc(2027, 3, 28, 16, 30))
    assert (answer.office, answer.also, answer.valid_until) == ("b", ("c",), utc(2027, 3, 28, 18))
    # Each office on a shared window is credited the whole of it.
    table = fairness(schedule, date(2026, 12, 30), date(2027, 1, 1))
    assert {o: (table[o]["weekday_evening"], table[o]["holiday"]) for o in "abc"} == {
        "a": (1.0, 1.0),
        "b": (2.0, 0.0),
        "c": (1.0, 1.0),
    }


def test_an_override_shared_by_two_offices_on_the_spring_forward_night() -> None:
    data = _daily("abc").model_dump(mode="json")
    data["overrides"] = [
        {
            "start": "2027-03-27T23:00:00+01:00",
            "end": "2027-03-28T04:00:00+02:00",
            "office": "b",
            "also": ["c"],
        }
    ]
    schedule = Schedule(build(data))
    answer = schedule.on_duty(utc(2027, 3, 28, 1, 30))  # 03:30 CEST
    assert (answer.office, answer.also, answer.reason, answer.valid_until) == (
        "b",
        ("c",),
        "override",
        utc(2027, 3, 28, 2, 0),
    )
    (segment,) = schedule.segments(utc(2027, 3, 27, 22), utc(2027, 3, 28, 2))
    assert segment.also == ("c",)


def test_a_shared_window_counts_for_each_office_on_it() -> None:
    data = _daily("abc").model_dump(mode="json")
    data["overrides"] = [
        {
            "start": "2026-12-31T18:00:00+01:00",
            "end": "2026-12-31T19:00:00+01:00",
            "office": "a",
            "also": ["b"],
        }
    ]
    table = fairness(Schedule(build(data)), date(2026, 12, 31), date(2026, 12, 31))
    due = Schedule(_daily("abc")).on_duty(utc(2026, 12, 31, 17, 30)).office
    expected = {"a": 0.5, "b": 0.5, "c": 0.0}
    assert due is not None
    expected[due] += 0.5
    assert {o: table[o]["weekday_evening"] for o in "abc"} == expected


def test_a_shared_duty_is_in_both_feeds_and_checked_for_both_offices() -> None:
    data = _daily("abc").model_dump(mode="json")
    data["offices"][2]["unavailable"] = [{"start": "2027-10-31", "end": "2027-10-31"}]
    data["overrides"] = [
        {
            "start": "2027-10-31T18:00:00+01:00",
            "end": "2027-10-31T20:00:00+01:00",
            "office": "b",
            "also": ["c"],
        }
    ]
    schedule = Schedule(build(data))
    start, end = utc(2027, 10, 31), utc(2027, 11, 1)
    for office in ("b", "c"):
        events = parse_events(feed(schedule, start, end, office=office))
        assert events == [
            (utc(2027, 10, 31, 17), utc(2027, 10, 31, 19), "Permanence: b + c (override)")
        ]
    assert parse_events(feed(schedule, start, end, office="a")) == []
    problems = check(schedule, start, days=1)
    assert [(p.kind, p.start, p.detail) for p in problems] == [
        ("conflict", utc(2027, 10, 31, 17), "c is on duty but closed or unavailable")
    ]


def test_sharing_is_validated_naming_the_field() -> None:
    data = _daily("abc").model_dump(mode="json")
    override = {"start": "2027-03-27T23:00:00+01:00", "end": "2027-03-28T04:00:00+02:00"}
    data["overrides"] = [
        {**override, "office": "b", "also": ["nowhere", "b"]},
        {**override, "also": ["a"]},
    ]
    assert reasons(data) == {
        ("overrides.0.also.0", "unknown_office"),
        ("overrides.0.also.1", "also_is_lead"),
        ("overrides.1.also.0", "also_without_lead"),
    }
    data = _daily("abc").model_dump(mode="json")
    data["rotation"]["together"] = 4
    assert reasons(data) == {("rotation.together", "together_too_many")}


# ---- 9. joining and leaving -------------------------------------------------------------------


def _weekly(members: list[dict[str, Any]]) -> Rota:
    return build(
        {
            "offices": [{"id": o} for o in "abcd"],
            "duty": {"week": {d: ["17:00-22:00"] for d in ALL_DAYS}, "holiday": ["17:00-22:00"]},
            "rotation": {"turn": "week", "anchor": "2026-11-02", "members": members},
        }
    )


def test_an_office_joining_keeps_every_turn_before_and_takes_its_shares_after() -> None:
    before = _weekly([{"office": o} for o in "abc"])
    after = _weekly([*({"office": o} for o in "abc"), {"office": "d", "since": "2027-03-01"}])
    old, new = Schedule(before), Schedule(after)
    start, change = utc(2026, 11, 1), utc(2027, 2, 28, 23)  # 1 March 00:00 CET
    assert list(new.segments(start, change)) == list(old.segments(start, change))
    # From Monday 1 March the cycle restarts with d: a, b, c, d, a … — across the spring-forward
    # week (22–28 March is d's: the Sunday evening 28 March is 17:00 CEST).
    mondays = [new.on_duty(utc(2027, 3, 1, 17) + timedelta(weeks=n)).office for n in range(8)]
    assert mondays == list("abcdabcd")
    assert new.on_duty(utc(2027, 3, 28, 15, 30)).office == "d"
    table = fairness(new, date(2027, 3, 1), date(2027, 4, 25))
    assert {o: sum(table[o].values()) for o in "abcd"} == dict.fromkeys("abcd", 14.0)


def test_an_office_leaving_at_new_year_keeps_its_past_turns_and_its_debts_lapse() -> None:
    stay = _weekly([{"office": o} for o in "abc"])
    leave = _weekly([{"office": "a"}, {"office": "b"}, {"office": "c", "until": "2026-12-30"}])
    old, new = Schedule(stay), Schedule(leave)
    start = utc(2026, 11, 1)
    # c's week of 28 December: c is a member until Wednesday 30; a stands in from Thursday 31.
    change = utc(2026, 12, 30, 23)
    assert list(new.segments(start, change)) == list(old.segments(start, change))
    assert old.on_duty(utc(2026, 12, 28, 17)).office == "c"
    assert new.on_duty(utc(2026, 12, 31, 17)).office == "a"
    assert new.on_duty(utc(2027, 1, 2, 17)).office == "a"
    assert new.debts("main", 2026) == {("c", "a"): 1}  # 31 December; 1–3 January follow
    # From Monday 4 January: a, b, a, b …; c's debt to a lapsed with it.
    assert [new.on_duty(utc(2027, 1, 4, 17) + timedelta(weeks=n)).office for n in range(4)] == [
        "a",
        "b",
        "a",
        "b",
    ]
    assert new.debts("main", 2027) == {}


def test_a_debt_between_members_who_stay_carries_into_the_new_epoch() -> None:
    busy = [{"start": "2027-03-24", "end": "2027-03-24"}]
    offices = [{"id": "a"}, {"id": "b"}, {"id": "c", "unavailable": busy}, {"id": "d"}]
    rota = build(
        {
            **_daily("abc", offices=offices).model_dump(mode="json"),
            "rotation": {
                "turn": "day",
                "anchor": "2027-03-22",
                "members": [
                    *({"office": o} for o in "abc"),
                    {"office": "d", "since": "2027-03-25"},
                ],
            },
        }
    )
    schedule = Schedule(rota)
    # 24: c's turn, a stands in. From 25 the cycle restarts with d: a's turn, c pays it; then
    # b, c, d (the spring-forward Sunday), a.
    assert evenings(schedule, date(2027, 3, 22), 8) == ["a", "b", "a", "c", "b", "c", "d", "a"]


def test_membership_dates_are_validated() -> None:
    members = [{"office": "a", "since": "2027-03-01", "until": "2027-02-01"}, {"office": "b"}]
    with pytest.raises(RotaValidationError) as caught:
        _weekly(members)
    assert {(r.field, r.code) for r in caught.value.reasons} == {
        ("rotation.members.0.until", "range_ends_before_start")
    }


# ---- TOML ---------------------------------------------------------------------------------------


def test_every_new_field_round_trips_through_toml() -> None:
    data = _two_rotations(
        swaps=[{"turn": "2027-01-10", "a": "x", "b": "y", "rotation": "sundays"}],
        overrides=[
            {
                "start": "2027-03-27T23:00:00+01:00",
                "end": "2027-03-28T04:00:00+02:00",
                "office": "b",
                "also": ["c"],
            }
        ],
    )
    data["rotations"][0]["together"] = 2
    data["rotations"][0]["members"][2] = {
        "office": "c",
        "since": "2027-03-01",
        "until": "2027-10-31",
    }
    rota = build(data)
    text = dumps_toml(rota)
    assert loads_toml(text) == rota
    assert "since = 2027-03-01" in text and 'rotation = "sundays"' in text
    assert "[rotation]" not in text  # the unused single rotation is not written beside them
    # An old file with one [rotation] reads as before, and writes back the same.
    old = build({"offices": [{"id": "a"}], "rotation": {"members": [{"office": "a"}]}})
    assert old.all_rotations == [old.rotation] and loads_toml(dumps_toml(old)) == old
