"""Never silent (app.offline): a visitor leaving an address for replies by e-mail, and the page
an e-mailed reply links back to.

- ``POST /api/visitor/contact`` and ``DELETE /api/visitor/contact/email``: the visitor's token
  (bearer), their own conversation only.
- ``GET /chat/{link}``: the signed link of an e-mailed reply; a page of the helpdesk with the
  widget, reopened in the visitor's conversation (``/chat/{link}/restore.js`` gives the widget
  its visitor token back before it starts).
"""

from __future__ import annotations

import html
import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from app import offline_contact, repository
from app.deps import get_services, visitor_language
from app.i18n import VISITOR_LANGUAGES, gettext
from app.models import Account
from app.offline_link import ChatLink, read
from app.services import Services
from app.web.visitor_api import Visitor

router = APIRouter()


class ContactIn(BaseModel):
    """What the visitor leaves; both optional (a pre-chat form may send a name only)."""

    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=400)


@router.post("/api/visitor/contact")
async def leave_contact(body: ContactIn, visitor: Visitor) -> dict[str, str | bool]:
    """Leaves an address (replies are e-mailed to it once the visitor has gone) and a name:
    409 before the visitor's first message, 422 with the reason when the address is not one."""
    left = await offline_contact.leave(
        visitor.services, visitor.account, visitor.visitor_id, body.email, body.name
    )
    return left.out()


@router.delete("/api/visitor/contact/email")
async def remove_contact_email(visitor: Visitor) -> dict[str, str | bool]:
    """Takes the reply address back: replies are no longer e-mailed."""
    left = await offline_contact.remove(visitor.services, visitor.account, visitor.visitor_id)
    return left.out()


async def _chat_account(services: Services, link: ChatLink | None) -> Account | None:
    if link is None:
        return None
    async with services.db.session() as session:
        account = await repository.account_by_key(session, link.account)
    if account is None or account.channel != "webchat" or not account.active:
        return None
    return account


_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>{title}</title>
<link rel="stylesheet" href="/static/css/app.css">
</head>
<body>
<main class="card" data-testid="chat-page">
<h1>{title}</h1>
<p>{lead}</p>
</main>
{scripts}
</body>
</html>
"""


@router.get("/chat/{link}", response_class=HTMLResponse)
async def chat_page(link: str, request: Request) -> HTMLResponse:
    """The page an e-mailed reply links to: the widget, open on the visitor's conversation; a
    forged or expired link gets a page saying so (404), and no widget."""
    services = get_services(request)
    chat = read(services.settings, link)
    account = await _chat_account(services, chat)
    lang = chat.lang if chat is not None and chat.lang in VISITOR_LANGUAGES else ""
    lang = lang or visitor_language(request)
    if chat is None or account is None:
        page = _PAGE.format(
            lang=lang,
            title=html.escape(gettext(lang, "visitor.chat.invalid_title")),
            lead=html.escape(gettext(lang, "visitor.chat.invalid")),
            scripts="",
        )
        return HTMLResponse(page, status_code=404, headers={"cache-control": "no-store"})
    quoted = html.escape(link, quote=True)
    scripts = (
        f'<script src="/chat/{quoted}/restore.js"></script>\n'
        f'<script src="/static/widget.js" data-account="{html.escape(account.key, quote=True)}"'
        f' data-lang="{lang}"></script>'
    )
    page = _PAGE.format(
        lang=lang,
        title=html.escape(gettext(lang, "visitor.chat.title", name=account.name)),
        lead=html.escape(gettext(lang, "visitor.chat.lead")),
        scripts=scripts,
    )
    return HTMLResponse(page, headers={"cache-control": "no-store"})


@router.get("/chat/{link}/restore.js")
async def restore_script(link: str, request: Request) -> Response:
    """Gives the widget of the page above the visitor's token back (a fresh one, same visitor),
    kept where the widget keeps it on this origin, with the panel open."""
    services = get_services(request)
    chat = read(services.settings, link)
    account = await _chat_account(services, chat)
    headers = {"cache-control": "no-store"}
    if chat is None or account is None:
        return Response("", status_code=404, media_type="text/javascript", headers=headers)
    token, _ = services.visitor_tokens.issue(account.key, chat.visitor_id)
    # The widget's own key: "concierge:<its origin>:<account>", its origin being this page's.
    key = json.dumps(f":{account.key}")
    saved = json.dumps(json.dumps({"token": token, "open": True}))
    script = (
        f'try {{ localStorage.setItem("concierge:" + location.origin + {key}, {saved}); }}'
        " catch (e) {}\n"
    )
    return Response(script, media_type="text/javascript; charset=utf-8", headers=headers)
