"""Where a chat visitor wrote from: the widget's page (origin and path only, never its query
string) and the socket's site, kept on their contact and shown in their profile."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from websockets.sync.client import connect

from connectors.webchat.frames import FrameError, page_address, parse_frame
from tests.conftest import LiveServer, login, office_login


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.port-argent.example/fr/phare?booking=AB12#top",
         "https://www.port-argent.example/fr/phare"),
        ("HTTPS://WWW.Port-Argent.example:8443/De/", "https://www.port-argent.example:8443/De/"),
        ("http://user:secret@host.example/p", "http://host.example/p"),
        ("https://host.example/" + "a" * 1000, "https://host.example/" + "a" * 279),
        ("javascript:alert(1)", ""), ("file:///etc/passwd", ""), ("data:text/html,x", ""),
        ("https:///nohost", ""), ("https://host.example:99999/", ""), ("https://a b/", ""),
        ("https://host.example/\ud800", ""), ("https://host.example/\x00", ""), ("", ""),
        ("not a url", ""), ("//host.example/p", ""), ("x" * 100_000, ""),
    ],
)  # fmt: skip
def test_a_page_is_kept_as_origin_and_path_only(value: str, expected: str) -> None:
    assert page_address(value) == expected


def test_a_page_that_is_not_a_string_is_refused() -> None:
    for page in (5, None, ["https://a.example/"], {"u": 1}):
        raw = json.dumps({"type": "message", "client_id": "abcdefgh12", "text": "hi", "page": page})
        with pytest.raises(FrameError):
            parse_frame(raw, 4000)
    frame = parse_frame(json.dumps({"type": "message", "client_id": "abcdefgh12", "text": "x"}), 9)
    assert frame.page == ""  # an older widget sends none


def chat(live: LiveServer, origin: str, page: object) -> None:
    with connect(f"{live.ws_url}/ws/visitor?account=chat-port-argent", origin=origin) as ws:
        json.loads(ws.recv(timeout=10))
        client_id = uuid.uuid4().hex
        ws.send(json.dumps({"type": "message", "client_id": client_id, "text": "Bonjour",
                            "page": page}))  # fmt: skip
        while True:
            frame = json.loads(ws.recv(timeout=10))
            if frame.get("type") == "ack":
                return
            assert frame.get("type") != "error", frame


async def test_the_profile_says_where_a_chat_visitor_wrote_from(live: LiveServer) -> None:
    site = "https://www.port-argent.example"
    await asyncio.to_thread(chat, live, site, f"{site}/fr/phare?resa=AB12&mail=ana@x.org#h")
    # A page claiming another site than the socket's: only the site is kept.
    await asyncio.to_thread(chat, live, site, "https://evil.example/phish")
    who = office_login(live, "port-argent")
    with login(live.url, who.email, who.password) as client:
        rows = client.get("/api/conversations").json()
        pages = []
        for row in sorted(rows, key=lambda r: r["id"]):
            identity = client.get(f"/api/contacts/{row['contact_id']}").json()["identities"][0]
            pages.append((identity["site"], identity["page"]))
    assert pages == [(site, f"{site}/fr/phare"), (site, "")]


def test_the_privacy_notice_tells_visitors_what_the_profile_keeps(live: LiveServer) -> None:
    for language, words in (("en", "address of the page"), ("fr", "adresse de la page")):
        page = httpx.get(f"{live.url}/privacy", headers={"accept-language": language}).text
        assert words in page and ("one file" in page or "une seule fiche" in page)
