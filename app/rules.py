"""Keyword rules: "when a visitor's message contains any of these words, label it, send it to an
office or an adviser, raise its priority" (issue 13, item 4).

``check_*`` validate a manager's input and refuse with an :class:`ActionError` (its code a
translation key); ``create``/``update``/``delete`` write. Who may do what: a destination manager
manages every rule of the destination; an office manager reads them all and manages the rules
that send to their own office (a rule that only labels or raises the priority concerns the
whole destination: destination managers only); advisers get 403. What happens at ingest is in
app.rule_ingest, the trial on past conversations in app.rule_trial.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import ActionError
from app.models import ConversationLabel, Label, Office, Role, Rule, User
from app.rule_match import parse, stored_words
from app.services import Services
from app.textnorm import key

MAX_NAME = 100
MAX_WORDS = 50
MAX_WORD = 100


class RuleOut(BaseModel):
    id: int
    name: str
    words: list[str]
    label_id: int | None
    office_id: int | None
    adviser_id: int | None
    priority: bool
    active: bool
    position: int
    matched: int
    editable: bool  # whether the caller may change it (an office manager: their office's)


@dataclass(frozen=True, slots=True)
class Fields:
    """A rule's content once checked."""

    name: str
    words: list[str]
    label_id: int | None
    office_id: int | None
    adviser_id: int | None
    priority: bool


def words_of(rule: Rule) -> list[str]:
    return stored_words(rule.words)


def check_reader(user: User) -> None:
    if user.role not in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER):
        raise ActionError("error.managers_only", 403)


def may_edit(user: User, rule: Rule | Fields, adviser_office: int | None = None) -> bool:
    """Destination managers: any rule; office managers: the rules routing to their office."""
    if user.role == Role.DESTINATION_MANAGER:
        return True
    if user.role != Role.OFFICE_MANAGER or user.office_id is None:
        return False
    office = rule.office_id if rule.office_id is not None else adviser_office
    return office is not None and office == user.office_id


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ActionError("rules.error.name_empty")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ActionError("rules.error.name_too_long")
    return name


def check_words(words: object) -> list[str]:
    """Trimmed words, in the manager's order, duplicates (folded) dropped."""
    if not isinstance(words, list):
        raise ActionError("rules.error.words_empty")
    kept: list[str] = []
    seen: set[tuple[str, bool]] = set()
    for word in words:
        if not isinstance(word, str):
            raise ActionError("rules.error.word_empty")
        trimmed = word.strip()
        if not trimmed:
            continue  # a blank line of the form
        if len(trimmed) > MAX_WORD:
            raise ActionError("rules.error.word_too_long")
        parsed = parse(trimmed)
        if not parsed.text:  # "*", "-", "  *  "
            raise ActionError("rules.error.word_empty")
        if (parsed.text, parsed.prefix) in seen:
            continue
        seen.add((parsed.text, parsed.prefix))
        kept.append(trimmed)
    if not kept:
        raise ActionError("rules.error.words_empty")
    if len(kept) > MAX_WORDS:
        raise ActionError("rules.error.too_many_words")
    return kept


async def check_fields(
    session: AsyncSession,
    user: User,
    *,
    name: object,
    words: object,
    label_id: int | None,
    office_id: int | None,
    adviser_id: int | None,
    priority: bool,
    rule_id: int | None = None,
) -> Fields:
    """Everything a rule says, checked against the caller's destination."""
    fields = Fields(
        check_name(name), check_words(words), label_id, office_id, adviser_id, bool(priority)
    )
    if label_id is None and office_id is None and adviser_id is None and not priority:
        raise ActionError("rules.error.no_action")
    destination = user.destination_id
    if label_id is not None:
        label = await session.get(Label, label_id)
        if label is None or label.destination_id != destination:
            raise ActionError("rules.error.unknown_label")
    if office_id is not None:
        office = await session.get(Office, office_id)
        if office is None or office.destination_id != destination:
            raise ActionError("rules.error.unknown_office")
    adviser_office = None
    if adviser_id is not None:
        adviser = await session.get(User, adviser_id)
        if adviser is None or adviser.destination_id != destination or not adviser.active:
            raise ActionError("rules.error.unknown_adviser")
        if adviser.office_id is None:
            raise ActionError("rules.error.adviser_without_office")
        if office_id is not None and adviser.office_id != office_id:
            raise ActionError("rules.error.adviser_not_of_office")
        adviser_office = adviser.office_id
    if not may_edit(user, fields, adviser_office):
        raise ActionError("rules.error.not_your_office", 403)
    same = select(Rule.id).where(Rule.destination_id == destination, Rule.key == key(fields.name))
    if rule_id is not None:
        same = same.where(Rule.id != rule_id)
    if (await session.exec(same)).first() is not None:
        raise ActionError("rules.error.name_taken")
    return fields


async def check_rule(session: AsyncSession, user: User, rule_id: int, *, edit: bool) -> Rule:
    """The rule if the caller may read it (404 otherwise) and, with ``edit``, change it (403)."""
    check_reader(user)
    rule = await session.get(Rule, rule_id)
    if rule is None or rule.destination_id != user.destination_id:
        raise ActionError("rules.error.not_found", 404)
    if edit and not may_edit(user, rule, await _adviser_office(session, rule)):
        raise ActionError("rules.error.not_your_office", 403)
    return rule


async def _adviser_office(session: AsyncSession, rule: Rule) -> int | None:
    if rule.adviser_id is None:
        return None
    adviser = await session.get(User, rule.adviser_id)
    return adviser.office_id if adviser is not None else None


async def out(session: AsyncSession, user: User, rules: list[Rule]) -> list[RuleOut]:
    return [
        RuleOut(
            id=r.id or 0,
            name=r.name,
            words=words_of(r),
            label_id=r.label_id,
            office_id=r.office_id,
            adviser_id=r.adviser_id,
            priority=r.priority,
            active=r.active,
            position=r.position,
            matched=r.matched,
            editable=may_edit(user, r, await _adviser_office(session, r)),
        )
        for r in rules
    ]


async def ordered(session: AsyncSession, destination_id: int) -> list[Rule]:
    """The destination's rules in evaluation order."""
    return list(
        (
            await session.exec(
                select(Rule)
                .where(Rule.destination_id == destination_id)
                .order_by(col(Rule.position), col(Rule.id))
            )
        ).all()
    )


async def listed(services: Services, user: User) -> list[RuleOut]:
    check_reader(user)
    async with services.db.session() as session:
        return await out(session, user, await ordered(session, user.destination_id))


def _apply(rule: Rule, fields: Fields) -> None:
    rule.name = fields.name
    rule.key = key(fields.name)
    rule.words = json.dumps(fields.words, ensure_ascii=False)
    rule.label_id = fields.label_id
    rule.office_id = fields.office_id
    rule.adviser_id = fields.adviser_id
    rule.priority = fields.priority


async def create(services: Services, user: User, body: dict[str, Any]) -> RuleOut:
    """A new rule, inactive, placed last."""
    check_reader(user)
    now = services.clock.now()
    async with services.db.session() as session:
        fields = await check_fields(session, user, **_content(body))
        last = (
            await session.exec(
                select(func.max(Rule.position)).where(Rule.destination_id == user.destination_id)
            )
        ).first()
        rule = Rule(
            destination_id=user.destination_id,
            name=fields.name,
            key=key(fields.name),
            position=(last + 1) if last is not None else 0,
            created_by=user.id,
            created_at=now,
            updated_at=now,
        )
        _apply(rule, fields)
        session.add(rule)
        await _commit(session)
        return (await out(session, user, [rule]))[0]


def _content(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body.get(k) for k in ("name", "words", "label_id", "office_id", "adviser_id")} | {
        "priority": bool(body.get("priority", False))
    }


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:  # the same name saved at the same moment by someone else
        await session.rollback()
        raise ActionError("rules.error.name_taken") from exc


async def update(services: Services, user: User, rule_id: int, changes: dict[str, Any]) -> RuleOut:
    """Changes what ``changes`` names (its content, ``active``, ``position``: the new index in
    the evaluation order, the others renumbered)."""
    async with services.db.session() as session:
        rule = await check_rule(session, user, rule_id, edit=True)
        content: dict[str, Any] = {"name": rule.name, "words": words_of(rule)} | {
            k: getattr(rule, k) for k in ("label_id", "office_id", "adviser_id", "priority")
        }
        content |= {k: v for k, v in changes.items() if k in content}
        fields = await check_fields(session, user, rule_id=rule.id, **content)
        _apply(rule, fields)
        if "active" in changes:
            rule.active = bool(changes["active"])
        rule.updated_at = services.clock.now()
        session.add(rule)
        if "position" in changes and isinstance(changes["position"], int):
            await _move(session, rule, changes["position"])
        await _commit(session)
        return (await out(session, user, [rule]))[0]


async def _move(session: AsyncSession, rule: Rule, position: int) -> None:
    rules = [r for r in await ordered(session, rule.destination_id) if r.id != rule.id]
    rules.insert(max(0, min(position, len(rules))), rule)
    for index, each in enumerate(rules):
        if each.position != index:
            each.position = index
            session.add(each)


async def delete(services: Services, user: User, rule_id: int) -> None:
    """Deletes a rule; the labels it put stay, no longer said to come from it."""
    async with services.db.session() as session:
        rule = await check_rule(session, user, rule_id, edit=True)
        for row in (
            await session.exec(
                select(ConversationLabel).where(ConversationLabel.rule_id == rule.id)
            )
        ).all():
            row.rule_id = None
            session.add(row)
        await session.flush()
        await session.delete(rule)
        await session.commit()


# The demo's rules: words visitors of the bay really write, in the languages they write in.
_DEMO = (
    # name, words, label (by folded name, if the labels' demo made it), office, priority, on
    (
        "Marées",
        ["marée", "marées", "tide", "tides", "Gezeiten", "Ebbe", "Flut", "getij", "marea"],
        "marées",
        None,
        False,
        True,
    ),
    (
        "Réclamation",
        ["réclamation", "plainte", "remboursement", "complaint", "refund", "Beschwerde", "klacht"],
        None,
        None,
        True,
        True,
    ),
    (
        "Vélos aux Salines",
        ["vélo*", "bike*", "bicycle*", "Fahrrad*", "fiets*", "bici*", "bicicleta*"],
        "vélo",
        "les-salines",
        False,
        False,
    ),
)


async def seed_demo(session: AsyncSession, destination_id: int) -> None:
    """Two rules on (tides labelled when the label exists, complaints raised in priority) and
    one to try (bikes to Les Salines, off); rules already there by name are left alone."""
    now = datetime.now(UTC)
    present = set(
        (await session.exec(select(Rule.key).where(Rule.destination_id == destination_id))).all()
    )
    labels = {
        label.key: label.id
        for label in (
            await session.exec(select(Label).where(Label.destination_id == destination_id))
        ).all()
    }
    offices = {
        office.slug: office.id
        for office in (
            await session.exec(select(Office).where(Office.destination_id == destination_id))
        ).all()
    }
    position = len(present)
    for name, words, label, office, priority, active in _DEMO:
        label_id = labels.get(key(label)) if label else None
        office_id = offices.get(office) if office else None
        if key(name) in present or (label_id is None and office_id is None and not priority):
            continue  # there already, or nothing to do without its label
        session.add(
            Rule(
                destination_id=destination_id, name=name, key=key(name),
                words=json.dumps(words, ensure_ascii=False), label_id=label_id,
                office_id=office_id, priority=priority, active=active, position=position,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        position += 1
    await session.commit()
