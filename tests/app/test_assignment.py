"""Assignment inside an office, the queue, picking and transferring — over real servers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from app import keys
from app.redis_connect import connect
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login
from tests.support.sql import connect as sql_connect


def set_cap(live: LiveServer, slug: str, cap: int) -> None:
    path = live.settings.sqlalchemy_url
    with contextlib.closing(sql_connect(path)) as db, db:
        db.execute("UPDATE office SET adviser_cap = ? WHERE slug = ?", (cap, slug))


@contextlib.asynccontextmanager
async def online(live: LiveServer, client: httpx.Client) -> AsyncIterator[Any]:
    """An adviser's inbox socket: while it is open, the adviser is online."""
    cookie = {"cookie": f"concierge_session={client.cookies['concierge_session']}"}
    async with websockets.connect(f"{live.ws_url}/ws/adviser", additional_headers=cookie) as ws:
        await recv_until(ws, "hello")
        yield ws


async def visitor_writes(live: LiveServer, text: str, account: str = "chat-port-argent") -> None:
    async with websockets.connect(visitor_url(live, account=account)) as ws:
        await recv_until(ws, "hello")
        await send_message(ws, text)


def conversations(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {c["preview"]: c for c in client.get("/api/conversations?status=all").json()}


async def test_least_loaded_under_the_cap_then_the_queue(live: LiveServer) -> None:
    set_cap(live, "port-argent", 1)
    first, second = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    with (
        login(live.url, first.email, first.password) as a,
        login(live.url, second.email, second.password) as b,
    ):
        async with online(live, a):
            await visitor_writes(live, "one")
            await visitor_writes(live, "two")
            rows = conversations(a)
            assert rows["one"]["assignee_name"] == "Camille Martin"
            assert rows["two"]["assignee_id"] is None  # Camille is at the cap: two waits
            async with online(live, b):  # Hugo comes online and gets the oldest waiting one
                rows = conversations(a)
                assert rows["two"]["assignee_name"] == "Hugo Bernard"
                await visitor_writes(live, "three")
                assert conversations(a)["three"]["assignee_id"] is None
                # Camille resolves hers: she has room again and three is hers.
                resolved = a.post(
                    f"/api/conversations/{rows['one']['id']}/status", json={"status": "resolved"}
                )
                assert resolved.status_code == 200
                assert conversations(a)["three"]["assignee_name"] == "Camille Martin"


async def test_nobody_online_means_the_queue_and_picking_from_it(live: LiveServer) -> None:
    first, second = office_login(live, "port-argent", 0), office_login(live, "port-argent", 1)
    await visitor_writes(live, "waiting")
    with (
        login(live.url, first.email, first.password) as a,
        login(live.url, second.email, second.password) as b,
    ):
        row = conversations(a)["waiting"]
        assert row["assignee_id"] is None
        taken = a.post(f"/api/conversations/{row['id']}/take")
        assert taken.status_code == 200 and taken.json()["assignee_name"] == "Camille Martin"
        refused = b.post(f"/api/conversations/{row['id']}/take", headers={"accept-language": "en"})
        assert refused.status_code == 409
        assert refused.json()["detail"] == "Another adviser already answers this conversation."


async def test_transfer_with_a_note_moves_it_to_the_other_office(live: LiveServer) -> None:
    here = office_login(live, "port-argent")
    there = office_login(live, "saint-clair")
    async with websockets.connect(visitor_url(live)) as visitor:
        await recv_until(visitor, "hello")
        await send_message(visitor, "ferry pour Saint-Clair ?")
        with (
            login(live.url, here.email, here.password) as a,
            login(live.url, there.email, there.password) as b,
        ):
            offices = {o["slug"]: o["id"] for o in a.get("/api/offices").json()}
            row = conversations(a)["ferry pour Saint-Clair ?"]
            async with online(live, a) as here_ws, online(live, b) as there_ws:
                same = a.post(
                    f"/api/conversations/{row['id']}/transfer",
                    json={"office_id": offices["port-argent"]},
                )
                assert same.status_code == 422
                unknown = a.post(
                    f"/api/conversations/{row['id']}/transfer", json={"office_id": 9999}
                )
                assert unknown.status_code == 422
                moved = a.post(
                    f"/api/conversations/{row['id']}/transfer",
                    json={"office_id": offices["saint-clair"], "note": "Horaires du bac, merci"},
                )
                assert moved.status_code == 200
                assert moved.json()["office_name"] == "Office de Tourisme de Saint-Clair"
                # Both offices are told live; the one it left only that it left.
                left = await recv_until(here_ws, "conversation.left")
                assert left["conversation_id"] == row["id"]
                assert left["office_id"] == offices["port-argent"]
                assert "conversation" not in left and "message" not in left
                note = await recv_until(there_ws, "message.created")
                assert note["message"]["direction"] == "note"
            assert a.get(f"/api/conversations/{row['id']}").status_code == 404
            detail = b.get(f"/api/conversations/{row['id']}").json()
            assert [m["direction"] for m in detail["messages"]] == ["in", "note"]
        # The visitor never sees the internal note.
        with contextlib.suppress(TimeoutError):
            frame = await recv_until(visitor, "message", timeout=1)
            assert frame["message"]["author"] == "visitor"
            await recv_until(visitor, "message", timeout=1)
            raise AssertionError("the visitor received the internal note")


async def test_passes_asked_during_a_pass_are_coalesced(
    services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of messages to a queued office runs one more pass, not one per message; every
    caller still returns after a pass begun after it asked."""
    from app import assignment

    begun: list[int] = []
    real = assignment._assign_exclusively

    async def counted(services: Any, destination_id: int, office_id: int) -> list[int]:
        begun.append(office_id)
        await asyncio.sleep(0.05)  # a pass takes a while: the asks pile up meanwhile
        return await real(services, destination_id, office_id)

    monkeypatch.setattr(assignment, "_assign_exclusively", counted)
    await asyncio.gather(*(assignment.assign_waiting(services, 1, 1) for _ in range(20)))
    assert begun == [1, 1]  # the first ask's pass, then one pass for the 19 asked during it
    await assignment.assign_waiting(services, 1, 1)
    assert begun == [1, 1, 1]  # a later ask gets its own pass


async def test_a_live_chat_goes_before_older_backlog(live: LiveServer) -> None:
    """A visitor writing now, widget open, is answered before one who wrote earlier and left."""
    set_cap(live, "port-argent", 1)
    await visitor_writes(live, "earlier, widget closed since")
    camille = office_login(live, "port-argent")
    async with websockets.connect(visitor_url(live)) as visitor:
        await recv_until(visitor, "hello")
        await send_message(visitor, "writing now")
        with login(live.url, camille.email, camille.password) as a:
            for _ in range(50):  # the first visitor's socket ends on the server a moment later
                rows = conversations(a)
                if not rows["earlier, widget closed since"]["visitor_live"]:
                    break
                await asyncio.sleep(0.1)
            assert rows["writing now"]["visitor_live"] is True
            assert (
                rows["earlier, widget closed since"]["waiting_since"]
                < (rows["writing now"]["waiting_since"])
            )
            assert rows["writing now"]["assignee_id"] is None  # nobody online yet
            async with online(live, a) as ws:  # Camille comes online with room for one
                rows = conversations(a)
                assert rows["writing now"]["assignee_name"] == "Camille Martin"
                assert rows["earlier, widget closed since"]["assignee_id"] is None
                line = await recv_until(ws, "activity.created")
                assert line["conversation_id"] == rows["writing now"]["id"]
                assert line["activity"]["kind"] == "assigned"
                assert line["activity"]["user_name"] == "Camille Martin"
                assert line["activity"]["office_name"] == "Office de Tourisme de Port-Argent"


async def test_with_everyone_at_the_cap_a_new_conversation_waits_without_the_lock(
    live: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A busy evening: everyone online is at the cap, and each new conversation asks for a
    pass. It joins the queue at once, without the office's lock: another worker's pass holding
    it keeps no visitor's message waiting. A slot freed later still goes to it."""
    set_cap(live, "port-argent", 1)
    with contextlib.closing(sql_connect(live.settings.sqlalchemy_url)) as db:
        office_id, destination_id = db.execute(
            "SELECT id, destination_id FROM office WHERE slug = 'port-argent'"
        ).fetchone()
    lock = keys.assign_lock(destination_id, office_id)
    redis = connect(live.settings.redis_url)
    camille = office_login(live, "port-argent", 0)
    try:
        with login(live.url, camille.email, camille.password) as a:
            async with online(live, a):
                await visitor_writes(live, "one")
                rows = conversations(a)
                assert rows["one"]["assignee_name"] == "Camille Martin"
                await redis.set(lock, "another worker's pass", ex=60)
                started = time.monotonic()
                await visitor_writes(live, "two")
                assert time.monotonic() - started < 2.5  # the lock is waited for up to 5 s
                assert conversations(a)["two"]["assignee_id"] is None
                assert await redis.get(lock) == b"another worker's pass"
                await redis.delete(lock)
                resolved = a.post(
                    f"/api/conversations/{rows['one']['id']}/status", json={"status": "resolved"}
                )
                assert resolved.status_code == 200
                assert conversations(a)["two"]["assignee_name"] == "Camille Martin"
    finally:
        await redis.aclose()
    assert "assignment lock" not in caplog.text
