"""Accounts and their connectors' status, for managers: connected, last mail, last error."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import col, select

from app.channels import read_status
from app.deps import ServicesDep, optional_user
from app.models import Account, Office, Quarantine, Role
from app.web.render import render

router = APIRouter()


@router.get("/accounts", response_class=HTMLResponse)
async def accounts_page(request: Request, services: ServicesDep) -> Response:
    """Every account of the destination with its connector's status."""
    user = await optional_user(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if user.role not in (Role.OFFICE_MANAGER, Role.DESTINATION_MANAGER):
        return PlainTextResponse("managers only", status_code=403)
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
    rows = []
    for account in accounts:
        status = await read_status(services, account) if account.channel != "webchat" else None
        rows.append(
            {
                "account": account,
                "office": offices.get(account.office_id, ""),
                "status": status,
                "quarantined": quarantined.get(account.key, 0),
            }
        )
    return render(request, "accounts.html", user=user, rows=rows)
