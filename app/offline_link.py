"""The link back to the chat in a reply e-mailed to a gone visitor: ``/chat/{signed}``.

The signed value names the widget (account key), the visitor and their language; it is valid
``offline_link_days``. The page it opens is on the helpdesk's own origin, so the widget there is
allowed whatever sites the widget is restricted to (:func:`own_origin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.settings import Settings

SALT = "concierge.offline-link"


@dataclass(frozen=True, slots=True)
class ChatLink:
    account: str
    visitor_id: str
    lang: str


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt=SALT)


def sign(settings: Settings, link: ChatLink) -> str:
    return _serializer(settings).dumps({"a": link.account, "v": link.visitor_id, "l": link.lang})


def url(settings: Settings, link: ChatLink) -> str:
    return f"{settings.base_url}/chat/{sign(settings, link)}"


def read(settings: Settings, value: str) -> ChatLink | None:
    """The link's content, or None when it is forged, damaged or expired."""
    if not value or len(value) > 1024:
        return None
    try:
        data = _serializer(settings).loads(value, max_age=settings.offline_link_days * 86400)
    except BadSignature:  # SignatureExpired included
        return None
    if not isinstance(data, dict):
        return None
    parts = (data.get("a"), data.get("v"), data.get("l"))
    if not all(isinstance(p, str) for p in parts):
        return None
    return ChatLink(str(parts[0]), str(parts[1]), str(parts[2]))


def own_origin(settings: Settings) -> str:
    """The helpdesk's own origin (``scheme://host[:port]``), where ``/chat/…`` pages live."""
    parts = urlsplit(settings.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def origin_allowed(settings: Settings, allowed_origins: str, origin: str) -> bool:
    """A widget restricted to some sites still works on the helpdesk's ``/chat/…`` page."""
    return (
        not allowed_origins or origin in allowed_origins.split() or origin == own_origin(settings)
    )
