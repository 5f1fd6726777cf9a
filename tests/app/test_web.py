"""Login, sessions, CSRF, per-office permissions and the reply flow over real HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import LiveServer, login, office_login


def _visitor_conversation(live: LiveServer, account: str, text: str) -> int:
    """Opens a chat conversation through the real visitor websocket; returns its id."""
    import asyncio
    import json

    import websockets

    async def run() -> int:
        async with websockets.connect(f"{live.ws_url}/ws/visitor?account={account}") as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello"
            await ws.send(json.dumps({"type": "message", "client_id": "abcdefgh1", "text": text}))
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "ack":
                    break
        return 0

    asyncio.run(run())
    adviser = office_login(live, account.removeprefix("chat-"))
    with login(live.url, adviser.email, adviser.password) as client:
        rows = client.get("/api/conversations").json()
    return int(next(r["id"] for r in rows if r["preview"] == text))


def test_login_page_sets_csrf_cookie_and_security_headers(live: LiveServer) -> None:
    response = httpx.get(f"{live.url}/login", headers={"accept-language": "en"})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "concierge_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "Sign in" in response.text


def test_login_page_speaks_french_by_accept_language(live: LiveServer) -> None:
    response = httpx.get(
        f"{live.url}/login", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"}
    )
    assert "Connexion" in response.text and 'lang="fr"' in response.text


def test_login_without_csrf_is_refused(live: LiveServer) -> None:
    user = next(iter(live.logins.values()))
    response = httpx.post(
        f"{live.url}/login", data={"email": user.email, "password": user.password}
    )
    assert response.status_code == 403
    assert "concierge_session" not in response.headers.get("set-cookie", "")


def test_wrong_password_is_refused_with_a_message(live: LiveServer) -> None:
    user = next(iter(live.logins.values()))
    with httpx.Client(base_url=live.url, headers={"accept-language": "en"}) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        response = client.post(
            "/login", data={"email": user.email, "password": "wrong", "csrf_token": token}
        )
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.text


def test_session_cookie_is_httponly_and_samesite_and_logout_ends_it(live: LiveServer) -> None:
    user = next(iter(live.logins.values()))
    with login(live.url, user.email, user.password) as client:
        assert client.get("/api/me").json()["email"] == user.email
        token = client.headers["X-CSRF-Token"]
        session_cookie = client.cookies.get("concierge_session")
        assert session_cookie
        response = client.post("/logout", data={"csrf_token": token})
        assert response.status_code == 303
    # The old session id is dead on the server, not just forgotten by this browser.
    again = httpx.get(f"{live.url}/api/me", cookies={"concierge_session": session_cookie})
    assert again.status_code == 401


def test_session_cookie_flags(live: LiveServer) -> None:
    user = next(iter(live.logins.values()))
    with httpx.Client(base_url=live.url) as client:
        token = (
            client.get("/login").text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        )
        response = client.post(
            "/login", data={"email": user.email, "password": user.password, "csrf_token": token}
        )
    cookie = next(c for c in response.headers.get_list("set-cookie") if "concierge_session" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_pages_and_api_need_a_session(live: LiveServer) -> None:
    assert httpx.get(f"{live.url}/inbox").headers["location"] == "/login"
    assert httpx.get(f"{live.url}/api/conversations").status_code == 401
    assert httpx.post(
        f"{live.url}/api/conversations/1/messages", json={"text": "x"}
    ).status_code in (
        401,
        403,
    )


def test_adviser_replies_and_resolves(live: LiveServer) -> None:
    conversation_id = _visitor_conversation(
        live, "chat-port-argent", "Bonjour, horaires du phare ?"
    )
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        detail = client.get(f"/api/conversations/{conversation_id}").json()
        assert [m["text"] for m in detail["messages"]] == ["Bonjour, horaires du phare ?"]
        assert detail["conversation"]["unread"] == 1  # reading it changes nothing
        marked = client.post(f"/api/conversations/{conversation_id}/read")
        assert marked.json()["unread"] == 0  # the inbox marks it read by a POST
        reply = client.post(
            f"/api/conversations/{conversation_id}/messages", json={"text": "De 10 h à 18 h."}
        )
        assert reply.status_code == 201
        assert reply.json()["author_name"] == "Camille Martin"
        resolved = client.post(
            f"/api/conversations/{conversation_id}/status", json={"status": "resolved"}
        ).json()
        assert resolved["status"] == "resolved"
        assert resolved["assignee_name"] == "Camille Martin"
        assert conversation_id not in [c["id"] for c in client.get("/api/conversations").json()]
        reopened = client.post(
            f"/api/conversations/{conversation_id}/status", json={"status": "open"}
        ).json()
        assert reopened["status"] == "open"


def test_a_reply_sent_again_with_its_client_id_is_stored_and_sent_once(live: LiveServer) -> None:
    """A second press while the first was on its way, or a request retried after its answer
    was lost: the same client id in the conversation is the reply already stored (even two at
    the same moment), never a second one. A colleague's reply with that id is refused; the
    same id in another conversation is another reply."""
    conversation_id = _visitor_conversation(live, "chat-port-argent", "Le phare ?")
    other_id = _visitor_conversation(live, "chat-port-argent", "Le musée ?")
    adviser = office_login(live, "port-argent")
    colleague = office_login(live, "port-argent", 1)
    path = f"/api/conversations/{conversation_id}/messages"
    body = {"text": "De 10 h à 18 h.", "client_id": "c0ffee-0001"}
    with login(live.url, adviser.email, adviser.password) as client:
        first = client.post(path, json=body)
        again = client.post(path, json=body)
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["client_id"] == "c0ffee-0001"
        # Two at once: one is stored, both answer with it.
        both = {**body, "client_id": "c0ffee-0002"}
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: client.post(path, json=both), range(2)))
        assert [a.status_code for a in answers] == [201, 201]
        assert answers[0].json()["id"] == answers[1].json()["id"]
        elsewhere = client.post(f"/api/conversations/{other_id}/messages", json=body)
        assert elsewhere.status_code == 201 and elsewhere.json()["id"] != first.json()["id"]
        sent = [
            m
            for m in client.get(f"/api/conversations/{conversation_id}").json()["messages"]
            if m["direction"] == "out"
        ]
        assert [m["client_id"] for m in sent] == ["c0ffee-0001", "c0ffee-0002"]
    with login(live.url, colleague.email, colleague.password) as client:
        taken = client.post(path, json=body, headers={"accept-language": "en"})
        assert taken.status_code == 409
        assert "sent already under the same identifier" in taken.json()["detail"]


def test_one_message_is_read_alone_by_whoever_may_see_its_conversation(
    live: LiveServer,
) -> None:
    conversation_id = _visitor_conversation(live, "chat-port-argent", "Le <b>phare</b> ?")
    other_id = _visitor_conversation(live, "chat-port-argent", "Le musée ?")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        whole = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
        reply = client.post(
            f"/api/conversations/{conversation_id}/messages", json={"text": "Oui."}
        ).json()
        first = client.get(f"/api/conversations/{conversation_id}/messages/{whole[0]['id']}")
        assert first.status_code == 200 and first.json() == whole[0]
        assert first.json()["text"] == "Le <b>phare</b> ?"  # as stored: the page escapes it
        again = client.get(f"/api/conversations/{conversation_id}/messages/{reply['id']}")
        assert again.json()["id"] == reply["id"] and again.json()["direction"] == "out"
        elsewhere = client.get(
            f"/api/conversations/{other_id}/messages/{whole[0]['id']}",
            headers={"accept-language": "en"},
        )
        assert elsewhere.status_code == 404
        assert elsewhere.json()["code"] == "error.message_not_found"
        assert client.get(f"/api/conversations/{conversation_id}/messages/0").status_code == 404
    stranger = office_login(live, "saint-clair")
    with login(live.url, stranger.email, stranger.password) as client:
        hidden = client.get(f"/api/conversations/{conversation_id}/messages/{whole[0]['id']}")
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "error.conversation_not_found"


def test_reply_without_csrf_header_is_refused_and_nothing_stored(live: LiveServer) -> None:
    conversation_id = _visitor_conversation(live, "chat-port-argent", "Parking ?")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        del client.headers["X-CSRF-Token"]
        response = client.post(
            f"/api/conversations/{conversation_id}/messages", json={"text": "Oui"}
        )
        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]
        messages = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
    assert len(messages) == 1


def test_bad_replies_get_clear_errors(live: LiveServer) -> None:
    conversation_id = _visitor_conversation(live, "chat-port-argent", "Vélos ?")
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        client.headers["accept-language"] = "en"
        empty = client.post(f"/api/conversations/{conversation_id}/messages", json={"text": "   "})
        assert empty.status_code == 422 and empty.json()["detail"] == "The message is empty."
        long = client.post(
            f"/api/conversations/{conversation_id}/messages", json={"text": "a" * 4001}
        )
        assert long.status_code == 422 and "too long" in long.json()["detail"]
        malformed = client.post(
            f"/api/conversations/{conversation_id}/messages",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        assert malformed.status_code == 422
        bad_status = client.post(
            f"/api/conversations/{conversation_id}/status", json={"status": "x"}
        )
        assert bad_status.status_code == 422
        messages = client.get(f"/api/conversations/{conversation_id}").json()["messages"]
    assert len(messages) == 1


def test_an_adviser_never_sees_another_offices_conversations(live: LiveServer) -> None:
    conversation_id = _visitor_conversation(live, "chat-port-argent", "Marées ?")
    other = office_login(live, "saint-clair")
    with login(live.url, other.email, other.password) as client:
        assert conversation_id not in [
            c["id"] for c in client.get("/api/conversations?status=all").json()
        ]
        assert client.get(f"/api/conversations/{conversation_id}").status_code == 404
        reply = client.post(f"/api/conversations/{conversation_id}/messages", json={"text": "Hi"})
        assert reply.status_code == 404
        status = client.post(
            f"/api/conversations/{conversation_id}/status", json={"status": "resolved"}
        )
        assert status.status_code == 404
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as client:
        assert client.get(f"/api/conversations/{conversation_id}").status_code == 200


def test_privacy_page_tells_retention(live: LiveServer) -> None:
    response = httpx.get(f"{live.url}/privacy", headers={"accept-language": "en"})
    assert f"{live.settings.retention_days} days" in response.text


def test_login_is_rate_limited(make_server: object) -> None:
    # An hour-long window: the ten attempts fall in it however slow the machine is.
    live = make_server(rate_window_seconds=3600)  # type: ignore[operator]
    with httpx.Client(base_url=live.url) as client:
        token = (
            client.get("/login").text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        )
        codes = [
            client.post(
                "/login", data={"email": "x@y.z", "password": "nope", "csrf_token": token}
            ).status_code
            for _ in range(12)
        ]
    assert codes[:10] == [401] * 10
    assert 429 in codes[10:]
