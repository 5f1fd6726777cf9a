"""HTTP routes of the answer library (app.answers): the JSON API the picker and the library
page call, and the ``/answers`` page itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select

from app import answer_actions
from app.answer_actions import AnswerOut, AnswerWrite, Inserted
from app.deps import MAX_ROW_ID, CsrfChecked, CurrentUser, RowId, ServicesDep, optional_user
from app.models import AnswerStatus, Destination, Office
from app.web.render import render

router = APIRouter(tags=["answers"])

OptionalId = Annotated[int | None, Query(ge=0, le=MAX_ROW_ID)]


class AnswerIn(BaseModel):
    title: str = Field(max_length=10_000)
    shortcut: str = Field(max_length=1_000)
    office_id: int | None = None  # None: the whole destination
    tags: list[str] = Field(default=[], max_length=100)
    texts: dict[str, str] = Field(max_length=100)  # language code → text
    status: AnswerStatus | None = None  # "proposed" to propose even when one may approve
    source_message_id: int | None = None  # "Save as answer": the reply it was made from


class AnswerPatch(BaseModel):
    title: str | None = Field(default=None, max_length=10_000)
    shortcut: str | None = Field(default=None, max_length=1_000)
    office_id: int | None = None
    tags: list[str] | None = Field(default=None, max_length=100)
    texts: dict[str, str] | None = Field(default=None, max_length=100)  # replaces them all
    status: AnswerStatus | None = None


class UseIn(BaseModel):
    conversation_id: int = Field(ge=-MAX_ROW_ID, le=MAX_ROW_ID)
    language: str = Field(default="", max_length=35)  # "" : the visitor's


@router.get("/api/answers")
async def list_answers(
    user: CurrentUser,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=200)] = "",
    lang: Annotated[str, Query(max_length=35)] = "",
    office_id: OptionalId = None,
    status: AnswerStatus | None = None,
    conversation_id: OptionalId = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AnswerOut]:
    """The answers the caller may read, best first: the conversation's (or ``office_id``'s)
    office first, then destination-wide ones; those with a text in ``lang`` (default: the
    conversation's visitor's) first; matches on shortcut, then title, tags, text; accents and
    case ignored."""
    return await answer_actions.search(
        services,
        user,
        query=q,
        language=lang,
        office_id=office_id,
        status=status,
        conversation_id=conversation_id,
        limit=limit,
    )


@router.get("/api/answers/{answer_id}")
async def get_answer(answer_id: RowId, user: CurrentUser, services: ServicesDep) -> AnswerOut:
    """One answer with every text."""
    return await answer_actions.read(services, user, answer_id)


@router.post("/api/answers", dependencies=[CsrfChecked], status_code=201)
async def post_answer(body: AnswerIn, user: CurrentUser, services: ServicesDep) -> AnswerOut:
    """Creates an answer: approved when the caller may approve it for its scope (a destination
    manager; an office manager for their office), else proposed."""
    return await answer_actions.create(services, user, AnswerWrite(**body.model_dump()))


@router.patch("/api/answers/{answer_id}", dependencies=[CsrfChecked])
async def patch_answer(
    answer_id: RowId, body: AnswerPatch, user: CurrentUser, services: ServicesDep
) -> AnswerOut:
    """Edits an answer (only the fields given; ``texts`` replaces every text); ``status``
    ``approved`` approves a proposal (managers of its scope)."""
    write = AnswerWrite(**body.model_dump(exclude_unset=True))
    return await answer_actions.edit(services, user, answer_id, write)


@router.delete("/api/answers/{answer_id}", dependencies=[CsrfChecked], status_code=204)
async def delete_answer(answer_id: RowId, user: CurrentUser, services: ServicesDep) -> None:
    """Deletes an answer, or rejects a proposal."""
    await answer_actions.delete(services, user, answer_id)


@router.post("/api/answers/{answer_id}/use", dependencies=[CsrfChecked])
async def use_answer(
    answer_id: RowId, body: UseIn, user: CurrentUser, services: ServicesDep
) -> Inserted:
    """The answer filled for a conversation the caller may see, in its visitor's language (or
    ``language``), falling back to the destination's language, English, then any; counts a
    use."""
    return await answer_actions.use(services, user, answer_id, body.conversation_id, body.language)


@router.get("/answers", response_class=HTMLResponse, include_in_schema=False)
async def answers_page(
    request: Request,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=200)] = "",
    office_id: OptionalId = None,
) -> Response:
    """The library page: search, scope filter, languages, uses, proposals, the edit form."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    async with services.db.session() as session:
        destination = await session.get(Destination, user.destination_id)
        offices = (
            await session.exec(
                select(Office)
                .where(Office.destination_id == user.destination_id)
                .order_by(col(Office.name))
            )
        ).all()
    answers = await answer_actions.search(
        services, user, query=q, office_id=office_id if office_id is not None else None, limit=200
    )
    proposals = [a for a in answers if a.status == AnswerStatus.PROPOSED]
    approved = [a for a in answers if a.status == AnswerStatus.APPROVED]
    return render(
        request,
        "answers.html",
        user=user,
        answers=approved,
        proposals=proposals,
        offices=offices,
        office_names={o.id: o.name for o in offices},
        q=q,
        office_id=office_id,
        languages=("fr", "en", "de", "nl", "es", "it"),
        timezone=destination.timezone if destination else "Europe/Paris",
    )
