"""Seasonal duty windows, and hours or duty windows for one date (Europe/Paris: in 2027 CEST
runs from 28 March 01:00 UTC to 31 October 01:00 UTC)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from rota import Rota, RotaValidationError, Schedule, build, dumps_toml, feed, loads_toml, plan

WORKDAYS = ["mon", "tue", "wed", "thu", "fri"]
EVERY_WEEKDAY = [*WORKDAYS, "sat", "sun"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rota_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "timezone": "Europe/Paris",
        "offices": [
            {
                "id": "port",
                "accounts": ["chat-port"],
                "hours": {d: ["09:00-18:00"] for d in [*WORKDAYS, "sat"]},
                "seasons": [{"start": "07-01", "end": "08-31", "hours": {"sat": "09:00-19:00"}}],
                "closures": [{"start": "2027-02-01", "end": "2027-02-14"}],
                "closed_on_holidays": True,
                "dates": [
                    {"date": "2027-12-24", "hours": "09:00-16:00", "note": "Christmas Eve"},
                    {"date": "2027-02-05", "hours": "10:00-12:00"},  # inside the closure
                    {"date": "2027-07-14", "hours": "10:00-13:00", "note": "open on 14 July"},
                    {"date": "2027-06-21", "hours": "09:00-23:00", "note": "Fête de la musique"},
                    {"date": "2027-08-14", "note": "closed for the festival"},
                ],
            },
            {"id": "clair", "accounts": ["chat-clair"]},
        ],
        "duty": {
            "week": {
                **{d: ["17:00-22:00"] for d in WORKDAYS},
                "sat": ["12:00-22:00"],
                "sun": ["10:00-22:00"],
            },
            "holiday": ["10:00-22:00"],
            "seasons": [
                {
                    "start": "11-01",
                    "end": "03-31",
                    "week": {
                        **{d: ["17:00-20:00"] for d in WORKDAYS},
                        "sat": ["12:00-20:00"],
                        "sun": ["10:00-18:00"],
                    },
                    "holiday": ["10:00-18:00"],
                },
                {"start": "07-01", "end": "08-31", "week": {d: ["17:00-23:00"] for d in WORKDAYS}},
            ],
            "dates": [
                {"date": "2027-12-24", "note": "Christmas Eve: no duty"},
                {"date": "2027-12-31", "hours": "20:00-02:00+1", "note": "New Year's Eve"},
                {"date": "2027-07-14", "hours": "18:00-01:00+1", "note": "fireworks"},
                {"date": "2027-03-27", "hours": "12:00-04:00+1", "note": "spring festival"},
                {"date": "2027-10-30", "hours": "12:00-04:00+1", "note": "autumn festival"},
                {"date": "2027-11-11", "hours": "10:00-12:00", "note": "in no_duty: wins"},
            ],
        },
        "holidays": {"country": "FR", "no_duty": ["2027-05-08", "2027-11-11"]},
        "rotation": {"turn": "week", "members": [{"office": "port"}, {"office": "clair"}]},
    }
    data.update(changes)
    return data


ROTA = build(rota_data())
SCHEDULE = Schedule(ROTA)


def spans(day: date) -> list[tuple[datetime, datetime, str]]:
    return [(w.start, w.end, w.slot) for w in SCHEDULE.windows_on(day)]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Winter (11-01..03-31, across New Year) stops at 20:00; spring is the usual 22:00.
        (date(2027, 3, 31), [(utc(2027, 3, 31, 15), utc(2027, 3, 31, 18), "weekday_evening")]),
        (date(2027, 4, 1), [(utc(2027, 4, 1, 15), utc(2027, 4, 1, 20), "weekday_evening")]),
        (date(2027, 11, 2), [(utc(2027, 11, 2, 16), utc(2027, 11, 2, 19), "weekday_evening")]),
        (date(2027, 1, 4), [(utc(2027, 1, 4, 16), utc(2027, 1, 4, 19), "weekday_evening")]),
        # Summer evenings to 23:00; its weekend has no windows of its own.
        (date(2027, 7, 5), [(utc(2027, 7, 5, 15), utc(2027, 7, 5, 21), "weekday_evening")]),
        (date(2027, 7, 4), []),
        # A holiday in summer (no holiday windows of its own): the duty's, 10:00-22:00.
        (date(2027, 8, 15), [(utc(2027, 8, 15, 8), utc(2027, 8, 15, 20), "holiday")]),
        # A holiday in winter: the season's holiday windows, 10:00-18:00 CET.
        (date(2027, 12, 25), [(utc(2027, 12, 25, 9), utc(2027, 12, 25, 17), "holiday")]),
        (date(2027, 12, 23), [(utc(2027, 12, 23, 16), utc(2027, 12, 23, 19), "weekday_evening")]),
        # A dated day wins over the season, and over the holiday (14 July keeps its class).
        (date(2027, 12, 24), []),
        (date(2027, 7, 14), [(utc(2027, 7, 14, 16), utc(2027, 7, 14, 23), "holiday")]),
        # holidays.no_duty: no windows, unless the date has its own entry (it is the more
        # specific).
        (date(2027, 5, 8), []),
        (date(2027, 11, 11), [(utc(2027, 11, 11, 9), utc(2027, 11, 11, 11), "holiday")]),
        # The DST nights: wall-clock windows, real durations (15 h in spring, 17 h in autumn).
        (date(2027, 3, 27), [(utc(2027, 3, 27, 11), utc(2027, 3, 28, 2), "weekend_day")]),
        (date(2027, 3, 28), [(utc(2027, 3, 28, 8), utc(2027, 3, 28, 16), "weekend_day")]),
        (date(2027, 10, 30), [(utc(2027, 10, 30, 10), utc(2027, 10, 31, 3), "weekend_day")]),
        (date(2027, 10, 31), [(utc(2027, 10, 31, 9), utc(2027, 10, 31, 21), "weekend_day")]),
        (date(2027, 12, 31), [(utc(2027, 12, 31, 19), utc(2028, 1, 1, 1), "weekday_evening")]),
    ],
)
def test_duty_windows_by_season_and_date(
    day: date, expected: list[tuple[datetime, datetime, str]]
) -> None:
    assert spans(day) == expected


def test_the_dst_nights_of_dated_duty() -> None:
    spring_end, autumn_end = utc(2027, 3, 28, 2), utc(2027, 10, 31, 3)
    assert spring_end - utc(2027, 3, 27, 11) == timedelta(hours=15)
    assert autumn_end - utc(2027, 10, 30, 10) == timedelta(hours=17)
    for during, end in [
        (utc(2027, 3, 28, 0, 30), spring_end),  # 01:30 CET, before the jump
        (utc(2027, 3, 28, 1, 30), spring_end),  # 03:30 CEST, after it
        (utc(2027, 10, 31, 0, 30), autumn_end),  # the first 02:30 (CEST)
        (utc(2027, 10, 31, 1, 30), autumn_end),  # the second 02:30 (CET)
    ]:
        answer = SCHEDULE.on_duty(during)
        # The dated night is one window of the week's turn: the Friday before holds it too.
        friday = SCHEDULE.on_duty(during - timedelta(days=1, hours=-17))
        assert answer.office is not None and answer.office == friday.office
        assert (answer.reason, answer.valid_until) == ("shared_duty", end)
    after = SCHEDULE.on_duty(spring_end)
    assert (after.office, after.valid_until) == (None, utc(2027, 3, 28, 8))
    after = SCHEDULE.on_duty(autumn_end)
    assert (after.office, after.valid_until) == (None, utc(2027, 10, 31, 9))


def test_a_dated_night_across_new_year_counts_once() -> None:
    start, end = utc(2027, 12, 31, 19), utc(2028, 1, 1, 1)  # 20:00 CET to 02:00 next year
    first = SCHEDULE.on_duty(start)
    assert first.office is not None and (first.reason, first.valid_until) == ("shared_duty", end)
    after_midnight = SCHEDULE.on_duty(utc(2028, 1, 1, 0, 30))
    assert (after_midnight.office, after_midnight.valid_until) == (first.office, end)
    # The week's turn (Monday 27 December) holds it, and 1 January (a Saturday, a holiday).
    assert SCHEDULE.on_duty(utc(2027, 12, 27, 17)).office == first.office
    new_year = SCHEDULE.on_duty(utc(2028, 1, 1, 9))
    assert (new_year.office, new_year.valid_until) == (first.office, utc(2028, 1, 1, 17))
    assert SCHEDULE.on_duty(end).office is None
    assert SCHEDULE.next_on_duty(utc(2027, 12, 31, 12)).end == end  # type: ignore[union-attr]

    period = (utc(2027, 12, 31), utc(2028, 1, 2))
    windows = list(SCHEDULE.windows(*period))
    assert [(w.start, w.end, w.day) for w in windows] == [
        (start, end, date(2027, 12, 31)),
        (utc(2028, 1, 1, 9), utc(2028, 1, 1, 17), date(2028, 1, 1)),
    ]
    segments = [(s.start, s.end) for s in SCHEDULE.segments(*period)]
    assert segments == [(start, end), (utc(2028, 1, 1, 9), utc(2028, 1, 1, 17))]
    assert SCHEDULE.gaps(*period) == []
    events = Calendar.from_ical(feed(SCHEDULE, *period)).walk("VEVENT")
    assert [(e.decoded("dtstart"), e.decoded("dtend")) for e in events] == segments
    dealt = plan(ROTA, date(2027, 12, 27), date(2028, 1, 2)).assignments
    assert [a.window.start for a in dealt if a.window.day == date(2027, 12, 31)] == [start]


def test_icalendar_carries_seasonal_and_dated_windows() -> None:
    events = Calendar.from_ical(
        feed(SCHEDULE, utc(2027, 7, 12), utc(2027, 7, 16), stamp=utc(2027, 7, 1))
    ).walk("VEVENT")
    assert [(e.decoded("dtstart"), e.decoded("dtend")) for e in events] == [
        (utc(2027, 7, 12, 15), utc(2027, 7, 12, 21)),  # summer: 17:00-23:00 CEST
        (utc(2027, 7, 13, 15), utc(2027, 7, 13, 21)),
        (utc(2027, 7, 14, 16), utc(2027, 7, 14, 23)),  # fireworks: 18:00-01:00+1
        (utc(2027, 7, 15, 15), utc(2027, 7, 15, 21)),
    ]
    spring = Calendar.from_ical(feed(SCHEDULE, utc(2027, 3, 26), utc(2027, 3, 29))).walk("VEVENT")
    assert [(e.decoded("dtstart"), e.decoded("dtend")) for e in spring] == [
        (utc(2027, 3, 26, 16), utc(2027, 3, 26, 19)),  # winter Friday to 20:00 CET
        (utc(2027, 3, 27, 11), utc(2027, 3, 28, 2)),  # the festival night, across the jump
        (utc(2027, 3, 28, 8), utc(2027, 3, 28, 16)),  # winter Sunday 10:00-18:00 CEST
    ]


@pytest.mark.parametrize(
    ("at", "closes"),
    [
        (utc(2027, 12, 24, 14), utc(2027, 12, 24, 15)),  # 24 December: until 16:00 CET
        (utc(2027, 12, 24, 15, 30), None),
        (utc(2027, 12, 23, 16), utc(2027, 12, 23, 17)),  # the usual 18:00
        (utc(2027, 2, 5, 10), None),  # a dated day inside a closure: the closure wins
        (utc(2027, 2, 15, 10), utc(2027, 2, 15, 17)),
        (utc(2027, 7, 14, 9), utc(2027, 7, 14, 11)),  # a holiday, but its own entry: open
        (utc(2027, 8, 15, 9), None),  # any other holiday: closed_on_holidays
        (utc(2027, 6, 21, 20), utc(2027, 6, 21, 21)),  # one late opening, to 23:00 CEST
        (utc(2027, 6, 22, 16, 30), None),
        (utc(2027, 8, 14, 10), None),  # a summer Saturday closed for the festival
        (utc(2027, 8, 7, 16, 30), utc(2027, 8, 7, 17)),  # another one: the season's 19:00
    ],
)
def test_own_hours_dated_over_holiday_season_and_week_under_closure(
    at: datetime, closes: datetime | None
) -> None:
    assert SCHEDULE.is_open("port", at) == closes


def test_routing_follows_dated_hours() -> None:
    # 24 December: the office closes at 16:00 and there is no duty that evening (dated []).
    answer = SCHEDULE.route("chat-port", utc(2027, 12, 24, 15, 30))
    assert (answer.office, answer.reason) == (None, "nobody_on_duty")
    assert answer.next_at == utc(2027, 12, 25, 9)  # the winter holiday windows, 10:00 CET
    assert answer.next_office == SCHEDULE.on_duty(utc(2027, 12, 25, 9)).office
    assert answer.next_office is not None
    assert SCHEDULE.next_opening("port", utc(2027, 12, 24, 15, 30)) == utc(2027, 12, 27, 8)
    late = SCHEDULE.route("chat-port", utc(2027, 6, 21, 20, 30))  # 22:30 CEST, own hours
    assert (late.office, late.reason, late.valid_until) == (
        "port",
        "own_hours",
        utc(2027, 6, 21, 21),
    )


# ---- validation ------------------------------------------------------------------------------
DUTY = {"week": {"mon": ["17:00-22:00"]}}


NEW_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    (
        {
            "duty": {
                **DUTY,
                "seasons": [
                    {"start": "11-01", "end": "03-31"},
                    {"start": "03-15", "end": "04-30"},
                ],
            }
        },
        "duty.seasons",
        "seasons_overlap",
    ),
    (
        {"duty": {**DUTY, "seasons": [{"start": "13-01", "end": "03-31"}]}},
        "duty.seasons.0.start",
        "bad_month_day",
    ),
    (
        {
            "duty": {
                **DUTY,
                "dates": [
                    {"date": "2027-12-24"},
                    {"date": "2027-12-25"},
                    {"date": "2027-12-31"},
                    {"date": "2027-12-24", "hours": "10:00-12:00"},
                ],
            }
        },
        "duty.dates.3.date",
        "date_twice",
    ),
    (
        {
            "offices": [
                {"id": "a", "dates": [{"date": "2027-12-24"}, {"date": "2027-12-24"}]},
            ]
        },
        "offices.0.dates.1.date",
        "date_twice",
    ),
    (
        {
            "duty": {
                **DUTY,
                "dates": [{"date": "2027-12-24", "hours": ["10:00-13:00", "12:00-14:00"]}],
            }
        },
        "duty.dates.0.hours",
        "windows_overlap",
    ),
    (
        {"duty": {**DUTY, "dates": [{"date": "2027-12-24", "hours": "22:00-21:00"}]}},
        "duty.dates.0.hours.0",
        "overnight_not_marked",
    ),
    # Across midnight where the season changes: Friday 31 March into Saturday 1 April…
    (
        {
            "duty": {
                "week": {"sat": ["01:00-05:00"]},
                "seasons": [{"start": "11-01", "end": "03-31", "week": {"fri": "20:00-02:00+1"}}],
            }
        },
        "duty.seasons.0.week.fri",
        "season_runs_into",
    ),
    # … or into a season (any weekday may start it).
    (
        {
            "duty": {
                "week": {"tue": ["22:00-03:00+1"]},
                "seasons": [{"start": "07-01", "end": "08-31", "week": {"wed": "02:00-04:00"}}],
            }
        },
        "duty.week.tue",
        "season_runs_into",
    ),
    # A season's week into the holiday windows it falls back on, and its own holiday ones.
    (
        {
            "duty": {
                "holiday": ["02:00-04:00"],
                "seasons": [{"start": "07-01", "end": "08-31", "week": {"mon": "22:00-03:00+1"}}],
            }
        },
        "duty.seasons.0.week.mon",
        "runs_into_holiday",
    ),
    (
        {
            "duty": {
                "seasons": [
                    {
                        "start": "07-01",
                        "end": "08-31",
                        "week": {"mon": "08:00-10:00"},
                        "holiday": "20:00-09:00+1",
                    }
                ],
            }
        },
        "duty.seasons.0.holiday",
        "runs_into",
    ),
    # A dated night into the next day (1 January 2028 is a holiday: its windows)…
    (
        {
            "duty": {
                "holiday": ["01:00-04:00"],
                "dates": [{"date": "2027-12-31", "hours": "20:00-02:00+1"}],
            }
        },
        "duty.dates.0.hours",
        "dated_runs_into",
    ),
    # … or the day before's night into a dated day.
    (
        {
            "duty": {
                "week": {"fri": ["22:00-03:00+1"]},
                "dates": [{"date": "2027-07-10", "hours": "01:00-02:00"}],
            }
        },
        "duty.dates.0.hours",
        "dated_runs_into",
    ),
    (
        {
            "offices": [
                {
                    "id": "a",
                    "hours": {"sun": "10:00-12:00"},
                    "dates": [{"date": "2027-07-10", "hours": "20:00-11:00+1"}],
                },
            ]
        },
        "offices.0.dates.0.hours",
        "dated_runs_into",
    ),
]


@pytest.mark.parametrize(("changes", "field", "code"), NEW_ERRORS)
def test_each_new_error_names_its_field_and_code(
    changes: dict[str, Any], field: str, code: str
) -> None:
    data = {"timezone": "Europe/Paris", "offices": [{"id": "a"}], **changes}
    with pytest.raises(RotaValidationError) as info:
        build(data)
    found = [(r.field, r.code) for r in info.value.reasons]
    assert (field, code) in found, found


def test_no_duty_or_dated_days_that_do_not_meet_are_accepted() -> None:
    # The same dated night, the holiday after it starting once it is over.
    rota = build(
        {
            "duty": {
                "holiday": ["02:00-04:00"],
                "dates": [{"date": "2027-12-31", "hours": "20:00-02:00+1"}],
            }
        }
    )
    assert [str(i) for i in rota.duty.template(date(2027, 12, 31))] == ["20:00-02:00+1"]
    # 1 January in no_duty: nothing to run into.
    build(
        {
            "duty": {
                "holiday": ["01:00-04:00"],
                "dates": [{"date": "2027-12-31", "hours": "20:00-02:00+1"}],
            },
            "holidays": {"no_duty": ["2028-01-01"]},
        }
    )


# ---- round trips and translations ------------------------------------------------------------
def test_every_new_field_round_trips_through_toml() -> None:
    rota = build(
        rota_data(
            offices=[
                *rota_data()["offices"],
                {
                    "id": "reunion",
                    "timezone": "Indian/Reunion",
                    "dates": [{"date": "2027-12-31", "hours": "20:00-01:00+1"}],
                },
            ],
            duty={
                **rota_data()["duty"],
                "seasons": [
                    *rota_data()["duty"]["seasons"],
                    {"start": "04-01", "end": "04-30", "holiday": []},  # no duty on its holidays
                ],
            },
        )
    )
    text = dumps_toml(rota)
    assert loads_toml(text) == rota
    assert dumps_toml(loads_toml(text)) == text
    assert "date = 2027-12-31\n" in text and '"20:00-02:00+1"' in text
    assert 'timezone = "Indian/Reunion"' in text and 'start = "11-01"' in text
    assert "holiday = []" in text  # not the same as no ``holiday`` at all
    april = loads_toml(text).duty.seasons[2]
    assert april.holiday == [] and rota.duty.seasons[1].holiday is None
    assert Schedule(loads_toml(text)).windows_on(date(2027, 4, 5)) == []  # Easter Monday
    # As JSON too (the app's API and forms): the same rota back.
    assert build(json.loads(json.dumps(rota.model_dump(mode="json")))) == rota


def test_the_new_error_codes_are_said_in_english_and_french() -> None:
    root = Path(__file__).resolve().parents[2]
    catalogs = {
        language: json.loads((root / "app" / "locales" / f"{language}.json").read_text("utf-8"))
        for language in ("en", "fr")
    }
    said: set[str] = set()
    for changes, _field, code in NEW_ERRORS:
        with pytest.raises(RotaValidationError) as info:
            build({"timezone": "Europe/Paris", "offices": [{"id": "a"}], **changes})
        (reason,) = [r for r in info.value.reasons if r.code == code]
        # Every parameter a sentence names is given (str.format, as app.i18n does it).
        english, french = (
            catalogs[language][f"rota.error.{code}"].format(**reason.params)
            for language in ("en", "fr")
        )
        assert english != french, code
        for text in (english, french):
            assert reason.params and all(str(v) in text for v in reason.params.values())
        said.add(code)
    assert {"date_twice", "season_runs_into", "dated_runs_into", "seasons_overlap"} <= said


def test_the_commented_examples_of_seasons_and_dates_work() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "rota.example.toml").read_text("utf-8")
    commented = text.split("For example:\n", 1)[1]
    uncommented = "\n".join(
        line.removeprefix("#").removeprefix(" ") for line in commented.splitlines()
    )
    plain, examples = Schedule(loads_toml(text)), Schedule(loads_toml(text + "\n" + uncommented))
    monday = date(2026, 11, 2)
    assert [(w.start, w.end) for w in plain.windows_on(monday)] == [
        (utc(2026, 11, 2, 16), utc(2026, 11, 2, 21))
    ]
    assert [(w.start, w.end) for w in examples.windows_on(monday)] == [
        (utc(2026, 11, 2, 16), utc(2026, 11, 2, 19))  # winter: until 20:00
    ]
    assert plain.windows_on(date(2026, 12, 24)) and not examples.windows_on(date(2026, 12, 24))
    new_year = examples.on_duty(utc(2027, 1, 1, 0, 30))
    assert new_year.office is not None and new_year.valid_until == utc(2027, 1, 1, 1)
    assert plain.is_open("les-salines", utc(2026, 12, 24, 14, 30)) == utc(2026, 12, 24, 16)
    assert examples.is_open("les-salines", utc(2026, 12, 24, 14, 30)) is None
    assert examples.is_open("les-salines", utc(2026, 12, 24, 13, 30)) == utc(2026, 12, 24, 14)


# ---- properties: any accepted rota keeps its windows apart, in the order of precedence --------
PIECES = ["17:00-22:00", "22:00-02:00+1", "00:00-03:00", "01:00-04:00", "10:00-18:00"]
MONTH_DAYS = ["03-25", "03-28", "03-31", "04-01", "12-28", "12-31", "01-01", "01-02"]
RANGES = [(date(2027, 3, 20), date(2027, 4, 5)), (date(2027, 12, 24), date(2028, 1, 6))]
DAYS = [first + timedelta(days=n) for first, last in RANGES for n in range((last - first).days + 1)]
day_windows = st.lists(st.sampled_from(PIECES), max_size=2, unique=True)
weeks = st.dictionaries(st.sampled_from(EVERY_WEEKDAY), day_windows, max_size=4) | day_windows.map(
    lambda windows: dict.fromkeys(EVERY_WEEKDAY, windows)  # the same every day
)


@st.composite
def duties(draw: st.DrawFn) -> dict[str, Any]:
    seasons = [
        {
            "start": draw(st.sampled_from(MONTH_DAYS)),
            "end": draw(st.sampled_from(MONTH_DAYS)),
            "week": draw(weeks),
            **({"holiday": draw(day_windows)} if draw(st.booleans()) else {}),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    dates = [
        {"date": day.isoformat(), "hours": draw(day_windows)}
        for day in draw(st.lists(st.sampled_from(DAYS), max_size=3, unique=True))
    ]
    return {"week": draw(weeks), "holiday": draw(day_windows), "seasons": seasons, "dates": dates}


def expected(rota: Rota, day: date) -> list[str]:
    """The windows of a date by the documented precedence, as wall-clock strings."""
    duty = rota.duty
    dated = [d.hours for d in duty.dates if d.date == day]
    if dated:
        return sorted(str(i) for i in dated[0])
    if day in rota.holidays.no_duty:
        return []
    seasons = [s for s in duty.seasons if s.contains(day)]
    holiday = day in {date(2027, 3, 29), date(2027, 12, 25), date(2028, 1, 1)}
    if holiday:
        if seasons and seasons[0].holiday is not None:
            return sorted(str(i) for i in seasons[0].holiday)
        return sorted(str(i) for i in duty.holiday)
    week = seasons[0].week if seasons else duty.week
    return sorted(str(i) for i in getattr(week, EVERY_WEEKDAY[day.weekday()]))


@given(duties(), st.lists(st.sampled_from(DAYS), max_size=2))
@settings(max_examples=300, deadline=None)
def test_accepted_duty_windows_never_overlap_and_follow_precedence(
    duty: dict[str, Any], no_duty: list[date]
) -> None:
    try:
        rota = build({"duty": duty, "holidays": {"no_duty": [d.isoformat() for d in no_duty]}})
    except RotaValidationError:
        assume(False)
        return
    schedule = Schedule(rota)
    zone = rota.zone
    for day in DAYS:
        windows = schedule.windows_on(day)
        # Each window starts at its wall-clock time (none starts in the spring-forward gap).
        wall = sorted(f"{w.start.astimezone(zone):%H:%M}" for w in windows)
        assert wall == sorted(e[:5] for e in expected(rota, day)), day
        following = day + timedelta(days=1)
        if windows and following in DAYS:
            end = max(w.end for w in windows)
            assert all(w.start >= end for w in schedule.windows_on(following)), day
