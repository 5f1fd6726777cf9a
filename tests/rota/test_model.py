from datetime import UTC, datetime

import pytest

from rota import Override, RotaValidationError, build, check_override


def base(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "timezone": "Europe/Paris",
        "offices": [{"id": "a", "accounts": ["chat-a"]}, {"id": "b"}],
        "duty": {"week": {"mon": ["17:00-22:00"]}},
        "rotation": {"members": [{"office": "a"}, {"office": "b"}]},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        (
            {"duty": {"week": {"mon": ["22:00-09:00"]}}},
            "duty.week.mon.0",
            "overnight window must be explicit",
        ),
        ({"duty": {"week": {"mon": ["17:00-20:00", "19:00-22:00"]}}}, "duty.week.mon", "overlap"),
        ({"duty": {"week": {"mon": ["5pm-10pm"]}}}, "duty.week.mon.0", "HH:MM-HH:MM"),
        ({"duty": {"week": {"mon": ["17:00-25:00"]}}}, "duty.week.mon.0", "impossible time"),
        (
            {"rotation": {"members": [{"office": "zz"}]}},
            "rotation.members.0.office",
            "unknown office",
        ),
        (
            {"rotation": {"members": [{"office": "a", "weight": 0}]}},
            "rotation.members.0.weight",
            "above 0",
        ),
        (
            {"rotation": {"members": [{"office": "a", "weight": -2}]}},
            "rotation.members.0.weight",
            "above 0",
        ),
        ({"swaps": [{"turn": "2026-07-06", "a": "a", "b": "a"}]}, "swaps.0", "itself"),
        ({"swaps": [{"turn": "2026-07-06", "a": "a", "b": "nope"}]}, "swaps.0.b", "unknown office"),
        (
            {
                "overrides": [
                    {
                        "start": "2026-07-06T18:00:00+02:00",
                        "end": "2026-07-06T20:00:00+02:00",
                        "office": "x",
                    }
                ]
            },
            "overrides.0.office",
            "unknown office",
        ),
        (
            {
                "overrides": [
                    {"start": "2026-07-06T18:00:00+02:00", "end": "2026-07-06T17:00:00+02:00"}
                ]
            },
            "overrides.0",
            "ends before it starts",
        ),
        (
            {"overrides": [{"start": "2026-07-06T18:00:00", "end": "2026-07-06T20:00:00+02:00"}]},
            "overrides.0.start",
            "UTC offset",
        ),
        ({"offices": [{"id": "a"}, {"id": "a"}]}, "offices", "same id"),
        ({"offices": [{"id": "Not A Slug"}]}, "offices.0.id", "pattern"),
        (
            {"offices": [{"id": "a", "accounts": ["x"]}, {"id": "b", "accounts": ["x"]}]},
            "offices.1.accounts",
            "already belongs",
        ),
        (
            {"offices": [{"id": "a", "closures": [{"start": "2026-02-01", "end": "2026-01-01"}]}]},
            "offices.0.closures.0",
            "before it starts",
        ),
    ],
)
def test_each_error_names_its_field(changes: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(RotaValidationError) as info:
        build(base(**changes))
    assert any(path == field and reason in message for path, message in info.value.errors), (
        info.value.errors
    )


def test_a_valid_rota_and_explicit_overnight_windows() -> None:
    rota = build(base(duty={"week": {"sat": ["22:00-08:00+1"]}}))
    (window,) = rota.duty.week.sat
    assert window.overnight and str(window) == "22:00-08:00+1"
    assert rota.account_office("chat-a") == "a" and rota.account_office("other") is None


def test_an_override_in_the_past_is_refused() -> None:
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    past = Override(
        start=datetime(2026, 6, 1, tzinfo=UTC), end=datetime(2026, 6, 2, tzinfo=UTC), office="a"
    )
    with pytest.raises(RotaValidationError) as info:
        check_override(past, now)
    assert info.value.errors == [("override.end", "is in the past")]
    check_override(Override(start=now, end=datetime(2026, 7, 2, tzinfo=UTC), office="a"), now)
