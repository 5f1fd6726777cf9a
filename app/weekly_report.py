"""The weekly report: the figures a manager compares offices on, for one ISO week.

Per office on duty and per account, for Monday 00:00 to Monday 00:00 in the destination's time
zone: conversations, the first response on duty (median and p90) with the wall-clock figures
beside it, the share within target, CSAT when surveys went out, and the busiest hours of the
week. Every figure is the dashboard's own (``app.dashboard.report`` and ``app.csat.report`` for
the week as a custom period), seen as the reader may see it: a destination manager the whole
destination, an office manager their office's row and the turns their office was on duty for or
answered (the dashboard's scope). Definitions: docs/metrics.md, "Weekly report".

Rendered three ways from the same ``WeeklyReport``: HTML (the page, the download and the
e-mail, ``templates/weekly_report/``), plain text (the e-mail's text part) and PDF (fpdf2).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlmodel.ext.asyncio.session import AsyncSession

from app import csat, dashboard, timefmt
from app.dashboard import DashboardError, Filters, Period, Row
from app.i18n import Translator
from app.models import Destination, Office, Role, User

BUSIEST = 5  # hours of the week listed
_WEEK = re.compile(r"^\s*([0-9]{4})-?[Ww]([0-9]{1,2})\s*$")
# A Unicode font for the PDF (names are anyone's text); Helvetica, Latin-1 only, without one.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu
    Path("/usr/share/fonts/dejavu-sans-fonts"),  # Fedora
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),  # Arch
)


@dataclass(frozen=True, slots=True, order=True)
class Week:
    """An ISO week (Monday to Sunday)."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """``2026-W48`` (or ``2026W48``); 422 ``error.bad_week`` for anything else."""
        found = _WEEK.match(text or "")
        if found is None:
            raise DashboardError("error.bad_week")
        year, number = int(found.group(1)), int(found.group(2))
        if not 2000 <= year <= 9000:
            raise DashboardError("error.bad_week")
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise DashboardError("error.bad_week") from None
        return cls(year, number)

    @classmethod
    def of(cls, day: date) -> Week:
        year, number, _ = day.isocalendar()
        return cls(year, number)

    @classmethod
    def last_complete(cls, now: datetime, timezone: str) -> Week:
        """The week that ended at the last Monday 00:00 (local) before ``now``."""
        today = now.astimezone(ZoneInfo(timezone)).date()
        return cls.of(today - timedelta(days=today.weekday() + 7))

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shifted(self, weeks: int) -> Week:
        return Week.of(self.monday + timedelta(weeks=weeks))

    def period(self, timezone: str) -> Period:
        """Monday 00:00 to the next Monday 00:00 in ``timezone`` (the dashboard's days)."""
        return Period.of(self.monday, self.sunday, timezone)

    def check_over(self, now: datetime, timezone: str) -> None:
        """422 ``error.week_not_over`` unless the week has ended by ``now``."""
        if self.period(timezone).end > now:
            raise DashboardError("error.week_not_over")


@dataclass(frozen=True, slots=True)
class Busy:
    """One hour of the week: the turns that started in it and their median response, on the
    wall clock and on duty (the dashboard's heat map's cell)."""

    weekday: int
    hour: int
    turns: int
    median: float | None
    median_duty: float | None = None


@dataclass
class WeeklyReport:
    week: Week
    destination: str
    timezone: str
    period: Period
    office: str | None  # an office manager's part: their office; None: the whole destination
    offices: list[Row]
    accounts: list[Row]
    total: Row
    busiest: list[Busy]
    csat_total: csat.CsatRow
    csat_offices: dict[int, csat.CsatRow] = field(default_factory=dict)
    csat_accounts: dict[int, csat.CsatRow] = field(default_factory=dict)

    @property
    def has_csat(self) -> bool:
        """Surveys went out in the week (the column is shown only then)."""
        return self.csat_total.sent > 0

    @property
    def filename(self) -> str:
        return f"concierge-weekly-{self.week.label}"


def may_read(user: User) -> None:
    """Managers only (403): an adviser's dashboard shows their own answers, not an office's."""
    if user.role not in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER):
        raise DashboardError("error.managers_only", 403)


async def destination_zone(session: AsyncSession, destination_id: int) -> tuple[str, str]:
    """The destination's name and time zone."""
    destination = await session.get(Destination, destination_id)
    if destination is None:
        return "", "Europe/Paris"
    return destination.name, destination.timezone


async def build(session: AsyncSession, user: User, week: Week) -> WeeklyReport:
    """The week's report as ``user`` may read it (their office's rows for an office manager)."""
    may_read(user)
    name, timezone = await destination_zone(session, user.destination_id)
    period = week.period(timezone)
    figures = await dashboard.report(session, user, period, Filters(), timezone)
    satisfaction = await csat.report(session, user, period, Filters(), timezone, comments=0)
    offices = figures.offices
    office_name: str | None = None
    if user.role == Role.OFFICE_MANAGER:
        offices = [r for r in offices if r.key == user.office_id]
        office = await session.get(Office, user.office_id) if user.office_id else None
        office_name = office.name if office else ""
    duty = figures.heat_duty
    cells = [
        Busy(weekday, hour, turns, median, duty[weekday][hour] if duty else None)
        for weekday, row in enumerate(figures.heat)
        for hour, (turns, median) in enumerate(row)
        if turns
    ]
    cells.sort(key=lambda b: (-b.turns, b.weekday, b.hour))
    return WeeklyReport(
        week=week,
        destination=name,
        timezone=timezone,
        period=period,
        office=office_name,
        offices=offices,
        accounts=figures.accounts,
        total=figures.total,
        busiest=cells[:BUSIEST],
        csat_total=satisfaction.total,
        csat_offices={r.key: r for r in satisfaction.offices},
        csat_accounts={r.key: r for r in satisfaction.accounts},
    )


# --- words shared by the three renderings -------------------------------------------------------


def dates(report: WeeklyReport, t: Translator) -> str:
    """ "Monday 23 November – Sunday 29 November 2026"."""
    lang = t.language
    return t(
        "weekly.dates",
        first=timefmt.day_label(report.week.monday, lang),
        last=timefmt.day_label(report.week.sunday, lang),
        year=report.week.sunday.year,
    )


def hour_label(busy: Busy, t: Translator) -> str:
    return t(
        "weekly.hour",
        weekday=t(f"date.weekday.{busy.weekday}"),
        start=f"{busy.hour:02d}:00",
        end=f"{(busy.hour + 1) % 24:02d}:00",
    )


def csat_cell(row: csat.CsatRow | None, t: Translator) -> str:
    if row is None or row.csat is None:
        return "—"
    return t(
        "weekly.csat_value",
        csat=timefmt.percent(row.csat, t.language),
        answered=timefmt.number(row.answered, t.language),
    )


def columns(report: WeeklyReport, t: Translator, offices: bool = False) -> list[str]:
    """The figures' headings; the offices' table also says how many turns another office's
    advisers answered (who really answered)."""
    heads = [
        t("dash.conversations"),
        t("weekly.median_duty"),
        t("weekly.p90_duty"),
        t("weekly.median_wall"),
        t("weekly.p90_wall"),
        t("dash.within_target"),
        *([t("dash.col.elsewhere")] if offices else []),
    ]
    return [*heads, t("weekly.csat")] if report.has_csat else heads


def cells(
    report: WeeklyReport,
    row: Row,
    satisfaction: csat.CsatRow | None,
    t: Translator,
    offices: bool = False,
) -> list[str]:
    """One table row's figures as the reader writes them."""
    lang = t.language
    values = [
        timefmt.number(row.conversations, lang),
        timefmt.duration(row.median_duty, lang),
        timefmt.duration(row.p90_duty, lang),
        timefmt.duration(row.median, lang),
        timefmt.duration(row.p90, lang),
        timefmt.percent(row.within_rate, lang),
        *([timefmt.number(row.answered_elsewhere, lang)] if offices else []),
    ]
    return [*values, csat_cell(satisfaction, t)] if report.has_csat else values


def context(report: WeeklyReport, t: Translator) -> dict[str, Any]:
    """What ``templates/weekly_report/_report.html`` needs besides the report."""
    return {
        "report": report,
        "dates": dates(report, t),
        "office_heads": columns(report, t, offices=True),
        "account_heads": columns(report, t),
        "office_rows": [(r, cells(report, r, report.csat_offices.get(r.key), t, offices=True))
                        for r in report.offices],
        "account_rows": [(r, cells(report, r, report.csat_accounts.get(r.key), t))
                         for r in report.accounts],
        "total_cells": cells(report, report.total, report.csat_total, t, offices=True),
        "busiest": [(hour_label(b, t), b) for b in report.busiest],
        "definitions": definitions(t),
    }  # fmt: skip


# --- plain text ---------------------------------------------------------------------------------


def text(report: WeeklyReport, t: Translator) -> str:
    """The report as plain text (the e-mail's text part): one block per row."""
    lines = [title(report, t), dates(report, t), t("weekly.zone", zone=report.timezone), ""]

    def block(label: str, heads: list[str], values: list[str]) -> None:
        lines.append(label)
        lines.extend(f"  {head}: {value}" for head, value in zip(heads, values, strict=True))
        lines.append("")

    for heading, rows, found, offices in (
        (t("weekly.per_office"), report.offices, report.csat_offices, True),
        (t("weekly.per_account"), report.accounts, report.csat_accounts, False),
    ):
        heads = columns(report, t, offices)
        lines += [heading.upper(), ""]
        if not rows:
            lines += [t("dash.empty"), ""]
        for row in rows:
            block(row.label, heads, cells(report, row, found.get(row.key), t, offices))
        if offices and report.office is None:
            total = cells(report, report.total, report.csat_total, t, offices)
            block(t("weekly.total"), heads, total)
    lines += [t("weekly.busiest").upper(), ""]
    if not report.busiest:
        lines.append(t("dash.empty"))
    for busy in report.busiest:
        lines.append(
            "  "
            + t(
                "weekly.busy_line",
                hour=hour_label(busy, t),
                turns=timefmt.number(busy.turns, t.language),
                duty=timefmt.duration(busy.median_duty, t.language),
                median=timefmt.duration(busy.median, t.language),
            )
        )
    lines += ["", definitions(t)]
    return "\n".join(lines) + "\n"


def definitions(t: Translator) -> str:
    """What each column means (the dashboard's words for "answered by another office")."""
    return f"{t('weekly.definitions_text')} {t('dash.col.elsewhere')}: {t('dash.help.elsewhere')}"


def title(report: WeeklyReport, t: Translator) -> str:
    where = report.office if report.office is not None else report.destination
    return t("weekly.title_of", week=report.week.label, where=where)


# --- PDF ----------------------------------------------------------------------------------------


def _font() -> tuple[Path, Path] | None:
    for folder in FONT_CANDIDATES:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


_LATIN = str.maketrans(
    {"\u202f": " ", "\u00a0": " ", "\u2009": " ", "—": "-", "–": "-", "…": "...", "’": "'",
     "œ": "oe", "Œ": "OE", "€": "EUR", "“": '"', "”": '"', "Ł": "L", "ł": "l"}
)  # fmt: skip


def latin(value: str) -> str:
    """Text Helvetica can draw: Latin-1, other characters decomposed or replaced by "?"."""
    value = value.translate(_LATIN)
    out = []
    for char in value:
        if ord(char) < 256:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char)[:1]
        out.append(base if base and ord(base) < 256 else "?")
    return "".join(out)


class _Pdf(FPDF):
    def __init__(self, footer_text: str, unicode_font: bool) -> None:
        super().__init__(orientation="landscape", format="A4")
        self.footer_text = footer_text
        self.unicode_font = unicode_font

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(text if self.unicode_font else latin(text))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(size=8)
        self.set_text_color(90)
        self.cell(0, 6, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")


def pdf(report: WeeklyReport, t: Translator, font: tuple[Path, Path] | None = None) -> bytes:
    """The report as a PDF (A4 landscape); ``font``: regular and bold TTF (default: found)."""
    font = font or _font()
    document = _Pdf(f"{t('app.name')} · {report.week.label}", font is not None)
    document.set_title(title(report, t))
    document.set_lang(t.language)
    document.set_creator(t("app.name"))
    if font is not None:
        document.add_font("body", "", str(font[0]))
        document.add_font("body", "B", str(font[1]))
        family = "body"
    else:
        family = "helvetica"
    document.set_font(family, size=10)
    document.set_auto_page_break(True, margin=15)
    document.add_page()
    document.set_font(style="B", size=16)
    document.multi_cell(0, 8, title(report, t), new_x="LMARGIN", new_y="NEXT")
    document.set_font(style="", size=10)
    document.multi_cell(
        0, 6, f"{dates(report, t)} · {t('weekly.zone', zone=report.timezone)}",
        new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    bold = FontFace(emphasis="BOLD", fill_color=(235, 238, 242))

    def table(
        heading: str, first: str, heads: list[str], rows: list[tuple[str, list[str]]]
    ) -> None:
        document.ln(4)
        document.set_font(style="B", size=12)
        document.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        document.set_font(style="", size=8.5)
        if not rows:
            document.cell(0, 6, t("dash.empty"), new_x="LMARGIN", new_y="NEXT")
            return
        with document.table(
            col_widths=(62, *([26] * len(heads))),
            text_align=("LEFT", *(["RIGHT"] * len(heads))),
            headings_style=bold,
            line_height=5.5,
        ) as grid:
            head = grid.row()
            for value in (first, *heads):
                head.cell(value)
            for label, values in rows:
                line = grid.row()
                for value in (label, *values):
                    line.cell(value)

    office_rows = [
        (r.label, cells(report, r, report.csat_offices.get(r.key), t, offices=True))
        for r in report.offices
    ]
    if report.office is None:
        total = cells(report, report.total, report.csat_total, t, offices=True)
        office_rows.append((t("weekly.total"), total))
    table(t("weekly.per_office"), t("rota.office"), columns(report, t, offices=True), office_rows)
    table(t("weekly.per_account"), t("dash.account"), columns(report, t),
          [(r.label, cells(report, r, report.csat_accounts.get(r.key), t))
           for r in report.accounts])  # fmt: skip
    document.ln(4)
    document.set_font(style="B", size=12)
    document.cell(0, 8, t("weekly.busiest"), new_x="LMARGIN", new_y="NEXT")
    document.set_font(style="", size=9)
    if not report.busiest:
        document.cell(0, 6, t("dash.empty"), new_x="LMARGIN", new_y="NEXT")
    else:
        with document.table(
            col_widths=(90, 40, 40, 40),
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
            headings_style=bold,
            width=210,
            align="LEFT",
            line_height=5.5,
        ) as grid:
            head = grid.row()
            for value in (
                t("weekly.hour_head"),
                t("weekly.turns"),
                t("weekly.median_duty"),
                t("weekly.median_wall"),
            ):
                head.cell(value)
            for busy in report.busiest:
                line = grid.row()
                line.cell(hour_label(busy, t))
                line.cell(timefmt.number(busy.turns, t.language))
                line.cell(timefmt.duration(busy.median_duty, t.language))
                line.cell(timefmt.duration(busy.median, t.language))
    document.ln(4)
    document.set_font(size=8)
    document.multi_cell(0, 4, definitions(t), new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())
