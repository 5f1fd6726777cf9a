"""The privacy notice per destination: six languages, the destination manager's own text
(escaped, capped, previewed), and who may change it — over a real server and database."""

from __future__ import annotations

import html

import httpx
from sqlmodel import select

from app.models import Account, Destination, Role, User
from app.security import hash_password
from app.services import Services
from tests.conftest import LiveServer, login, office_login

TITLES = {
    "fr": "Confidentialité",
    "en": "Privacy: what we keep",
    "de": "Datenschutz",
    "nl": "Privacy: wat we bewaren",
    "es": "Privacidad",
    "it": "Privacy: cosa conserviamo",
}
RETENTION = {"fr": "jours", "en": "days", "de": "Tage", "nl": "dagen", "es": "días", "it": "giorni"}


def test_the_notice_speaks_six_languages_for_its_destination(live: LiveServer) -> None:
    days = live.settings.retention_days
    for lang, title in TITLES.items():
        for path in (f"/privacy?lang={lang}", f"/privacy/baie-dargent?lang={lang}"):
            page = httpx.get(f"{live.url}{path}")
            assert page.status_code == 200 and page.headers["content-language"] == lang
            assert title in page.text and f"{days} {RETENTION[lang]}" in page.text, (lang, path)
            assert "Baie d&#39;Argent" in page.text
    # The browser's language among the six, a regional tag too; else the default.
    browser = httpx.get(f"{live.url}/privacy/baie-dargent", headers={"accept-language": "nl-BE,nl;q=0.9"})  # fmt: skip
    assert browser.headers["content-language"] == "nl"
    other = httpx.get(f"{live.url}/privacy", headers={"accept-language": "ja"})
    assert other.headers["content-language"] == live.settings.default_language
    assert httpx.get(f"{live.url}/privacy/nowhere").status_code == 404
    assert httpx.get(f"{live.url}/privacy/{'x' * 5000}").status_code in (404, 414)


def editor_token(client: httpx.Client) -> str:
    page = client.get("/privacy/edit")
    assert page.status_code == 200, page.text
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def manager(live: LiveServer) -> tuple[str, str]:
    found = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    return found.email, found.password


async def test_the_managers_own_text_is_shown_escaped_and_capped(
    live: LiveServer, services: Services
) -> None:
    hostile = "Nous gardons vos messages.\n\n<script>alert(1)</script> <b>gras</b>\nligne 2"
    with login(live.url, *manager(live)) as client:
        token = editor_token(client)
        # A preview stores nothing.
        preview = client.post(
            "/privacy/edit", data={"csrf_token": token, "action": "preview", "text_fr": hostile}
        )
        assert preview.status_code == 200 and "<script>alert(1)</script>" not in preview.text
        assert html.escape("<script>alert(1)</script>") in preview.text
        assert 'data-testid="privacy-preview-fr"' in preview.text
        async with services.db.session() as session:
            assert (await session.get(Destination, 1)).privacy == ""  # type: ignore[union-attr]
        # Too long: refused whole, nothing stored.
        long = client.post(
            "/privacy/edit",
            data={"csrf_token": token, "text_fr": "ok", "text_de": "x" * 10_001},
        )
        assert long.status_code == 422 and "10000" in long.text.replace("\u202f", "").replace(",", "")  # fmt: skip
        async with services.db.session() as session:
            assert (await session.get(Destination, 1)).privacy == ""  # type: ignore[union-attr]
        # Without the CSRF token: refused.
        forged = client.post("/privacy/edit", data={"text_fr": "volé", "csrf_token": "x" * 40})
        assert forged.status_code == 403
        saved = client.post("/privacy/edit", data={"csrf_token": token, "text_fr": hostile})
        assert saved.status_code == 303 and saved.headers["location"] == "/privacy/edit?done=saved"
    page = httpx.get(f"{live.url}/privacy/baie-dargent?lang=fr").text
    assert "<script>alert(1)</script>" not in page and "<b>gras</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;gras&lt;/b&gt;\nligne 2" in page
    assert page.count('style="white-space: pre-line"') == 2  # two paragraphs
    # Another language without a text of its own keeps the default one.
    english = httpx.get(f"{live.url}/privacy/baie-dargent?lang=en").text
    assert "Nous gardons" not in english and TITLES["en"] in english


async def test_only_the_destination_manager_edits_the_notice(
    live: LiveServer, services: Services
) -> None:
    async with services.db.session() as session:
        office = (await session.exec(select(Account).where(Account.key == "chat-port-argent"))).one()  # fmt: skip
        session.add(
            User(destination_id=1, office_id=office.office_id, name="Boss PA",
                 role=Role.OFFICE_MANAGER, email="boss@port-argent.example",
                 password_hash=hash_password("boss-password-12"))
        )  # fmt: skip
        await session.commit()
    adviser = office_login(live, "port-argent")
    for email, password in (("boss@port-argent.example", "boss-password-12"), (adviser.email, adviser.password)):  # fmt: skip
        with login(live.url, email, password) as client:
            assert client.get("/privacy/edit").status_code == 403
            token = client.cookies.get("concierge_csrf", "")
            refused = client.post("/privacy/edit", data={"csrf_token": token, "text_fr": "pris"})
            assert refused.status_code == 403
            assert 'data-testid="nav-audit"' not in client.get("/inbox").text
    async with services.db.session() as session:
        assert (await session.get(Destination, 1)).privacy == ""  # type: ignore[union-attr]
    anonymous = httpx.get(f"{live.url}/privacy/edit")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    with login(live.url, *manager(live)) as client:
        assert 'data-testid="nav-audit"' in client.get("/inbox").text


def test_every_visitor_key_of_this_part_speaks_the_six_languages() -> None:
    from app.i18n import VISITOR_LANGUAGES, catalog, placeholders

    prefixes = ("widget.data.", "visitor.data.", "visitor.privacy.")
    english = {k: v for k, v in catalog("en").items() if k.startswith(prefixes)}
    assert len(english) > 30
    for lang in VISITOR_LANGUAGES:
        theirs = catalog(lang)
        for key, text in english.items():
            assert key in theirs, (lang, key)
            assert placeholders(theirs[key]) == placeholders(text), (lang, key)
