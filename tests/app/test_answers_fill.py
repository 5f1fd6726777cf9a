"""Placeholders filled as text in one pass, the language chosen, and the next opening said in
the visitor's language in the destination's wall-clock time — across the DST nights too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from app.answer_demo import ANSWERS
from app.answer_fill import choose_language, fill, next_opening, when_text
from app.answers import check_shortcut_form, check_texts, check_title, seed_demo
from app.models import Answer, AnswerText
from app.services import Services
from rota import Schedule, loads_toml

ROTA = Schedule(loads_toml((Path(__file__).parents[2] / "docs" / "rota.example.toml").read_text()))


@pytest.mark.parametrize(
    ("values", "expected", "unfilled"),
    [
        ({"visitor_name": "{office}", "office": "OT"}, "Hi {office} at OT {next_opening}", ["next_opening"]),
        ({"visitor_name": "<b>x</b>", "office": "{visitor_name}"}, "Hi <b>x</b> at {visitor_name} {next_opening}", ["next_opening"]),
        ({"visitor_name": "\\1 $0", "office": "%s", "next_opening": "{{x}}"}, "Hi \\1 $0 at %s {{x}}", []),
    ],
)  # fmt: skip
def test_fill_is_one_pass_of_plain_text(
    values: dict[str, str], expected: str, unfilled: list[str]
) -> None:
    assert fill("Hi {visitor_name} at {office} {next_opening}", values) == (expected, unfilled)


def test_unknown_and_malformed_placeholders_stay_as_written() -> None:
    text = "{unknown} {0} {visitor_name!r} {visitor_name:>10} { office } {{office}} {"
    assert fill(text, {"office": "OT", "visitor_name": "Ana"}) == (
        "{unknown} {0} {visitor_name!r} {visitor_name:>10} { office } {OT} {",
        [],
    )


@pytest.mark.parametrize(
    ("available", "wanted", "default", "chosen"),
    [
        ({"de", "fr"}, "de", "fr", "de"),
        ({"en", "fr"}, "de", "fr", "fr"),
        ({"en", "es"}, "de", "fr", "en"),
        ({"it", "es"}, "de", "fr", "es"),
        ({"it"}, "", "fr", "it"),
        (set(), "de", "fr", ""),
    ],
)
def test_language_fallback_order(
    available: set[str], wanted: str, default: str, chosen: str
) -> None:
    assert choose_language(available, wanted, default) == chosen


@pytest.mark.parametrize(
    ("now", "language", "expected"),
    [
        # Saturday 28 March 2026 after closing (21:00 CET): Sunday opens 10:00 CEST, the clocks
        # having gone forward in the night — 08:00 UTC, not 09:00.
        (datetime(2026, 3, 28, 20, 0, tzinfo=UTC), "en", "Sunday, 29 March 2026, 10:00"),
        (datetime(2026, 3, 28, 20, 0, tzinfo=UTC), "fr", "dimanche 29 mars 2026, 10:00"),
        (datetime(2026, 3, 28, 20, 0, tzinfo=UTC), "de", "Sonntag, 29. März 2026, 10:00"),
        # Saturday 24 October 2026 evening: the clocks go back in the night; Sunday 10:00 CET.
        (datetime(2026, 10, 24, 19, 0, tzinfo=UTC), "nl", "zondag 25 oktober 2026 10:00"),
        # In the night of the change itself (01:30 UTC = 03:30 CEST, Sunday 29 March).
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "es", "domingo, 29 de marzo de 2026, 10:00"),
        # Open now (Tuesday 21 July, 10:00 Paris): the next opening is the next morning.
        (datetime(2026, 7, 21, 8, 0, tzinfo=UTC), "it", "mercoledì 22 luglio 2026 09:00"),
    ],
)
def test_next_opening_in_the_visitors_language(now: datetime, language: str, expected: str) -> None:
    said = next_opening(ROTA, "port-argent", now, "Europe/Paris", language)
    assert said is not None
    assert " ".join(said.replace(",", " ").split()) == " ".join(expected.replace(",", " ").split())


def test_next_opening_unknown_without_a_rota_or_an_office_it_lists() -> None:
    now = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)
    assert next_opening(None, "port-argent", now, "Europe/Paris", "fr") is None
    assert next_opening(ROTA, "nowhere", now, "Europe/Paris", "fr") is None


def test_an_unknown_language_is_written_in_english() -> None:
    at = datetime(2026, 7, 22, 7, 0, tzinfo=UTC)
    assert when_text(at, "Europe/Paris", "zz") == when_text(at, "Europe/Paris", "en")


async def test_demo_answers_are_seeded_once(services: Services) -> None:
    async with services.db.session() as session:
        await seed_demo(session, 1)
        await seed_demo(session, 1)
        answers = (await session.exec(select(Answer))).all()
        texts = (await session.exec(select(AnswerText))).all()
    assert len(answers) == len(ANSWERS) >= 12
    assert len({a.shortcut for a in answers}) == len(answers)
    assert any(a.office_id is not None for a in answers)
    by_answer: dict[int, set[str]] = {}
    for row in texts:
        by_answer.setdefault(row.answer_id, set()).add(row.language)
    # Every language is somewhere, and some answers lack one (the picker's fallback shows).
    assert set().union(*by_answer.values()) >= {"fr", "en", "de", "nl", "es", "it"}
    assert any(len(languages) < 6 for languages in by_answer.values())
    for a in answers:
        check_title(a.title)
        assert check_shortcut_form(a.shortcut) == a.shortcut
    check_texts({row.language: row.text for row in texts})
