"""Internal notes with mentions over real HTTP and sockets: never sent to the visitor, shown
live to the mentioned colleague, refused for colleagues out of reach."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import websockets

from app import keys, privacy
from app.models import User
from app.services import Services
from tests.app.test_assignment import online
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login


async def outbox_ids(services: Services) -> set[int]:
    rows: Any = await services.redis.xrange(keys.outbox(1))
    return {int(fields[b"m"]) for _id, fields in rows}


async def recv_activity(ws: Any, kind: str) -> dict[str, Any]:
    """The next ``activity.created`` frame of ``kind`` (others, e.g. the assignment's, skipped)."""
    while True:
        frame = await recv_until(ws, "activity.created")
        if frame["activity"]["kind"] == kind:
            return frame


async def user_named(services: Services, email: str) -> User:
    from sqlmodel import select

    async with services.db.session() as session:
        return (await session.exec(select(User).where(User.email == email))).one()


async def test_a_note_mentions_a_colleague_and_never_reaches_the_visitor(
    live: LiveServer, services: Services
) -> None:
    camille, hugo = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    hugo_id = (await user_named(services, hugo.email)).id
    with (
        login(live.url, camille.email, camille.password) as a,
        login(live.url, hugo.email, hugo.password) as b,
    ):
        async with (
            websockets.connect(visitor_url(live)) as visitor,
            online(live, a),
            online(live, b) as hugo_socket,
        ):
            await recv_until(visitor, "hello")
            await send_message(visitor, "Le phare est-il ouvert ?")
            await recv_until(hugo_socket, "message.created")
            row = next(
                c for c in a.get("/api/conversations").json() if c["preview"].startswith("Le phare")
            )
            cid = row["id"]
            response = a.post(
                f"/api/conversations/{cid}/notes",
                json={"text": "@Hugo tu connais les horaires ?", "client_id": "n-1",
                      "mentions": [hugo_id, hugo_id]},
            )  # fmt: skip
            assert response.status_code == 201, response.text
            note = response.json()
            assert (note["direction"], note["kind"], note["mentions"]) == (
                "note",
                "note",
                [hugo_id],
            )
            assert note["author_name"] == "Camille Martin" and note["client_id"] == "n-1"
            # Hugo's inbox shows it live, with his mention, and the activity line.
            created = await recv_until(hugo_socket, "message.created")
            assert created["message"]["id"] == note["id"]
            assert created["message"]["mentions"] == [hugo_id]
            line = await recv_activity(hugo_socket, "mention")
            assert line["activity"]["kind"] == "mention"
            assert line["activity"]["user_name"] == "Hugo Bernard"
            assert line["activity"]["actor_name"] == "Camille Martin"
            assert line["activity"]["message_id"] == note["id"]
            # The note changed nothing the visitor's wait depends on.
            after = next(c for c in a.get("/api/conversations").json() if c["id"] == cid)
            assert (after["unread"], after["waiting_since"], after["last_message_at"]) == (
                row["unread"],
                row["waiting_since"],
                row["last_message_at"],
            )
            assert note["id"] not in await outbox_ids(services)
            # The visitor's next frame is the reply, never the note.
            reply = a.post(
                f"/api/conversations/{cid}/messages", json={"text": "Oui, jusqu'à 19 h."}
            )
            assert reply.status_code == 201
            seen = []
            while not seen or seen[-1] != "Oui, jusqu'à 19 h.":
                seen.append((await recv_until(visitor, "message"))["message"]["text"])
            assert "@Hugo tu connais les horaires ?" not in seen
        detail = a.get(f"/api/conversations/{cid}").json()
        notes = [m for m in detail["messages"] if m["direction"] == "note"]
        assert [(n["text"], n["mentions"]) for n in notes] == [
            ("@Hugo tu connais les horaires ?", [hugo_id])
        ]
        assert [x["kind"] for x in detail["activities"] if x["kind"] != "assigned"] == ["mention"]
    # A reload of the widget lists the conversation without the note.
    async with websockets.connect(visitor_url(live)) as again:
        hello = json.loads(await again.recv())
        assert all("horaires ?" not in m["text"] for m in hello.get("messages", []))


async def test_a_note_sent_again_with_its_client_id_is_stored_and_announced_once(
    live: LiveServer, services: Services
) -> None:
    """A request retried after its answer was lost carries the note's client id again: it
    answers with the note stored, its mentions included, and alerts nobody a second time (two
    at the same moment too). A colleague's note with that id is refused; the same id in another
    conversation, or on a reply, is another message."""
    camille, hugo = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    hugo_id = (await user_named(services, hugo.email)).id
    async with websockets.connect(visitor_url(live)) as visitor:
        await recv_until(visitor, "hello")
        await send_message(visitor, "Le musée ?")
    async with websockets.connect(visitor_url(live)) as visitor:
        await recv_until(visitor, "hello")
        await send_message(visitor, "Le port ?")
    with login(live.url, camille.email, camille.password) as a:
        listed = {c["preview"]: c["id"] for c in a.get("/api/conversations").json()}
        cid, other = listed["Le musée ?"], listed["Le port ?"]
        path = f"/api/conversations/{cid}/notes"
        body = {"text": "@Hugo horaires ?", "client_id": "n-0001", "mentions": [hugo_id]}
        first = a.post(path, json=body)
        again = a.post(path, json={**body, "mentions": []})
        assert first.status_code == again.status_code == 201, again.text
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["mentions"] == [hugo_id]
        both = {**body, "client_id": "n-0002"}
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: a.post(path, json=both), range(2)))
        assert [x.status_code for x in answers] == [201, 201]
        assert answers[0].json()["id"] == answers[1].json()["id"]
        elsewhere = a.post(f"/api/conversations/{other}/notes", json=body)
        assert elsewhere.status_code == 201 and elsewhere.json()["id"] != first.json()["id"]
        reply = a.post(
            f"/api/conversations/{cid}/messages", json={"text": "Oui.", "client_id": "n-0001"}
        )
        assert reply.status_code == 201 and reply.json()["direction"] == "out"
        detail = a.get(f"/api/conversations/{cid}").json()
        notes = [m for m in detail["messages"] if m["direction"] == "note"]
        assert [n["client_id"] for n in notes] == ["n-0001", "n-0002"]
        mentions = [x for x in detail["activities"] if x["kind"] == "mention"]
        assert [x["message_id"] for x in mentions] == [first.json()["id"], answers[0].json()["id"]]
    with login(live.url, hugo.email, hugo.password) as b:
        taken = b.post(path, json=body, headers={"accept-language": "en"})
        assert taken.status_code == 409
        assert taken.json()["code"] == "error.client_id_taken"


async def test_mentions_out_of_reach_are_refused_and_nothing_is_stored(
    live: LiveServer, services: Services
) -> None:
    camille = office_login(live, "port-argent")
    lea = office_login(live, "saint-clair")
    lea_id = (await user_named(services, lea.email)).id
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    manager_id = (await user_named(services, manager.email)).id
    async with websockets.connect(visitor_url(live)) as visitor:
        await recv_until(visitor, "hello")
        await send_message(visitor, "Bonjour")
    with login(live.url, camille.email, camille.password) as client:
        client.headers["accept-language"] = "en"
        cid = client.get("/api/conversations").json()[0]["id"]
        for mentions in ([lea_id], [manager_id, 99_999], [True]):
            refused = client.post(
                f"/api/conversations/{cid}/notes", json={"text": "x", "mentions": mentions}
            )
            assert refused.status_code == 422, mentions
            if mentions != [True]:
                assert refused.json() == {
                    "detail": "You can only mention active colleagues who can see this "
                    "conversation.",
                    "code": "error.mention_out_of_reach",
                }
        empty = client.post(f"/api/conversations/{cid}/notes", json={"text": "  "})
        assert empty.status_code == 422 and empty.json()["code"] == "error.empty_message"
        # A destination manager sees every conversation: they can be mentioned.
        ok = client.post(
            f"/api/conversations/{cid}/notes", json={"text": "Sophie ?", "mentions": [manager_id]}
        )
        assert ok.status_code == 201 and ok.json()["mentions"] == [manager_id]
        detail = client.get(f"/api/conversations/{cid}").json()
        assert [m["text"] for m in detail["messages"] if m["direction"] == "note"] == ["Sophie ?"]
        assert [
            (x["kind"], x["user_id"]) for x in detail["activities"] if x["kind"] == "mention"
        ] == [("mention", manager_id)]
    with login(live.url, lea.email, lea.password) as client:
        unseen = client.post(f"/api/conversations/{cid}/notes", json={"text": "Coucou"})
        assert unseen.status_code == 404
        del client.headers["X-CSRF-Token"]
        assert client.post(f"/api/conversations/{cid}/notes", json={"text": "a"}).status_code == 403
    manager_user = await user_named(services, manager.email)
    await privacy.erase_visitor(services, manager_user, cid)
    with login(live.url, camille.email, camille.password) as client:
        erased = client.post(f"/api/conversations/{cid}/notes", json={"text": "Encore ?"})
        assert erased.status_code == 409
        assert erased.json()["code"] == "error.conversation_erased"
