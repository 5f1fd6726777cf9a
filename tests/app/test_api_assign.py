"""Assigning to a named colleague and bulk actions over real HTTP: the same checks, events and
activity lines as one at a time, and nothing done outside what the user may see."""

from __future__ import annotations

from typing import Any

import httpx

from app import privacy
from app.services import Services
from tests.app.test_api_lists import open_chats
from tests.app.test_api_notes import user_named
from tests.conftest import LiveServer, login, office_login


def conversation(client: httpx.Client, cid: int) -> dict[str, Any]:
    response = client.get(f"/api/conversations/{cid}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


async def test_assign_to_a_colleague_then_back_to_the_queue(
    live: LiveServer, services: Services
) -> None:
    (cid,) = await open_chats(services, 1)
    camille, hugo = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    hugo_id = (await user_named(services, hugo.email)).id
    lea_id = (await user_named(services, office_login(live, "saint-clair").email)).id
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    manager_id = (await user_named(services, manager.email)).id
    with login(live.url, camille.email, camille.password) as client:
        client.headers["accept-language"] = "en"
        given = client.post(f"/api/conversations/{cid}/assign", json={"user_id": hugo_id})
        assert given.status_code == 200, given.text
        assert (given.json()["assignee_id"], given.json()["assignee_name"]) == (
            hugo_id,
            "Hugo Bernard",
        )
        # An adviser of another office, or nobody at all, cannot be given it.
        for target in (lea_id, 99_999):
            refused = client.post(f"/api/conversations/{cid}/assign", json={"user_id": target})
            assert refused.status_code == 422
            assert refused.json()["code"] == "error.unknown_colleague"
            assert refused.json()["detail"].startswith("This colleague cannot take")
        assert client.post(f"/api/conversations/{cid}/assign", json={}).status_code == 422
        assert (
            client.post(f"/api/conversations/{cid}/assign", json={"user_id": True}).status_code
            == 422
        )
        # A destination manager can be.
        to_manager = client.post(f"/api/conversations/{cid}/assign", json={"user_id": manager_id})
        assert to_manager.json()["assignee_id"] == manager_id
        back = client.post(f"/api/conversations/{cid}/assign", json={"user_id": None})
        assert back.status_code == 200 and back.json()["assignee_id"] is None
        queued = [c["id"] for c in client.get("/api/conversations?status=queued").json()]
        assert queued == [cid]
        lines = [
            (x["kind"], x["actor_name"], x["user_name"])
            for x in conversation(client, cid)["activities"]
        ]
        assert lines == [
            ("assigned_to", "Camille Martin", "Hugo Bernard"),
            ("assigned_to", "Camille Martin", "Sophie Lefèvre"),
            ("assigned_to", "Camille Martin", ""),  # back to the queue
        ]
    lea = office_login(live, "saint-clair")
    with login(live.url, lea.email, lea.password) as client:
        unseen = client.post(f"/api/conversations/{cid}/assign", json={"user_id": lea_id})
        assert unseen.status_code == 404
        del client.headers["X-CSRF-Token"]
        no_csrf = client.post(f"/api/conversations/{cid}/assign", json={"user_id": None})
        assert no_csrf.status_code == 403


async def test_bulk_resolve_skips_what_the_user_may_not_touch(
    live: LiveServer, services: Services
) -> None:
    ours = await open_chats(services, 4)
    (theirs,) = await open_chats(services, 1, account="chat-saint-clair")
    manager = await user_named(services, "manager@baie-dargent.example")
    await privacy.erase_visitor(services, manager, ours[3])
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as client:
        client.post(f"/api/conversations/{ours[2]}/status", json={"status": "resolved"})
        body = {"ids": [*ours, theirs, ours[0], 424_242], "action": "resolve"}
        result = client.post("/api/conversations/bulk", json=body)
        assert result.status_code == 200, result.text
        # Done: the two open ones. Skipped: already resolved, erased, another office's, unknown.
        assert result.json() == {"done": ours[:2], "skipped": 4}
        for cid in ours[:2]:
            detail = conversation(client, cid)
            assert detail["conversation"]["status"] == "resolved"
            assert [x["kind"] for x in detail["activities"]] == ["resolved"]
        reopened = client.post(
            "/api/conversations/bulk", json={"ids": ours[:3], "action": "reopen"}
        ).json()
        assert reopened == {"done": ours[:3], "skipped": 0}
    lea = office_login(live, "saint-clair")
    with login(live.url, lea.email, lea.password) as client:
        assert conversation(client, theirs)["conversation"]["status"] == "open"


async def test_bulk_assign_and_transfer(live: LiveServer, services: Services) -> None:
    ours = await open_chats(services, 3)
    (theirs,) = await open_chats(services, 1, account="chat-saint-clair")
    hugo_id = (await user_named(services, office_login(live, "port-argent", 1).email)).id
    lea_id = (await user_named(services, office_login(live, "saint-clair").email)).id
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        offices = {o["slug"]: o["id"] for o in client.get("/api/offices").json()}
        # Hugo is of Port-Argent: Saint-Clair's conversation is skipped, not given to him.
        assigned = client.post(
            "/api/conversations/bulk",
            json={"ids": [*ours[:2], theirs], "action": "assign", "user_id": hugo_id},
        ).json()
        assert assigned == {"done": ours[:2], "skipped": 1}
        rows = {c["id"]: c for c in client.get("/api/conversations").json()}
        assert [rows[c]["assignee_id"] for c in (*ours, theirs)] == [hugo_id, hugo_id, None, None]
        moved = client.post(
            "/api/conversations/bulk",
            json={"ids": [*ours, theirs], "action": "transfer",
                  "office_id": offices["saint-clair"], "note": "Pour vous"},
        ).json()  # fmt: skip
        assert moved == {"done": ours, "skipped": 1}  # already Saint-Clair's
        detail = conversation(client, ours[0])
        assert detail["conversation"]["office_id"] == offices["saint-clair"]
        transferred = [x for x in detail["activities"] if x["kind"] == "transferred"]
        assert [(x["from_office_id"], x["office_id"], x["detail"]) for x in transferred] == [
            (offices["port-argent"], offices["saint-clair"], "Pour vous")
        ]
    lea = office_login(live, "saint-clair")
    with login(live.url, lea.email, lea.password) as client:
        mine = client.post(
            "/api/conversations/bulk",
            json={"ids": [*ours, theirs], "action": "assign", "user_id": lea_id},
        ).json()
        assert mine == {"done": [*ours, theirs], "skipped": 0}


async def test_bad_bulk_requests_are_refused_whole(live: LiveServer, services: Services) -> None:
    ours = await open_chats(services, 2)
    camille = office_login(live, "port-argent")
    with login(live.url, camille.email, camille.password) as client:
        client.headers["accept-language"] = "en"
        cases = [
            ({"ids": list(range(1, 202)), "action": "resolve"}, "error.bulk_too_many"),
            ({"ids": ours, "action": "explode"}, "error.bulk_unknown_action"),
            ({"ids": ours, "action": "transfer"}, "error.unknown_office"),
            ({"ids": ours, "action": "transfer", "office_id": 999}, "error.unknown_office"),
            ({"ids": ours, "action": "assign"}, "error.unknown_colleague"),
            ({"ids": ours, "action": "assign", "user_id": 999}, "error.unknown_colleague"),
        ]
        for body, code in cases:
            response = client.post("/api/conversations/bulk", json=body)
            assert response.status_code == 422, body
            assert response.json()["code"] == code
            assert response.json()["detail"] and response.json()["detail"] != code
        assert (
            client.post(
                "/api/conversations/bulk", json={"ids": ["1"], "action": "resolve"}
            ).status_code
            == 422
        )
        rows = client.get("/api/conversations").json()
        assert {r["status"] for r in rows} == {"open"} and all(
            r["assignee_id"] is None for r in rows
        )
        del client.headers["X-CSRF-Token"]
        no_csrf = client.post("/api/conversations/bulk", json={"ids": ours, "action": "resolve"})
        assert no_csrf.status_code == 403
