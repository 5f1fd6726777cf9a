"""What people do with the answer library: list and search it, write to it, insert an answer
into a reply. Input is validated by app.answers' ``check_*``; permissions are its ``may_*``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import col, select, update

from app import answer_index
from app.actions import ActionError, check_conversation
from app.answer_fill import choose_language, fill, next_opening
from app.answers import (
    MAX_TEXT,
    check_answer,
    check_manageable,
    check_office,
    check_shortcut,
    check_source,
    check_tags,
    check_texts,
    check_title,
    may_approve,
    may_manage,
    may_read,
    may_read_fields,
    set_texts,
    texts_of,
    visitor_language,
)
from app.display import plain_text
from app.models import (
    Answer,
    AnswerStatus,
    Contact,
    Conversation,
    Destination,
    Office,
    Role,
    User,
)
from app.repository import can_see
from app.services import Services


class AnswerOut(BaseModel):
    """An answer as the picker and the library page show it."""

    id: int
    title: str
    shortcut: str
    office_id: int | None
    tags: list[str]
    status: AnswerStatus
    languages: list[str]  # the languages it has a text in
    language: str  # the language it would be inserted in for the requested one
    fallback: bool  # ``language`` is not the requested language
    requested_language: str  # the language asked for (or the conversation's visitor's), or ""
    preview: str  # its text in ``language``, placeholders unfilled, cut at 300 characters
    uses: int
    last_used_at: datetime | None
    created_by: int | None
    mine: bool  # created by the caller
    manageable: bool  # the caller may edit or delete it
    texts: dict[str, str] | None = None  # every text (one answer's read, not the lists)


class Inserted(BaseModel):
    """An answer filled for one conversation, ready to go into the reply box."""

    id: int
    text: str
    language: str
    requested_language: str
    fallback: bool
    unfilled: list[str]  # placeholders left as written: nothing known to put there


class AnswerWrite(BaseModel):
    """What a create or an edit carries, untrusted (checked by app.answers)."""

    title: str | None = None
    shortcut: str | None = None
    office_id: int | None = None
    tags: list[str] | None = None
    texts: dict[str, str] | None = None
    status: AnswerStatus | None = None
    source_message_id: int | None = None


def _out(
    user: User, answer: Answer, texts: dict[str, str], wanted: str, default: str, full: bool
) -> AnswerOut:
    assert answer.id is not None
    language = choose_language(texts, wanted, default)
    return AnswerOut(
        id=answer.id,
        title=answer.title,
        shortcut=answer.shortcut,
        office_id=answer.office_id,
        tags=answer.tags.split(),
        status=answer.status,
        languages=sorted(texts),
        language=language,
        fallback=bool(wanted) and language != wanted,
        requested_language=wanted,
        preview=texts.get(language, "")[:300],
        uses=answer.uses,
        last_used_at=answer.last_used_at,
        created_by=answer.created_by,
        mine=answer.created_by == user.id,
        manageable=may_manage(user, answer),
        texts=dict(sorted(texts.items())) if full else None,
    )


async def search(
    services: Services,
    user: User,
    *,
    query: str = "",
    language: str = "",
    office_id: int | None = None,
    status: AnswerStatus | None = None,
    conversation_id: int | None = None,
    limit: int = 50,
) -> list[AnswerOut]:
    """The answers the user may read matching ``query``, ranked (app.answer_index.search).

    With ``conversation_id``: its office's answers first and, without ``language``, its
    visitor's language. ``office_id`` 0 keeps destination-wide answers only; another keeps that
    office's and destination-wide ones."""
    default = services.settings.default_language
    wanted = visitor_language(language)
    extra_office: int | None = None
    async with services.db.session() as session:
        if conversation_id is not None:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or not can_see(user, conversation):
                raise ActionError("error.conversation_not_found", 404)
            extra_office = conversation.office_id
            if not wanted:
                contact = await session.get(Contact, conversation.contact_id)
                wanted = visitor_language(contact.language if contact else "")
        if office_id:
            office = await session.get(Office, office_id)
            readable = user.role == Role.DESTINATION_MANAGER or office_id in (
                user.office_id,
                extra_office,
            )
            if office is None or office.destination_id != user.destination_id or not readable:
                raise ActionError("answers.error.office_not_found", 404)
        held = await answer_index.library(
            session, services.settings.sqlalchemy_url, user.destination_id
        )
        # The permission rule of app.answers, inlined for the common case (2,000 answers are
        # checked on every keystroke; the user's fields are read once, not per answer).
        active, everything = user.active, user.role == Role.DESTINATION_MANAGER
        offices = {None, user.office_id, extra_office}
        approved = AnswerStatus.APPROVED
        kept = [
            e
            for e in held.rows
            if (status is None or e.status == status)
            and (office_id is None or e.office_id is None or e.office_id == office_id)
            and active
            and (
                everything
                or (e.office_id in offices if e.status == approved else
                    may_read_fields(user, e.office_id, e.status, e.created_by, extra_office))
            )
        ]  # fmt: skip
        found = answer_index.search(
            held, kept, query, wanted, default, office_id or extra_office, limit
        )
        page = [f.entry.id for f in found]
        # Fresh rows for what is shown: use counts move without reloading the folded index.
        answers = {
            a.id: a
            for a in (await session.exec(select(Answer).where(col(Answer.id).in_(page)))).all()
        }
    texts = {f.entry.id: f.entry.texts for f in found}
    return [_out(user, answers[i], texts[i], wanted, default, False) for i in page if i in answers]


async def read(services: Services, user: User, answer_id: int) -> AnswerOut:
    async with services.db.session() as session:
        answer = await check_answer(session, user, answer_id)
        texts = (await texts_of(session, [answer_id]))[answer_id]
    return _out(user, answer, texts, "", services.settings.default_language, True)


async def create(services: Services, user: User, body: AnswerWrite) -> AnswerOut:
    """A new answer: approved when its author may approve it for that scope, else proposed."""
    title = check_title(body.title or "")
    tags = check_tags(body.tags or [])
    texts = check_texts(body.texts or {})
    now = services.clock.now()
    async with services.db.session() as session:
        office_id = await check_office(session, user, body.office_id)
        shortcut = await check_shortcut(session, user.destination_id, body.shortcut or "")
        source = await check_source(session, user, body.source_message_id)
        approved = may_approve(user, office_id) and body.status != AnswerStatus.PROPOSED
        answer = Answer(
            destination_id=user.destination_id,
            office_id=office_id,
            title=title,
            shortcut=shortcut,
            tags=tags,
            status=AnswerStatus.APPROVED if approved else AnswerStatus.PROPOSED,
            source_message_id=source,
            created_by=user.id,
            created_at=now,
            updated_at=now,
        )
        session.add(answer)
        await session.flush()
        assert answer.id is not None
        await set_texts(session, answer.id, texts)
        await session.commit()
        await session.refresh(answer)
    return _out(user, answer, texts, "", services.settings.default_language, True)


async def edit(services: Services, user: User, answer_id: int, body: AnswerWrite) -> AnswerOut:
    """Changes what ``body`` gives (``texts`` replaces the whole set); ``status`` approved is a
    manager's approval, proposed takes an answer back out of the pickers."""
    fields = body.model_fields_set
    async with services.db.session() as session:
        answer = check_manageable(user, await check_answer(session, user, answer_id))
        if "title" in fields:
            answer.title = check_title(body.title or "")
        if "tags" in fields:
            answer.tags = check_tags(body.tags or [])
        texts = check_texts(body.texts or {}) if "texts" in fields else None
        if "shortcut" in fields:
            answer.shortcut = await check_shortcut(
                session, user.destination_id, body.shortcut or "", exclude=answer_id
            )
        if "office_id" in fields:
            answer.office_id = await check_office(session, user, body.office_id)
        if "status" in fields and body.status is not None and body.status != answer.status:
            if not may_approve(user, answer.office_id):
                raise ActionError("answers.error.managers_only", 403)
            answer.status = body.status
        elif answer.status == AnswerStatus.APPROVED and not may_approve(user, answer.office_id):
            # A manager moving an approved answer out of their scope makes it a proposal again.
            answer.status = AnswerStatus.PROPOSED
        answer.updated_at = services.clock.now()
        session.add(answer)
        if texts is not None:
            await set_texts(session, answer_id, texts)
        await session.commit()
        await session.refresh(answer)
        stored = (await texts_of(session, [answer_id]))[answer_id]
    return _out(user, answer, stored, "", services.settings.default_language, True)


async def delete(services: Services, user: User, answer_id: int) -> None:
    """Deletes an answer (a rejected proposal, one nobody uses any more) and its texts."""
    async with services.db.session() as session:
        answer = check_manageable(user, await check_answer(session, user, answer_id))
        await set_texts(session, answer_id, {})
        await session.flush()  # the texts first: no relationship tells SQLAlchemy the order
        await session.delete(answer)
        await session.commit()


async def use(
    services: Services, user: User, answer_id: int, conversation_id: int, language: str
) -> Inserted:
    """The answer's text for this conversation, in the visitor's language (or ``language``),
    placeholders filled as text; counts one use."""
    now = services.clock.now()
    async with services.db.session() as session:
        loaded = await check_conversation(session, user, conversation_id)
        conversation = loaded.conversation
        answer = await session.get(Answer, answer_id)
        if answer is None or not may_read(user, answer, conversation.office_id):
            raise ActionError("answers.error.not_found", 404)
        if answer.status != AnswerStatus.APPROVED:
            raise ActionError("answers.error.not_approved", 409)
        contact = await session.get(Contact, conversation.contact_id)
        office = await session.get(Office, conversation.office_id)
        destination = await session.get(Destination, conversation.destination_id)
        assert office is not None and destination is not None
        wanted = visitor_language(language) or visitor_language(contact.language if contact else "")
        texts = (await texts_of(session, [answer_id]))[answer_id]
        chosen = choose_language(texts, wanted, services.settings.default_language)
        compiled = await services.router.schedule(session, destination.id or 0)
        name = plain_text(contact.name or contact.handle) if contact else ""
        values = {
            "visitor_name": name or None,
            "adviser_name": plain_text(user.name),
            "office": plain_text(office.name),
            "next_opening": next_opening(
                compiled.schedule, office.slug, now, destination.timezone, chosen
            ),
        }
        text, unfilled = fill(texts.get(chosen, ""), values)
        await session.exec(
            update(Answer)
            .where(col(Answer.id) == answer_id)
            .values(uses=col(Answer.uses) + 1, last_used_at=now)
        )
        await session.commit()
    return Inserted(
        id=answer_id,
        text=text[: MAX_TEXT * 2],
        language=chosen,
        requested_language=wanted,
        fallback=bool(wanted) and chosen != wanted,
        unfilled=unfilled,
    )
