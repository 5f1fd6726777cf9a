"""The privacy notice of a destination (``Destination.privacy``): the destination manager's own
text per visitor language, else a default one, shown on ``/privacy/{slug}``.

Texts are plain text — paragraphs separated by blank lines — and always rendered escaped, so a
manager's "<script>" reads as those characters. Each is capped at ``MAX_CHARS``.
"""

from __future__ import annotations

import json
import re

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import ActionError
from app.i18n import VISITOR_LANGUAGES
from app.models import Destination

MAX_CHARS = 10_000
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def texts(destination: Destination | None) -> dict[str, str]:
    """The manager's texts by language (languages without one are absent)."""
    if destination is None or not destination.privacy:
        return {}
    try:
        raw = json.loads(destination.privacy)
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        lang: text
        for lang, text in raw.items()
        if lang in VISITOR_LANGUAGES and isinstance(text, str) and text.strip()
    }


def paragraphs(text: str) -> list[str]:
    """A plain text's paragraphs (a line break inside one is kept: the page shows it)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [p.strip("\n") for p in _BLANK_LINE.split(text) if p.strip()]


def check(submitted: dict[str, str]) -> dict[str, str]:
    """The texts to store: known languages only, each within ``MAX_CHARS``, blank ones dropped
    (the default text then speaks for that language); 422 ``privacy.error.too_long``."""
    kept: dict[str, str] = {}
    for lang in VISITOR_LANGUAGES:
        text = submitted.get(lang, "").replace("\r\n", "\n").replace("\x00", "")
        if len(text) > MAX_CHARS:
            raise ActionError("privacy.error.too_long", 422)
        if text.strip():
            kept[lang] = text.strip()
    return kept


async def save(session: AsyncSession, destination: Destination, kept: dict[str, str]) -> None:
    destination.privacy = json.dumps(kept, ensure_ascii=False) if kept else ""
    session.add(destination)
    await session.commit()


async def by_slug(session: AsyncSession, slug: str) -> Destination | None:
    return (await session.exec(select(Destination).where(Destination.slug == slug[:64]))).first()


async def default(session: AsyncSession, destination_id: int | None) -> Destination | None:
    """The destination ``/privacy`` speaks for: the signed-in user's, else the first one."""
    if destination_id is not None:
        found = await session.get(Destination, destination_id)
        if found is not None:
            return found
    return (await session.exec(select(Destination).order_by(col(Destination.id)))).first()
