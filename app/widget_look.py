"""A chat widget's look and manners, per chat account: colour, position, title, greeting per
language, the office's logo, the sites allowed to embed it, and whether a name or an address is
asked before the first message (``Account.widget``, ``Account.allowed_origins``, ``WidgetLogo``).

``check_*`` validate what a manager sends (a :class:`LookError` names the reason, nothing is
stored); ``do_*`` write. The logo is never kept as sent: its bytes must be a PNG, JPEG or WebP
image (read by Pillow, whatever its name or declared type), and it is re-encoded to a small PNG.
"""

from __future__ import annotations

import io
import re
import warnings
from contextvars import ContextVar
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.i18n import VISITOR_LANGUAGES, gettext
from app.models import Account, WidgetLogo
from app.services import Services
from app.settings import Settings

DEFAULT_COLOR = "#0b6e77"  # the teal of the helpdesk
DARK_TEXT = "#1d2430"
WHITE = "#ffffff"
MAX_TITLE = 80
MAX_GREETING = 500
MAX_ORIGINS = 20
LOGO_SIDE = 128  # the stored logo fits in this square (shown at 32-40 px, sharp on 3x screens)
LOGO_MAX_PIXELS = 40_000_000  # width × height of an image sent; more is refused before decoding
LOGO_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
# Each language in its own name: a visitor looks for the one they read.
LANGUAGE_NAMES = {
    "fr": "Français",
    "en": "English",
    "de": "Deutsch",
    "nl": "Nederlands",
    "es": "Español",
    "it": "Italiano",
}
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
Ask = Literal["none", "name", "email", "both"]
Position = Literal["bottom-right", "bottom-left"]


class LookError(ValueError):
    """A refused setting: ``code`` is a translation key, ``params`` fill it."""

    def __init__(self, code: str, status: int = 422, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params


class WidgetLook(BaseModel):
    """What ``Account.widget`` holds (JSON); every field has its default, so "" = defaults."""

    model_config = ConfigDict(extra="ignore")

    color: str = DEFAULT_COLOR
    position: Position = "bottom-right"
    titles: dict[str, str] = Field(default_factory=dict)  # per visitor language; absent: catalog
    greetings: dict[str, str] = Field(default_factory=dict)
    ask: Ask = "none"  # asked before the first message
    ask_required: bool = False  # …and whether the visitor may skip it
    title_badge: bool = True  # "(2) Page title" while replies wait unread


def site_url(settings: Settings, request_base_url: str) -> str:
    """The helpdesk's address for a website's widget code: ``public_url`` when set, else the
    address the manager's browser reached it by."""
    return (settings.public_url or request_base_url).rstrip("/")


def embed_snippet(base_url: str, key: str) -> str:
    """The HTML an office pastes into its website to show the chat widget ``key`` (a slug:
    nothing in it needs escaping here; a page showing it escapes it as any text)."""
    src = f"{base_url.rstrip('/')}/static/widget.js"
    return f'<script src="{src}" data-account="{key}" async></script>'


def look_of(account: Account) -> WidgetLook:
    """The stored look, or the defaults (also for a value no longer readable)."""
    if not account.widget:
        return WidgetLook()
    try:
        return WidgetLook.model_validate_json(account.widget)
    except ValidationError:
        return WidgetLook()


# ---- checks -------------------------------------------------------------------------------
def check_color(value: str) -> str:
    """``#rrggbb``, lower-cased; anything else (names, ``#abc``, ``rgb()``) is refused."""
    value = value.strip()
    if not _COLOR.fullmatch(value):
        raise LookError("widget_look.error.color", value=value[:40])
    return value.lower()


def _luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio between two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color(color: str) -> str:
    """White or dark text, whichever reads better on ``color``."""
    return WHITE if contrast(color, WHITE) >= contrast(color, DARK_TEXT) else DARK_TEXT


def link_color(color: str) -> str:
    """The colour of links on the panel's white: the widget's own when it reads (4.5:1),
    else dark text (a pale yellow link on white would be invisible)."""
    return color if contrast(color, WHITE) >= 4.5 else DARK_TEXT


def check_origins(value: str) -> str:
    """Space- (or comma-, or line-) separated ``scheme://host[:port]``: http(s), a host, no
    path, query, fragment or credentials; normalised, duplicates dropped. "" = any site."""
    seen: list[str] = []
    for item in re.split(r"[\s,]+", value.strip()):
        if not item:
            continue
        origin = _origin(item)
        if origin is None:
            raise LookError("widget_look.error.origin", value=item[:100])
        if origin not in seen:
            seen.append(origin)
    if len(seen) > MAX_ORIGINS:
        raise LookError("widget_look.error.too_many_origins", max=MAX_ORIGINS)
    return " ".join(seen)


_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"[a-z0-9]([a-z0-9\-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]*[a-z0-9])?)*")
_IPV6 = re.compile(r"[0-9a-f:.]+")


def _origin(item: str) -> str | None:
    """An origin as a browser sends it in ``Origin``: lower-cased scheme and host, the host in
    its ASCII (punycode) form, the port only when it is not the scheme's default."""
    if len(item) > 300 or not item.isprintable():
        return None
    try:
        parts = urlsplit(item)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if (
        scheme not in _DEFAULT_PORTS
        or not host
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "?" in item
        or "#" in item
    ):
        return None
    if ":" in host:  # an IPv6 address keeps its brackets in an origin
        if not _IPV6.fullmatch(host):
            return None
        host = f"[{host}]"
    else:
        try:  # café.example, as the browser sends it: xn--caf-dma.example
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        if not _HOST.fullmatch(host):
            return None
    shown_port = "" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{host}{shown_port}"


def _texts(values: dict[str, Any], limit: int, kind: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    for lang, text in values.items():
        if lang not in VISITOR_LANGUAGES:
            raise LookError("widget_look.error.language", value=str(lang)[:20])
        if not isinstance(text, str):
            raise LookError(f"widget_look.error.{kind}_text", which=lang, max=limit)
        text = text.strip()
        if len(text) > limit or "\x00" in text or not _encodable(text):
            raise LookError(f"widget_look.error.{kind}_text", which=lang, max=limit)
        if text:
            texts[lang] = text
    return texts


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_look(data: dict[str, Any]) -> WidgetLook:
    """A look from what a manager sent (the page's form or the API's JSON), every field
    checked with its own reason; missing fields take the defaults."""
    known = {"color", "position", "titles", "greetings", "ask", "ask_required", "title_badge"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise LookError("widget_look.error.field", value=unknown[0][:40])
    color = data.get("color", DEFAULT_COLOR)
    position = data.get("position", "bottom-right")
    ask = data.get("ask", "none")
    if not isinstance(color, str):
        raise LookError("widget_look.error.color", value="")
    if position not in ("bottom-right", "bottom-left"):
        raise LookError("widget_look.error.position")
    if ask not in ("none", "name", "email", "both"):
        raise LookError("widget_look.error.ask")
    titles, greetings = data.get("titles", {}), data.get("greetings", {})
    for name, texts in (("titles", titles), ("greetings", greetings)):
        if not isinstance(texts, dict):
            raise LookError("widget_look.error.field", value=name)
    flags = {name: data.get(name, default) for name, default in _FLAGS.items()}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise LookError("widget_look.error.field", value="ask_required / title_badge")
    return WidgetLook(
        color=check_color(color),
        position=position,
        titles=_texts(titles, MAX_TITLE, "title"),
        greetings=_texts(greetings, MAX_GREETING, "greeting"),
        ask=ask,
        **flags,
    )


_FLAGS = {"ask_required": False, "title_badge": True}


def check_logo(data: bytes, max_bytes: int) -> bytes:
    """The logo as a small PNG, from bytes that must be a PNG, JPEG or WebP image; refused
    (with its reason) when empty, too big, of another kind (SVG, GIF, a program renamed .png),
    too many pixels, or damaged."""
    if not data:
        raise LookError("widget_look.error.logo_empty")
    if len(data) > max_bytes:
        raise LookError("widget_look.error.logo_too_big", 413, max=max_bytes // 1024)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                if kind not in LOGO_FORMATS:
                    raise LookError("widget_look.error.logo_type", 415)
                if probe.width * probe.height > LOGO_MAX_PIXELS:
                    raise LookError("widget_look.error.logo_pixels")
                probe.verify()  # a damaged or truncated file is refused here
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                image.load()
                shown = image.convert("RGBA")
    except LookError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LookError("widget_look.error.logo_type", 415) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise LookError("widget_look.error.logo_damaged") from exc
    shown.thumbnail((LOGO_SIDE, LOGO_SIDE))
    out = io.BytesIO()
    shown.save(out, format="PNG", optimize=True)
    return out.getvalue()


# ---- writes ------------------------------------------------------------------------------
async def do_save(
    session: AsyncSession, account: Account, look: WidgetLook, origins: str | None
) -> None:
    """Stores a checked look (and the allowed sites, when given) on the account."""
    account.widget = look.model_dump_json()
    if origins is not None:
        account.allowed_origins = origins
    session.add(account)
    await session.commit()


async def do_save_logo(
    services: Services, session: AsyncSession, account: Account, png: bytes
) -> None:
    row = await session.get(WidgetLogo, account.id)
    now = services.clock.now()
    if row is None:
        row = WidgetLogo(
            account_id=account.id or 0, content_type="image/png", data=png, updated_at=now
        )
    else:
        row.data, row.content_type, row.updated_at = png, "image/png", now
    session.add(row)
    await session.commit()


async def do_remove_logo(session: AsyncSession, account: Account) -> bool:
    row = await session.get(WidgetLogo, account.id)
    if row is None:
        return False
    await session.delete(row)
    await session.commit()
    return True


# ---- reads -------------------------------------------------------------------------------
def logo_path(account: Account, logo: WidgetLogo) -> str:
    """The logo's public address (a new one each time it changes, so it may be cached long)."""
    stamp = int(logo.updated_at.timestamp())
    return f"/api/visitor/widget/{quote(account.key, safe='')}/logo?v={stamp}"


def public(look: WidgetLook, lang: str, logo_url: str) -> dict[str, Any]:
    """What the widget needs, in the visitor's language (the catalog's texts where the manager
    wrote none in it)."""
    return {
        "color": look.color,
        "text_color": text_color(look.color),
        "link_color": link_color(look.color),
        "position": look.position,
        "title": look.titles.get(lang) or gettext(lang, "widget.title"),
        "greeting": look.greetings.get(lang) or gettext(lang, "widget.welcome"),
        "logo": logo_url,
        "ask": look.ask,
        "ask_required": look.ask_required,
        "title_badge": look.title_badge,
        "languages": [{"code": c, "name": LANGUAGE_NAMES[c]} for c in VISITOR_LANGUAGES],
    }


async def hello_fields(
    services: Services, session: AsyncSession, account: Account, visitor_id: str, lang: str
) -> dict[str, Any]:
    """This part's fields of the widget's ``hello`` frame (under the key ``look``)."""
    logo = await session.get(WidgetLogo, account.id)
    # A path: the widget puts its helpdesk's origin (its script's) before it.
    return {"look": public(look_of(account), lang, logo_path(account, logo) if logo else "")}


# The form a manager sent and that was refused, shown again as typed (set by the route for
# the page it renders; one request's context).
edited: ContextVar[dict[str, Any] | None] = ContextVar("widget_look_edited", default=None)


async def accounts_context(
    services: Services, session: AsyncSession, accounts: list[Account], lang: str, site: str
) -> dict[str, Any]:
    """What ``templates/accounts/_widget.html`` needs on the /accounts page; ``site``: the
    helpdesk's address the widget's code names (:func:`site_url`)."""
    form = edited.get()
    widgets = []
    for account in accounts:
        if account.channel != "webchat":
            continue
        logo = await session.get(WidgetLogo, account.id)
        look = look_of(account)
        values: dict[str, Any] = {
            **look.model_dump(),
            "origins": account.allowed_origins,
        }
        if form and form.get("key") == account.key:
            values.update(form)
        widgets.append(
            {
                "account": account,
                "form": values,
                "text_color": text_color(look.color),
                "logo": logo_path(account, logo) if logo else "",
                "snippet": embed_snippet(site, account.key),
            }
        )
    return {
        "widgets": widgets,
        "widget_languages": [(c, LANGUAGE_NAMES[c]) for c in VISITOR_LANGUAGES],
        "widget_defaults": {
            c: {"title": gettext(c, "widget.title"), "greeting": gettext(c, "widget.welcome")}
            for c in VISITOR_LANGUAGES
        },
        "widget_logo_max_kb": services.settings.widget_logo_max_bytes // 1024,
        "widget_open_key": form.get("key", "") if form else "",
    }
