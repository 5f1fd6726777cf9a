"""Bidirectional controls in what outsiders choose (names, handles, subjects, file names) are
shown neutralised everywhere the inbox reads them; the stored original is kept."""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import unquote

import pytest
import websockets
from sqlmodel import select

from app.display import BIDI_CONTROLS, plain_text
from app.events import MessageOut
from app.inbox import Inbox
from app.models import Contact, Conversation, Message, StoredAttachment
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from connectors.email.parse import parse_message
from tests.app.test_session_end import cookie_of
from tests.app.test_ws import recv_until, send_message, visitor_url
from tests.conftest import LiveServer, login, office_login

RLO, PDF, LRI, PDI, RLM = "\u202e", "\u202c", "\u2066", "\u2069", "\u200f"
EXPLICIT = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}


def test_every_explicit_bidi_control_is_neutralised() -> None:
    """The whole class, from Unicode's own data, not a list of examples."""
    controls = [
        chr(c) for c in range(sys.maxunicode + 1) if unicodedata.bidirectional(chr(c)) in EXPLICIT
    ]
    assert len(controls) == 9
    for control in [*controls, "\u200e", "\u200f", "\u061c"]:
        assert control in BIDI_CONTROLS
        assert plain_text(f"a{control}b{control}") == "ab"


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (f"invoice{RLO}fdp.exe", "invoicefdp.exe"),
        (f"{LRI}Ana{PDI} {RLM}Admin", "Ana Admin"),
        ("فاطمة الزهراء", "فاطمة الزهراء"),  # right-to-left letters stay as they are
        ("שלום", "שלום"),
        ("Zoë 🙂 Ça va", "Zoë 🙂 Ça va"),
        ("", ""),
    ],
)
def test_plain_text_keeps_letters_and_drops_controls(shown: str, expected: str) -> None:
    assert plain_text(shown) == expected
    assert plain_text(plain_text(shown)) == expected


def spoofing_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = f'"{RLO}nimda{PDF} Ana" <ana@example.org>'
    mail["To"] = "port-argent@example.org"
    mail["Subject"] = f"Facture {RLO}fdp.exe"
    mail["Message-ID"] = "<bidi-1@example.org>"
    mail["Date"] = "Tue, 21 Jul 2026 08:00:00 +0000"
    mail.set_content("Voici la facture.")
    mail.add_attachment(
        b"MZ", maintype="application", subtype="octet-stream", filename=f"invoice{RLO}fdp.exe"
    )
    return bytes(mail)


async def test_mail_names_subjects_and_file_names_are_shown_neutralised(
    live: LiveServer, services: Services
) -> None:
    inbound = parse_message(
        spoofing_mail(), account="mail-port-argent", now=datetime(2026, 7, 21, 8, tzinfo=UTC)
    )
    assert RLO in inbound.author.name and RLO in inbound.subject  # the connector keeps them
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        async with websockets.connect(
            f"{live.ws_url}/ws/adviser", additional_headers=cookie_of(client)
        ) as ws:
            await recv_until(ws, "hello")
            result = await Inbox(services).ingest(inbound)
            changed = await recv_until(ws, "conversation.changed")
            created = await recv_until(ws, "message.created")
        live_text = json.dumps([changed, created], ensure_ascii=False)
        assert not set(BIDI_CONTROLS) & set(live_text)
        assert changed["conversation"]["contact_name"] == "nimda Ana"
        assert changed["conversation"]["subject"] == "Facture fdp.exe"
        assert created["message"]["author_name"] == "nimda Ana"

        rows = client.get("/api/conversations").json()
        detail = client.get(f"/api/conversations/{result.conversation_id}")
        for answer in (rows, detail.json()):
            body = json.dumps(answer, ensure_ascii=False)
            assert not set(BIDI_CONTROLS) & set(body)
            assert "nimda Ana" in body
        (message,) = detail.json()["messages"]
        assert message["attachments"][0]["filename"] == "invoicefdp.exe"
        download = client.get(f"/api/attachments/{message['attachments'][0]['id']}")
        disposition = unquote(download.headers["content-disposition"])
        assert disposition.endswith("invoicefdp.exe")
    # What was received is kept as it came (the visitor's data export gives it back).
    async with services.db.session() as session:
        contact = (
            await session.exec(select(Contact).where(Contact.external_id == "ana@example.org"))
        ).one()
        files = (await session.exec(select(StoredAttachment))).all()
    assert contact.name == f"{RLO}nimda{PDF} Ana"
    assert [f.filename for f in files] == [f"invoice{RLO}fdp.exe"]


async def test_x_names_and_handles_are_shown_neutralised(
    live: LiveServer, services: Services
) -> None:
    tweet = InboundMessage(
        channel=Channel.TWITTER,
        account="x-port-argent",
        external_id="1900000000000000001",
        thread_key="1900000000000000001",
        author=Author(external_id="42", name=f"Office{RLO} du tourisme", handle=f"ot{LRI}_x"),
        text="@PortArgent un ferry ?",
        received_at=datetime(2026, 7, 21, 8, tzinfo=UTC),
    )
    result = await Inbox(services).ingest(tweet)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        detail = client.get(f"/api/conversations/{result.conversation_id}").json()
    assert detail["conversation"]["contact_name"] == "Office du tourisme"
    assert detail["conversation"]["contact_handle"] == "ot_x"


async def test_a_chat_preview_is_shown_neutralised_and_the_message_as_written(
    live: LiveServer,
) -> None:
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        async with (
            websockets.connect(
                f"{live.ws_url}/ws/adviser", additional_headers=cookie_of(client)
            ) as ws,
            websockets.connect(visitor_url(live)) as visitor,
        ):
            await recv_until(ws, "hello")
            await recv_until(visitor, "hello")
            await send_message(visitor, f"gnirrof{RLO} ferry")
            changed = await recv_until(ws, "conversation.changed")
            created = await recv_until(ws, "message.created")
        assert changed["conversation"]["preview"] == "gnirrof ferry"
        # A message body is the visitor's own words, shown in its own isolated bubble.
        assert created["message"]["text"] == f"gnirrof{RLO} ferry"
        rows = client.get("/api/conversations").json()
        assert rows[0]["preview"] == "gnirrof ferry"


# A message's display details (docs/api.md, "Message times and details"): every label is
# neutralised like a name, at any depth; a quoted tweet's text is the sender's words, kept.
SPOOFED_DETAILS = {
    "reply_to": f"ana{RLO}gro.elpmaxe@example.org",
    "via": f"{LRI}no-reply@forms.example{PDI}",
    "to": f"port-argent@example.org, {RLM}bob@example.org",
    "forwarded": [
        {
            "at": 0,
            "from": f"{RLO}nimda{PDF} <a@b.example>",
            "date": "1 May",
            "subject": f"x{RLO}fdp.exe",
        }
    ],
    "url": "https://x.com/i/web/status/1",
    "lang": "ar",
    "quoted": {
        "id": "2",
        "url": "https://x.com/i/web/status/2",
        "author": f"{RLO}nimda",
        "text": f"{RLM}مرحبا",
    },
    "links": [
        {
            "url": "https://t.co/a",
            "expanded": f"https://example.org/{RLO}fdp.exe",
            "display": f"example.org/{RLO}fdp.exe",
        }
    ],
    "dm": True,
}


def test_message_details_labels_are_neutralised_and_a_quoted_text_kept() -> None:
    shown = MessageOut(
        id=1,
        conversation_id=1,
        direction="in",
        author_kind="visitor",
        text="",
        created_at=datetime(2026, 7, 21, 8, tzinfo=UTC),
        delivery_status="received",
        details=SPOOFED_DETAILS,
    ).details
    assert shown["reply_to"] == "anagro.elpmaxe@example.org"
    assert shown["via"] == "no-reply@forms.example"
    assert shown["to"] == "port-argent@example.org, bob@example.org"
    assert shown["forwarded"] == [
        {"at": 0, "from": "nimda <a@b.example>", "date": "1 May", "subject": "xfdp.exe"}
    ]
    assert shown["quoted"]["author"] == "nimda"
    assert shown["quoted"]["text"] == f"{RLM}مرحبا"  # a body: isolated by the page, not changed
    assert shown["links"][0]["display"] == "example.org/fdp.exe"
    assert shown["dm"] is True and shown["lang"] == "ar"
    # Everything but the quoted text is free of controls, whatever the key.
    del shown["quoted"]["text"]
    assert not set(BIDI_CONTROLS) & set(json.dumps(shown, ensure_ascii=False))
    assert SPOOFED_DETAILS["reply_to"] == f"ana{RLO}gro.elpmaxe@example.org"  # a copy


async def test_message_details_and_x_profile_are_shown_neutralised(
    live: LiveServer, services: Services
) -> None:
    tweet = InboundMessage(
        channel=Channel.TWITTER,
        account="x-port-argent",
        external_id="1900000000000000777",
        thread_key="1900000000000000777",
        author=Author(
            external_id="77",
            name="نادية",
            handle="nadia",
            profile={"name": f"{RLO}nimda", "username": f"{LRI}nadia{PDI}", "followers": "1200"},
        ),
        text=f"{RLO}مرحبا",
        received_at=datetime(2026, 7, 21, 8, tzinfo=UTC),
        details=SPOOFED_DETAILS,
    )
    result = await Inbox(services).ingest(tweet)
    # Stored as the contract says (whether or not ingest already copies them).
    async with services.db.session() as session:
        message = await session.get(Message, result.message_id)
        assert message is not None
        message.details = json.dumps(SPOOFED_DETAILS)
        conversation = await session.get(Conversation, result.conversation_id)
        assert conversation is not None
        contact = await session.get(Contact, conversation.contact_id)
        assert contact is not None
        contact.profile = json.dumps(dict(tweet.author.profile))
        session.add(message)
        session.add(contact)
        await session.commit()
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        detail = client.get(f"/api/conversations/{result.conversation_id}").json()
    (shown,) = detail["messages"]
    assert shown["text"] == f"{RLO}مرحبا"  # the visitor's words as written
    assert shown["details"]["forwarded"][0]["subject"] == "xfdp.exe"
    assert shown["details"]["quoted"]["author"] == "nimda"
    assert detail["conversation"]["contact_profile"]["name"] == "nimda"
    assert detail["conversation"]["contact_profile"]["username"] == "nadia"
