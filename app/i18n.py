"""One translation layer for every user-facing string (pages, API errors, the visitor widget).

Catalogs are JSON files in ``app/locales`` keyed by message id (``fr.json`` plus one
``fr.<area>.json`` per area of the interface, merged), so the same catalog serves the
server's templates and the widget's JavaScript. French and English must stay complete: a test
checks both hold the same keys and placeholders.
"""

from __future__ import annotations

import json
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES = ("fr", "en")  # the staff's interface
# What a visitor may be answered in (the widget, the survey and privacy pages, e-mails sent to
# them): the staff's languages first. Their catalogs hold the visitor-facing keys only; a key
# missing in one falls back to English.
VISITOR_LANGUAGES = ("fr", "en", "de", "nl", "es", "it")
_LOCALES = Path(__file__).with_name("locales")


@lru_cache
def catalog(language: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for path in [*sorted(_LOCALES.glob(f"{language}.*.json")), _LOCALES / f"{language}.json"]:
        if path.is_file():
            data.update(json.loads(path.read_text(encoding="utf-8")))
    return data


def gettext(language: str, key: str, **params: Any) -> str:
    """The text of ``key`` in ``language`` (falling back to English, then the key itself)."""
    text = catalog(language if language in VISITOR_LANGUAGES else "en").get(key)
    if text is None:
        text = catalog("en").get(key, key)
    return text.format(**params) if params else text


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def negotiate(
    accept_language: str | None, default: str, languages: tuple[str, ...] = LANGUAGES
) -> str:
    """Picks one of ``languages`` (the staff's: fr or en) from an Accept-Language header, by
    q-value then order."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")[:20]):
        parts = item.strip().split(";")
        tag = parts[0].strip().lower()
        quality = 1.0
        for param in parts[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary in languages and quality > 0:
            ranked.append((-quality, position, primary))
        elif tag == "*" and quality > 0:
            ranked.append((-quality, position, default))
    return min(ranked)[2] if ranked else default


def visitor_catalog(language: str, prefix: str) -> dict[str, str]:
    """The keys starting with ``prefix`` in a visitor's language, English filling any gap."""
    chosen = language if language in VISITOR_LANGUAGES else "en"
    merged = {k: v for k, v in catalog("en").items() if k.startswith(prefix)}
    merged.update({k: v for k, v in catalog(chosen).items() if k.startswith(prefix)})
    return merged


class Translator:
    """Bound to one language; ``t("key", name=...)`` in templates."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"

    def __call__(self, key: str, **params: Any) -> str:
        return gettext(self.language, key, **params)
