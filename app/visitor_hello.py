"""What the widget's ``hello`` frame carries besides the conversation: each part of the
visitor's side adds its own key (``look``, ``offline``, ``survey``, ``data``, ``files``)."""

from __future__ import annotations

from typing import Any

from app import files, offline, surveys, visitor_data, widget_look
from app.models import Account
from app.services import Services

PARTS = (
    widget_look.hello_fields,
    offline.hello_fields,
    surveys.hello_fields,
    visitor_data.hello_fields,
    files.hello_fields,
)


async def extras(
    services: Services, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    async with services.db.session() as session:
        for part in PARTS:
            fields.update(await part(services, session, account, visitor_id, lang))
    return fields
