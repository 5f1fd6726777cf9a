"""Public holidays: the library's, Alsace-Moselle's extra days, and the destination's edits."""

from datetime import date

import pytest

from rota import build
from rota.calendar import HolidayCalendar


def calendar(**config: object) -> HolidayCalendar:
    return HolidayCalendar(build({"holidays": config}).holidays)


@pytest.mark.parametrize(
    ("day", "national", "alsace_moselle"),
    [
        (date(2026, 1, 1), True, True),  # New Year's Day
        (date(2026, 4, 3), False, True),  # Good Friday: Alsace-Moselle only
        (date(2026, 4, 6), True, True),  # Easter Monday
        (date(2026, 5, 1), True, True),
        (date(2026, 7, 14), True, True),  # Bastille Day
        (date(2026, 12, 25), True, True),
        (date(2026, 12, 26), False, True),  # Saint Stephen's Day: Alsace-Moselle only
        (date(2026, 12, 24), False, False),
        (date(2027, 3, 26), False, True),  # Good Friday 2027
        (date(2027, 12, 26), False, True),
    ],
)
@pytest.mark.parametrize("subdivision", ["57", "6AE", "67", "68"])
def test_france_and_alsace_moselle(
    day: date, national: bool, alsace_moselle: bool, subdivision: str
) -> None:
    assert calendar(country="FR").is_holiday(day) is national
    assert calendar(country="FR", subdivision=subdivision).is_holiday(day) is alsace_moselle


def test_custom_days_switched_off_days_and_days_without_duty() -> None:
    edited = calendar(
        country="FR",
        extra=["2026-09-12"],  # the town's festival
        not_holidays=["2026-05-01"],
        no_duty=["2026-12-24", "2026-12-25"],
    )
    assert edited.is_holiday(date(2026, 9, 12))
    assert not edited.is_holiday(date(2026, 5, 1))
    assert edited.is_holiday(date(2026, 12, 25))  # still a holiday, just without duty
    assert not edited.has_duty(date(2026, 12, 25)) and not edited.has_duty(date(2026, 12, 24))
    assert edited.has_duty(date(2026, 12, 26))
