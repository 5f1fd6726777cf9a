from datetime import UTC, datetime

import pytest

from rota import Rota, RotaValidationError, Schedule, build, check, dumps_toml, loads_toml
from tests.rota.test_schedule import ROTA


def test_toml_round_trip(demo_rota: Rota) -> None:
    for rota in (demo_rota, ROTA):
        text = dumps_toml(rota)
        assert loads_toml(text) == rota
    assert '"17:00-22:00"' in dumps_toml(demo_rota)


def test_bad_toml_names_the_problem() -> None:
    with pytest.raises(RotaValidationError) as info:
        loads_toml("timezone = ")
    assert info.value.errors[0][0] == "file"
    with pytest.raises(RotaValidationError) as info:
        loads_toml('timezone = "Europe/Nowhere"')
    assert info.value.errors == [("timezone", "unknown time zone 'Europe/Nowhere'")]


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
