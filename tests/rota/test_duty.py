"""Windows and turns of the shared duty: only turns that occur are counted."""

from datetime import UTC, date, datetime, timedelta

import pytest

from rota import Rota, Schedule, build
from rota.duty import weighted_cycle

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def weekly(**changes: object) -> Rota:
    data: dict[str, object] = {
        "offices": [{"id": o} for o in "abc"],
        "duty": {"week": {d: ["18:00-20:00"] for d in [*WEEKDAYS, "sat"]}},
        "rotation": {
            "turn": "week",
            "anchor": "2026-06-03",  # a Wednesday: its week (from Monday 1 June) is the first
            "members": [{"office": o} for o in "abc"],
        },
    }
    data.update(changes)
    return build(data)


def monday_evenings(rota: Rota, weeks: int = 6) -> list[str | None]:
    schedule = Schedule(rota)
    first = datetime(2026, 6, 1, 16, 30, tzinfo=UTC)  # Monday 18:30 CEST
    answers = []
    for n in range(weeks):
        # The first evening of the week that has duty (Monday may be switched off).
        for day in range(6):
            office = schedule.on_duty(first + timedelta(weeks=n, days=day)).office
            if office is not None:
                break
        answers.append(office)
    return answers


@pytest.mark.parametrize(
    ("weights", "cycle"),
    [
        ([1, 1, 1], ["a", "b", "c"]),
        ([2, 1, 1], ["a", "b", "a", "c"]),
        ([3, 1], ["a", "a", "b", "a"]),
        ([1, 2], ["b", "a", "b"]),
    ],
)
def test_weighted_cycle(weights: list[int], cycle: list[str]) -> None:
    rota = build(
        {
            "offices": [{"id": o} for o in "abc"],
            "rotation": {
                "members": [
                    {"office": o, "weight": w} for o, w in zip("abc", weights, strict=False)
                ]
            },
        }
    )
    assert weighted_cycle(rota) == cycle
    for office, weight in zip("abc", weights, strict=False):
        assert cycle.count(office) == weight


def test_a_week_without_duty_takes_no_turn() -> None:
    assert monday_evenings(weekly()) == ["a", "b", "c", "a", "b", "c"]
    # The whole third week (15–20 June) switched off: c keeps its turn, a week later.
    off = [str(date(2026, 6, 15) + timedelta(days=d)) for d in range(6)]
    assert monday_evenings(weekly(holidays={"no_duty": off})) == ["a", "b", None, "c", "a", "b"]
    # A week with some duty still counts, whichever day it starts.
    monday_off = weekly(holidays={"no_duty": ["2026-06-15"]})
    assert monday_evenings(monday_off) == ["a", "b", "c", "a", "b", "c"]


def test_turns_before_the_anchor_count_backwards() -> None:
    # Tuesdays: Whit Monday (25 May) is a holiday, and this rota has no duty on holidays.
    schedule = Schedule(weekly())
    before = [
        schedule.on_duty(datetime(2026, 5, 26, 16, 30, tzinfo=UTC) - timedelta(weeks=n)).office
        for n in range(4)
    ]
    assert before == ["c", "b", "a", "c"]


def test_a_holiday_replaces_the_template_without_shifting_turns() -> None:
    # Window turns: Whit Monday 25 May 2026 is a holiday with its own (single) window.
    rota = build(
        {
            "offices": [{"id": o} for o in "ab"],
            "duty": {"week": {d: ["18:00-20:00"] for d in WEEKDAYS}, "holiday": ["10:00-20:00"]},
            "rotation": {
                "turn": "window",
                "anchor": "2026-05-18",
                "members": [{"office": "a"}, {"office": "b"}],
            },
        }
    )
    schedule = Schedule(rota)
    evenings = [
        schedule.on_duty(datetime(2026, 5, 18, 16, 30, tzinfo=UTC) + timedelta(days=d)).office
        for d in range(10)
    ]
    assert evenings == ["a", "b", "a", "b", "a", None, None, "b", "a", "b"]
    (holiday,) = schedule.windows_on(date(2026, 5, 25))
    assert holiday.slot == "holiday" and holiday.start == datetime(2026, 5, 25, 8, 0, tzinfo=UTC)


def test_swaps_and_overrides_survive_edits_of_the_rota() -> None:
    swap = {"turn": "2026-06-10", "a": "b", "b": "c"}  # a date inside the second week
    override = {
        "start": "2026-06-17T18:00:00+02:00",
        "end": "2026-06-17T20:00:00+02:00",
        "office": "a",
    }
    rota = weekly(swaps=[swap], overrides=[override])
    assert monday_evenings(rota, 3) == ["a", "c", "c"]
    wednesday = datetime(2026, 6, 17, 16, 30, tzinfo=UTC)
    assert Schedule(rota).on_duty(wednesday).reason == "override"
    # Later edits: other duty hours, a new member. The swap still names the same turn, the
    # override the same instants; they apply to whatever the rotation now says.
    edited = build(
        {
            **rota.model_dump(mode="json"),
            "offices": [{"id": o} for o in "abcd"],
            "duty": {"week": {d: ["17:00-21:00"] for d in WEEKDAYS}},
            "rotation": {
                "turn": "week",
                "anchor": "2026-06-01",
                "members": [{"office": o} for o in "dbc"],
            },
        }
    )
    assert edited.swaps == rota.swaps and edited.overrides == rota.overrides
    schedule = Schedule(edited)
    assert monday_evenings(edited, 3) == ["d", "c", "c"]
    assert schedule.on_duty(datetime(2026, 6, 8, 16, 30, tzinfo=UTC)).reason == "swap"
    answer = schedule.on_duty(wednesday)
    assert (answer.office, answer.reason) == ("a", "override")
    assert schedule.on_duty(datetime(2026, 6, 17, 15, 30, tzinfo=UTC)).office == "c"
