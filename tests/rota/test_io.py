from datetime import UTC, datetime

import pytest

from rota import Rota, RotaValidationError, Schedule, build, check, dumps_toml, loads_toml
from tests.rota.test_schedule import ROTA


def test_toml_round_trip(demo_rota: Rota) -> None:
    for rota in (demo_rota, ROTA):
        text = dumps_toml(rota)
        assert loads_toml(text) == rota
    assert '"17:00-22:00"' in dumps_toml(demo_rota)


def test_toml_uses_native_dates_and_round_trips_every_kind_of_field() -> None:
    rota = build(
        {
            "timezone": "Europe/Paris",
            "offices": [
                {
                    "id": "x",
                    "name": "Île-aux-Sternes",
                    "hours": {"fri": ["09:00-12:00", "22:00-02:00+1"]},
                    "seasons": [
                        {"start": "12-15", "end": "01-15", "hours": {"sat": "10:00-12:00"}}
                    ],
                    "unavailable": [{"start": "2026-08-01", "end": "2026-08-15"}],
                    "closed_on_holidays": True,
                    "accounts": ["chat-x"],
                },
                {"id": "y"},
            ],
            "duty": {"week": {"sun": ["20:00-01:00+1"]}, "holiday": ["10:00-22:00"]},
            "holidays": {
                "country": "FR",
                "subdivision": "67",
                "extra": ["2026-09-12"],
                "not_holidays": ["2026-05-08"],
                "no_duty": ["2026-12-24"],
            },
            "rotation": {
                "turn": "day",
                "anchor": "2026-03-01",
                "members": [{"office": "x", "weight": 3}, {"office": "y"}],
            },
            "overrides": [
                {"start": "2026-07-14T22:00:00+02:00", "end": "2026-07-15T01:00:00+02:00"},
                {
                    "start": "2026-07-16T20:00:00Z",
                    "end": "2026-07-16T23:00:00Z",
                    "office": "y",
                    "priority": -1,
                    "note": "planned",
                },
            ],
            "swaps": [{"turn": "2026-07-20", "a": "x", "b": "y", "note": "dentist"}],
        }
    )
    text = dumps_toml(rota)
    assert loads_toml(text) == rota
    assert "anchor = 2026-03-01\n" in text
    assert "start = 2026-07-14 22:00:00+02:00\n" in text
    assert '"22:00-02:00+1"' in text and 'start = "12-15"' in text
    assert "office = " not in text.split("[[overrides]]")[1]  # "closed": no office at all
    assert dumps_toml(loads_toml(text)) == text


def test_bad_toml_names_the_problem() -> None:
    with pytest.raises(RotaValidationError) as info:
        loads_toml("timezone = ")
    assert info.value.errors[0][0] == "file"
    with pytest.raises(RotaValidationError) as info:
        loads_toml('timezone = "Europe/Nowhere"')
    assert info.value.errors == [("timezone", "unknown time zone 'Europe/Nowhere'")]
    with pytest.raises(RotaValidationError) as info:
        loads_toml('[[offices]]\nid = "a"\n[offices.hours]\nmon = ["18:00-09:00"]\n')
    assert [path for path, _ in info.value.errors] == ["offices.0.hours.mon.0"]
    with pytest.raises(RotaValidationError) as info:
        loads_toml("[[overrides]]\nstart = 2026-07-14 22:00:00\nend = 2026-07-15 01:00:00+02:00\n")
    assert info.value.errors[0][0] == "overrides.0.start"


def test_check_lists_gaps_and_conflicts() -> None:
    problems = check(Schedule(ROTA), datetime(2026, 8, 10, tzinfo=UTC), days=7)
    assert [(p.kind, p.start, p.end) for p in problems] == [
        ("gap", datetime(2026, 8, 13, 15, 0, tzinfo=UTC), datetime(2026, 8, 13, 17, 0, tzinfo=UTC))
    ]
    clashing = build(
        {
            **ROTA.model_dump(mode="json"),
            "overrides": [
                {
                    "start": "2026-09-01T18:00:00+02:00",
                    "end": "2026-09-01T20:00:00+02:00",
                    "office": "a",
                },
                {
                    "start": "2026-09-01T19:00:00+02:00",
                    "end": "2026-09-01T21:00:00+02:00",
                    "office": "b",
                },
                {
                    "start": "2026-08-18T18:00:00+02:00",
                    "end": "2026-08-18T19:00:00+02:00",
                    "office": "c",
                },
            ],
        }
    )
    kinds = [
        (p.kind, p.detail)
        for p in check(Schedule(clashing), datetime(2026, 8, 15, tzinfo=UTC), days=20)
    ]
    assert ("conflict", "two overrides of the same priority disagree") in kinds
    assert ("conflict", "c is on duty but closed or unavailable") in kinds
    assert check(Schedule(clashing), datetime(2026, 10, 1, tzinfo=UTC), days=30) == []
    # A rota will do as well as its schedule.
    assert check(clashing, datetime(2026, 8, 15, tzinfo=UTC), days=20) == check(
        Schedule(clashing), datetime(2026, 8, 15, tzinfo=UTC), days=20
    )


def test_the_examples_commented_in_the_example_file_work() -> None:
    from tests.rota.conftest import EXAMPLE

    text = EXAMPLE.read_text(encoding="utf-8")
    commented = text.split("For example:\n", 1)[1]
    uncommented = "\n".join(
        line.removeprefix("#").removeprefix(" ") for line in commented.splitlines()
    )
    rota = loads_toml(text + "\n" + uncommented)
    schedule = Schedule(rota)
    fireworks = schedule.on_duty(datetime(2026, 7, 14, 21, 0, tzinfo=UTC))  # 23:00 in Paris
    assert (fireworks.office, fireworks.reason, fireworks.valid_until) == (
        "port-argent",
        "override",
        datetime(2026, 7, 14, 23, 0, tzinfo=UTC),
    )
    # The week of 26 August (week 33 from the anchor → saint-clair) goes to les-salines, Monday
    # 24 included; the weeks before and after keep the rotation (port-argent both).
    monday = schedule.on_duty(datetime(2026, 8, 24, 15, 0, tzinfo=UTC))
    assert (monday.office, monday.reason) == ("les-salines", "swap")
    before = schedule.on_duty(datetime(2026, 8, 17, 15, 0, tzinfo=UTC))
    after = schedule.on_duty(datetime(2026, 8, 31, 15, 0, tzinfo=UTC))
    assert (before.office, before.reason) == ("port-argent", "shared_duty")
    assert (after.office, after.reason) == ("port-argent", "shared_duty")
