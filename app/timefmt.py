"""Instants, durations and numbers said the way a reader of the language writes them.

French and British English both use the 24-hour clock and day-before-month dates; French puts a
narrow no-break space before "%" and between thousands ("1 234", "95 %"), English does not
("1,234", "95%"). dashboard.js formats its live tiles with ``Intl.NumberFormat``, whose output
these functions match, so a figure reads the same whether the server or the browser wrote it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.i18n import gettext

NARROW_NBSP = "\u202f"


def human_when(at: datetime, now: datetime, timezone: str, language: str) -> str:
    """ "tomorrow at 09:00", "lundi 6 juillet à 09:00"."""
    zone = ZoneInfo(timezone)
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    clock = local.strftime("%H:%M")
    days = (local.date() - today).days
    if days == 0:
        return gettext(language, "when.today", time=clock)
    if days == 1:
        return gettext(language, "when.tomorrow", time=clock)
    return gettext(
        language,
        "when.date",
        weekday=gettext(language, f"date.weekday.{local.weekday()}"),
        day=local.day,
        month=gettext(language, f"date.month.{local.month}"),
        time=clock,
    )


def number(value: int | float, language: str, digits: int = 0) -> str:
    """1 234 (French, narrow no-break space) or 1,234 (English)."""
    text = f"{value:,.{digits}f}"
    if language == "fr":
        return text.replace(",", NARROW_NBSP).replace(".", ",")
    return text


def percent(rate: float | None, language: str) -> str:
    """A rate between 0 and 1: "95 %" in French, "95%" in English; "—" when there is none."""
    if rate is None:
        return "—"
    value = number(round(rate * 100), language)
    return f"{value}{NARROW_NBSP}%" if language == "fr" else f"{value}%"


def duration(seconds: float | None, language: str) -> str:
    """A response time as people read it: 45 s, 12 min, 1 h 04, 2 j 3 h / 2 d 3 h."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return gettext(language, "fmt.seconds", n=whole)
    if whole < 3600:
        return gettext(language, "fmt.minutes", n=whole // 60)
    if whole < 86400:
        return gettext(
            language, "fmt.hours_minutes", h=whole // 3600, m=f"{whole % 3600 // 60:02d}"
        )
    return gettext(
        language, "fmt.days_hours", d=number(whole // 86400, language), h=whole % 86400 // 3600
    )


def day_label(day: date, language: str, weekday: bool = True) -> str:
    """ "lundi 6 juillet" / "Monday 6 July" (day before month in both)."""
    text = gettext(
        language,
        "fmt.day",
        day=day.day,
        month=gettext(language, f"date.month.{day.month}"),
    )
    if not weekday:
        return text
    return gettext(
        language,
        "fmt.weekday_day",
        weekday=gettext(language, f"date.weekday.{day.weekday()}"),
        date=text,
    )


def moment(at: datetime, timezone: str, language: str) -> str:
    """A stored instant in the destination's time: "6 juillet 2026, 21:14" (24-hour)."""
    local = at.astimezone(ZoneInfo(timezone))
    return gettext(
        language,
        "fmt.moment",
        date=day_label(local.date(), language, weekday=False),
        year=local.year,
        time=local.strftime("%H:%M"),
    )
