"""Satisfaction: one question when a conversation is resolved (widget, e-mail, X DM), its answer,
and CSAT per account, office and adviser (``Survey``; figures in app.csat).

"Asked once": a conversation gets at most one survey every ``survey_valid_days`` (7), however
often it is reopened and resolved again; spam, erased conversations and those no adviser ever
answered get none. The row is written in the resolving transaction (``on_resolved``) and sent
once that transaction is committed (``after_resolved``, app.survey_send). A survey is answered
once, before ``expires_at``, by its own visitor: the chat visitor's bearer token names their
conversation, an e-mail or X link carries the survey's id signed with its own salt
(:class:`SurveyLinks`). The answer becomes an activity line of the thread, published live.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from redis.exceptions import RedisError
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

# app.actions imports this module (through app.resolution): its module, not its names.
from app import actions, activity, repository, visitor_queue
from app.events import VisitorFrame
from app.i18n import VISITOR_LANGUAGES
from app.models import (
    ERASED,
    Account,
    Activity,
    AuthorKind,
    Contact,
    Conversation,
    Direction,
    Message,
    Survey,
    User,
)
from app.services import Services

log = logging.getLogger(__name__)

SALT = "concierge.survey"  # a survey link's signature is worth nothing as any other token
MAX_COMMENT = 1000
THREAD_COMMENT = 480  # what of a comment the thread's activity line holds (its detail: 500)
# Surveys written by a resolution not yet committed and sent: conversation id → survey id.
# Filled by on_resolved, emptied by after_resolved in the same call of actions.change_status.
_fresh: dict[int, int] = {}


class SurveyLinkError(Exception):
    """A survey link that is not one of ours (forged, cut) or too old: ``code`` for the page."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


class SurveyLinks:
    """Signed links to ``/survey/{token}``: the survey's id, signed with the app's secret."""

    def __init__(self, secret: str, valid_days: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
        self._max_age = valid_days * 86400

    def token(self, survey_id: int) -> str:
        return self._serializer.dumps({"s": survey_id})

    def read(self, token: str) -> int:
        """The survey id a token names; raises SurveyLinkError when forged or expired."""
        try:
            data = self._serializer.loads(token[:500], max_age=self._max_age)
        except SignatureExpired as exc:
            raise SurveyLinkError("visitor.survey.expired", 410) from exc
        except BadSignature as exc:
            raise SurveyLinkError("visitor.survey.bad_link", 404) from exc
        survey_id = data.get("s") if isinstance(data, dict) else None
        if not isinstance(survey_id, int) or isinstance(survey_id, bool):
            raise SurveyLinkError("visitor.survey.bad_link", 404)
        return survey_id


def links(services: Services) -> SurveyLinks:
    settings = services.settings
    return SurveyLinks(settings.secret_key.get_secret_value(), settings.survey_valid_days)


def link(services: Services, survey_id: int, language: str) -> str:
    """The page a visitor answers on, in their language."""
    token = links(services).token(survey_id)
    return f"{services.settings.base_url}/survey/{token}?lang={language}"


def visitor_language(services: Services, contact: Contact | None) -> str:
    """The language stored with the visitor (Accept-Language, Content-Language, X's lang)."""
    spoken = (contact.language if contact else "").split("-")[0].lower()
    return spoken if spoken in VISITOR_LANGUAGES else services.settings.default_language


# ---- asked once, when resolved ------------------------------------------------------------


async def _deserves(services: Services, session: AsyncSession, conversation: Conversation) -> bool:
    """Neither spam nor erased, answered by a person, and not asked within the last days."""
    if conversation.spam or conversation.id is None or conversation.thread_key.startswith(ERASED):
        return False
    erased = await session.exec(
        select(Activity.id).where(
            Activity.conversation_id == conversation.id, Activity.kind == "erased"
        )
    )
    if erased.first() is not None:
        return False
    since = services.clock.now() - timedelta(days=services.settings.survey_valid_days)
    recent = await session.exec(
        select(Survey.id).where(
            Survey.conversation_id == conversation.id, col(Survey.sent_at) > since
        )
    )
    return recent.first() is None


async def _last_adviser(session: AsyncSession, conversation: Conversation) -> int | None:
    """Who answered last (a person's reply, never an automatic one); None: nobody did."""
    found = await session.exec(
        select(Message.id, Message.author_user_id)
        .where(
            Message.conversation_id == conversation.id,
            Message.direction == Direction.OUT,
            Message.author_kind == AuthorKind.ADVISER,
        )
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(1)
    )
    row = found.first()
    if row is None:
        return None
    return row[1] or conversation.assignee_id or 0  # an author since deleted: still answered


async def on_resolved(
    services: Services, session: AsyncSession, conversation: Conversation, user: User
) -> None:
    """In the transaction that resolves ``conversation`` (nothing sent yet)."""
    if not await _deserves(services, session, conversation):
        return
    adviser = await _last_adviser(session, conversation)
    if adviser is None:
        return
    contact = await session.get(Contact, conversation.contact_id)
    now = services.clock.now()
    survey = Survey(
        destination_id=conversation.destination_id,
        conversation_id=conversation.id or 0,
        account_id=conversation.account_id,
        office_id=conversation.office_id,
        adviser_id=adviser or None,
        channel=conversation.channel,
        via="",  # set once it has gone out (app.survey_send)
        language=visitor_language(services, contact),
        sent_at=now,
        expires_at=now + timedelta(days=services.settings.survey_valid_days),
    )
    session.add(survey)
    await session.flush()
    assert survey.id is not None and conversation.id is not None
    _fresh[conversation.id] = survey.id


async def after_resolved(services: Services, conversation: Conversation) -> None:
    """Once the resolution is stored and published: the survey goes out (widget, e-mail, X)."""
    from app import survey_send  # it imports this module

    survey_id = _fresh.pop(conversation.id or 0, None)
    if survey_id is None:
        return
    try:
        await survey_send.send(services, survey_id)
    except (RedisError, OSError):
        # The resolution is stored: a question that could not go out now is not worth an
        # error to the adviser (a chat visitor still gets it in ``hello`` once reconnected).
        log.warning("survey %s of conversation %s not sent", survey_id, conversation.id)


# ---- the widget ---------------------------------------------------------------------------


def frame(survey: Survey) -> dict[str, Any]:
    """What the widget needs to ask: the survey is pending until ``expires_at``."""
    return {"id": survey.id, "expires_at": survey.expires_at.isoformat()}


async def pending_for_chat(
    services: Services, session: AsyncSession, conversation: Conversation | None
) -> Survey | None:
    """The chat visitor's survey still waiting for an answer, if any."""
    if conversation is None:
        return None
    found = await session.exec(
        select(Survey)
        .where(
            Survey.conversation_id == conversation.id,
            Survey.via == "widget",
            col(Survey.answered_at).is_(None),
            col(Survey.expires_at) > services.clock.now(),
        )
        .order_by(col(Survey.id).desc())
        .limit(1)
    )
    return found.first()


async def hello_fields(
    services: Services, session: AsyncSession, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    """This part's fields of the widget's ``hello`` frame: ``survey`` while one is pending."""
    conversation = await visitor_queue.conversation_of(session, account, visitor_id)
    survey = await pending_for_chat(services, session, conversation)
    return {"survey": frame(survey)} if survey is not None else {}


# ---- answered once --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    rating: int
    comment: str


def check_answer(rating: object, comment: object) -> Answer:
    """A visitor's answer, checked: a whole rating 1–5 and a comment of at most 1,000 chars."""
    if isinstance(rating, str) and rating.strip().isdigit():
        rating = int(rating.strip())
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise actions.ActionError("widget.error.survey_rating", 422)
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise actions.ActionError("widget.error.survey_comment", 422)
    text = comment.replace("\r\n", "\n").replace("\x00", "").strip()
    if len(text) > MAX_COMMENT:
        raise actions.ActionError("widget.error.survey_comment", 422)
    return Answer(rating, text)


def thread_detail(answer: Answer) -> str:
    """The activity line's detail: the rating, a line break, the comment (cut to fit the
    line; the dashboard shows it whole)."""
    comment = answer.comment
    if len(comment) > THREAD_COMMENT:
        comment = comment[: THREAD_COMMENT - 1] + "…"
    return f"{answer.rating}\n{comment}"


async def do_answer(services: Services, survey_id: int, answer: Answer) -> Survey:
    """Records the answer once (a second one, or one after expiry, changes nothing: 409/410),
    adds it to the thread and publishes it."""
    now = services.clock.now()
    async with services.db.session() as session:
        survey = await session.get(Survey, survey_id)
        if survey is None:
            raise actions.ActionError("widget.error.survey_none", 404)
        if survey.answered_at is not None:
            raise actions.ActionError("widget.error.survey_answered", 409)
        if survey.expires_at <= now:
            raise actions.ActionError("widget.error.survey_expired", 410)
        # Only one of two answers sent at once is kept: the row changes only while unanswered.
        result = await session.exec(
            update(Survey)
            .where(col(Survey.id) == survey_id, col(Survey.answered_at).is_(None))
            .values(rating=answer.rating, comment=answer.comment, answered_at=now)
        )
        if result.rowcount != 1:
            raise actions.ActionError("widget.error.survey_answered", 409)
        conversation = await session.get(Conversation, survey.conversation_id)
        account = await session.get(Account, survey.account_id)
        assert conversation is not None and account is not None
        detail = thread_detail(answer)
        line = activity.add(session, survey.conversation_id, "survey", now, detail=detail)
        await session.commit()
        await session.refresh(survey)
    await activity.publish(services, conversation, account, [line])
    if survey.via == "widget":
        # Stored: a widget that reconnects later learns the question is gone.
        await services.hub.publish(
            account.destination_id,
            VisitorFrame(
                **repository.audience(conversation, account),
                frame={"type": "survey.answered", "id": survey.id},
            ),
        )
    return survey


async def survey_for_link(services: Services, token: str) -> Survey:
    """The survey a link names, still open; SurveyLinkError otherwise."""
    survey_id = links(services).read(token)
    async with services.db.session() as session:
        survey = await session.get(Survey, survey_id)
    if survey is None or survey.via not in ("email", "x"):
        raise SurveyLinkError("visitor.survey.bad_link", 404)
    if survey.answered_at is not None:
        raise SurveyLinkError("visitor.survey.answered", 409)
    if survey.expires_at <= services.clock.now():
        raise SurveyLinkError("visitor.survey.expired", 410)
    return survey
