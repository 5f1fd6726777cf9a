"""An adviser's reply over their inbox socket: ``{"type": "reply", "conversation_id", "text",
"client_id", "split_thread"}``, answered ``reply.stored`` (with the reply, as ``POST
/api/conversations/{id}/messages`` returns it) or ``reply.refused`` (``code``, ``status``,
``message`` in the adviser's language), both with the frame's ``client_id``.

The same reply as the HTTP call — the same checks, the same storing (app.actions.reply) —
without a request's cost around it: the headers, the session cookie and CSRF token, the
routing and the middleware of each request, on both ends. The user is read again from the
session for each reply, as a request would, so a reply is never written with rights the adviser
lost since the socket opened: in the reply's own unit of work (``actions.reply_in_session``), not
in one of its own before it. The socket's origin was checked when it opened (a page of another
site cannot open it); that check stands in for the CSRF token.

When the socket cannot answer (a service down, the socket gone), the inbox sends the reply
again over HTTP with the same ``client_id``: a reply already stored is answered as such, never
stored twice.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field, ValidationError

from app import actions, repository
from app.actions import ActionError
from app.i18n import Translator
from app.services import Services
from app.web.api import ReplyIn

log = logging.getLogger(__name__)


class ReplyFrame(ReplyIn):
    type: Literal["reply"]
    conversation_id: int = Field(gt=0, lt=2**63)
    client_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


def _refusal(client_id: str, code: str, status: int, message: str) -> dict[str, Any]:
    return {
        "type": "reply.refused",
        "client_id": client_id,
        "code": code,
        "status": status,
        "message": message,
    }


async def socket_reply(
    services: Services, session_id: str, t: Translator, frame: dict[str, Any]
) -> dict[str, Any]:
    """Stores the reply ``frame`` asks for; the frame that answers it."""
    raw_id = frame.get("client_id")
    client_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else ""
    try:
        asked = ReplyFrame.model_validate(frame)
    except ValidationError:
        return _refusal(client_id, "malformed", 422, t("ws.error.malformed"))
    try:
        signed = await services.sessions.get(session_id)
        if signed is None:  # the socket closes too (4401) once it hears of it
            return _refusal(client_id, "login", 401, t("error.login_required"))
        message, user = await actions.reply_in_session(
            services,
            signed,
            asked.conversation_id,
            asked.text,
            asked.client_id,
            asked.split_thread,
        )
    except ActionError as refused:
        text = t(refused.code, **refused.params)
        code = "login" if refused.status == 401 else refused.code
        return _refusal(client_id, code, refused.status, text)
    except Exception:  # the inbox sends it again over HTTP, which says what is wrong
        log.exception("reply %s over the socket failed", client_id)
        return _refusal(client_id, "unavailable", 503, t("error.service_unavailable"))
    out = repository.message_out(message, user.name)
    return {"type": "reply.stored", "client_id": client_id, "message": out.model_dump(mode="json")}
