"""Offices in another time zone than the destination's: their own hours, closures and dates are
in their zone; the shared duty stays in the destination's (Europe/Paris). Cayenne is UTC-3 and
Réunion UTC+4 all year; Paris changes on 28 March and 31 October 2027."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from rota import RotaValidationError, Schedule, build, dumps_toml, loads_toml

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


ROTA = build(
    {
        "timezone": "Europe/Paris",
        "offices": [
            {
                "id": "paris",
                "accounts": ["chat-paris"],
                "hours": {d: "09:00-18:00" for d in EVERY_DAY},
            },
            {
                "id": "cayenne",
                "timezone": "America/Cayenne",
                "accounts": ["chat-cayenne"],
                "hours": {d: ["08:00-12:00", "14:30-18:30"] for d in EVERY_DAY},
                "dates": [{"date": "2027-12-31", "hours": "14:30-22:00"}],
            },
            {
                "id": "reunion",
                "timezone": "Indian/Reunion",
                "accounts": ["chat-reunion"],
                "hours": {d: "08:00-17:00" for d in EVERY_DAY},
                "closed_on_holidays": True,
                "dates": [{"date": "2027-12-31", "hours": "20:00-01:00+1", "note": "Réveillon"}],
            },
        ],
        "duty": {"week": {d: "18:00-23:00" for d in EVERY_DAY}, "holiday": "10:00-22:00"},
        "rotation": {"members": [{"office": "paris"}]},
    }
)
SCHEDULE = Schedule(ROTA)


def test_each_office_has_its_zone() -> None:
    assert ROTA.office_zone("cayenne") == ZoneInfo("America/Cayenne")
    assert ROTA.office_zone("reunion") == ZoneInfo("Indian/Reunion")
    assert ROTA.office_zone("paris") == ROTA.zone == ZoneInfo("Europe/Paris")
    with pytest.raises(KeyError):
        ROTA.office_zone("nowhere")
    with pytest.raises(RotaValidationError) as info:
        build({"offices": [{"id": "x", "timezone": "Mars/Olympus"}]})
    assert [(r.field, r.code) for r in info.value.reasons] == [
        ("offices.0.timezone", "unknown_timezone")
    ]


@pytest.mark.parametrize(
    ("account", "at", "office", "reason", "until"),
    [
        # Réunion opens at 08:00 there, 04:00 UTC, 06:00 in Paris.
        ("chat-reunion", utc(2027, 6, 15, 4), "reunion", "own_hours", utc(2027, 6, 15, 13)),
        ("chat-reunion", utc(2027, 6, 15, 13), None, "nobody_on_duty", utc(2027, 6, 15, 16)),
        # Cayenne's morning is 11:00-15:00 UTC, its afternoon 17:30-21:30 UTC.
        ("chat-cayenne", utc(2027, 6, 15, 11), "cayenne", "own_hours", utc(2027, 6, 15, 15)),
        # Between, from 18:00 in Paris (16:00 UTC), the shared duty until Cayenne reopens.
        ("chat-cayenne", utc(2027, 6, 15, 16), "paris", "shared_duty", utc(2027, 6, 15, 17, 30)),
        # 23:30 in Paris: the duty is over and Cayenne closed (18:30 there) until 08:00 there.
        ("chat-cayenne", utc(2027, 6, 15, 21, 30), None, "nobody_on_duty", utc(2027, 6, 16, 11)),
    ],
)
def test_routing_in_each_offices_own_hours(
    account: str, at: datetime, office: str | None, reason: str, until: datetime
) -> None:
    answer = SCHEDULE.route(account, at)
    assert (answer.office, answer.reason, answer.valid_until) == (office, reason, until)


@pytest.mark.parametrize(
    ("at", "cayenne", "paris"),
    [
        # The Saturday before spring-forward: Paris is UTC+1, Cayenne UTC-3.
        (utc(2027, 3, 27, 7, 30), None, None),  # 08:30 in Paris: not open yet
        (utc(2027, 3, 27, 11), utc(2027, 3, 27, 15), utc(2027, 3, 27, 17)),
        # The Sunday after: Paris is UTC+2 and opens an hour earlier in UTC; Cayenne does not move.
        (utc(2027, 3, 28, 7, 30), None, utc(2027, 3, 28, 16)),
        (utc(2027, 3, 28, 11), utc(2027, 3, 28, 15), utc(2027, 3, 28, 16)),
        # Fall-back: Saturday 30 October in CEST, Sunday 31 in CET.
        (utc(2027, 10, 30, 7, 30), None, utc(2027, 10, 30, 16)),
        (utc(2027, 10, 31, 7, 30), None, None),
        (utc(2027, 10, 31, 11), utc(2027, 10, 31, 15), utc(2027, 10, 31, 17)),
        (utc(2027, 10, 31, 17, 30), utc(2027, 10, 31, 21, 30), None),
    ],
)
def test_the_paris_dst_nights_do_not_move_an_office_without_dst(
    at: datetime, cayenne: datetime | None, paris: datetime | None
) -> None:
    assert SCHEDULE.is_open("cayenne", at) == cayenne
    assert SCHEDULE.is_open("paris", at) == paris


def test_routing_across_the_spring_change() -> None:
    # Saturday 17:30 in Paris (16:30 UTC): no duty yet, Cayenne at lunch: the duty is next.
    saturday = SCHEDULE.route("chat-cayenne", utc(2027, 3, 27, 16, 30))
    assert (saturday.office, saturday.next_office, saturday.next_at) == (
        None,
        "paris",
        utc(2027, 3, 27, 17),
    )
    # Sunday, the same UTC instant is 18:30 in Paris: on duty, until Cayenne reopens.
    sunday = SCHEDULE.route("chat-cayenne", utc(2027, 3, 28, 16, 30))
    assert (sunday.office, sunday.reason, sunday.valid_until) == (
        "paris",
        "shared_duty",
        utc(2027, 3, 28, 17, 30),
    )


def test_new_years_eve_in_one_zone_is_new_year_in_the_other() -> None:
    # 20:30 UTC on 31 December: 21:30 in Paris (2027), 00:30 on 1 January 2028 in Réunion,
    # inside Réunion's dated night (20:00-01:00+1 there, 16:00-21:00 UTC).
    at = utc(2027, 12, 31, 20, 30)
    assert SCHEDULE.is_open("reunion", at) == utc(2027, 12, 31, 21)
    answer = SCHEDULE.route("chat-reunion", at)
    assert (answer.office, answer.reason, answer.valid_until) == (
        "reunion",
        "own_hours",
        utc(2027, 12, 31, 21),
    )
    # Then the Paris duty, still 31 December there, until 23:00 (22:00 UTC).
    answer = SCHEDULE.route("chat-reunion", utc(2027, 12, 31, 21))
    assert (answer.office, answer.reason, answer.valid_until) == (
        "paris",
        "shared_duty",
        utc(2027, 12, 31, 22),
    )
    # 1 January is a holiday on Réunion's own date: closed (a Saturday, 08:00-17:00 otherwise),
    # so the Paris holiday duty (10:00 CET) comes before Réunion's Sunday opening.
    assert SCHEDULE.is_open("reunion", utc(2028, 1, 1, 5)) is None
    assert SCHEDULE.next_opening("reunion", utc(2027, 12, 31, 21)) == utc(2028, 1, 2, 4)
    later = SCHEDULE.route("chat-reunion", utc(2027, 12, 31, 22))
    assert (later.office, later.next_office, later.next_at) == (None, "paris", utc(2028, 1, 1, 9))
    # The other way round: 00:30 on 1 January 2028 in Paris is 20:30 on 31 December in
    # Cayenne, inside its dated hours (14:30-22:00 there, until 01:00 UTC).
    new_year = utc(2027, 12, 31, 23, 30)
    assert SCHEDULE.is_open("cayenne", new_year) == utc(2028, 1, 1, 1)
    assert SCHEDULE.route("chat-cayenne", new_year).office == "cayenne"
    assert SCHEDULE.is_open("cayenne", utc(2028, 1, 1, 1)) is None
    assert SCHEDULE.next_opening("cayenne", utc(2028, 1, 1, 1)) == utc(2028, 1, 1, 11)


def test_an_office_zone_round_trips_through_toml() -> None:
    text = dumps_toml(ROTA)
    assert 'timezone = "America/Cayenne"' in text
    assert loads_toml(text) == ROTA
    again = Schedule(loads_toml(text))
    assert again.is_open("reunion", utc(2027, 12, 31, 20, 30)) == utc(2027, 12, 31, 21)
