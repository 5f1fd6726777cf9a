"""CSAT on the dashboard: satisfaction surveys (app.surveys) per account, office and adviser.

CSAT is the share of ratings 4 or 5 among the answers; a survey counts in the period it was
sent (when its conversation was resolved), and only once it went out (``via`` not ""). Beside
it: surveys sent, answered, the response rate and the average rating. Permission follows the
dashboard's: a destination manager sees the destination (or one office they pick), an office
manager their office, an adviser the surveys of their own conversations. The comments come
newest first; each names its conversation only to someone who may see it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import repository
from app.dashboard import Filters, Period, scope
from app.models import Conversation, Role, Survey, User


@dataclass
class CsatRow:
    key: int
    label: str
    sent: int = 0
    answered: int = 0
    satisfied: int = 0  # ratings 4–5
    rating_sum: int = 0

    def add(self, sent: int, answered: int, satisfied: int, rating_sum: int) -> None:
        self.sent += sent
        self.answered += answered
        self.satisfied += satisfied
        self.rating_sum += rating_sum

    @property
    def csat(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    @property
    def average(self) -> float | None:
        return self.rating_sum / self.answered if self.answered else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "sent": self.sent,
            "answered": self.answered,
            "response_rate": self.response_rate,
            "csat": self.csat,
            "average": self.average,
        }


@dataclass
class Comment:
    survey_id: int
    rating: int
    comment: str
    answered_at: datetime
    account: str
    office: str
    adviser: str
    conversation_id: int | None  # None: the reader may not open it

    def as_dict(self) -> dict[str, Any]:
        return {
            "survey_id": self.survey_id,
            "rating": self.rating,
            "comment": self.comment,
            "answered_at": self.answered_at.isoformat(),
            "account": self.account,
            "office": self.office,
            "adviser": self.adviser,
            "conversation_id": self.conversation_id,
        }


@dataclass
class CsatReport:
    total: CsatRow
    accounts: list[CsatRow] = field(default_factory=list)
    offices: list[CsatRow] = field(default_factory=list)
    advisers: list[CsatRow] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)

    def as_dict(self, period: Period) -> dict[str, Any]:
        return {
            "period": {"first": period.first.isoformat(), "last": period.last.isoformat()},
            "total": self.total.as_dict(),
            "accounts": [r.as_dict() for r in self.accounts],
            "offices": [r.as_dict() for r in self.offices],
            "advisers": [r.as_dict() for r in self.advisers],
            "comments": [c.as_dict() for c in self.comments],
        }


def _where(user: User, period: Period, filters: Filters, office: int | None) -> list[Any]:
    conditions: list[ColumnElement[bool] | bool] = [
        # "+ 0": SQLite would otherwise pick the destination's index (every survey of it)
        # over the period's range on sent_at, which is what narrows the rows.
        col(Survey.destination_id) + 0 == user.destination_id,
        col(Survey.sent_at) >= period.start,
        col(Survey.sent_at) < period.end,
        col(Survey.via) != "",
    ]
    if filters.channel:
        conditions.append(col(Survey.channel) == filters.channel)
    if filters.account_id is not None:
        conditions.append(col(Survey.account_id) == filters.account_id)
    if office is not None:
        conditions.append(col(Survey.office_id) == office)
    if user.role == Role.ADVISER:
        conditions.append(col(Survey.adviser_id) == user.id)
    return conditions


async def report(
    session: AsyncSession,
    user: User,
    period: Period,
    filters: Filters,
    timezone: str,
    comments: int | None = 50,
) -> CsatReport:
    """The period's CSAT as ``user`` may see it; ``comments``: how many (None: all)."""
    seen = await scope(session, user, filters, timezone)  # 422 unknown, 403 not theirs
    where = _where(user, period, filters, seen.where.office_id)
    # One pass over the period's surveys, grouped by (account, office, adviser): the four
    # tables are folded from its few rows here rather than read by four scans.
    columns: list[Any] = [
        col(Survey.account_id),
        col(Survey.office_id),
        col(Survey.adviser_id),
        func.count(),
        func.count(col(Survey.rating)),
        func.coalesce(func.sum(case((col(Survey.rating) >= 4, 1), else_=0)), 0),
        func.coalesce(func.sum(col(Survey.rating)), 0),
    ]
    groups = col(Survey.account_id), col(Survey.office_id), col(Survey.adviser_id)
    found: Any = (await session.exec(select(*columns).where(*where).group_by(*groups))).all()
    total = CsatRow(0, "")
    tables: tuple[dict[int, CsatRow], ...] = ({}, {}, {})
    accounts = {k: a.name for k, a in seen.accounts.items()}
    offices = {k: o.name for k, o in seen.offices.items()}
    labels = (accounts, offices, seen.users)
    for account_id, office_id, adviser_id, *figures in found:
        keys = (int(account_id), int(office_id), int(adviser_id or 0))
        counts = [int(v or 0) for v in figures]
        total.add(*counts)
        for table, key, names in zip(tables, keys, labels, strict=True):
            table.setdefault(key, CsatRow(key, names.get(key, "—"))).add(*counts)

    def ordered(table: dict[int, CsatRow]) -> list[CsatRow]:
        return sorted(table.values(), key=lambda r: (r.label.casefold(), r.key))

    result = CsatReport(total, ordered(tables[0]), ordered(tables[1]), ordered(tables[2]))
    answered = col(Survey.rating).is_not(None)
    query = (
        select(Survey, Conversation)
        .join(Conversation, col(Conversation.id) == col(Survey.conversation_id))
        .where(*where, answered, col(Survey.comment) != "")
        .order_by(col(Survey.answered_at).desc(), col(Survey.id).desc())
    )
    if comments is not None:
        query = query.limit(comments)
    for survey, conversation in (await session.exec(query)).all():
        assert survey.answered_at is not None and survey.rating is not None
        result.comments.append(
            Comment(
                survey.id or 0,
                survey.rating,
                survey.comment,
                survey.answered_at,
                accounts.get(survey.account_id, ""),
                offices.get(survey.office_id, ""),
                seen.users.get(survey.adviser_id or 0, ""),
                conversation.id if repository.can_see(user, conversation) else None,
            )
        )
    return result


COLUMNS = ["key", "label", "sent", "answered", "response_rate", "csat", "average"]
COMMENT_COLUMNS = ["survey_id", "answered_at", "rating", "comment", "account", "office",
                   "adviser", "conversation_id"]  # fmt: skip


def _cell(value: object) -> object:
    """A blank for None; text a spreadsheet would take for a formula is written after a quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(found: CsatReport, kind: str) -> str:
    """One table of the report as CSV (``accounts``, ``offices``, ``advisers``, ``comments``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    if kind == "comments":
        writer.writerow(COMMENT_COLUMNS)
        for c in found.comments:
            data = c.as_dict()
            writer.writerow([_cell(data[name]) for name in COMMENT_COLUMNS])
        return out.getvalue()
    writer.writerow(COLUMNS)
    table = {"accounts": found.accounts, "offices": found.offices}.get(kind, found.advisers)
    for row in table:
        data = row.as_dict()
        writer.writerow([_cell(data[name]) for name in COLUMNS])
    return out.getvalue()
