"""Files that come with a visitor's message: listed, downloadable by the right office only."""

from __future__ import annotations

from datetime import UTC, datetime

from app.inbox import Inbox
from app.services import Services
from connectors.base import Attachment, Author, Channel, InboundMessage
from tests.conftest import LiveServer, login, office_login


async def test_attachments_are_listed_and_guarded(live: LiveServer, services: Services) -> None:
    mail = InboundMessage(
        channel=Channel.EMAIL,
        account="mail-port-argent",
        external_id="m1@example.org",
        thread_key="m1@example.org",
        author=Author(external_id="ana@example.org", name="Ana", handle="ana@example.org"),
        text="Voici mon billet.\n\nLe 3 juillet, Bob a écrit :\n> ancien message",
        received_at=datetime(2026, 7, 21, 8, 0, tzinfo=UTC),
        attachments=(
            Attachment("billet.pdf", "application/pdf", 5, b"%PDF-"),
            Attachment("video.mp4", "video/mp4", 25 * 1024 * 1024, None),
        ),
        metadata={"quote_start": "19"},
    )
    result = await Inbox(services).ingest(mail)
    adviser = office_login(live, "port-argent")
    with login(live.url, adviser.email, adviser.password) as client:
        detail = client.get(f"/api/conversations/{result.conversation_id}").json()
        (message,) = detail["messages"]
        assert message["quote_start"] == 19
        files = {a["filename"]: a for a in message["attachments"]}
        assert files["billet.pdf"]["available"] and not files["video.mp4"]["available"]
        download = client.get(f"/api/attachments/{files['billet.pdf']['id']}")
        assert download.status_code == 200 and download.content == b"%PDF-"
        # Typed from its bytes (app.files_check), not from what the sender declared.
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"].startswith("attachment;")
        too_large = client.get(f"/api/attachments/{files['video.mp4']['id']}")
        assert too_large.status_code == 410
    other = office_login(live, "saint-clair")
    with login(live.url, other.email, other.password) as client:
        assert client.get(f"/api/attachments/{files['billet.pdf']['id']}").status_code == 404
        assert client.get("/api/attachments/999999").status_code == 404
