"""Advisers online, away and offline; colleagues and offices in view — over a real server,
Redis and database."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx

from app.models import Destination, Office, User
from app.security import hash_password
from app.services import Services
from tests.app.test_assignment import conversations, online, visitor_writes
from tests.app.test_ws import recv_until
from tests.conftest import LiveServer, login, office_login

MANAGER = "manager@baie-dargent.example"


async def presence_of(ws: Any, user_id: int) -> dict[str, Any]:
    """The next presence.changed frame about ``user_id`` (others are skipped)."""
    while True:
        frame = await recv_until(ws, "presence.changed")
        if frame["user_id"] == user_id:
            return frame


def me(client: httpx.Client) -> int:
    return int(client.get("/api/me").json()["id"])


def colleagues(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in client.get("/api/colleagues").json()}


def offices(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {o["slug"]: o for o in client.get("/api/offices").json()}


async def test_online_away_offline_are_told_to_colleagues(live: LiveServer) -> None:
    camille, hugo = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    lea = office_login(live, "saint-clair")
    with (
        login(live.url, camille.email, camille.password) as a,
        login(live.url, hugo.email, hugo.password) as b,
        login(live.url, lea.email, lea.password) as c,
    ):
        camille_id = me(a)
        assert a.get("/api/me/presence").json() == {"status": "online"}
        async with online(live, b) as hugo_ws, online(live, c) as lea_ws:
            async with online(live, a):
                came = await presence_of(hugo_ws, camille_id)
                assert came["status"] == "online" and came["name"] == "Camille Martin"
                assert came["staff"] is True and came["conversation_id"] == 0
                # Another office's adviser is told too: presence is for the whole destination.
                assert (await presence_of(lea_ws, camille_id))["status"] == "online"

                away = a.post("/api/me/presence", json={"status": "away"})
                assert away.status_code == 200 and away.json() == {"status": "away"}
                assert (await presence_of(hugo_ws, camille_id))["status"] == "away"
                assert a.get("/api/me/presence").json() == {"status": "away"}

                team = colleagues(c)
                assert team["Camille Martin"]["status"] == "away"
                assert team["Hugo Bernard"]["status"] == "online"
                assert team["Chloé Laurent"]["status"] == "offline"
                assert team["Camille Martin"]["office_name"] == "Office de Tourisme de Port-Argent"
                assert team["Camille Martin"]["role"] == "adviser"
                assert team["Sophie Lefèvre"]["office_id"] is None
                assert team["Sophie Lefèvre"]["role"] == "destination_manager"
                here = offices(c)["port-argent"]
                assert (here["online"], here["away"]) == (1, 1)
                assert offices(c)["les-salines"]["online"] == 0

                back = a.post("/api/me/presence", json={"status": "online"})
                assert back.json() == {"status": "online"}
                assert (await presence_of(hugo_ws, camille_id))["status"] == "online"
            # Her socket closed: she is offline, and her colleagues are told.
            assert (await presence_of(hugo_ws, camille_id))["status"] == "offline"
            assert colleagues(b)["Camille Martin"]["status"] == "offline"
            # Her choice outlives the socket (a reload keeps it).
            assert a.get("/api/me/presence").json() == {"status": "online"}


async def test_bad_presence_requests_are_refused(live: LiveServer) -> None:
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as a:
        assert a.post("/api/me/presence", json={"status": "busy"}).status_code == 422
        assert a.post("/api/me/presence", json={}).status_code == 422
        forged = a.post(
            "/api/me/presence", json={"status": "away"}, headers={"x-csrf-token": "forged"}
        )
        assert forged.status_code == 403
        assert a.get("/api/me/presence").json() == {"status": "online"}  # nothing changed
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get("/api/colleagues").status_code == 401
        assert anonymous.get("/api/offices").status_code == 401
        assert anonymous.post("/api/me/presence", json={"status": "away"}).status_code in (
            401,
            403,
        )


async def test_two_tabs_stay_online_until_the_last_closes(live: LiveServer) -> None:
    camille, hugo = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    with (
        login(live.url, camille.email, camille.password) as a,
        login(live.url, hugo.email, hugo.password) as b,
    ):
        async with online(live, a):
            async with online(live, a):
                assert colleagues(b)["Camille Martin"]["status"] == "online"
            assert colleagues(b)["Camille Martin"]["status"] == "online"  # one tab is left
        assert colleagues(b)["Camille Martin"]["status"] == "offline"


async def test_an_away_adviser_is_given_nothing_new_and_keeps_her_own(live: LiveServer) -> None:
    camille = office_login(live, "port-argent", 0)
    with login(live.url, camille.email, camille.password) as a:
        async with online(live, a):
            await visitor_writes(live, "before the break")
            assert conversations(a)["before the break"]["assignee_name"] == "Camille Martin"
            assert a.post("/api/me/presence", json={"status": "away"}).status_code == 200
            await visitor_writes(live, "during the break", account="chat-port-argent")
            rows = conversations(a)
            assert rows["during the break"]["assignee_id"] is None  # waits in the queue
            assert rows["before the break"]["assignee_name"] == "Camille Martin"  # still hers
            assert colleagues(a)["Camille Martin"]["open"] == 1
            # Back online: the office queue moves to her at once.
            assert a.post("/api/me/presence", json={"status": "online"}).status_code == 200
            assert conversations(a)["during the break"]["assignee_name"] == "Camille Martin"
            assert colleagues(a)["Camille Martin"]["open"] == 2


async def test_offices_say_who_is_on_duty(make_server: Any) -> None:
    from tests.app.test_routing import SATURDAY_2114

    live = make_server(clock_start=SATURDAY_2114)  # 21:14 in Paris: Les Salines on duty
    with login(live.url, MANAGER, live.logins[MANAGER].password) as m:
        listed = m.get("/api/offices").json()
        assert [o["slug"] for o in listed] == ["port-argent", "saint-clair", "les-salines"]
        assert set(listed[0]) == {"id", "slug", "name", "on_duty", "online", "away"}
        assert {o["slug"]: o["on_duty"] for o in listed} == {
            "port-argent": False,
            "saint-clair": False,
            "les-salines": True,
        }
    with login(live.url, *_creds(live, "port-argent")) as a:
        assert {o["slug"]: o["on_duty"] for o in a.get("/api/offices").json()}["port-argent"] is (
            False
        )


def _creds(live: LiveServer, slug: str) -> tuple[str, str]:
    found = office_login(live, slug)
    return found.email, found.password


async def test_another_destination_sees_none_of_this_team(
    live: LiveServer, services: Services
) -> None:
    async with services.db.session() as session:
        elsewhere = Destination(slug="ailleurs", name="Ailleurs")
        session.add(elsewhere)
        await session.flush()
        office = Office(destination_id=elsewhere.id or 0, slug="ailleurs", name="OT d'Ailleurs")
        session.add(office)
        await session.flush()
        session.add(
            User(destination_id=elsewhere.id or 0, office_id=office.id, name="Zoé Ailleurs",
                 email="zoe@ailleurs.example", password_hash=hash_password("zoe-password-12"))
        )  # fmt: skip
        await session.commit()
    camille = office_login(live, "port-argent")
    await visitor_writes(live, "une question")
    with (
        login(live.url, "zoe@ailleurs.example", "zoe-password-12") as z,
        login(live.url, camille.email, camille.password) as a,
    ):
        conversation_id = conversations(a)["une question"]["id"]
        assert list(colleagues(z)) == ["Zoé Ailleurs"]
        assert list(offices(z)) == ["ailleurs"]
        assert "Zoé Ailleurs" not in colleagues(a)
        assert "ailleurs" not in offices(a)
        assert z.get(f"/api/conversations/{conversation_id}/viewers").status_code == 404
        async with online(live, a) as camille_ws, online(live, z) as zoe_ws:
            await camille_ws.send(
                json.dumps({"type": "viewing", "conversation_id": conversation_id})
            )
            await zoe_ws.send(json.dumps({"type": "viewing", "conversation_id": conversation_id}))
            assert (await recv_until(zoe_ws, "error"))["code"] == "not_found"
            assert z.post("/api/me/presence", json={"status": "away"}).status_code == 200
            with contextlib.suppress(TimeoutError):  # nothing of Zoé reaches Port-Argent
                while True:
                    frame = await recv_until(camille_ws, "presence.changed", timeout=1)
                    assert frame["name"] != "Zoé Ailleurs", frame
