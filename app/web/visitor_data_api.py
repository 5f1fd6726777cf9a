"""The visitor's data in their hands (app.visitor_data_actions): ``/api/visitor/data`` — a copy of
their conversation, its erasure, "do not keep it once answered" — and, through the pages'
router included below, the privacy notice and the audit log (app.web.visitor_data_pages)."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, StrictBool

from app import visitor_data_actions
from app.web import visitor_data_pages
from app.web.visitor_api import Visitor

router = APIRouter()
router.include_router(visitor_data_pages.router)

NO_STORE = {"cache-control": "no-store"}


class ForgetIn(BaseModel):
    """``forget``: erase the conversation a while after it is answered (true) or keep it."""

    model_config = ConfigDict(extra="forbid")
    forget: StrictBool


@router.get("/api/visitor/data", tags=["visitor"])
async def get_data(visitor: Visitor, format: Literal["json", "text"] = Query("json")) -> Response:
    """The visitor's own conversation as JSON (UTC ISO 8601 times) or readable text (their
    language, the destination's local time), as a download. 404 before their first message."""
    conversation_id, data = await visitor_data_actions.export(
        visitor.services, visitor.account, visitor.visitor_id, visitor.ip, format, visitor.lang
    )
    if isinstance(data, str):
        body, media, ext = data, "text/plain; charset=utf-8", "txt"
    else:
        body, media, ext = (
            json.dumps(data, ensure_ascii=False, indent=2),
            "application/json",
            "json",
        )
    disposition = f'attachment; filename="conversation-{conversation_id}.{ext}"'
    return Response(
        body,
        media_type=media,
        headers={
            **NO_STORE,
            "content-disposition": disposition,
            "x-content-type-options": "nosniff",
        },
    )


@router.delete("/api/visitor/data", tags=["visitor"])
async def delete_data(visitor: Visitor) -> dict[str, bool]:
    """Erases the visitor's own conversation: its messages and files, and who they are once
    nothing else of theirs is left; its skeleton stays for the figures. 404 if there is none."""
    return await visitor_data_actions.erase(
        visitor.services, visitor.account, visitor.visitor_id, visitor.visitor_key, visitor.ip
    )


@router.put("/api/visitor/data/forget", tags=["visitor"])
async def put_forget(visitor: Visitor, body: ForgetIn) -> dict[str, object]:
    """ "Do not keep this conversation after it is answered": on or off."""
    return await visitor_data_actions.set_forget(
        visitor.services, visitor.account, visitor.visitor_id, body.forget
    )
