"""An answer made ready for one conversation: the text in the visitor's language (or the
nearest one there is, said so) with its placeholders filled as plain text.

Placeholders are replaced in one pass over the answer's own text, so a value that itself looks
like a placeholder (a visitor called "{office}") is inserted as written and never expanded;
placeholders this module does not know are left as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format

from rota import Schedule

PLACEHOLDER = re.compile(r"\{(visitor_name|adviser_name|office|next_opening)\}")
KNOWN = ("visitor_name", "adviser_name", "office", "next_opening")
# English dates as British readers write them (day before month, 24-hour clock), like the
# rest of the interface; every other language with its own conventions.
_LOCALE_FOR = {"en": "en_GB"}


def language_of(tag: str) -> str:
    """A channel's language tag reduced to its language: "de-AT" → "de", "" stays ""."""
    return tag.strip().replace("_", "-").split("-")[0].lower()


def choose_language(available: set[str] | Mapping[str, str], wanted: str, default: str) -> str:
    """The language to answer in: the visitor's, else the destination's default, else English,
    else the first there is (alphabetically, so every worker picks the same one)."""
    for candidate in (wanted, default, "en"):
        if candidate and candidate in available:
            return candidate
    return min(available) if available else ""


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(_LOCALE_FOR.get(language, language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


def when_text(at: datetime, timezone: str, language: str) -> str:
    """``at`` as a visitor reads it in ``language``, in the destination's wall-clock time:
    "Sunday, 29 March 2026, 10:00", "dimanche 29 mars 2026, 10:00", "Sonntag, 29. März 2026,
    10:00" (CLDR's full date, a 24-hour clock: what tourist offices print on their doors)."""
    locale = _locale(language)
    local = at.astimezone(ZoneInfo(timezone))
    day = format_date(local, "full", locale=locale)
    clock = format_time(local, "HH:mm", locale=locale)
    # The locale's own way of joining a date and a time ("{1}, {0}"), quotes removed as
    # babel's own format_datetime does.
    joined = str(get_datetime_format("full", locale=locale)).replace("'", "")
    return joined.replace("{1}", day).replace("{0}", clock)


def next_opening(
    schedule: Schedule | None, office_slug: str, now: datetime, timezone: str, language: str
) -> str | None:
    """When the office opens next after ``now`` by the rota, in words; None when the rota does
    not say (no rota, an office it does not list, or no opening in sight)."""
    if schedule is None or not any(o.id == office_slug for o in schedule.rota.offices):
        return None
    at = schedule.next_opening(office_slug, now)
    return None if at is None else when_text(at, timezone, language)


def fill(text: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """``text`` with each known placeholder replaced by its value, in one pass; returns the
    text and the placeholders left unfilled (a value of None: nothing to say)."""
    unfilled: list[str] = []

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            if match.group(1) not in unfilled:
                unfilled.append(match.group(1))
            return match.group(0)
        return value

    return PLACEHOLDER.sub(replace, text), unfilled
