"""Search over real HTTP and a real SQLite FTS5 index: kept in step with ingest, replies, notes
and erasure (and rolled back with them), accent- and case-insensitive, prefixes, offices'
rights, filters, pages, and hostile queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
from sqlalchemy import text
from sqlmodel import select

from app import search, search_backlog, search_postgres, search_sqlite
from app.inbox import Inbox
from app.models import Contact, Message
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.conftest import LiveServer, login, office_login

EIGHT = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)
MANAGER = "manager@baie-dargent.example"


def chat(n: int, words: str, account: str = "chat-port-argent", name: str = "") -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT, account=account, external_id=f"{account}-s{n}",
        thread_key=f"searcher-{account}-{n}",
        author=Author(external_id=f"searcher-{account}-{n}", name=name or f"Visitor {n}"),
        text=words, received_at=EIGHT + timedelta(minutes=n),
    )  # fmt: skip


async def ingest(services: Services, *messages: InboundMessage) -> list[int]:
    services.clock.set(max(services.clock.now(), EIGHT + timedelta(hours=2)))
    inbox = Inbox(services)
    return [(await inbox.ingest(m)).conversation_id for m in messages]


def found(client: httpx.Client, q: str, **params: object) -> list[int]:
    response = client.get("/api/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()]


def manager(live: LiveServer) -> tuple[str, str]:
    return MANAGER, live.logins[MANAGER].password


async def test_accents_case_and_prefix_find_the_message_with_its_excerpt(
    live: LiveServer, services: Services
) -> None:
    (cid,) = await ingest(services, chat(1, "Le Château de la Roche est-il ouvert le soir ?"))
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as client:
        for q in ("chateau", "CHATEAU", "Château", "châtéàu", "chat", "roche chat", "  château?"):
            assert found(client, q) == [cid], q
        assert found(client, "chateaux") == []
        assert found(client, "roche plage") == []  # every word is required
        hit = client.get("/api/search", params={"q": "chateau"}).json()[0]
        match = hit["matches"][0]
        assert match["field"] == "message" and match["message_id"]
        assert [s for s in match["segments"] if s["mark"]] == [{"text": "Château", "mark": True}]
        assert "".join(s["text"] for s in match["segments"]).startswith("Le Château de la")
        assert hit["preview"] and hit["channel"] == "webchat"  # as the list shows it


async def test_replies_notes_and_visitor_names_are_found(
    live: LiveServer, services: Services
) -> None:
    (cid,) = await ingest(services, chat(2, "Bonjour", name="Ingrid Sørensen"))
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as client:
        assert client.post(f"/api/conversations/{cid}/messages",
                           json={"text": "La marée haute est à 18 h 40."}).status_code == 201  # fmt: skip
        note = client.post(f"/api/conversations/{cid}/notes",
                           json={"text": "Demander au phare de Kervénec", "client_id": "n1"})  # fmt: skip
        assert note.status_code == 201, note.text
        assert found(client, "maree") == [cid]
        assert found(client, "kervenec") == [cid]
        fields = client.get("/api/search", params={"q": "kervenec"}).json()[0]["matches"]
        assert [(m["field"], m["message_id"]) for m in fields] == [("note", note.json()["id"])]
        assert found(client, "SØRENSEN") == [cid]
        assert found(client, "ingrid") == [cid]
        assert (
            client.get("/api/search", params={"q": "ingrid"}).json()[0]["matches"][0]["field"]
            == "name"
        )


async def test_an_adviser_never_sees_another_offices_match(
    live: LiveServer, services: Services
) -> None:
    ours, theirs = await ingest(
        services,
        chat(3, "Location de vélo électrique ?"),
        chat(4, "Location de vélo pour enfants ?", account="chat-saint-clair"),
    )
    camille = office_login(live, "port-argent")
    lea = office_login(live, "saint-clair")
    with login(live.url, camille.email, camille.password) as client:
        assert found(client, "velo") == [ours]
        assert found(client, "enfants") == []
        assert found(client, "velo", office_id=2) == []  # a filter never widens the rights
    with login(live.url, lea.email, lea.password) as client:
        assert found(client, "velo") == [theirs]
    with login(live.url, *manager(live)) as client:
        assert found(client, "velo") == [theirs, ours]  # newest first
        assert found(client, "velo", office_id=1) == [ours]


async def test_filters_and_pages(live: LiveServer, services: Services) -> None:
    ids = await ingest(services, *(chat(10 + n, f"Horaires de la piscine {n}") for n in range(7)))
    with login(live.url, *manager(live)) as client:
        pages, url = [], "/api/search?q=piscine&limit=3"
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.text
            pages.append([h["id"] for h in response.json()])
            cursor = response.headers.get("X-Next-Cursor")
            url = f"/api/search?q=piscine&limit=3&cursor={cursor}" if cursor else ""
        assert pages == [ids[::-1][:3], ids[::-1][3:6], ids[::-1][6:]]
        assert found(client, "piscine", channel="email") == []
        assert found(client, "piscine", channel="webchat", status="open") == ids[::-1]
        assert found(client, "piscine", status="resolved") == []
        assert client.post(f"/api/conversations/{ids[0]}/status",
                           json={"status": "resolved"}).status_code == 200  # fmt: skip
        assert found(client, "piscine", status="resolved") == [ids[0]]
        # Days in Paris: 10:00–10:16 on 21 July.
        assert found(client, "piscine", **{"from": "2026-07-21", "to": "2026-07-21"}) == ids[::-1]
        assert found(client, "piscine", **{"from": "2026-07-22"}) == []
        assert found(client, "piscine", **{"to": "2026-07-20"}) == []
        assert found(client, "piscine", label_id=1) == []
        assert found(client, "piscine", assignee_id=999) == []


BAD: list[tuple[dict[str, str], str | None]] = [
    ({"q": "a" * 201}, "error.search_too_long"),
    ({"q": " ".join(["mot"] * 9)}, "error.search_too_many_words"),
    ({"q": "x", "from": "2026-07-22", "to": "2026-07-21"}, "error.search_bad_period"),
    ({"q": "x", "from": "22/07/2026"}, None),
    ({"q": "x", "channel": "fax"}, None),
    ({"q": "x", "status": "maybe"}, None),
    ({"q": "x", "office_id": "one"}, None),
    ({"q": "x", "label_id": "-3"}, None),
    ({"q": "x", "assignee_id": str(2**64)}, None),
    ({"q": "x", "cursor": "not a cursor"}, "error.bad_cursor"),
    ({"q": "x", "limit": "0"}, "error.bad_limit"),
]


async def test_bad_parameters_are_refused_with_a_reason(live: LiveServer) -> None:
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as client:
        for params, code in BAD:
            response = client.get("/api/search", params=params)
            assert response.status_code == 422, (params, response.text)
            assert response.json()["detail"]
            if code:
                assert response.json()["code"] == code


HOSTILE = [
    '"', '""', "'", "chateau\"", 'chat" OR "x', "AND", "OR", "NOT", "NEAR", "NEAR(a b, 2)",
    "a OR b NOT c", "*", "chat*", "^chat", "body:chat", "ref:1", "rowid:1", "{body}: x", "(", ")",
    "((((", "-x", "+x", "a:b:c", "\\", "%", "_", "%_%", "' OR 1=1 --", "; DROP TABLE message;",
    "\x00", "chat\x00eau", "\ud800", "a\udfffb", "\u200f\u202e", "😀", "𝔠𝔥𝔞𝔱𝔢𝔞𝔲", "ﬁn",
    "?!.,;:", "   ", "", "é" * 200, "a " * 8, "-" * 200, "NEAR/3", "column:", "MATCH",
    "x" * 200, "ß", "İstanbul", "日本語", "مرحبا", "\t\n\r", "\u0301", "a\u0301",
]  # fmt: skip


async def test_a_hostile_query_gives_results_or_a_reason_never_a_500(
    live: LiveServer, services: Services
) -> None:
    (cid,) = await ingest(services, chat(30, 'Un "chateau" OR NEAR(x) ; DROP — fin ﬁn'))
    with login(live.url, *manager(live)) as client:
        for query in HOSTILE + [q + " chateau" for q in HOSTILE[:40]]:
            # Sent as the bytes a browser would: lone surrogates as their raw UTF-8 form.
            raw = quote(query, safe="", errors="surrogatepass")
            response = client.get(f"/api/search?q={raw}")
            assert response.status_code in (200, 422), (query, response.text)
            if response.status_code == 422:
                assert response.json()["detail"]
            else:
                assert isinstance(response.json(), list)
        # Operators are words like any other: the quoted text is found by them.
        assert found(client, 'chateau" OR NEAR(x') == [cid]
        assert found(client, "fin") == [cid]


async def test_a_10000_character_query_is_refused(live: LiveServer, services: Services) -> None:
    with login(live.url, *manager(live)) as client:
        response = client.get("/api/search", params={"q": "château " * 1250})
        assert response.status_code == 422
        assert response.json()["code"] == "error.search_too_long"


async def test_erasure_purges_the_visitors_words_and_name(
    live: LiveServer, services: Services
) -> None:
    (cid,) = await ingest(
        services, chat(40, "Mon numéro est le 0612345678, Zéphyrine", name="Zoé Quintal")
    )
    with login(live.url, *manager(live)) as client:
        assert found(client, "zephyrine") == [cid]
        assert found(client, "quintal") == [cid]
        assert client.post(f"/api/conversations/{cid}/erase-visitor").status_code == 200
        assert found(client, "zephyrine") == []
        assert found(client, "0612345678") == []
        assert found(client, "quintal") == []
    # Nothing of them left in the index's own tables either (messages, and names and addresses).
    engine = search_sqlite if services.db.engine.dialect.name == "sqlite" else search_postgres
    async with services.db.session() as session:
        for table in (engine.TABLE, engine.META_TABLE):
            left = (await session.exec(text(f"SELECT count(*) FROM {table} WHERE body LIKE '%zephyrine%' OR body LIKE '%quintal%' OR body LIKE '%0612345678%'"))).one()  # type: ignore[call-overload]  # noqa: S608  # fmt: skip
            assert left[0] == 0, table


async def test_a_rolled_back_write_leaves_the_index_as_it_was(services: Services) -> None:
    (cid,) = await ingest(services, chat(50, "Avant"))
    async with services.db.session() as session:
        await search_backlog.catch_up(session)  # as every worker does within a second
    async with services.db.session() as session:
        message = (await session.exec(select(Message).where(Message.conversation_id == cid))).one()
        message.text = "Remplacé par Gwenaëlle"
        session.add(message)
        session.add(Message(conversation_id=cid, account_id=message.account_id,
                            direction=message.direction, author_kind=message.author_kind,
                            text="Rhododendron", created_at=EIGHT))  # fmt: skip
        await session.flush()
        assert await indexed(session, "gwenaelle") == 1
        await session.rollback()
    async with services.db.session() as session:
        assert await indexed(session, "gwenaelle") == 0
        assert await indexed(session, "rhododendron") == 0
        assert await indexed(session, "avant") == 1


async def test_a_contacts_correction_and_email_are_indexed(services: Services) -> None:
    (cid,) = await ingest(services, chat(60, "Bonjour", name="Anonyme"))
    async with services.db.session() as session:
        contact = (await session.exec(select(Contact).where(Contact.name == "Anonyme"))).one()
        contact.name, contact.email = "Maëlys Le Goff", "maelys.legoff@example.org"
        session.add(contact)
        await session.commit()
        assert await indexed(session, "anonyme") == 0
        assert await indexed(session, "maelys") == 2  # the name and the address
        assert await indexed(session, "legoff") == 1
    assert cid


async def indexed(session: object, word: str) -> int:
    from sqlmodel.ext.asyncio.session import AsyncSession

    assert isinstance(session, AsyncSession)
    bind = await session.connection()
    rows = (await bind.execute(search.backend(bind.dialect.name).hits([word]))).all()
    return len(rows)


async def test_the_label_filter_takes_a_labels_id_or_name(
    live: LiveServer, services: Services
) -> None:
    tagged, plain = await ingest(
        services, chat(40, "Location de vélos ?"), chat(41, "Location de vélos demain")
    )
    with login(live.url, *manager(live)) as client:
        made = client.post("/api/labels", json={"name": "Vélo", "color": "#0f766e"})
        assert made.status_code == 201, made.text
        label = made.json()["id"]
        assert client.post(f"/api/conversations/{tagged}/labels/{label}").is_success
        assert found(client, "location") == [plain, tagged]
        for value in (str(label), "Vélo", "VELO", " vélo "):
            assert found(client, "location", label=value) == [tagged], value
        for value in ("Hébergement", "999999", "%ED%B3%BF", "%FF", "x" * 65, "%00"):
            response = client.get(f"/api/search?q=location&label={value}")
            assert response.status_code in (404, 422), (value, response.text)
            assert response.json()["detail"]
