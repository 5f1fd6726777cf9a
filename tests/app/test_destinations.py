"""Two destinations in one installation: each one's data, events and rights kept apart.

Destination A is the demo's Baie d'Argent; B, the Côte Sauvage, is added while the app runs
through app.destinations (as `concierge destination add` does), with an office whose slug is the
same as one of A's (office slugs are unique per destination only)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets

from app import destinations, repository
from app.destinations import DestinationError
from app.models import Role, User
from app.security import hash_password
from app.services import Services
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login

PASSWORD = "a-long-password-for-b"
A_MANAGER = "manager@baie-dargent.example"
B_SECRET = "zanzibar"  # a word only B's visitor writes
A_WORD = "kerlouan"  # a word only A's visitor writes


@dataclass
class Pair:
    a_conversation: int
    b_conversation: int
    b_contact: int
    b_answer: int
    b_label: int


async def add_destination_b(services: Services) -> None:
    """B with an office (slug shared with A), a chat widget, an adviser and a manager."""
    async with services.db.session() as session:
        b = await destinations.add_destination(
            session, "cote-sauvage", "Côte Sauvage", "Europe/Paris"
        )
        office = await destinations.add_office(
            session, "cote-sauvage", "port-argent", "Maison du Tourisme Sauvage"
        )
        await destinations.add_account(
            session, "chat-sauvage", "cote-sauvage", "port-argent", "webchat", "Chat Sauvage"
        )
        assert b.id is not None and office.id is not None
        for email, role, office_id in (
            ("agathe@sauvage.example", Role.ADVISER, office.id),
            ("chef@sauvage.example", Role.DESTINATION_MANAGER, None),
        ):
            session.add(
                User(
                    destination_id=b.id,
                    office_id=office_id,
                    email=email,
                    name=email.split("@")[0].title(),
                    password_hash=hash_password(PASSWORD),
                    role=role,
                )
            )
        await session.commit()


@contextlib.contextmanager
def b_manager(live: LiveServer) -> Iterator[httpx.Client]:
    with login(live.url, "chef@sauvage.example", PASSWORD) as client:
        yield client


async def chat(live: LiveServer, account: str, text: str) -> None:
    async with websockets.connect(visitor_url(live, account=account, lang="fr")) as ws:
        await recv_until(ws, "hello")
        await send_message(ws, text)


def only_conversation(client: httpx.Client) -> int:
    listed = client.get("/api/conversations", params={"status": "all"}).json()
    assert len(listed) == 1, listed
    return int(listed[0]["id"])


async def two_destinations(live: LiveServer, services: Services) -> Pair:
    await add_destination_b(services)
    await chat(live, "chat-port-argent", f"Une question sur {A_WORD} ?")
    await chat(live, "chat-sauvage", f"Le bateau pour {B_SECRET} part à quelle heure ?")
    with login(live.url, A_MANAGER, live.logins[A_MANAGER].password) as a:
        a_conversation = only_conversation(a)
    with b_manager(live) as b:
        b_conversation = only_conversation(b)
        detail = b.get(f"/api/conversations/{b_conversation}").json()
        b_contact = int(detail["conversation"]["contact_id"])
        answer = b.post(
            "/api/answers",
            json={"title": "Ferry Sauvage", "shortcut": "ferry", "texts": {"fr": "Le ferry…"}},
        )
        assert answer.status_code == 201, answer.text
        label = b.post("/api/labels", json={"name": "Marées", "color": "#2563eb"})
        assert label.status_code == 201, label.text
        assert b.get(f"/api/contacts/{b_contact}").status_code == 200
    return Pair(a_conversation, b_conversation, b_contact, answer.json()["id"], label.json()["id"])


B_NAMES = ("Sauvage", "sauvage", B_SECRET, "Marées", "Agathe", "Chef")


def assert_nothing_of_b(text: str, where: str) -> None:
    for name in B_NAMES:
        assert name not in text, f"{where} shows {name!r}"


def a_users(live: LiveServer) -> list[tuple[str, str]]:
    adviser = office_login(live, "port-argent")
    return [(adviser.email, adviser.password), (A_MANAGER, live.logins[A_MANAGER].password)]


async def test_a_user_of_a_sees_nothing_of_b(live: LiveServer, services: Services) -> None:
    pair = await two_destinations(live, services)
    for email, password in a_users(live):
        with login(live.url, email, password) as client:
            listed = client.get("/api/conversations", params={"status": "all"})
            assert [c["id"] for c in listed.json()] == [pair.a_conversation], email
            assert_nothing_of_b(listed.text, "the list")
            counts = client.get("/api/conversations/counts").json()
            assert counts["all"] == 1, counts
            # B's ids answer as ids that do not exist: 404, never 403 (nothing is revealed).
            for path in (
                f"/api/conversations/{pair.b_conversation}",
                f"/api/conversations/{pair.b_conversation}/visitor-data",
                f"/api/contacts/{pair.b_contact}",
                f"/api/contacts/{pair.b_contact}/suggestions",
                f"/api/answers/{pair.b_answer}",
            ):
                assert client.get(path).status_code == 404, (email, path)
            taken = client.post(f"/api/conversations/{pair.b_conversation}/take")
            assert taken.status_code == 404, email
            assert (
                client.get("/api/conversations", params={"label_id": pair.b_label}).status_code
                == 404
            )
            found = client.get("/api/search", params={"q": B_SECRET})
            assert found.status_code == 200 and found.json() == [], (email, found.text)
            mine = client.get("/api/search", params={"q": A_WORD}).json()
            assert [r["id"] for r in mine] == [pair.a_conversation], mine
            for path in ("/api/answers", "/api/labels", "/api/offices", "/api/colleagues",
                         "/api/duty", "/rota", "/inbox", "/answers"):  # fmt: skip
                response = client.get(path)
                assert response.status_code == 200, (email, path, response.status_code)
                assert_nothing_of_b(response.text, f"{path} for {email}")
    with login(live.url, A_MANAGER, live.logins[A_MANAGER].password) as manager:
        for path in ("/api/metrics", "/api/metrics/live", "/dashboard", "/accounts",
                     "/rota/export.toml", "/rules", "/api/rules", "/dashboard/labels.csv",
                     "/api/moderation/blocks", "/api/moderation/spam", "/audit",
                     "/privacy/edit", "/dashboard/weekly"):  # fmt: skip
            response = manager.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert_nothing_of_b(response.text, path)
        for kind in ("conversations", "accounts", "offices", "advisers"):
            csv = manager.get("/api/metrics/export.csv", params={"kind": kind})
            assert csv.status_code == 200, kind
            assert_nothing_of_b(csv.text, f"the {kind} CSV")
        # Labels are the destination's own: A may have a "Marées" of its own.
        ours = manager.post("/api/labels", json={"name": "Marées", "color": "#059669"})
        assert ours.status_code == 201, ours.text


async def test_b_sees_its_own_and_nothing_of_a(live: LiveServer, services: Services) -> None:
    pair = await two_destinations(live, services)
    with b_manager(live) as b:
        assert [c["id"] for c in b.get("/api/conversations?status=all").json()] == [
            pair.b_conversation
        ]
        assert b.get(f"/api/conversations/{pair.a_conversation}").status_code == 404
        assert b.get("/api/search", params={"q": A_WORD}).json() == []
        offices = b.get("/api/offices").json()
        assert [x["name"] for x in offices] == ["Maison du Tourisme Sauvage"], offices
        for path in ("/api/labels", "/api/answers", "/rota", "/accounts", "/api/metrics"):
            response = b.get(path)
            assert response.status_code == 200, path
            assert "Port-Argent" not in response.text and A_WORD not in response.text, path
    async with websockets.connect(visitor_url(live, account="chat-sauvage", lang="en")) as ws:
        hello = await recv_until(ws, "hello")
    assert hello["office"] == "Maison du Tourisme Sauvage"
    assert hello["privacy_url"].endswith("/privacy/cote-sauvage?lang=en")
    with login(live.url, "agathe@sauvage.example", PASSWORD) as adviser:
        assert [c["id"] for c in adviser.get("/api/conversations?status=all").json()] == [
            pair.b_conversation
        ]


async def test_no_event_of_b_reaches_a_socket(live: LiveServer, services: Services) -> None:
    await add_destination_b(services)
    for email, password in a_users(live):
        with login(live.url, email, password) as client:
            cookie = f"concierge_session={client.cookies['concierge_session']}"
            async with websockets.connect(
                f"{live.ws_url}/ws/adviser", additional_headers={"cookie": cookie}
            ) as a_socket:
                await recv_until(a_socket, "hello")
                await chat(live, "chat-sauvage", f"{B_SECRET} pour {email}")
                frames: list[dict[str, Any]] = []
                with pytest.raises(TimeoutError):
                    while True:
                        frames.append(await recv_until(a_socket, "message.created", 1.5))
                assert not frames
                # The socket works: A's own visitor arrives.
                await chat(live, "chat-port-argent", f"{A_WORD} pour {email}")
                created = await recv_until(a_socket, "message.created", 5)
                assert A_WORD in json.dumps(created)


async def test_adding_refuses_bad_and_taken_names(services: Services) -> None:
    async with services.db.session() as session:
        refusals = [
            (destinations.add_destination(session, "Bad Slug", "X", "Europe/Paris"), "SLUG"),
            (destinations.add_destination(session, "ok", "X", "Mars/Olympus"), "--timezone"),
            (destinations.add_destination(session, "ok", "  ", "Europe/Paris"), "--name"),
            (destinations.add_destination(session, "baie-dargent", "X", "UTC"), "SLUG"),
            (destinations.add_office(session, "nowhere", "o", "O"), "--destination"),
            (destinations.add_office(session, "baie-dargent", "port-argent", "O"), "SLUG"),
            (destinations.add_account(session, "k", "baie-dargent", "x", "webchat", "K"), "--office"),
            (destinations.add_account(session, "k", "baie-dargent", "port-argent", "fax", "K"), "--channel"),
            (destinations.add_account(session, "chat-port-argent", "baie-dargent", "port-argent", "webchat", "K"), "KEY"),
        ]  # fmt: skip
        for attempt, field in refusals:
            with pytest.raises(DestinationError) as caught:
                await attempt
            assert caught.value.field == field, caught.value
        assert [s.slug for s in await destinations.summaries(session)] == ["baie-dargent"]

        await destinations.add_destination(session, "cote", "Côte", "America/Martinique")
        await destinations.add_office(session, "cote", "port-argent", "Port de la Côte")
        mail = await destinations.add_account(
            session, "mail-cote", "cote", "port-argent", "email", "E-mail Côte"
        )
        assert mail.active is False  # until `concierge account email` configures it
        with pytest.raises(DestinationError, match="give --destination"):
            await destinations.office_by_slug(session, "port-argent")
        with pytest.raises(DestinationError, match="give --destination"):
            await destinations.destination_by_slug(session, None)
        rows = {s.slug: s for s in await destinations.summaries(session)}
        assert (rows["cote"].offices, rows["cote"].accounts, rows["cote"].users) == (1, 1, 0)
        assert rows["cote"].timezone == "America/Martinique"
        assert (rows["baie-dargent"].offices, rows["baie-dargent"].users) == (3, 7)


async def b_ids(services: Services) -> dict[str, int]:
    async with services.db.session() as session:
        office = await destinations.office_by_slug(session, "port-argent", "cote-sauvage")
        account = await repository.account_by_key(session, "chat-sauvage")
        adviser = await repository.user_by_email(session, "agathe@sauvage.example")
    assert office.id and account and account.id and adviser and adviser.id
    return {"office": office.id, "account": account.id, "adviser": adviser.id}


async def test_b_ids_in_a_request_of_a_are_refused(live: LiveServer, services: Services) -> None:
    pair = await two_destinations(live, services)
    ids = await b_ids(services)
    with login(live.url, A_MANAGER, live.logins[A_MANAGER].password) as manager:
        for params in ({"office_id": ids["office"]}, {"account_id": ids["account"]}):
            refused = manager.get("/api/metrics", params=params)
            assert refused.status_code in (403, 404, 422), (params, refused.text)
            found = manager.get("/api/search", params={"q": B_SECRET, **params})
            assert found.status_code != 200 or found.json() == [], (params, found.text)
        found = manager.get("/api/search", params={"q": "", "assignee_id": ids["adviser"]})
        assert found.status_code != 200 or found.json() == [], found.text
        moved = manager.post(
            f"/api/conversations/{pair.a_conversation}/transfer",
            json={"office_id": ids["office"], "note": "to B?"},
        )
        assert moved.status_code in (403, 404, 422), moved.text
        given = manager.post(
            f"/api/conversations/{pair.a_conversation}/assign", json={"user_id": ids["adviser"]}
        )
        assert given.status_code in (403, 404, 422), given.text
        bulk = manager.post(
            "/api/conversations/bulk",
            json={"ids": [pair.a_conversation], "action": "transfer", "office_id": ids["office"]},
        )
        assert bulk.status_code in (403, 404, 422) or not bulk.json()["done"], bulk.text
        bulk = manager.post(
            "/api/conversations/bulk",
            json={"ids": [pair.b_conversation], "action": "resolve"},
        )
        assert bulk.status_code in (403, 404, 422) or not bulk.json()["done"], bulk.text
        labelled = manager.post(f"/api/conversations/{pair.a_conversation}/labels/{pair.b_label}")
        assert labelled.status_code in (403, 404, 422), labelled.text
        renamed = manager.patch(f"/api/labels/{pair.b_label}", json={"name": "Ours"})
        assert renamed.status_code in (403, 404), renamed.text
        assert manager.delete(f"/api/labels/{pair.b_label}").status_code in (403, 404)
        assert manager.delete(f"/api/answers/{pair.b_answer}").status_code in (403, 404)
        disabled = manager.post(f"/api/users/{ids['adviser']}/disable")
        assert disabled.status_code == 404, disabled.text
    with b_manager(live) as b:  # B's conversation, label and answer are as they were
        detail = b.get(f"/api/conversations/{pair.b_conversation}").json()["conversation"]
        assert detail["status"] == "open"
        assert "Marées" in b.get("/api/labels").text
        assert b.get(f"/api/answers/{pair.b_answer}").status_code == 200
    with login(live.url, A_MANAGER, live.logins[A_MANAGER].password) as manager:
        detail = manager.get(f"/api/conversations/{pair.a_conversation}").json()["conversation"]
        assert detail["office_id"] != ids["office"] and detail["assignee_id"] != ids["adviser"]
