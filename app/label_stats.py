"""What visitors ask about: conversations per label, per month and per office, for the
dashboard and its CSV.

A conversation counts in the local month (the destination's time zone) in which it started,
and in the office that has it now (the one that handled it); spam counts nowhere. A manager of
an office counts only what they may see (``repository.visible_filter``) within the dashboard's
own scope (their office); the dashboard's period and filters (channel, account, office) apply.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.dashboard import Filters, Period, scope_office
from app.models import Conversation, ConversationLabel, Label, Office, User


@dataclass(frozen=True, slots=True)
class LabelCount:
    month: str  # YYYY-MM, local
    office_id: int
    office_name: str
    label_id: int
    label_name: str
    color: str
    conversations: int


@dataclass
class LabelTable:
    """The counts, and the same summed per label (with each month's and office's share) for
    the page's tables and bars."""

    rows: list[LabelCount]
    months: list[str]
    offices: list[tuple[int, str]]
    labels: list[tuple[int, str, str, int]]  # id, name, colour, total
    by_month: dict[tuple[int, str], int]  # (label, month) → conversations
    by_office: dict[tuple[int, int], int]  # (label, office) → conversations

    @property
    def top(self) -> int:
        return max((total for *_, total in self.labels), default=0)


async def label_counts(
    session: AsyncSession, user: User, period: Period, filters: Filters, timezone: str
) -> list[LabelCount]:
    """Conversations started in ``period`` per (month, office, label), in that order."""
    query = (
        select(ConversationLabel.label_id, Conversation.office_id, Conversation.created_at)
        .join(Conversation, col(Conversation.id) == ConversationLabel.conversation_id)
        .where(
            repository.visible_filter(user),
            col(Conversation.spam).is_(False),
            col(Conversation.created_at) >= period.start,
            col(Conversation.created_at) < period.end,
        )
    )
    office = scope_office(user, filters.office_id)
    if office is not None:
        query = query.where(Conversation.office_id == office)
    if filters.channel:
        query = query.where(Conversation.channel == filters.channel)
    if filters.account_id is not None:
        query = query.where(Conversation.account_id == filters.account_id)
    zone = ZoneInfo(timezone)
    counted: Counter[tuple[str, int, int]] = Counter()
    for label_id, office_id, created_at in (await session.exec(query)).all():
        month = created_at.astimezone(zone).strftime("%Y-%m")
        counted[(month, office_id, label_id)] += 1
    if not counted:
        return []
    labels = {
        label.id: label
        for label in (
            await session.exec(select(Label).where(Label.destination_id == user.destination_id))
        ).all()
    }
    offices = await repository.cached_by_id(session, Office, {o for _, o, _ in counted})
    rows = [
        LabelCount(
            month,
            office_id,
            offices[office_id].name if office_id in offices else "",
            label_id,
            labels[label_id].name,
            labels[label_id].color,
            n,
        )
        for (month, office_id, label_id), n in counted.items()
        if label_id in labels
    ]
    rows.sort(key=lambda r: (r.month, r.office_name, labels[r.label_id].key))
    return rows


def table(rows: Sequence[LabelCount], period: Period) -> LabelTable:
    """The counts arranged for the page: every month of the period, labels by total."""
    months: list[str] = []
    year, month = period.first.year, period.first.month
    while (year, month) <= (period.last.year, period.last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    by_month: Counter[tuple[int, str]] = Counter()
    by_office: Counter[tuple[int, int]] = Counter()
    totals: Counter[int] = Counter()
    names: dict[int, tuple[str, str]] = {}
    offices: dict[int, str] = {}
    for r in rows:
        by_month[(r.label_id, r.month)] += r.conversations
        by_office[(r.label_id, r.office_id)] += r.conversations
        totals[r.label_id] += r.conversations
        names[r.label_id] = (r.label_name, r.color)
        offices[r.office_id] = r.office_name
    ranked = sorted(totals, key=lambda i: (-totals[i], names[i][0].casefold()))
    return LabelTable(
        rows=list(rows),
        months=months,
        offices=sorted(offices.items(), key=lambda o: o[1]),
        labels=[(i, names[i][0], names[i][1], totals[i]) for i in ranked],
        by_month=dict(by_month),
        by_office=dict(by_office),
    )


# A cell a spreadsheet would read as a formula (=, +, -, @, or a tab or carriage return that
# some read past) is written after a quote, so a label named "=cmd()" stays text.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def to_csv(rows: Sequence[LabelCount]) -> str:
    """month, office, label, conversations: one line per combination counted."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["month", "office_id", "office", "label_id", "label", "conversations"])
    for r in rows:
        writer.writerow(
            [r.month, r.office_id, cell(r.office_name), r.label_id, cell(r.label_name),
             r.conversations]
        )  # fmt: skip
    return out.getvalue()
