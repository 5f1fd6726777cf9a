"""The answer library over real HTTP on a real server and SQLite: who reads and manages what,
the picker's ranking and language fallback, placeholders filled as text, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import select

from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    DeliveryStatus,
    Destination,
    Direction,
    Message,
    Office,
    Role,
    User,
)
from app.security import hash_password
from app.services import Services
from tests.conftest import LiveServer, login, office_login

MANAGER = "manager@baie-dargent.example"
NOW = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)


async def office(services: Services, slug: str) -> Office:
    async with services.db.session() as session:
        return (await session.exec(select(Office).where(Office.slug == slug))).one()


async def add_user(services: Services, email: str, role: Role, office_slug: str | None) -> None:
    async with services.db.session() as session:
        o = (await session.exec(select(Office).where(Office.slug == office_slug))).first()
        session.add(
            User(
                destination_id=1,
                office_id=o.id if o else None,
                email=email,
                name=email.split("@")[0].title(),
                password_hash=hash_password("password-123"),
                role=role,
            )
        )
        await session.commit()


async def conversation(
    services: Services, office_slug: str, name: str, language: str, reply: str = ""
) -> tuple[int, int | None]:
    """A chat conversation of the office with a visitor; with ``reply``, an adviser's sent
    reply in it (its id returned)."""
    async with services.db.session() as session:
        o = (await session.exec(select(Office).where(Office.slug == office_slug))).one()
        account = (
            await session.exec(select(Account).where(Account.key == f"chat-{office_slug}"))
        ).one()
        contact = Contact(
            destination_id=1,
            channel="webchat",
            external_id=f"v-{name}-{language}",
            name=name,
            language=language,
            created_at=NOW,
        )
        session.add(contact)
        await session.flush()
        c = Conversation(
            destination_id=1,
            account_id=account.id or 0,
            contact_id=contact.id or 0,
            office_id=o.id or 0,
            channel="webchat",
            thread_key=f"t-{contact.id}",
            created_at=NOW,
            last_message_at=NOW,
        )
        session.add(c)
        await session.flush()
        message_id = None
        if reply:
            adviser = (await session.exec(select(User).where(User.office_id == o.id))).first()
            m = Message(
                conversation_id=c.id or 0,
                account_id=account.id or 0,
                direction=Direction.OUT,
                author_kind=AuthorKind.ADVISER,
                author_user_id=adviser.id if adviser else None,
                text=reply,
                created_at=NOW,
                delivery_status=DeliveryStatus.SENT,
            )
            session.add(m)
            await session.flush()
            message_id = m.id
        await session.commit()
        return c.id or 0, message_id


def answer(title: str, shortcut: str, texts: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"title": title, "shortcut": shortcut, "texts": texts, **extra}


def manager(live: LiveServer) -> Any:
    return login(live.url, MANAGER, live.logins[MANAGER].password)


def created(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/answers", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_who_reads_and_manages_what(live: LiveServer, services: Services) -> None:
    port, salines = await office(services, "port-argent"), await office(services, "les-salines")
    await add_user(services, "om@port-argent.example", Role.OFFICE_MANAGER, "port-argent")
    camille = office_login(live, "port-argent", 0)
    chloe = office_login(live, "les-salines", 0)
    with (
        manager(live) as dm,
        login(live.url, "om@port-argent.example", "password-123") as om,
        login(live.url, camille.email, camille.password) as adviser,
        login(live.url, chloe.email, chloe.password) as other,
    ):
        wide = created(dm, answer("Marées", "marees", {"fr": "Les marées…"}))
        assert wide["status"] == "approved"
        own = created(om, answer("Phare", "phare", {"fr": "Le phare…"}, office_id=port.id))
        assert own["status"] == "approved"
        # An office manager writing for the whole destination proposes; for another office, no.
        assert created(om, answer("Bus", "bus", {"fr": "Navette"}))["status"] == "proposed"
        refused = om.post("/api/answers", json=answer("X", "x", {"fr": "x"}, office_id=salines.id))
        assert (
            refused.status_code == 403 and refused.json()["code"] == "answers.error.not_your_office"
        )
        # An adviser proposes; the proposal stays out of colleagues' pickers.
        proposal = created(adviser, answer("Vélo", "velo", {"fr": "Location…"}))
        assert proposal["status"] == "proposed"
        assert "velo" not in [a["shortcut"] for a in other.get("/api/answers").json()]
        mine = adviser.get("/api/answers", params={"status": "proposed"}).json()
        assert [a["shortcut"] for a in mine] == ["velo"]
        # Chloé (Les Salines) reads destination-wide answers, not Port-Argent's own.
        assert {a["shortcut"] for a in other.get("/api/answers").json()} == {"marees"}
        assert other.get(f"/api/answers/{own['id']}").status_code == 404
        assert other.patch(f"/api/answers/{wide['id']}", json={"title": "Y"}).status_code == 403
        # An adviser cannot approve, even their own proposal.
        approve = adviser.patch(f"/api/answers/{proposal['id']}", json={"status": "approved"})
        assert approve.status_code == 403
        # The office manager may not approve a destination-wide proposal; the destination's may.
        assert om.patch(
            f"/api/answers/{proposal['id']}", json={"status": "approved"}
        ).status_code in (403, 404)
        ok = dm.patch(f"/api/answers/{proposal['id']}", json={"status": "approved"})
        assert ok.status_code == 200 and ok.json()["status"] == "approved"
        assert "velo" in [a["shortcut"] for a in other.get("/api/answers").json()]
        # Deleting: the manager of its scope only.
        assert adviser.delete(f"/api/answers/{own['id']}").status_code == 403
        assert om.delete(f"/api/answers/{own['id']}").status_code == 204
        assert dm.get(f"/api/answers/{own['id']}").status_code == 404


async def test_another_destinations_answer_is_not_found(
    live: LiveServer, services: Services
) -> None:
    async with services.db.session() as session:
        other = Destination(slug="autre", name="Autre", timezone="Europe/Paris")
        session.add(other)
        await session.flush()
        far = Office(destination_id=other.id or 0, slug="loin", name="Loin")
        session.add(far)
        await session.commit()
        far_id = far.id
    with manager(live) as dm:
        mine = created(dm, answer("Marées", "marees", {"fr": "Les marées"}))
        refused = dm.post("/api/answers", json=answer("A", "a", {"fr": "a"}, office_id=far_id))
        assert refused.status_code == 404
        assert refused.json()["code"] == "answers.error.office_not_found"
        async with services.db.session() as session:
            from app.models import Answer

            row = await session.get(Answer, mine["id"])
            assert row is not None
            row.destination_id = other.id or 0
            session.add(row)
            await session.commit()
        for call in (
            dm.get(f"/api/answers/{mine['id']}"),
            dm.patch(f"/api/answers/{mine['id']}", json={"title": "B"}),
            dm.delete(f"/api/answers/{mine['id']}"),
        ):
            assert call.status_code == 404, call.text
        assert dm.get("/api/answers").json() == []


async def test_ranking_office_first_then_language_then_field(
    live: LiveServer, services: Services
) -> None:
    port = await office(services, "port-argent")
    cid, _ = await conversation(services, "port-argent", "Anna", "de")
    camille = office_login(live, "port-argent", 0)
    with manager(live) as dm, login(live.url, camille.email, camille.password) as adviser:
        created(dm, answer("Le phare", "lighthouse", {"fr": "Phare", "de": "Leuchtturm"}))
        created(
            dm,
            answer("Phare de Port-Argent", "phare-port", {"fr": "Phare"}, office_id=port.id),
        )
        created(
            dm, answer("Visite", "visite", {"fr": "Le phare se visite", "de": "Der Leuchtturm"})
        )
        created(dm, answer("Château", "chateau", {"fr": "Ouvert", "de": "Offen"}, tags=["Phare"]))
        rows = adviser.get("/api/answers", params={"q": "PHÂRE", "conversation_id": cid}).json()
        assert [r["shortcut"] for r in rows] == ["phare-port", "lighthouse", "chateau", "visite"]
        assert rows[0]["fallback"] is True and rows[0]["language"] == "fr"
        assert rows[1]["language"] == "de" and rows[1]["fallback"] is False
        # The shortcut typed after "/" beats a title match.
        typed = adviser.get("/api/answers", params={"q": "/lig", "conversation_id": cid}).json()
        assert [r["shortcut"] for r in typed] == ["lighthouse"]
        assert (
            adviser.get("/api/answers", params={"q": "chateau"}).json()[0]["shortcut"] == "chateau"
        )
        assert adviser.get("/api/answers", params={"q": "zzz"}).json() == []


async def test_use_fills_placeholders_as_text_in_the_visitors_language(
    live: LiveServer, services: Services
) -> None:
    hostile = "<script>alert(1)</script> {office} {adviser_name}"
    cid, _ = await conversation(services, "port-argent", hostile, "de-AT")
    camille = office_login(live, "port-argent", 0)
    text = {
        "fr": "Bonjour {visitor_name}",
        "de": "Hallo {visitor_name}, {adviser_name} vom {office}. Offen {next_opening}. {unknown} {0}",
    }
    with manager(live) as dm, login(live.url, camille.email, camille.password) as adviser:
        a = created(dm, answer("Horaires", "horaires", text))
        used = adviser.post(f"/api/answers/{a['id']}/use", json={"conversation_id": cid})
        assert used.status_code == 200, used.text
        body = used.json()
        assert body["language"] == "de" and body["fallback"] is False
        assert body["text"].startswith(
            f"Hallo {hostile}, Camille Martin vom Office de Tourisme de Port-Argent. Offen "
        )
        # Tuesday 21 July 2026 10:00 in Paris, open until 19:00: next opening Wednesday 09:00.
        assert "Mittwoch, 22. Juli 2026, 09:00" in body["text"]
        assert body["text"].endswith("{unknown} {0}")
        # Italian asked: no Italian text, the destination's French is used, and said.
        it = adviser.post(
            f"/api/answers/{a['id']}/use", json={"conversation_id": cid, "language": "it"}
        )
        assert it.json()["language"] == "fr" and it.json()["fallback"] is True
        assert it.json()["text"] == f"Bonjour {hostile}"
        listed = dm.get(f"/api/answers/{a['id']}").json()
        assert listed["uses"] == 2 and listed["last_used_at"] is not None


async def test_fallback_to_english_then_any(live: LiveServer, services: Services) -> None:
    cid, _ = await conversation(services, "port-argent", "Piet", "nl")
    with manager(live) as dm:
        en = created(dm, answer("A", "a", {"en": "Hello", "es": "Hola"}))
        anything = created(dm, answer("B", "b", {"it": "Ciao", "es": "Hola"}))
        first = dm.post(f"/api/answers/{en['id']}/use", json={"conversation_id": cid}).json()
        assert (first["language"], first["fallback"], first["requested_language"]) == (
            "en",
            True,
            "nl",
        )
        second = dm.post(f"/api/answers/{anything['id']}/use", json={"conversation_id": cid}).json()
        assert (second["language"], second["text"]) == ("es", "Hola")


async def test_use_needs_a_conversation_one_may_see(live: LiveServer, services: Services) -> None:
    cid, _ = await conversation(services, "les-salines", "Zoe", "fr")
    camille = office_login(live, "port-argent", 0)
    with manager(live) as dm, login(live.url, camille.email, camille.password) as adviser:
        a = created(dm, answer("A", "a", {"fr": "Bonjour"}))
        refused = adviser.post(f"/api/answers/{a['id']}/use", json={"conversation_id": cid})
        assert refused.status_code == 404
        assert dm.get(f"/api/answers/{a['id']}").json()["uses"] == 0
        proposal = created(adviser, answer("P", "p", {"fr": "x"}))
        own, _ = await conversation(services, "port-argent", "Yves", "fr")
        assert (
            adviser.post(
                f"/api/answers/{proposal['id']}/use", json={"conversation_id": own}
            ).status_code
            == 409
        )


async def test_save_as_answer_from_a_sent_reply(live: LiveServer, services: Services) -> None:
    cid, reply = await conversation(
        services, "port-argent", "Ana", "es", reply="El faro abre a las 10."
    )
    camille = office_login(live, "port-argent", 0)
    with login(live.url, camille.email, camille.password) as adviser:
        body = answer("Faro", "faro", {"es": "El faro abre a las 10."}, source_message_id=reply)
        saved = created(adviser, body)
        assert saved["status"] == "proposed" and saved["languages"] == ["es"]
        async with services.db.session() as session:
            visitor_message = Message(
                conversation_id=cid, account_id=1, direction=Direction.IN,
                author_kind=AuthorKind.VISITOR, text="hola", created_at=NOW,
            )  # fmt: skip
            session.add(visitor_message)
            await session.commit()
            vid = visitor_message.id
        wrong = adviser.post(
            "/api/answers", json=answer("V", "v", {"es": "hola"}, source_message_id=vid)
        )
        assert wrong.status_code == 422 and wrong.json()["code"] == "answers.error.not_a_reply"
        far = adviser.post(
            "/api/answers", json=answer("V", "v", {"es": "x"}, source_message_id=10**9)
        )
        assert far.status_code == 404


BAD = [
    ({"title": "  "}, "answers.error.title_empty"),
    ({"title": "x" * 201}, "answers.error.title_too_long"),
    ({"shortcut": ""}, "answers.error.shortcut_empty"),
    ({"shortcut": "two words"}, "answers.error.shortcut_invalid"),
    ({"shortcut": "a/b"}, "answers.error.shortcut_invalid"),
    ({"shortcut": "<b>"}, "answers.error.shortcut_invalid"),
    ({"shortcut": "x" * 65}, "answers.error.shortcut_too_long"),
    ({"texts": {}}, "answers.error.no_text"),
    ({"texts": {"fr": "   "}}, "answers.error.text_empty"),
    ({"texts": {"fr": "x" * 5001}}, "answers.error.text_too_long"),
    ({"texts": {"french": "x"}}, "answers.error.language_invalid"),
    ({"texts": {"f": "x"}}, "answers.error.language_invalid"),
    ({"texts": {"fr-CA": "x"}}, "answers.error.language_invalid"),
    ({"texts": {"1a": "x"}}, "answers.error.language_invalid"),
    ({"texts": {"fr": "x", "FR": "y"}}, "answers.error.language_twice"),
    ({"texts": {"fr": "a\x00b"}}, "answers.error.control_characters"),
    ({"tags": ["x" * 41]}, "answers.error.tag_too_long"),
    ({"tags": [f"t{i}" for i in range(21)]}, "answers.error.too_many_tags"),
]


async def test_bad_input_is_refused_with_a_readable_reason(live: LiveServer) -> None:
    with manager(live) as dm:
        kept = created(dm, answer("Marées", "marees", {"fr": "Les marées"}))
        for change, code in BAD:
            body = {**answer("Titre", "titre", {"fr": "Texte"}), **change}
            response = dm.post("/api/answers", json=body)
            assert response.status_code == 422, (change, response.text)
            assert response.json()["code"] == code, change
            assert response.json()["detail"] and response.json()["detail"] != code
            patched = dm.patch(f"/api/answers/{kept['id']}", json=change)
            assert patched.status_code == 422 and patched.json()["code"] == code, change
        taken = dm.post("/api/answers", json=answer("Autre", "MARÉES", {"fr": "x"}))
        assert taken.status_code == 422 and taken.json()["code"] == "answers.error.shortcut_taken"
        # Nothing refused changed what was stored.
        assert dm.get(f"/api/answers/{kept['id']}").json()["texts"] == {"fr": "Les marées"}
        assert [a["shortcut"] for a in dm.get("/api/answers").json()] == ["marees"]
        for weird in ("\"'*()", "x" * 200, "NEAR(a b)", "%_"):
            assert dm.get("/api/answers", params={"q": weird}).status_code == 200
        assert dm.get("/api/answers", params={"q": "x" * 201}).status_code == 422


async def test_writes_need_the_csrf_header(live: LiveServer) -> None:
    with manager(live) as dm:
        a = created(dm, answer("A", "a", {"fr": "x"}))
        del dm.headers["X-CSRF-Token"]
        assert dm.post("/api/answers", json=answer("B", "b", {"fr": "x"})).status_code == 403
        assert dm.patch(f"/api/answers/{a['id']}", json={"title": "C"}).status_code == 403
        assert dm.delete(f"/api/answers/{a['id']}").status_code == 403


async def test_search_follows_every_edit_and_delete(live: LiveServer) -> None:
    """The picker's folded index is reloaded after each write, whoever made it."""
    with manager(live) as dm:
        a = created(dm, answer("Marées", "marees", {"fr": "Les horaires des marées"}))
        assert [r["id"] for r in dm.get("/api/answers", params={"q": "horaires"}).json()] == [
            a["id"]
        ]
        edited = dm.patch(f"/api/answers/{a['id']}", json={"texts": {"de": "Gezeiten heute"}})
        assert edited.status_code == 200 and edited.json()["texts"] == {"de": "Gezeiten heute"}
        assert dm.get("/api/answers", params={"q": "horaires"}).json() == []
        assert [r["id"] for r in dm.get("/api/answers", params={"q": "GEZEITEN"}).json()] == [
            a["id"]
        ]
        b = created(dm, answer("Gezeiten", "gezeiten", {"de": "Gezeiten morgen"}))
        assert len(dm.get("/api/answers", params={"q": "gezeiten"}).json()) == 2
        assert dm.delete(f"/api/answers/{a['id']}").status_code == 204
        assert [r["id"] for r in dm.get("/api/answers", params={"q": "gezeiten"}).json()] == [
            b["id"]
        ]


async def test_the_library_page_for_each_role_and_language(
    live: LiveServer, services: Services
) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    camille = office_login(live, "port-argent", 0)
    with manager(live) as dm, login(live.url, camille.email, camille.password) as adviser:
        created(dm, answer(hostile, "hostile", {"fr": hostile, "de": "x"}))
        created(adviser, answer("Proposition", "proposition", {"fr": "Texte"}))
        for client, approve in ((dm, True), (adviser, False)):
            for language in ("fr", "en"):
                client.cookies.set("concierge_lang", language)
                page = client.get("/answers", params={"lang": language})
                assert page.status_code == 200, page.text
                assert hostile not in page.text and "&lt;img src=x" in page.text
                assert ('data-testid="proposal-approve"' in page.text) is approve
                assert 'data-testid="proposal"' in page.text
        found = dm.get("/answers", params={"q": "hostile", "office_id": "0"}).text
        assert 'data-shortcut="hostile"' in found and 'data-shortcut="proposition"' not in found
        assert dm.get("/answers", params={"office_id": "999"}).status_code == 404
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get("/answers").status_code == 303
        assert anonymous.get("/api/answers").status_code == 401
