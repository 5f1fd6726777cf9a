"""Accounts and their connectors' status, for managers: connected, last mail, last error."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import col, select

from app.channels import read_status
from app.deps import ServicesDep, optional_user, translator
from app.i18n import Translator, catalog
from app.models import Account, Destination, Office, Quarantine, Role
from app.web.render import render

router = APIRouter()


def say_status(t: Translator, status: dict[str, Any]) -> tuple[str, str]:
    """A connector's published status (codes and parameters) as the manager reads it.

    A status written before statuses carried codes shows its English ``detail`` as it is.
    """
    known = catalog(t.language)
    state = str(status.get("state", ""))
    state_text = t(f"accounts.state.{state}") if f"accounts.state.{state}" in known else state
    notes = status.get("notes") or []
    if not notes:
        return state_text, str(status.get("detail", ""))
    parts: list[str] = []
    for note in notes:
        key = f"connector.{note.get('code', '')}"
        params = {name: str(value) for name, value in (note.get("params") or {}).items()}
        text = t(key, **params) if key in known else t("connector.other")
        scope = note.get("scope") or ""
        if scope:
            scope_key = f"connector.scope.{scope}"
            text = f"{t(scope_key) if scope_key in known else scope} — {text}"
        parts.append(text)
    return state_text, " ; ".join(parts) if t.language == "fr" else "; ".join(parts)


def say_counters(t: Translator, counters: dict[str, int]) -> str:
    known = catalog(t.language)
    separator = "\u00a0: " if t.language == "fr" else ": "
    return ", ".join(
        f"{t(f'accounts.counter.{name}') if f'accounts.counter.{name}' in known else name}"
        f"{separator}{value}"
        for name, value in counters.items()
    )


@router.get("/accounts", response_class=HTMLResponse)
async def accounts_page(request: Request, services: ServicesDep) -> Response:
    """Every account of the destination with its connector's status."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if user.role not in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER):
        return PlainTextResponse(translator(request, user)("error.managers_only"), status_code=403)
    async with services.db.session() as session:
        query = select(Account).where(Account.destination_id == user.destination_id)
        if user.role == Role.OFFICE_MANAGER:
            query = query.where(Account.office_id == user.office_id)
        accounts = (
            await session.exec(query.order_by(col(Account.office_id), col(Account.key)))
        ).all()
        offices = {o.id: o.name for o in (await session.exec(select(Office))).all()}
        quarantined = dict(
            (
                await session.exec(
                    select(Quarantine.account_key, func.count()).group_by(
                        col(Quarantine.account_key)
                    )
                )
            ).all()
        )
        destination = await session.get(Destination, user.destination_id)
    timezone = destination.timezone if destination else "Europe/Paris"
    t = translator(request, user)
    rows = []
    for account in accounts:
        status = await read_status(services, account) if account.channel != "webchat" else None
        state, detail = say_status(t, status) if status else ("", "")
        rows.append(
            {
                "account": account,
                "office": offices.get(account.office_id, ""),
                "status": status,
                "state": state,
                "detail": detail,
                "counters": say_counters(t, status.get("counters") or {}) if status else "",
                "quarantined": quarantined.get(account.key, 0),
            }
        )
    return render(request, "accounts.html", user=user, rows=rows, timezone=timezone)
