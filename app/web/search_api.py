"""HTTP routes of app.search: ``GET /api/search``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import pagination, repository, search, search_results, textnorm
from app.actions import ActionError
from app.deps import MAX_ROW_ID, CurrentUser, ServicesDep
from app.events import ConversationOut
from app.models import Label, Role

router = APIRouter(prefix="/api")

SEARCH_LIMIT = 50  # results per page by default (the list's pages are 50 too)
RowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]


class Segment(BaseModel):
    text: str
    mark: bool  # a part matching the query: the browser wraps it in <mark>, as text


class Snippet(BaseModel):
    field: Literal["message", "note", "subject", "name", "email", "handle"]
    message_id: int | None  # the message or note to open the conversation at
    at: datetime | None
    segments: list[Segment]


class SearchHit(ConversationOut):
    matches: list[Snippet]


@router.get("/search")
async def search_conversations(
    request: Request,
    response: Response,
    user: CurrentUser,
    services: ServicesDep,
    q: Annotated[str, Query(description="words; the last one as a prefix")] = "",
    channel: Annotated[Literal["webchat", "email", "twitter"] | None, Query()] = None,
    account_id: RowIdQuery = None,
    office_id: RowIdQuery = None,
    status: Annotated[Literal["open", "resolved", "spam"] | None, Query()] = None,
    label_id: RowIdQuery = None,
    label: Annotated[
        str | None, Query(max_length=64, description="a label's id or name (any case, accents)")
    ] = None,
    assignee_id: RowIdQuery = None,
    since: Annotated[date | None, Query(alias="from")] = None,
    until: Annotated[date | None, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[str | None, Query(description="1 to 200; 50 by default")] = None,
) -> list[SearchHit]:
    """Conversations the user may see whose messages, notes, subject, or visitor's name, e-mail
    address or X handle hold every word of ``q`` (any case, any accents), newest matching first
    (the newest matching message; a subject's or visitor's match: the newest message), each
    with up to three matching excerpts. ``from``/``to`` are days in the destination's time zone.
    ``label`` names a label by id or name (``label_id`` by id). Paged like the lists
    (``X-Next-Cursor``)."""
    try:
        words = search.words(q)
    except search.QueryError as exc:
        raise ActionError(exc.code) from exc
    try:
        size = pagination.parse_limit(limit) if limit else SEARCH_LIMIT
    except pagination.BadLimitError as exc:
        raise ActionError("error.bad_limit") from exc
    try:
        start = search_results.decode_cursor(cursor)
    except pagination.BadCursorError as exc:
        raise ActionError("error.bad_cursor") from exc
    if since and until and until < since:
        raise ActionError("error.search_bad_period")
    if status == "spam" and user.role == Role.ADVISER:
        raise ActionError("error.search_spam_managers", 403)
    if label is not None and label_id is None:
        async with services.db.session() as session:
            label_id = await _label_named(session, user.destination_id, label)
    if not words:  # only punctuation or spaces: nothing to look for
        return []
    filters = search_results.Filters(
        channel, account_id, office_id, status, label_id, assignee_id, since, until
    )
    async with services.db.session() as session:
        ranked = await search_results.ranked(session, user, words, filters, size, start)
        shown = [c for c, _ in ranked[:size]]
        live = await repository.live_visitors(services, shown)
        views = await repository.conversations_out(session, shown, live)
        found = await search_results.snippets(session, words, shown)
    if len(ranked) > size:
        last, key = ranked[size - 1]
        token = search_results.encode_cursor(key, last.id or 0)
        response.headers["X-Next-Cursor"] = token
        following = request.url.include_query_params(cursor=token)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return [
        SearchHit(**view.model_dump(), matches=[Snippet(**s) for s in found[view.id]])
        for view in views
    ]


async def _label_named(session: AsyncSession, destination_id: int, label: str) -> int:
    """The id of the destination's label ``label`` names (its id, or its name in any case and
    accents); 404 for none."""
    wanted = select(Label.id).where(Label.destination_id == destination_id)
    if label.strip().isdecimal() and len(label.strip()) <= 18:
        wanted = wanted.where(Label.id == int(label.strip()))
    else:
        wanted = wanted.where(Label.key == textnorm.key(label))
    found = (await session.exec(wanted)).first()
    if found is None:
        raise ActionError("labels.error.not_found", 404)
    return found
