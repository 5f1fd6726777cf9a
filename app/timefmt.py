"""Instants said the way a visitor reads them: "tomorrow at 09:00", "lundi 6 juillet à 09:00"."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.i18n import gettext


def human_when(at: datetime, now: datetime, timezone: str, language: str) -> str:
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
