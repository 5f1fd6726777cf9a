"""The answer library: prepared answers, a text per language, in the picker of every adviser.

Who may do what (docs/api.md, "Answer library"):

- a destination manager reads and manages every answer of the destination;
- an office manager reads destination-wide answers and their office's, manages their office's
  (approving its proposals); what they create for the whole destination is a proposal;
- an adviser reads approved destination-wide answers, their office's, and those of the office
  of a conversation they may see (the one they are answering); what they create is a proposal,
  which they may still edit or withdraw until a manager approves it.

``check_*`` functions validate untrusted input and raise :class:`ActionError` with a translated
reason; the others trust their input and write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import ActionError
from app.answer_demo import seed_demo
from app.answer_fill import language_of
from app.models import (
    ERASED,
    ERASED_DETAILS,
    Answer,
    AnswerStatus,
    AnswerText,
    AuthorKind,
    Conversation,
    Direction,
    Message,
    Office,
    Role,
    User,
)
from app.repository import can_see
from app.textnorm import fold, key

__all__ = ["seed_demo"]

MAX_TITLE = 200
MAX_SHORTCUT = 64
MAX_TEXT = 5_000  # characters per language: a long answer, far more than a chat message
MAX_TAGS = 20
MAX_TAG = 40
MAX_LANGUAGES = 30
SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]*")
LANGUAGE = re.compile(r"[a-z]{2,3}")
# Text may hold line breaks and tabs, never other control characters (NUL breaks PostgreSQL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_manager(user: User) -> bool:
    return user.role in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER)


def may_read(user: User, answer: Answer, extra_office: int | None = None) -> bool:
    """Whether ``user`` may read ``answer``; ``extra_office``: the office of a conversation the
    user may see, whose answers they may use for it."""
    if answer.destination_id != user.destination_id:
        return False
    return may_read_fields(user, answer.office_id, answer.status, answer.created_by, extra_office)


def may_read_fields(
    user: User,
    office_id: int | None,
    status: AnswerStatus,
    created_by: int | None,
    extra_office: int | None = None,
) -> bool:
    """:func:`may_read` for an answer of the user's destination, from its plain fields (the
    picker checks 2,000 of them per keystroke)."""
    if not user.active:
        return False
    if user.role == Role.DESTINATION_MANAGER:
        return True
    if status == AnswerStatus.APPROVED:
        return office_id is None or office_id == user.office_id or office_id == extra_office
    if created_by == user.id:
        return True
    return user.role == Role.OFFICE_MANAGER and office_id == user.office_id


def may_manage(user: User, answer: Answer) -> bool:
    """Edit, approve, delete: managers over their scope, advisers over their own proposals."""
    if user.role == Role.DESTINATION_MANAGER:
        return answer.destination_id == user.destination_id
    if user.role == Role.OFFICE_MANAGER and answer.office_id is not None:
        return answer.office_id == user.office_id
    return answer.status == AnswerStatus.PROPOSED and answer.created_by == user.id


def may_approve(user: User, office_id: int | None) -> bool:
    """Who may publish an answer of this scope to every adviser."""
    if user.role == Role.DESTINATION_MANAGER:
        return True
    return (
        user.role == Role.OFFICE_MANAGER and office_id is not None and office_id == user.office_id
    )


def _clean(value: str, empty: str, too_long: str, limit: int) -> str:
    if _CONTROL.search(value):
        raise ActionError("answers.error.control_characters")
    value = value.strip()
    if not value:
        raise ActionError(empty)
    if len(value) > limit:
        raise ActionError(too_long)
    return value


def check_title(title: str) -> str:
    return " ".join(
        _clean(
            title, "answers.error.title_empty", "answers.error.title_too_long", MAX_TITLE
        ).split()
    )


def check_shortcut_form(shortcut: str) -> str:
    """The shortcut as stored: folded ("Phare-Été" → "phare-ete"), a leading "/" dropped."""
    folded = key(shortcut).removeprefix("/")
    if not folded:
        raise ActionError("answers.error.shortcut_empty")
    if len(folded) > MAX_SHORTCUT:
        raise ActionError("answers.error.shortcut_too_long")
    if not SHORTCUT.fullmatch(folded):
        raise ActionError("answers.error.shortcut_invalid")
    return folded


async def check_shortcut(
    session: AsyncSession, destination_id: int, shortcut: str, exclude: int | None = None
) -> str:
    folded = check_shortcut_form(shortcut)
    query = select(Answer.id).where(
        Answer.destination_id == destination_id, Answer.shortcut == folded
    )
    if exclude is not None:
        query = query.where(col(Answer.id) != exclude)
    if (await session.exec(query)).first() is not None:
        raise ActionError("answers.error.shortcut_taken")
    return folded


def check_tags(tags: list[str]) -> str:
    """Tags as stored: folded, one word each (spaces become "-"), without repeats."""
    seen: list[str] = []
    for tag in tags:
        if _CONTROL.search(tag):
            raise ActionError("answers.error.control_characters")
        folded = "-".join(fold(tag).split())
        if len(folded) > MAX_TAG:
            raise ActionError("answers.error.tag_too_long")
        if folded and folded not in seen:
            seen.append(folded)
    if len(seen) > MAX_TAGS:
        raise ActionError("answers.error.too_many_tags")
    return " ".join(seen)


def check_language(tag: str) -> str:
    """A stored text's language: an ISO 639 code of 2 or 3 letters ("fr", "de", "nap")."""
    code = tag.strip().lower()
    if not LANGUAGE.fullmatch(code):
        raise ActionError("answers.error.language_invalid")
    return code


def check_texts(texts: Mapping[str, str]) -> dict[str, str]:
    """At least one text; each in a valid language, not empty, at most ``MAX_TEXT`` long."""
    if len(texts) > MAX_LANGUAGES:
        raise ActionError("answers.error.language_invalid")
    cleaned: dict[str, str] = {}
    for language, text in texts.items():
        code = check_language(language)
        if code in cleaned:
            raise ActionError("answers.error.language_twice")
        if _CONTROL.search(text):
            raise ActionError("answers.error.control_characters")
        body = text.strip()
        if not body:
            raise ActionError("answers.error.text_empty")
        if len(body) > MAX_TEXT:
            raise ActionError("answers.error.text_too_long")
        cleaned[code] = body
    if not cleaned:
        raise ActionError("answers.error.no_text")
    return cleaned


async def check_office(session: AsyncSession, user: User, office_id: int | None) -> int | None:
    """An office of the user's destination (404 otherwise, never saying another exists);
    advisers and office managers write only for their own office or the whole destination."""
    if office_id is None:
        return None
    office = await session.get(Office, office_id)
    if office is None or office.destination_id != user.destination_id:
        raise ActionError("answers.error.office_not_found", 404)
    if user.role != Role.DESTINATION_MANAGER and office_id != user.office_id:
        raise ActionError("answers.error.not_your_office", 403)
    return office_id


async def check_answer(session: AsyncSession, user: User, answer_id: int) -> Answer:
    """An answer the user may read; 404 otherwise (another destination's included)."""
    answer = await session.get(Answer, answer_id)
    if answer is None or not may_read(user, answer):
        raise ActionError("answers.error.not_found", 404)
    return answer


def check_manageable(user: User, answer: Answer) -> Answer:
    if not may_manage(user, answer):
        raise ActionError("answers.error.managers_only", 403)
    return answer


async def check_source(session: AsyncSession, user: User, message_id: int | None) -> int | None:
    """ "Save as answer": a sent adviser reply of a conversation the user may see."""
    if message_id is None:
        return None
    message = await session.get(Message, message_id)
    conversation = await session.get(Conversation, message.conversation_id) if message else None
    if message is None or conversation is None or not can_see(user, conversation):
        raise ActionError("answers.error.message_not_found", 404)
    erased = conversation.thread_key.startswith(ERASED) or message.details == ERASED_DETAILS
    if message.direction != Direction.OUT or message.author_kind != AuthorKind.ADVISER or erased:
        raise ActionError("answers.error.not_a_reply")
    return message_id


async def texts_of(session: AsyncSession, answer_ids: list[int]) -> dict[int, dict[str, str]]:
    rows = (
        await session.exec(select(AnswerText).where(col(AnswerText.answer_id).in_(answer_ids)))
    ).all()
    found: dict[int, dict[str, str]] = {i: {} for i in answer_ids}
    for row in rows:
        found[row.answer_id][row.language] = row.text
    return found


async def set_texts(session: AsyncSession, answer_id: int, texts: dict[str, str]) -> None:
    """Makes the answer's texts exactly ``texts`` (languages left out are removed)."""
    rows = (await session.exec(select(AnswerText).where(AnswerText.answer_id == answer_id))).all()
    for row in rows:
        if row.language not in texts:
            await session.delete(row)
        elif row.text != texts[row.language]:
            row.text = texts[row.language]
            session.add(row)
    have = {row.language for row in rows}
    for language, text in texts.items():
        if language not in have:
            session.add(AnswerText(answer_id=answer_id, language=language, text=text))


def visitor_language(tag: str) -> str:
    """A requested or known visitor language, reduced to its 2–3 letter code ("" if none)."""
    code = language_of(tag)
    return code if LANGUAGE.fullmatch(code) else ""
