"""HTTP routes of app.labels: the destination's labels, and putting them on conversations."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StrictInt

from app import labels, repository
from app.deps import CsrfChecked, CurrentUser, RowId, ServicesDep
from app.events import ConversationOut
from app.models import Label
from app.moderation import may_manage

router = APIRouter(prefix="/api", tags=["labels"])


class LabelPublic(BaseModel):
    id: int
    name: str
    color: str  # #rrggbb
    conversations: int  # how many of the conversations the caller may see carry it


class LabelList(BaseModel):
    labels: list[LabelPublic]
    palette: list[str]  # the colours the "Manage labels" dialog offers
    may_manage: bool


class LabelIn(BaseModel):
    # Any JSON value is taken and checked by app.labels, which refuses it in the reader's
    # language (an empty, too long or taken name; a colour other than #rrggbb).
    name: object = Field(default=None)
    color: object = Field(default=labels.PALETTE[-1])


class LabelPatch(BaseModel):
    name: object = None
    color: object = None


class LabelBulkIn(BaseModel):
    ids: list[StrictInt] = Field(max_length=10_000)  # over 200: refused with a readable reason
    action: Literal["add", "remove"] = "add"


class LabelBulkOut(BaseModel):
    done: list[int]
    skipped: int


def _public(label: Label, conversations: int = 0) -> LabelPublic:
    assert label.id is not None
    return LabelPublic(id=label.id, name=label.name, color=label.color, conversations=conversations)


@router.get("/labels")
async def list_labels(user: CurrentUser, services: ServicesDep) -> LabelList:
    """The destination's labels by name, each with how many conversations the caller may see
    carry it, and whether the caller may manage them."""
    async with services.db.session() as session:
        found = await labels.labels_with_usage(session, user)
    return LabelList(
        labels=[_public(label, n) for label, n in found],
        palette=list(labels.PALETTE),
        may_manage=may_manage(user),
    )


@router.post("/labels", dependencies=[CsrfChecked], status_code=201)
async def post_label(body: LabelIn, user: CurrentUser, services: ServicesDep) -> LabelPublic:
    """Creates a label (managers): 422 for an empty, too long or taken name (compared folded:
    "Vélo" and "velo" are one) or a colour other than ``#rrggbb``."""
    return _public(await labels.create(services, user, body.name, body.color))


@router.patch("/labels/{label_id}", dependencies=[CsrfChecked])
async def patch_label(
    label_id: RowId, body: LabelPatch, user: CurrentUser, services: ServicesDep
) -> LabelPublic:
    """Renames and/or recolours a label (managers); absent fields stay as they are."""
    fields = body.model_fields_set
    label = await labels.update(
        services,
        user,
        label_id,
        name=body.name if "name" in fields else labels.UNSET,
        color=body.color if "color" in fields else labels.UNSET,
    )
    return _public(label)


@router.delete("/labels/{label_id}", dependencies=[CsrfChecked], status_code=204)
async def delete_label(label_id: RowId, user: CurrentUser, services: ServicesDep) -> Response:
    """Deletes a label (managers): it is taken off every conversation carrying it."""
    await labels.remove_label(services, user, label_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/labels/{label_id}", dependencies=[CsrfChecked])
async def put_on(
    conversation_id: RowId, label_id: RowId, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Puts a label on a conversation the caller may see (again: nothing changes); 404 for a
    conversation they may not see or a label of another destination."""
    conversation, _ = await labels.set_label(services, user, conversation_id, label_id, True)
    async with services.db.session() as session:
        return await repository.live_view(services, session, conversation)


@router.delete("/conversations/{conversation_id}/labels/{label_id}", dependencies=[CsrfChecked])
async def take_off(
    conversation_id: RowId, label_id: RowId, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Takes a label off a conversation (already off: nothing changes)."""
    conversation, _ = await labels.set_label(services, user, conversation_id, label_id, False)
    async with services.db.session() as session:
        return await repository.live_view(services, session, conversation)


@router.post("/labels/{label_id}/bulk", dependencies=[CsrfChecked])
async def post_bulk(
    label_id: RowId, body: LabelBulkIn, user: CurrentUser, services: ServicesDep
) -> LabelBulkOut:
    """Puts a label on (``add``) or takes it off (``remove``) up to 200 conversations; those
    the caller may not see, erased ones and those already so are skipped, untouched."""
    result = await labels.set_label_many(services, user, body.ids, label_id, body.action == "add")
    return LabelBulkOut(done=result.done, skipped=result.skipped)
