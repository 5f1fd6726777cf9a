"""Tables of explicit instants with the whole expected answer (Europe/Paris: CET = UTC+1,
CEST = UTC+2 from 2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rota import Rota, Schedule, build
from rota.schedule import FAR_FUTURE

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


ROTA = build(
    {
        "timezone": "Europe/Paris",
        "offices": [
            {"id": "a", "accounts": ["chat-a"], "hours": {d: ["09:00-17:00"] for d in WEEKDAYS}},
            {"id": "b", "accounts": ["chat-b"]},
            {
                "id": "c",
                "accounts": ["chat-c"],
                "closures": [{"start": "2026-08-17", "end": "2026-08-23"}],
            },
        ],
        "duty": {
            "week": {
                **{d: ["17:00-22:00"] for d in WEEKDAYS},
                "sat": ["12:00-22:00"],
                "sun": ["10:00-22:00"],
            },
            "holiday": ["10:00-22:00"],
        },
        "rotation": {
            "turn": "week",
            "anchor": "2026-01-05",
            "members": [{"office": "a"}, {"office": "b"}, {"office": "c"}],
        },
        "swaps": [{"turn": "2026-08-10", "a": "b", "b": "c"}],
        "overrides": [
            {
                "start": "2026-08-12T18:00:00+02:00",
                "end": "2026-08-12T20:00:00+02:00",
                "office": "a",
            },
            {"start": "2026-08-13T17:00:00+02:00", "end": "2026-08-13T19:00:00+02:00"},
        ],
    }
)
SCHEDULE = Schedule(ROTA)


@pytest.mark.parametrize(
    ("at", "office", "reason", "valid_until"),
    [
        # Weekly turns from the anchor week (a, b, c, a, …): 2026-03-23 is week 11 → c.
        (utc(2026, 3, 27, 16, 30), "c", "shared_duty", utc(2026, 3, 27, 21, 0)),  # Fri, CET
        (utc(2026, 3, 28, 11, 0), "c", "shared_duty", utc(2026, 3, 28, 21, 0)),  # Sat 12:00 CET
        (utc(2026, 3, 28, 10, 59), None, None, utc(2026, 3, 28, 11, 0)),
        # The spring-forward night: Sunday's window keeps 10:00–22:00 local, now CEST.
        (utc(2026, 3, 29, 8, 0), "c", "shared_duty", utc(2026, 3, 29, 20, 0)),
        (utc(2026, 3, 29, 7, 59), None, None, utc(2026, 3, 29, 8, 0)),
        (
            utc(2026, 3, 29, 20, 0),
            None,
            None,
            utc(2026, 3, 30, 15, 0),
        ),  # Monday 17:00 CEST, week 12 → a
        (utc(2026, 3, 30, 15, 0), "a", "shared_duty", utc(2026, 3, 30, 20, 0)),
        # The fall-back night: Saturday 24 in CEST, Sunday 25 in CET (2026-10-19 is week 41 → c).
        (utc(2026, 10, 24, 19, 59), "c", "shared_duty", utc(2026, 10, 24, 20, 0)),
        (utc(2026, 10, 25, 9, 0), "c", "shared_duty", utc(2026, 10, 25, 21, 0)),
        (utc(2026, 10, 25, 8, 59), None, None, utc(2026, 10, 25, 9, 0)),
        # 14 July (a Tuesday) is a public holiday: the holiday template, 10:00–22:00 (week 27 → a).
        (utc(2026, 7, 14, 8, 0), "a", "shared_duty", utc(2026, 7, 14, 20, 0)),
        (utc(2026, 7, 15, 8, 0), None, None, utc(2026, 7, 15, 15, 0)),
        # Week 31 would be b; the swap gives it to c. An override wins over the swap…
        (utc(2026, 8, 10, 15, 0), "c", "swap", utc(2026, 8, 10, 20, 0)),
        (utc(2026, 8, 12, 16, 30), "a", "override", utc(2026, 8, 12, 18, 0)),
        (utc(2026, 8, 12, 18, 30), "c", "swap", utc(2026, 8, 12, 20, 0)),
        (utc(2026, 8, 12, 15, 30), "c", "swap", utc(2026, 8, 12, 16, 0)),
        # … and a "closed" override leaves nobody on duty.
        (utc(2026, 8, 13, 15, 30), None, None, utc(2026, 8, 13, 17, 0)),
        (utc(2026, 8, 13, 17, 0), "c", "swap", utc(2026, 8, 13, 20, 0)),
        # Week 32 is c's, but c is closed that week: the next office in the cycle (a) takes it.
        (utc(2026, 8, 18, 16, 0), "a", "shared_duty", utc(2026, 8, 18, 20, 0)),
    ],
)
def test_on_duty(
    at: datetime, office: str | None, reason: str | None, valid_until: datetime
) -> None:
    answer = SCHEDULE.on_duty(at)
    assert (answer.office, answer.reason, answer.valid_until) == (office, reason, valid_until)


@pytest.mark.parametrize(
    ("account", "at", "expected"),
    [
        # In a's own hours (09:00–17:00 CEST), a's conversations stay with a.
        ("chat-a", utc(2026, 8, 10, 8, 0), ("a", "own_hours", utc(2026, 8, 10, 15, 0), None, None)),
        # b has no hours of its own and nobody is on duty at 10:00: the next is c at 17:00.
        (
            "chat-b",
            utc(2026, 8, 10, 8, 0),
            (None, "nobody_on_duty", utc(2026, 8, 10, 15, 0), "c", utc(2026, 8, 10, 15, 0)),
        ),
        # Evening: whoever is on duty, until the window ends (before a opens again).
        ("chat-a", utc(2026, 8, 10, 16, 0), ("c", "swap", utc(2026, 8, 10, 20, 0), None, None)),
        (
            "chat-b",
            utc(2026, 8, 12, 16, 30),
            ("a", "override", utc(2026, 8, 12, 18, 0), None, None),
        ),
        # Night: a's own opening at 09:00 comes before the next duty window.
        (
            "chat-a",
            utc(2026, 8, 10, 21, 0),
            (None, "nobody_on_duty", utc(2026, 8, 11, 7, 0), "a", utc(2026, 8, 11, 7, 0)),
        ),
        (
            "chat-c",
            utc(2026, 8, 10, 21, 0),
            (None, "nobody_on_duty", utc(2026, 8, 11, 15, 0), "c", utc(2026, 8, 11, 15, 0)),
        ),
        # An account no office owns still follows the shared duty.
        ("unknown", utc(2026, 8, 10, 16, 0), ("c", "swap", utc(2026, 8, 10, 20, 0), None, None)),
    ],
)
def test_route(account: str, at: datetime, expected: tuple[object, ...]) -> None:
    answer = SCHEDULE.route(account, at)
    assert (
        answer.office,
        answer.reason,
        answer.valid_until,
        answer.next_office,
        answer.next_at,
    ) == expected


def test_next_on_duty() -> None:
    current = SCHEDULE.next_on_duty(utc(2026, 8, 10, 16, 0))
    assert current is not None and (current.office, current.start, current.end) == (
        "c",
        utc(2026, 8, 10, 16, 0),
        utc(2026, 8, 10, 20, 0),
    )
    later = SCHEDULE.next_on_duty(utc(2026, 8, 10, 21, 0))
    assert later is not None and (later.office, later.start) == ("c", utc(2026, 8, 11, 15, 0))


def test_gaps_are_the_closed_override() -> None:
    assert SCHEDULE.gaps(utc(2026, 8, 13), utc(2026, 8, 14)) == [
        (utc(2026, 8, 13, 15, 0), utc(2026, 8, 13, 17, 0))
    ]
    assert SCHEDULE.gaps(utc(2026, 8, 14), utc(2026, 8, 21)) == []


def _day_rota(**holidays: object) -> Rota:
    return build(
        {
            "offices": [{"id": "x"}, {"id": "y"}, {"id": "z"}],
            "duty": {"week": {d: ["18:00-20:00"] for d in WEEKDAYS}},
            "holidays": holidays,
            "rotation": {
                "turn": "day",
                "anchor": "2026-06-01",
                "members": [{"office": o} for o in "xyz"],
            },
        }
    )


def _evening(schedule: Schedule, day: int) -> str | None:
    return schedule.on_duty(utc(2026, 6, day, 16, 30)).office  # 18:30 CEST


def test_only_turns_that_occur_are_counted() -> None:
    plain = Schedule(_day_rota())
    # Weekends have no duty window and take no turn: Monday 8 continues where Friday 5 stopped.
    assert [_evening(plain, d) for d in (1, 2, 3, 4, 5, 6, 7, 8, 9)] == [
        "x",
        "y",
        "z",
        "x",
        "y",
        None,
        None,
        "z",
        "x",
    ]
    # A date switched off takes no turn either: nobody loses theirs.
    off = Schedule(_day_rota(no_duty=["2026-06-03"]))
    assert [_evening(off, d) for d in (1, 2, 3, 4, 5, 8)] == ["x", "y", None, "z", "x", "y"]


def test_holidays_from_the_library_and_alsace_moselle() -> None:
    # 26 December 2026, a Saturday, is a holiday in Alsace-Moselle only (duty from 10:00, not 12).
    def at_1030(rota: Rota) -> str | None:
        return Schedule(rota).on_duty(utc(2026, 12, 26, 9, 30)).office

    national = build({**ROTA.model_dump(mode="json"), "holidays": {"country": "FR"}})
    alsace = build(
        {**ROTA.model_dump(mode="json"), "holidays": {"country": "FR", "subdivision": "57"}}
    )
    assert at_1030(national) is None
    assert at_1030(alsace) is not None
    # Easter Monday (6 April) everywhere in France; switched off, it is an ordinary Monday again.
    assert SCHEDULE.on_duty(utc(2026, 4, 6, 8, 30)).office is not None
    ordinary = build({**ROTA.model_dump(mode="json"), "holidays": {"not_holidays": ["2026-04-06"]}})
    assert Schedule(ordinary).on_duty(utc(2026, 4, 6, 8, 30)).office is None


def test_overnight_windows_across_both_dst_nights() -> None:
    rota = build(
        {
            "offices": [{"id": "n"}],
            "duty": {"week": {"sat": ["22:00-08:00+1"]}},
            "rotation": {"members": [{"office": "n"}]},
        }
    )
    schedule = Schedule(rota)
    (spring,) = schedule.windows(utc(2026, 3, 28), utc(2026, 3, 30))
    (autumn,) = schedule.windows(utc(2026, 10, 24), utc(2026, 10, 26))
    assert (spring.start, spring.end) == (utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 6, 0))  # 9 h
    assert (autumn.start, autumn.end) == (utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 7, 0))  # 11 h
    assert schedule.on_duty(utc(2026, 3, 29, 5, 59)).office == "n"
    assert schedule.on_duty(utc(2026, 10, 25, 6, 59)).office == "n"


def test_a_window_inside_the_gap_or_the_fold() -> None:
    rota = build(
        {
            "offices": [{"id": "n"}],
            "duty": {"week": {"sun": ["02:30-05:00"]}},
            "rotation": {"members": [{"office": "n"}]},
        }
    )
    schedule = Schedule(rota)
    (spring,) = schedule.windows(utc(2026, 3, 28), utc(2026, 3, 30))
    (autumn,) = schedule.windows(utc(2026, 10, 24), utc(2026, 10, 26))
    assert (spring.start, spring.end) == (
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 29, 3, 0),
    )  # from 03:00
    assert (autumn.start, autumn.end) == (
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 4, 0),
    )  # first 02:30


def test_demo_destination_weights_and_seasonal_hours(demo_rota: Rota) -> None:
    schedule = Schedule(demo_rota)
    # Port-Argent has weight 2: the cycle is port-argent, saint-clair, port-argent, les-salines
    # (weeks 8–11), never two weeks running, the next cycle's first week included (week 12).
    mondays = [date(2026, 3, 2) + timedelta(weeks=n) for n in range(5)]
    offices = [schedule.on_duty(utc(m.year, m.month, m.day, 17, 0)).office for m in mondays]
    assert offices == [PA, SC, PA, LS, PA]
    # July–August: Port-Argent opens until 19:00; in June it closes at 18:00.
    assert schedule.is_open("port-argent", utc(2026, 7, 20, 16, 30)) == utc(2026, 7, 20, 17, 0)
    assert schedule.is_open("port-argent", utc(2026, 6, 22, 16, 30)) is None


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        SCHEDULE.on_duty(datetime(2026, 8, 10, 18, 0))  # noqa: DTZ001


# The demo destination (docs/rota.example.toml): weekly turns from Monday 2026-01-05 in the cycle
# port-argent, saint-clair, port-argent, les-salines (weight 2); week n from the anchor → n % 4.
PA, SC, LS = "port-argent", "saint-clair", "les-salines"


@pytest.mark.parametrize(
    ("at", "office", "reason", "valid_until"),
    [
        # 1 January (Thursday, a holiday) is in week -1 → index 3: les-salines, closed from that
        # day: the next in the cycle (port-argent) takes it, 10:00–22:00 CET.
        (utc(2026, 1, 1, 9, 0), PA, "shared_duty", utc(2026, 1, 1, 21, 0)),
        (utc(2026, 1, 1, 8, 59), None, None, utc(2026, 1, 1, 9, 0)),
        # Week 2 → port-argent; week 3 is les-salines', closed until 15 February: the next in the
        # cycle (port-argent) takes it.
        (utc(2026, 1, 21, 16, 0), PA, "shared_duty", utc(2026, 1, 21, 21, 0)),
        (utc(2026, 1, 28, 16, 0), PA, "shared_duty", utc(2026, 1, 28, 21, 0)),
        # Week 11 → les-salines; Saturday 12:00 CET, then Sunday 10:00 CEST after the jump.
        (utc(2026, 3, 28, 11, 0), LS, "shared_duty", utc(2026, 3, 28, 21, 0)),
        (utc(2026, 3, 28, 21, 0), None, None, utc(2026, 3, 29, 8, 0)),
        (utc(2026, 3, 29, 8, 0), LS, "shared_duty", utc(2026, 3, 29, 20, 0)),
        # Easter Monday, week 13 → saint-clair, holiday hours 10:00–22:00 CEST.
        (utc(2026, 4, 6, 8, 0), SC, "shared_duty", utc(2026, 4, 6, 20, 0)),
        (utc(2026, 4, 7, 8, 0), None, None, utc(2026, 4, 7, 15, 0)),
        # 14 July, week 27 → les-salines.
        (utc(2026, 7, 14, 19, 59), LS, "shared_duty", utc(2026, 7, 14, 20, 0)),
        # The fall-back night: week 41 → saint-clair; Sunday 10:00 CET.
        (utc(2026, 10, 24, 10, 0), SC, "shared_duty", utc(2026, 10, 24, 20, 0)),
        (utc(2026, 10, 25, 1, 30), None, None, utc(2026, 10, 25, 9, 0)),
        (utc(2026, 10, 25, 9, 0), SC, "shared_duty", utc(2026, 10, 25, 21, 0)),
        # 26 December (Saturday, week 50 → port-argent) is no holiday on the Atlantic coast: duty
        # from 12:00 only.
        (utc(2026, 12, 26, 9, 30), None, None, utc(2026, 12, 26, 11, 0)),
        (utc(2026, 12, 26, 11, 0), PA, "shared_duty", utc(2026, 12, 26, 21, 0)),
    ],
)
def test_on_duty_in_the_demo_destination(
    demo_rota: Rota, at: datetime, office: str | None, reason: str | None, valid_until: datetime
) -> None:
    answer = Schedule(demo_rota).on_duty(at)
    assert (answer.office, answer.reason, answer.valid_until) == (office, reason, valid_until)


def test_26_december_in_alsace_moselle(demo_rota: Rota) -> None:
    for subdivision in ("57", "67", "68"):
        rota = build(
            {
                **demo_rota.model_dump(mode="json"),
                "holidays": {"country": "FR", "subdivision": subdivision},
            }
        )
        answer = Schedule(rota).on_duty(utc(2026, 12, 26, 9, 30))  # 10:30 CET, holiday hours
        assert (answer.office, answer.reason, answer.valid_until) == (
            PA,
            "shared_duty",
            utc(2026, 12, 26, 21, 0),
        )


@pytest.mark.parametrize(
    ("account", "at", "expected"),
    [
        # July–August: Port-Argent's own hours are 09:00–19:00 every day, Sunday included.
        ("chat-port-argent", utc(2026, 7, 19, 16, 30), (PA, "own_hours", utc(2026, 7, 19, 17, 0))),
        # In June its Sunday is 10:00–13:00; at 13:30 the shared duty (week 23 → les-salines)
        # answers until 22:00, before Port-Argent opens on Monday.
        (
            "chat-port-argent",
            utc(2026, 6, 21, 11, 30),
            (LS, "shared_duty", utc(2026, 6, 21, 20, 0)),
        ),
        # Saint-Clair's lunch break on a Friday in week 27: nobody until it reopens at 14:00.
        (
            "mail-saint-clair",
            utc(2026, 7, 17, 10, 45),
            (None, "nobody_on_duty", utc(2026, 7, 17, 12, 0)),
        ),
        ("mail-saint-clair", utc(2026, 7, 17, 12, 0), (SC, "own_hours", utc(2026, 7, 17, 15, 30))),
        # Saint-Clair closes at 17:30 but the evening duty (les-salines) started at 17:00.
        (
            "mail-saint-clair",
            utc(2026, 7, 17, 15, 30),
            (LS, "shared_duty", utc(2026, 7, 17, 20, 0)),
        ),
        # Les Salines is closed until 15 February: on a Tuesday in January the duty answers.
        (
            "x-les-salines",
            utc(2026, 1, 13, 10, 0),
            (None, "nobody_on_duty", utc(2026, 1, 13, 16, 0)),
        ),
        ("x-les-salines", utc(2026, 2, 17, 10, 0), (LS, "own_hours", utc(2026, 2, 17, 16, 0))),
    ],
)
def test_route_in_the_demo_destination(
    demo_rota: Rota, account: str, at: datetime, expected: tuple[object, ...]
) -> None:
    answer = Schedule(demo_rota).route(account, at)
    assert (answer.office, answer.reason, answer.valid_until) == expected
    if answer.office is None:
        assert answer.next_at == answer.valid_until and answer.next_office is not None


def test_across_new_year_windows_once_and_segments_whole() -> None:
    rota = build(
        {
            "offices": [{"id": "n"}, {"id": "m"}],
            "duty": {"week": {"thu": ["20:00-02:00+1"]}},  # 31 December 2026 is a Thursday
            "rotation": {"turn": "window", "members": [{"office": "n"}]},
            "overrides": [
                {
                    "start": "2027-06-01T00:00:00+02:00",
                    "end": "2029-06-01T00:00:00+02:00",
                    "office": "m",
                    "note": "two whole years",
                }
            ],
        }
    )
    schedule = Schedule(rota)
    windows = list(schedule.windows(utc(2026, 12, 30), utc(2027, 1, 2)))
    assert [(w.start, w.end) for w in windows] == [
        (utc(2026, 12, 31, 19, 0), utc(2027, 1, 1, 1, 0))
    ]
    (segment,) = schedule.segments(utc(2026, 12, 30), utc(2027, 1, 2))
    assert (segment.start, segment.end, segment.office) == (
        utc(2026, 12, 31, 19, 0),
        utc(2027, 1, 1, 1, 0),
        "n",
    )
    assert schedule.on_duty(utc(2026, 12, 31, 22, 0)).valid_until == utc(2027, 1, 1, 1, 0)
    # An override over several years holds until its end, not just until New Year.
    answer = schedule.on_duty(utc(2027, 7, 1))
    assert (answer.office, answer.reason, answer.valid_until) == (
        "m",
        "override",
        utc(2029, 5, 31, 22, 0),
    )
    following = schedule.next_on_duty(utc(2027, 5, 31, 21, 0))
    assert following is not None
    assert (following.start, following.end) == (utc(2027, 5, 31, 22, 0), utc(2029, 5, 31, 22, 0))


def test_a_rota_without_duty_answers_nobody_ever() -> None:
    schedule = Schedule(build({"offices": [{"id": "a", "accounts": ["chat-a"]}]}))
    answer = schedule.on_duty(utc(2026, 5, 1, 12, 0))
    assert (answer.office, answer.valid_until) == (None, FAR_FUTURE)
    assert schedule.next_on_duty(utc(2026, 5, 1, 12, 0)) is None
    route = schedule.route("chat-a", utc(2026, 5, 1, 12, 0))
    assert (route.office, route.reason, route.valid_until, route.next_at) == (
        None,
        "nobody_on_duty",
        FAR_FUTURE,
        None,
    )
