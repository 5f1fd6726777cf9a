import pytest

from app.i18n import LANGUAGES, Translator, catalog, gettext, negotiate, placeholders


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
        "Your messages are kept for 30 days, only to answer you."
    )
    assert gettext("de", "login.submit") == "Sign in"
    assert gettext("fr", "no.such.key") == "no.such.key"
    assert Translator("fr")("login.submit") == "Se connecter"
    assert set(LANGUAGES) == {"fr", "en"}
