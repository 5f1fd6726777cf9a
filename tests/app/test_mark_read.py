"""Reading changes nothing: a conversation is marked read by a CSRF-checked POST, never by a GET."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from datetime import UTC, datetime

import httpx
import pytest
import websockets

from app.security import hash_password
from tests.app.test_session_end import cookie_of
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.app.test_ws_reply import set_user
from tests.conftest import LiveServer, login, office_login


async def unread_conversation(live: LiveServer, text: str = "Un ferry ce soir ?") -> int:
    """A chat conversation of Port-Argent with one unread visitor message."""
    async with websockets.connect(visitor_url(live)) as visitor:
        await recv_until(visitor, "hello")
        ack = await send_message(visitor, text)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        rows = client.get("/api/conversations").json()
    found = [c for c in rows if c["preview"] == text]
    assert found and found[0]["unread"] == 1, (ack, rows)
    return int(found[0]["id"])


def unread_of(client: object, cid: int) -> int:
    rows = client.get("/api/conversations", params={"status": "all"}).json()  # type: ignore[attr-defined]
    return int(next(c["unread"] for c in rows if c["id"] == cid))


async def test_get_leaves_unread_and_post_marks_read(live: LiveServer) -> None:
    cid = await unread_conversation(live)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        detail = client.get(f"/api/conversations/{cid}")
        assert detail.status_code == 200
        assert detail.json()["conversation"]["unread"] == 1
        assert unread_of(client, cid) == 1  # still unread after reading it
        async with websockets.connect(
            f"{live.ws_url}/ws/adviser", additional_headers=cookie_of(client)
        ) as ws:
            await recv_until(ws, "hello")
            marked = client.post(f"/api/conversations/{cid}/read")
            assert marked.status_code == 200, marked.text
            assert marked.json()["unread"] == 0
            # Announced live (after whatever else this conversation went through).
            while True:
                changed = (await recv_until(ws, "conversation.changed"))["conversation"]
                if changed["id"] == cid and changed["unread"] == 0:
                    break
        assert unread_of(client, cid) == 0
        again = client.post(f"/api/conversations/{cid}/read")  # read already: its line
        assert again.status_code == 200
        assert {k: v for k, v in again.json().items() if k != "visitor_live"} == {
            k: v for k, v in marked.json().items() if k != "visitor_live"
        }


async def test_marking_read_needs_csrf_and_the_right_to_see_it(live: LiveServer) -> None:
    cid = await unread_conversation(live)
    adviser = office_login(live, "port-argent")
    other = office_login(live, "saint-clair")
    with (
        login(live.url, adviser.email, adviser.password) as client,
        login(live.url, other.email, other.password) as outsider,
    ):
        token = client.headers.pop("X-CSRF-Token")
        assert client.post(f"/api/conversations/{cid}/read").status_code == 403
        # A form posted from another site carries the cookies but not the header.
        refused = client.post(f"/api/conversations/{cid}/read", data={"csrf_token": token})
        assert refused.status_code == 403
        client.headers["X-CSRF-Token"] = token
        assert unread_of(client, cid) == 1
        assert outsider.post(f"/api/conversations/{cid}/read").status_code == 404
        assert client.post("/api/conversations/999999/read").status_code == 404
        assert unread_of(client, cid) == 1


async def test_marking_read_by_a_user_no_longer_entitled_is_refused_and_changes_nothing(
    live: LiveServer,
) -> None:
    """The adviser is read in the marking's own unit of work: a session still in Redis whose
    user was disabled, or whose password changed, is refused 401 and the conversation stays
    unread; put back, it is marked read."""
    cid = await unread_conversation(live)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        for change in ({"active": False}, {"password_hash": hash_password("another-password-1")}):
            before = await set_user(live, adviser.email, **change)
            refused = client.post(f"/api/conversations/{cid}/read")
            assert refused.status_code == 401, change
            assert refused.json()["detail"] and "{" not in refused.json()["detail"]
            await set_user(live, adviser.email, **before)
            assert unread_of(client, cid) == 1
        marked = client.post(f"/api/conversations/{cid}/read")
        assert marked.status_code == 200 and marked.json()["unread"] == 0
    token = "t" * 32  # a CSRF pair of its own, but no session at all
    with httpx.Client(base_url=live.url, cookies={"concierge_csrf": token}) as stranger:
        refused = stranger.post(f"/api/conversations/{cid}/read", headers={"X-CSRF-Token": token})
        assert refused.status_code == 401


def database_rows(live: LiveServer) -> list[str]:
    """The whole database, once the background follow-up of the last writes is done: the
    transactional outbox's rows (app.recovery) are deleted a moment after their events went
    out, and the new messages' search documents written (app.search_backlog), by the app
    itself, whatever the requests."""
    path = live.settings.sqlalchemy_url.split("///", 1)[1]
    deadline = time.monotonic() + 10
    owed = "SELECT (SELECT max(id) FROM message) > message_id FROM search_mark"
    with sqlite3.connect(path) as db:
        while db.execute("SELECT count(*) FROM relay").fetchone()[0]:
            assert time.monotonic() < deadline, "the relay rows were never deleted"
            time.sleep(0.1)
        while db.execute(owed).fetchone()[0]:
            assert time.monotonic() < deadline, "the new messages were never indexed"
            time.sleep(0.1)
        # A manager's read of visitor data is recorded (app.audit): the only write a GET makes.
        return [row for row in db.iterdump() if not row.startswith('INSERT INTO "audit_entry"')]


@pytest.mark.sqlite_only(reason="compares SQLite dumps (iterdump) taken before and after")
async def test_no_get_endpoint_changes_what_is_stored(live: LiveServer) -> None:
    """Every GET route of the app, called by a signed-in manager and an adviser on a
    conversation with an unread message, leaves the database as it was."""
    cid = await unread_conversation(live)
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    adviser = office_login(live, "port-argent")
    values = {
        "conversation_id": str(cid),
        "attachment_id": "1",
        "message_id": "1",
        "token": "not-a-token",
        "index": "0",
        "item_id": "1",  # a quarantined mail (none here: its download answers 404)
        "key": "mail-port-argent",
        "answer_id": "1",  # an answer of the library (app.answers)
        "contact_id": "1",  # the unread conversation's visitor (app.contacts)
        "link": "not-a-link",  # an e-mailed reply's link back to the chat (app.offline_link)
        "slug": "baie-dargent",  # a destination's privacy notice (app.web.visitor_data_pages)
        "account_key": "chat-port-argent",  # a chat widget's logo (app.widget_look)
    }
    with login(live.url, manager.email, manager.password) as client:
        schema = client.get("/api/openapi.json").json()
    paths = []
    for path, operations in schema["paths"].items():
        if "get" in operations:
            names = re.findall(r"{(\w+)}", path)
            unknown = [n for n in names if n not in values]
            assert not unknown, f"give the test a value for {unknown} ({path})"
            paths.append(re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path))
    assert f"/api/conversations/{cid}" in paths
    path = live.settings.sqlalchemy_url.split("///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # so its download is read too
        db.execute(
            "INSERT INTO quarantine (id, account_key, reason, raw, at, code, params)"
            " VALUES (1, 'mail-port-argent', 'unparseable', X'46726f6d3a', ?, 'email.failed', '')",
            (datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),),
        )
    before = database_rows(live)
    for who in (manager, adviser):
        with login(live.url, who.email, who.password) as client:
            before = database_rows(live)  # signing in may write (a known device)
            for path in paths:
                response = client.get(path)
                assert response.status_code < 500, (path, response.status_code)
                if who is manager and path == "/accounts/quarantine/1/raw":
                    assert response.content == b"From:"  # read, and nothing written
            assert database_rows(live) == before, "a GET changed the database"


def test_marking_read_is_a_post_only(live: LiveServer) -> None:
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        schema = client.get("/api/openapi.json").json()
    assert set(schema["paths"]["/api/conversations/{conversation_id}/read"]) == {"post"}
