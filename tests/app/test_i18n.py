import re
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from app import timefmt
from app.i18n import (
    LANGUAGES,
    VISITOR_LANGUAGES,
    Translator,
    catalog,
    gettext,
    negotiate,
    placeholders,
)
from app.rota_admin import describe
from app.web.accounts_pages import say_counters, say_status
from rota import Reason
from tests.conftest import LiveServer


def test_french_and_english_are_complete_and_agree_on_placeholders() -> None:
    fr, en = catalog("fr"), catalog("en")
    assert fr.keys() == en.keys()
    for key in en:
        assert placeholders(fr[key]) == placeholders(en[key]), key
        assert fr[key].strip() and en[key].strip(), key


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "fr"),
        ("", "fr"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("de-DE,de;q=0.9,en;q=0.5,fr;q=0.4", "en"),
        ("nl-BE,nl;q=0.9", "fr"),
        ("en;q=0.2, fr;q=0.8", "fr"),
        ("en;q=0, fr", "fr"),
        ("*", "fr"),
        ("es-ES;q=abc, en", "en"),
    ],
)
def test_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header, "fr") == expected


def test_gettext_fills_placeholders_and_falls_back() -> None:
    assert gettext("en", "widget.privacy", days=30) == (
        "Your messages are kept for 30 days, only to answer you; the address you write from is"
        " kept with them, only to stop abuse."
    )
    assert gettext("de", "login.submit") == "Sign in"
    assert gettext("fr", "no.such.key") == "no.such.key"
    assert Translator("fr")("login.submit") == "Se connecter"
    assert set(LANGUAGES) == {"fr", "en"}


# ---- locale formats -----------------------------------------------------------------------
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("seconds", "fr", "en"),
    [
        (None, "—", "—"),
        (45, "45 s", "45 s"),
        (720, "12 min", "12 min"),
        (3840, "1 h 04", "1 h 04"),
        (88 * 86400 + 12 * 3600, "88 j 12 h", "88 d 12 h"),
        (1234 * 86400, f"1{NNBSP}234 j 0 h", "1,234 d 0 h"),
    ],
)
def test_durations_in_each_language(seconds: float | None, fr: str, en: str) -> None:
    assert timefmt.duration(seconds, "fr") == fr
    assert timefmt.duration(seconds, "en") == en


def test_percentages_and_numbers_follow_the_language() -> None:
    assert timefmt.percent(0.954, "fr") == f"95{NNBSP}%"
    assert timefmt.percent(0.954, "en") == "95%"
    assert timefmt.percent(None, "fr") == "—"
    assert timefmt.number(1234567, "fr") == f"1{NNBSP}234{NNBSP}567"
    assert timefmt.number(1234567, "en") == "1,234,567"
    assert timefmt.number(2.5, "fr", digits=1) == "2,5"


def test_dates_and_times_are_24_hour_day_before_month() -> None:
    at = datetime(2026, 7, 6, 19, 14, tzinfo=UTC)  # 21:14 in Paris
    assert timefmt.moment(at, "Europe/Paris", "fr") == "6 juillet 2026, 21:14"
    assert timefmt.moment(at, "Europe/Paris", "en") == "6 July 2026, 21:14"
    assert timefmt.day_label(date(2026, 7, 6), "fr") == "lundi 6 juillet"
    assert timefmt.day_label(date(2026, 7, 6), "en") == "Monday 6 July"


# ---- every coded error has its sentence in both languages ----------------------------------
ROOT = Path(__file__).resolve().parents[2]


def _codes(pattern: str, *folders: str) -> set[str]:
    found: set[str] = set()
    for folder in folders:
        base = ROOT / folder
        for path in [base] if base.is_file() else base.rglob("*.py"):
            found.update(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def test_every_rota_error_code_is_translated() -> None:
    codes = _codes(r'RotaError\(\s*"([a-z_]+)"', "rota", "app")
    codes |= _codes(r'(?:refused|Reason)\(\s*[^,()]+,\s*"([a-z_]+)"', "rota", "app")
    assert {"ends_before_start", "in_the_past", "unknown_office", "not_a_date"} <= codes
    for code in codes:
        for language in LANGUAGES:
            assert f"rota.error.{code}" in catalog(language), (code, language)


def test_every_connector_status_code_is_translated() -> None:
    codes = _codes(r'StatusNote\(\s*"([a-z_.]+)"', "connectors", "app")
    codes |= _codes(r'code="([a-z_.]+)"', "connectors/email")
    codes |= _codes(r'"(x\.[a-z_]+)"', "connectors/twitter")
    codes |= _codes(r'"(account\.[a-z_]+)"', "app/connector_registry.py")  # ConfigurationError's
    assert {"email.idle", "x.rate_limited", "x.unavailable", "account.misconfigured"} <= codes
    for code in codes:
        for language in LANGUAGES:
            assert f"connector.{code}" in catalog(language), (code, language)


def test_rota_reasons_are_said_in_the_readers_language() -> None:
    reason = Reason(
        "offices.0.hours.mon",
        "runs_into",
        "22:00-09:00+1 runs into tue 08:00-12:00",
        {"window": "22:00-09:00+1", "weekday": "tue", "next": "08:00-12:00"},
    )
    assert describe(reason, "fr") == (
        "offices.0.hours.mon : 22:00-09:00+1 empiète sur mardi 08:00-12:00"
    )
    assert describe(reason, "en") == (
        "offices.0.hours.mon: 22:00-09:00+1 runs into Tuesday 08:00-12:00"
    )
    future = Reason("overrides.3.end", "ends_before_start", "ends before it starts")
    assert describe(future, "fr") == "Au : se termine avant de commencer"
    unknown = Reason("rota", "type.something_new", "Something new went wrong")
    assert describe(unknown, "fr") == "rota : valeur refusée"


def test_connector_statuses_are_said_in_the_readers_language() -> None:
    status = {
        "state": "rate_limited",
        "detail": "mentions: rate-limited until 19:40 UTC; direct messages: off: …",
        "notes": [
            {"code": "x.rate_limited", "params": {"until": "19:40 UTC"}, "scope": "mentions"},
            {"code": "x.no_user_credentials", "params": {}, "scope": "direct messages"},
        ],
        "counters": {"requests_today": 12, "something_new": 1},
    }
    state, detail = say_status(Translator("fr"), status)
    assert state == "limité par X"
    assert detail == (
        "mentions — limité par X jusqu'à 19:40 UTC ; messages privés — désactivés : pas "
        "d'identifiants utilisateur (OAuth 1.0a ou 2.0)"
    )
    state, detail = say_status(Translator("en"), status)
    assert (state, detail.split(";")[0]) == (
        "rate-limited",
        "mentions — rate-limited until 19:40 UTC",
    )
    assert say_counters(Translator("fr"), status["counters"]) == (
        "requêtes aujourd'hui\u00a0: 12, something_new\u00a0: 1"
    )
    # A status stored before statuses were coded still shows what it says.
    assert say_status(Translator("fr"), {"state": "error", "detail": "boom"}) == ("erreur", "boom")


# ---- choosing the language ----------------------------------------------------------------
def test_the_language_form_refuses_bad_input_and_never_redirects_away(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, follow_redirects=False, timeout=10) as client:
        page = client.get("/login", headers={"accept-language": "en"})
        assert page.headers["content-language"] == "en"
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        forged = client.post("/language", data={"language": "fr", "next": "/login"})
        assert forged.status_code == 403 and "concierge_lang" not in forged.headers.get(
            "set-cookie", ""
        )
        unknown = client.post(
            "/language",
            data={"language": "de", "csrf_token": token},
            headers={"accept-language": "en"},
        )
        assert unknown.status_code == 422
        assert unknown.text == "Unknown language: choose French or English."
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            moved = client.post(
                "/language", data={"language": "fr", "next": target, "csrf_token": token}
            )
            assert moved.status_code == 303 and moved.headers["location"] == "/", target
        # The cookie now says French, over the browser's English.
        again = client.get("/privacy", headers={"accept-language": "en"})
        assert again.headers["content-language"] == "fr" and '<html lang="fr">' in again.text
        assert 'aria-pressed="true" data-testid="language-fr"' in again.text


# ---- the visitor's languages ----------------------------------------------------------------
@pytest.mark.parametrize("language", ["fr", "de", "nl", "es", "it"])
def test_every_visitor_key_exists_in_each_visitor_language(language: str) -> None:
    """Every ``widget.``/``visitor.`` key of English is written in each language a visitor may
    be answered in, with the same placeholders (no English shown in a German widget)."""
    en, other = catalog("en"), catalog(language)
    visitor_keys = [k for k in en if k.startswith(("widget.", "visitor."))]
    assert visitor_keys
    missing = [k for k in visitor_keys if not other.get(k, "").strip()]
    assert not missing, missing
    for key in visitor_keys:
        assert placeholders(other[key]) == placeholders(en[key]), key


def test_a_visitor_language_is_its_own_and_falls_back_to_english() -> None:
    assert gettext("de", "widget.send") == "Senden"
    assert gettext("nl", "widget.queue.position", position=3) == ("U bent nummer 3 in de wachtrij.")
    assert gettext("ja", "widget.send") == "Send"  # not a visitor language: English
    assert negotiate("es-ES,es;q=0.9", "fr", VISITOR_LANGUAGES) == "es"
    assert negotiate("ja-JP,ja;q=0.9", "fr", VISITOR_LANGUAGES) == "fr"
