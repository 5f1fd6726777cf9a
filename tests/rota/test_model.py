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
        ({"swaps": [{"turn": "2026-07-06", "a": "a", "b": "a"}]}, "swaps.0.b", "itself"),
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
            "overrides.0.end",
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
        # An overnight window may not run into the next day's first window, Sunday into Monday too.
        (
            {"duty": {"week": {"sun": ["22:00-08:00+1"], "mon": ["07:00-09:00"]}}},
            "duty.week.sun",
            "runs into mon 07:00-09:00",
        ),
        (
            {"offices": [{"id": "a", "hours": {"tue": ["20:00-02:00+1"], "wed": ["01:00-03:00"]}}]},
            "offices.0.hours.tue",
            "runs into wed",
        ),
        (
            {"duty": {"week": {"mon": ["08:00-10:00"]}, "holiday": ["20:00-09:00+1"]}},
            "duty.holiday",
            "runs into mon 08:00-10:00",
        ),
        (
            {"duty": {"week": {"fri": ["20:00-03:00+1"]}, "holiday": ["02:00-04:00"]}},
            "duty.week.fri",
            "runs into a public holiday",
        ),
        ({"duty": {"week": {"mon": ["17:00-17:00"]}}}, "duty.week.mon.0", "not after its start"),
        (
            {
                "offices": [
                    {
                        "id": "a",
                        "seasons": [
                            {"start": "07-01", "end": "08-31", "hours": {}},
                            {"start": "08-15", "end": "09-15", "hours": {}},
                        ],
                    }
                ]
            },
            "offices.0.seasons",
            "overlap on 08-15",
        ),
        (
            {
                "offices": [
                    {"id": "a", "seasons": [{"start": "02-30", "end": "03-01", "hours": {}}]}
                ]
            },
            "offices.0.seasons.0.start",
            "day is out of range",
        ),
        ({"holidays": {"country": "FR", "subdivision": "99"}}, "holidays.subdivision", "99"),
        ({"holidays": {"country": "XX"}}, "holidays.country", "XX"),
        ({"rotation": {"turn": "fortnight"}}, "rotation.turn", "'window', 'day' or 'week'"),
    ],
)
def test_each_error_names_its_field(changes: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(RotaValidationError) as info:
        build(base(**changes))
    assert any(path == field and reason in message for path, message in info.value.errors), (
        info.value.errors
    )


def test_every_error_is_reported_at_once() -> None:
    with pytest.raises(RotaValidationError) as info:
        build(
            base(
                timezone="Nowhere/Atlantis",
                rotation={"members": [{"office": "a", "weight": 0}]},
                swaps=[{"turn": "2026-07-06", "a": "b", "b": "b"}],
            )
        )
    assert [path for path, _ in info.value.errors] == [
        "timezone",
        "rotation.members.0.weight",
        "swaps.0.b",
    ]
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("timezone: unknown time zone 'Nowhere/Atlantis'; ")


@pytest.mark.parametrize("subdivision", ["57", "6AE", "67", "68", "Alsace", "Moselle"])
def test_alsace_moselle_subdivisions_are_accepted(subdivision: str) -> None:
    rota = build(base(holidays={"country": "FR", "subdivision": subdivision}))
    assert rota.holidays.subdivision == subdivision


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
    with pytest.raises(ValueError, match="aware"):
        check_override(past, datetime(2026, 7, 1))  # noqa: DTZ001


def test_build_with_now_refuses_overrides_already_over() -> None:
    overrides = [
        {"start": "2026-07-01T10:00:00+02:00", "end": "2026-07-01T12:00:00+02:00", "office": "a"},
        {"start": "2026-07-01T11:00:00+02:00", "end": "2026-07-01T13:00:00+02:00", "office": "b"},
    ]
    now = datetime(2026, 7, 1, 10, 30, tzinfo=UTC)  # 12:30 in Paris: the first one is over
    with pytest.raises(RotaValidationError) as info:
        build(base(overrides=overrides), now=now)
    assert info.value.errors == [("overrides.0.end", "is in the past")]
    # Without ``now`` (loading a stored rota) past overrides are history, not errors.
    assert len(build(base(overrides=overrides)).overrides) == 2
    assert len(build(base(overrides=overrides[1:]), now=now).overrides) == 1


@pytest.mark.parametrize(
    ("changes", "field", "code", "params"),
    [
        (
            {
                "overrides": [
                    {"start": "2026-07-14T22:00:00+02:00", "end": "2026-07-14T21:00:00+02:00"}
                ]
            },
            "overrides.0.end",
            "ends_before_start",
            {},
        ),
        (
            {"timezone": "Nowhere/Atlantis"},
            "timezone",
            "unknown_timezone",
            {"zone": "Nowhere/Atlantis"},
        ),
        (
            {"offices": [{"id": "a", "hours": {"mon": "18:00-09:00"}}]},
            "offices.0.hours.mon.0",
            "overnight_not_marked",
            {"start": "18:00", "end": "09:00"},
        ),
        (
            {"offices": [{"id": "a", "hours": {"mon": "22:00-09:00+1", "tue": "08:00-12:00"}}]},
            "offices.0.hours.mon",
            "runs_into",
            {"window": "22:00-09:00+1", "weekday": "tue", "next": "08:00-12:00"},
        ),
        (
            {"swaps": [{"turn": "2026-07-06", "a": "a", "b": "zz"}]},
            "swaps.0.b",
            "unknown_office",
            {"office": "zz"},
        ),
        ({"rotation": {"turn": "fortnight"}}, "rotation.turn", "type.literal_error", {}),
    ],
)
def test_each_error_carries_a_stable_code_and_its_parameters(
    changes: dict[str, object], field: str, code: str, params: dict[str, str]
) -> None:
    with pytest.raises(RotaValidationError) as info:
        build(base(**changes))
    found = [(r.field, r.code, dict(r.params)) for r in info.value.reasons]
    assert (field, code, params) in found, found
    # The English sentence stays for the CLI and logs, one per reason.
    assert len(info.value.errors) == len(info.value.reasons)


def test_a_past_override_has_a_code_too() -> None:
    override = Override(
        start=datetime(2026, 7, 1, 17, tzinfo=UTC), end=datetime(2026, 7, 1, 19, tzinfo=UTC)
    )
    with pytest.raises(RotaValidationError) as info:
        check_override(override, datetime(2026, 7, 2, tzinfo=UTC))
    assert [(r.field, r.code) for r in info.value.reasons] == [("override.end", "in_the_past")]
