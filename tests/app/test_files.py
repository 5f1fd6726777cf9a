"""Files both ways over real HTTP (uvicorn, Redis, SQLite): what a visitor may send, what is
refused and why, what the adviser sees and downloads, and who may read each file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from app import privacy
from app.models import Conversation, Message, StoredAttachment
from app.services import Services
from tests.app import files_support as crafted
from tests.conftest import LiveServer, login, office_login

ACCOUNT = "chat-port-argent"


def visitor(live: LiveServer, account: str = ACCOUNT) -> httpx.Client:
    token, _ = live.services().visitor_tokens.issue(account)  # type: ignore[attr-defined]
    return httpx.Client(base_url=live.url, timeout=20, headers={"authorization": f"Bearer {token}"})


def upload(
    client: httpx.Client, name: str, data: bytes, lang: str = "en", **fields: str
) -> httpx.Response:
    return client.post(
        f"/api/visitor/files?lang={lang}",
        files={"file": (name, data, "image/jpeg")},
        data=fields,
    )


async def rows(services: Services) -> list[StoredAttachment]:
    async with services.db.session() as session:
        return list((await session.exec(select(StoredAttachment))).all())


async def messages(services: Services) -> list[Message]:
    async with services.db.session() as session:
        return list((await session.exec(select(Message))).all())


REFUSED = [
    ("photo.jpg", crafted.exe(), 415, "Only photos"),
    ("logo.svg", crafted.SVG, 415, "Only photos"),
    ("logo.png", crafted.SVG_PLAIN, 415, "Only photos"),
    ("page.pdf", crafted.HTML, 415, "Only photos"),
    ("archive.jpg", crafted.ZIP, 415, "Only photos"),
    ("bomb.png", crafted.png_bomb(), 422, "too large in pixels"),
    ("wide.png", crafted.png_bomb(60_000, 1_000), 422, "too large in pixels"),
    ("cut.jpg", crafted.jpeg()[:1500], 422, "damaged or incomplete"),
    ("cut.png", crafted.png()[:-40], 422, "damaged or incomplete"),
    ("cut.pdf", crafted.pdf()[:-12], 422, "damaged or incomplete"),
    ("empty.jpg", b"", 422, "empty"),
    ("iphone.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", 422, "HEIC"),
]


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with visitor(live) as c:
        yield c


@pytest.mark.parametrize(("name", "data", "status", "reason"), REFUSED)
async def test_refused_files_say_why_and_store_nothing(
    live: LiveServer,
    client: httpx.Client,
    services: Services,
    name: str,
    data: bytes,
    status: int,
    reason: str,
) -> None:
    response = upload(client, name, data, text="Voici")
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]
    assert response.json()["code"].startswith("files.error.")
    assert await rows(services) == [] and await messages(services) == []


async def test_refusal_in_the_visitors_language(client: httpx.Client) -> None:
    said = {
        lang: upload(client, "x.jpg", crafted.exe(), lang).json()["detail"]
        for lang in ["de", "nl", "es", "it", "fr"]
    }
    assert said["de"].startswith("Es können nur Fotos") and said["fr"].startswith("Seules")
    assert said["nl"].startswith("Alleen") and said["es"].startswith("Solo")
    assert said["it"].startswith("Si possono")


async def test_a_file_over_the_cap_is_refused_while_streaming(
    make_server: object, services: Services
) -> None:
    live = make_server(upload_max_bytes=200_000)  # type: ignore[operator]
    boundary = "----concierge-test"

    def body() -> Iterator[bytes]:  # no Content-Length: sent chunked, cut by the server
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        head = crafted.jpeg()
        yield head
        for _ in range(400):
            yield b"\x00" * 8192
        yield f"\r\n--{boundary}--\r\n".encode()

    with visitor(live) as client:
        response = client.post(
            "/api/visitor/files?lang=en",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 413
        assert "too large" in response.json()["detail"] and "195 KB" in response.json()["detail"]
        declared = upload(client, "big.jpg", crafted.jpeg() + b"\x00" * 300_000)
        assert declared.status_code == 413
        # Within the body's margin but over the cap: refused too.
        near = upload(
            client, "near.jpg", crafted.jpeg() + b"\x00" * (200_001 - len(crafted.jpeg()))
        )
        assert near.status_code == 413
    assert await rows(services) == [] and await messages(services) == []


@pytest.mark.parametrize(
    ("name", "data", "content_type", "shown_name"),
    [
        ("plage.jpg", crafted.jpeg(), "image/jpeg", "plage.jpg"),
        ("carte.jpeg", crafted.png(), "image/png", "carte.png"),  # named after what it is
        ("anim.gif", crafted.gif(), "image/gif", "anim.gif"),
        ("vue.webp", crafted.webp(), "image/webp", "vue.webp"),
        ("../../billet.PDF", crafted.pdf(), "application/pdf", "billet.PDF"),
    ],
)
async def test_a_visitor_sends_a_photo_or_pdf(
    live: LiveServer,
    client: httpx.Client,
    services: Services,
    name: str,
    data: bytes,
    content_type: str,
    shown_name: str,
) -> None:
    sent = upload(client, name, data, text="Regardez", client_id="file-0001-abcd")
    assert sent.status_code == 201, sent.text
    (listed,) = sent.json()["attachments"]
    assert listed["filename"] == shown_name and listed["content_type"] == content_type
    assert listed["image"] is content_type.startswith("image/")
    again = upload(client, name, data, text="Regardez", client_id="file-0001-abcd")
    assert again.status_code == 200 and again.json()["message_id"] == sent.json()["message_id"]
    (row,) = await rows(services)
    assert row.data == data and row.content_type == content_type
    if content_type.startswith("image/"):
        assert row.thumbnail is not None and row.thumbnail.startswith(b"\xff\xd8")
    else:
        assert row.thumbnail is None
    async with services.db.session() as session:
        conversation = await session.get(Conversation, sent.json()["conversation_id"])
    assert conversation is not None and conversation.unread == 1
    assert conversation.waiting_since is not None  # it counts as the visitor's message

    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as staff:
        detail = staff.get(f"/api/conversations/{conversation.id}").json()
        (message,) = detail["messages"]
        assert message["text"] == "Regardez"
        (file,) = message["attachments"]
        download = staff.get(f"/api/attachments/{file['id']}")
        assert download.status_code == 200 and download.content == data
        assert download.headers["content-type"].startswith(content_type)
        assert download.headers["x-content-type-options"] == "nosniff"
        disposition = download.headers["content-disposition"]
        assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
        inline = staff.get(f"/api/attachments/{file['id']}?inline=1")
        image = content_type.startswith("image/")
        assert inline.headers["content-disposition"].startswith(
            "inline;" if image else "attachment;"
        )
        small = staff.get(f"/api/attachments/{file['id']}/thumbnail?inline=1")
        if image:
            assert small.status_code == 200 and small.headers["content-type"] == "image/jpeg"
            assert small.headers["content-disposition"].startswith("inline;")
        else:
            assert small.status_code == 404
    other = office_login(live, "saint-clair")
    with login(live.url, other.email, other.password) as staff:
        assert staff.get(f"/api/attachments/{file['id']}").status_code == 404
        assert staff.get(f"/api/attachments/{file['id']}/thumbnail").status_code == 404
    assert client.get(f"/api/visitor/files/{file['id']}").content == data
    with visitor(live) as stranger:
        assert stranger.get(f"/api/visitor/files/{file['id']}").status_code == 404
        assert stranger.get(f"/api/visitor/files/{file['id']}/thumbnail").status_code == 404


async def test_download_names_are_made_safe(client: httpx.Client, live: LiveServer) -> None:
    name = 'a"b\r\nSet-Cookie: x=1;\u202eexe.jpg'
    sent = upload(client, name, crafted.jpeg())
    assert sent.status_code == 201
    (file,) = sent.json()["attachments"]
    response = client.get(f"/api/visitor/files/{file['id']}")
    disposition = response.headers["content-disposition"]
    assert (
        "\r" not in disposition and "\n" not in disposition and "set-cookie" not in response.headers
    )
    assert '"' not in disposition.split('filename="', 1)[1].rsplit('"', 1)[0]
    assert "\u202e" not in disposition and "%E2%80%AE" not in disposition


async def test_old_mail_files_are_served_as_what_their_bytes_are(
    live: LiveServer, services: Services
) -> None:
    """A file that came by e-mail declared as an image but holding HTML is no image: it is
    downloaded, never shown, whatever ``inline`` asks."""
    from datetime import UTC, datetime

    from app.inbox import Inbox
    from connectors.base import Attachment, Author, Channel, InboundMessage

    result = await Inbox(services).ingest(
        InboundMessage(
            channel=Channel.EMAIL, account="mail-port-argent", external_id="f1@example.org",
            thread_key="f1@example.org", text="Photos",
            author=Author(external_id="ana@example.org", handle="ana@example.org"),
            received_at=datetime(2026, 7, 21, 8, 0, tzinfo=UTC),
            attachments=(
                Attachment("photo.png", "image/png", len(crafted.HTML), crafted.HTML),
                Attachment("real.jpg", "image/jpeg", len(crafted.jpeg()), crafted.jpeg()),
            ),
        )
    )  # fmt: skip
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as staff:
        detail = staff.get(f"/api/conversations/{result.conversation_id}").json()
        fake, real = detail["messages"][0]["attachments"]
        shown = staff.get(f"/api/attachments/{fake['id']}?inline=1")
        assert shown.headers["content-type"] == "application/octet-stream"
        assert shown.headers["content-disposition"].startswith("attachment;")
        assert staff.get(f"/api/attachments/{fake['id']}/thumbnail").status_code == 404
        thumb = staff.get(f"/api/attachments/{real['id']}/thumbnail")  # made from the file
        assert thumb.status_code == 200 and thumb.content.startswith(b"\xff\xd8")


async def test_erasure_and_retention_remove_files(
    live: LiveServer, client: httpx.Client, services: Services
) -> None:
    sent = upload(client, "plage.jpg", crafted.jpeg())
    assert sent.status_code == 201
    manager = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    with login(live.url, manager.email, manager.password) as staff:
        erased = staff.post(f"/api/conversations/{sent.json()['conversation_id']}/erase-visitor")
        assert erased.status_code == 200, erased.text
    assert await rows(services) == []
    with visitor(live) as other:
        assert upload(other, "vue.png", crafted.png()).status_code == 201
    assert len(await rows(services)) == 1
    later = services.clock.now() + timedelta(days=services.settings.retention_days + 1)
    assert await privacy.sweep(services, later) >= 1
    assert await rows(services) == []
