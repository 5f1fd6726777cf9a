"""HTTP routes of the keyword rules (app.rules): the managers' ``/rules`` page and its API.

Managers only (403 for advisers); a rule of another destination answers 404; every change needs
the CSRF header. Refusals are 422 with a translated ``detail`` (app.web.errors).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlmodel import col, select

from app import rule_trial, rules
from app.deps import (
    MAX_ROW_ID,
    CsrfChecked,
    CurrentUser,
    RowId,
    ServicesDep,
    optional_user,
    translator,
)
from app.models import Label, Office, Role, User
from app.web.render import render

router = APIRouter(tags=["rules"])

Ref = Annotated[int | None, Field(ge=1, le=MAX_ROW_ID)]
# Generous bounds: the readable refusals (too many, too long) come from app.rules.
Words = Annotated[list[Annotated[str, Field(max_length=10_000)]], Field(max_length=1000)]
Name = Annotated[str, Field(max_length=10_000)]


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    words: Words
    label_id: Ref = None
    office_id: Ref = None
    adviser_id: Ref = None
    priority: StrictBool = False


class RulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    words: Words | None = None
    label_id: Ref = None
    office_id: Ref = None
    adviser_id: Ref = None
    priority: StrictBool | None = None
    active: StrictBool | None = None
    position: Annotated[int | None, Field(ge=0, le=100_000)] = None


class TryIn(BaseModel):
    words: Words


@router.get("/api/rules")
async def list_rules(user: CurrentUser, services: ServicesDep) -> list[rules.RuleOut]:
    """The destination's rules in evaluation order. Managers only."""
    return await rules.listed(services, user)


@router.post("/api/rules", dependencies=[CsrfChecked], status_code=201)
async def post_rule(body: RuleIn, user: CurrentUser, services: ServicesDep) -> rules.RuleOut:
    """A new rule, switched off and placed last."""
    return await rules.create(services, user, body.model_dump())


@router.patch("/api/rules/{rule_id}", dependencies=[CsrfChecked])
async def patch_rule(
    rule_id: RowId, body: RulePatch, user: CurrentUser, services: ServicesDep
) -> rules.RuleOut:
    """Changes the fields sent (``null`` for a label, office or adviser takes it off);
    ``active`` switches it on or off; ``position`` moves it in the order (0 = first)."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for flag in ("name", "words", "priority", "active", "position"):
        if flag in changes and changes[flag] is None:
            del changes[flag]
    return await rules.update(services, user, rule_id, changes)


@router.delete("/api/rules/{rule_id}", dependencies=[CsrfChecked], status_code=204)
async def delete_rule(rule_id: RowId, user: CurrentUser, services: ServicesDep) -> None:
    """Deletes a rule (the labels it put stay on their conversations)."""
    await rules.delete(services, user, rule_id)


@router.post("/api/rules/try", dependencies=[CsrfChecked])
async def try_rule(body: TryIn, user: CurrentUser, services: ServicesDep) -> rule_trial.TrialOut:
    """How many of the last 30 days' conversations the caller may see these words would have
    matched, with a few recent examples. Writes nothing."""
    return await rule_trial.trial(services, user, body.words)


@router.get("/rules", response_class=HTMLResponse)
async def rules_page(request: Request, services: ServicesDep) -> Response:
    """The managers' page: the rules in order, their form, the trial."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if user.role not in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER):
        return PlainTextResponse(translator(request, user)("error.managers_only"), status_code=403)
    destination = user.destination_id
    async with services.db.session() as session:
        labels = (
            await session.exec(
                select(Label).where(Label.destination_id == destination).order_by(col(Label.name))
            )
        ).all()
        offices = (
            await session.exec(
                select(Office)
                .where(Office.destination_id == destination)
                .order_by(col(Office.name))
            )
        ).all()
        advisers = (
            await session.exec(
                select(User)
                .where(
                    User.destination_id == destination,
                    col(User.active).is_(True),
                    col(User.office_id).is_not(None),
                )
                .order_by(col(User.name))
            )
        ).all()
        office = await session.get(Office, user.office_id) if user.office_id else None
    data = {
        "labels": [{"id": x.id, "name": x.name, "color": x.color} for x in labels],
        "offices": [{"id": x.id, "name": x.name} for x in offices],
        "advisers": [{"id": x.id, "name": x.name, "office_id": x.office_id} for x in advisers],
        "role": user.role.value,
        "office_id": user.office_id,
        "max_words": rules.MAX_WORDS,
        "max_word": rules.MAX_WORD,
    }
    return render(request, "rules.html", user=user, office=office, data=data)
