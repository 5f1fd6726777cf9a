"""Visitor profiles (app.contacts): read one, correct its name, e-mail or language, merge two,
undo a merge. Any contact id of a profile names it; a profile the user may see none of the
conversations of answers 404, another destination's included. Changes need the CSRF header.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from app import audit, contact_actions, contact_suggestions, contacts
from app.contacts import ProfileOut, SuggestionOut
from app.deps import MAX_ROW_ID, CsrfChecked, CurrentUser, RowId, ServicesDep, client_ip

router = APIRouter(prefix="/api/contacts", tags=["contacts"])
MAX_ID = MAX_ROW_ID  # what an id column holds on every engine


class CorrectionIn(BaseModel):
    """The fields to correct (at least one); unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr | None = Field(default=None, max_length=1000)
    email: StrictStr | None = Field(default=None, max_length=1000)
    language: StrictStr | None = Field(default=None, max_length=100)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    other_id: StrictInt = Field(ge=-MAX_ID, le=MAX_ID)


class UnmergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: StrictInt = Field(ge=-MAX_ID, le=MAX_ID)


async def _read(
    services: ServicesDep, user: CurrentUser, contact_id: int, ip: str, detail: str = ""
) -> ProfileOut:
    """The profile as ``user`` may see it; a manager's read is recorded in the audit log before
    it leaves (503 when it cannot be)."""
    async with services.db.session() as session:
        profile = await contacts.read_profile(session, user, contact_id)
        members = await contacts.check_profile(session, user, contact_id)
        profile.suggestions = await contact_suggestions.suggestions(session, user, members)
    await audit.record(services, user, "profile", ip=ip, contact_id=contact_id, detail=detail)
    return profile


@router.get("/{contact_id}")
async def get_profile(
    contact_id: RowId, user: CurrentUser, services: ServicesDep, request: Request
) -> ProfileOut:
    """The visitor's profile: their identities and fields, the conversations the user may see
    (the others counted), its history of corrections and merges, and merge suggestions. A
    manager's read is recorded in the audit log first (503 when it cannot be)."""
    return await _read(services, user, contact_id, client_ip(request))


@router.get("/{contact_id}/suggestions")
async def get_suggestions(
    contact_id: RowId, user: CurrentUser, services: ServicesDep
) -> list[SuggestionOut]:
    """Other profiles that are probably this visitor (offered, never merged by themselves)."""
    async with services.db.session() as session:
        members = await contacts.check_profile(session, user, contact_id)
        return await contact_suggestions.suggestions(session, user, members)


@router.patch("/{contact_id}", dependencies=[CsrfChecked])
async def patch_profile(
    contact_id: RowId,
    body: CorrectionIn,
    user: CurrentUser,
    services: ServicesDep,
    request: Request,
) -> ProfileOut:
    """Corrects the visitor's name, e-mail or language; each change is recorded."""
    changes = {k: v for k, v in body.model_dump(exclude_none=True).items() if isinstance(v, str)}
    await contact_actions.correct(services, user, contact_id, changes)
    return await _read(services, user, contact_id, client_ip(request), "corrected")


@router.post("/{contact_id}/merge", dependencies=[CsrfChecked])
async def post_merge(
    contact_id: RowId, body: MergeIn, user: CurrentUser, services: ServicesDep, request: Request
) -> ProfileOut:
    """Merges the profile of ``other_id`` into this one (recorded, reversible)."""
    await contact_actions.merge(services, user, contact_id, body.other_id)
    return await _read(services, user, contact_id, client_ip(request), "merged")


@router.post("/{contact_id}/unmerge", dependencies=[CsrfChecked])
async def post_unmerge(
    contact_id: RowId, body: UnmergeIn, user: CurrentUser, services: ServicesDep, request: Request
) -> ProfileOut:
    """Undoes one merge of this profile (``event_id``: the merge's event)."""
    await contact_actions.unmerge(services, user, contact_id, body.event_id)
    return await _read(services, user, contact_id, client_ip(request), "unmerged")
