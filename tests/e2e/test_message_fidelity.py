"""In a real browser, a message as its sender sent it (issue 12): every part of a multipart
mail, a forwarded mail's header, an empty mail, robot marks, the sender's own date, where the
reply goes, a tweet in context with its author's profile, and right-to-left text laid out right
to left with spoofing bidi controls neutralised — on a desktop and a phone, in French and
English. Screenshots land in tests/e2e/artifacts."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from app.inbox import Inbox
from app.models import Contact, Conversation, Message, StoredAttachment
from app.services import Services
from connectors.base import Attachment, Author, Channel, InboundMessage, MessageKind
from connectors.email.parse import parse_message
from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.test_a11y import blocking_violations
from tests.e2e.test_chat import open_widget, visitor_says

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
LOCALES = ["fr-FR", "en-GB"]
RLO = "\u202e"
ARRIVED = datetime(2026, 7, 21, 7, 0, tzinfo=UTC)  # before the test clock's 08:00 UTC
ARABIC_NAME = "فاطمة الزهراء"
ARABIC_TEXT = "مرحبا، هل تعمل العبارة غدا صباحا؟"
# Three characters outside the BMP before each offset: the server counts code points, the
# browser's strings UTF-16 units, so a naive slice would cut three characters early.
PALMS = "🌴🌴🌴"


def run(make: Callable[[Services], Coroutine[Any, Any, None]], live: LiveServer) -> None:
    """Runs ``make`` against the live server's database and Redis, in a thread of its own
    (Playwright's sync API runs an event loop in this one)."""
    failure: list[BaseException] = []

    async def main() -> None:
        services = Services.create(live.settings)
        try:
            await make(services)
        except BaseException as error:  # re-raised in the test's thread
            failure.append(error)
        finally:
            await services.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()))
    thread.start()
    thread.join(60)
    if failure:
        raise failure[0]


async def ingest(services: Services, inbound: InboundMessage) -> None:
    """Ingests ``inbound`` and makes sure its display fields are stored as docs/api.md says
    (the sender's date, details, media links, profile), whoever stores them."""
    result = await Inbox(services).ingest(inbound)
    async with services.db.session() as session:
        message = await session.get(Message, result.message_id)
        conversation = await session.get(Conversation, result.conversation_id)
        assert message is not None and conversation is not None
        message.sent_at = inbound.sent_at
        message.details = json.dumps(dict(inbound.details)) if inbound.details else ""
        session.add(message)
        contact = await session.get(Contact, conversation.contact_id)
        if contact is not None and inbound.author.profile:
            contact.profile = json.dumps(dict(inbound.author.profile))
            session.add(contact)
        urls = {a.filename: a.url for a in inbound.attachments if a.url}
        rows = await session.exec(
            select(StoredAttachment).where(StoredAttachment.message_id == result.message_id)
        )
        for row in rows.all():
            if row.filename in urls:
                row.url = urls[row.filename]
                session.add(row)
        await session.commit()


def multipart_mail() -> bytes:
    """Text, an inline photo, text: the second sentence used to be lost."""
    mail = EmailMessage()
    mail["From"] = "Léa Martin <lea.martin@example.org>"
    mail["To"] = "port-argent@example.org"
    mail["Subject"] = "Photo du ferry"
    mail["Message-ID"] = "<multipart-1@example.org>"
    mail["Date"] = "Tue, 21 Jul 2026 07:00:00 +0000"
    mail.set_content("Bonjour, voici le ferry de ce matin :")
    mail.make_mixed()
    photo = EmailMessage()
    photo.set_content(
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        maintype="image",
        subtype="png",
        disposition="inline",
        filename="ferry.png",
    )
    mail.attach(photo)
    tail = EmailMessage()
    tail.set_content("Est-il à l'heure demain matin ?")
    mail.attach(tail)
    return bytes(mail)


def mail(
    external_id: str,
    name: str,
    address: str,
    text: str,
    minutes: int,
    **extra: Any,
) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL,
        account="mail-port-argent",
        external_id=external_id,
        thread_key=external_id,
        author=Author(external_id=address, name=name, handle=address),
        text=text,
        subject=extra.pop("subject", "Question"),
        received_at=ARRIVED + timedelta(minutes=minutes),
        **extra,
    )


FORWARD_INTRO = f"Voici ce que j'ai reçu {PALMS}\n\n"
INLINE_FORWARD = (
    f"Regarde {PALMS} :\n\n---------- Forwarded message ---------\n"
    "From: Office <info@office.example>\nDate: Mon, 20 Jul 2026 at 18:00\n"
    "Subject: Horaires\nTo: <ines@example.org>\n\nLe musée ouvre à 10 h.\n\n-- \nOffice"
)
FORWARDED_TEXT = "Bonjour, la navette part à 9 h du port."


async def seed(services: Services) -> None:
    inbound = parse_message(multipart_mail(), account="mail-port-argent", now=ARRIVED)
    await ingest(services, inbound)
    await ingest(
        services,
        mail(
            "<fwd-1@example.org>",
            "Marc Petit",
            "marc@example.org",
            FORWARD_INTRO + FORWARDED_TEXT,
            1,
            subject="Tr: Navette",
            # A sender's clock years off: shown as information, never used as the arrival.
            sent_at=datetime(2002, 5, 12, 8, 0, tzinfo=UTC),
            details={
                "reply_to": "marc.perso@example.net",
                "cc": "Julie <julie@example.org>",
                "forwarded": [
                    {
                        "at": len(FORWARD_INTRO),  # code points, as Python counts
                        "from": "Office de Saint-Malo <info@saint-malo.example>",
                        "date": "Mon, 20 Jul 2026 18:00:00 +0200",
                        "subject": "Navette",
                    }
                ],
            },
        ),
    )
    # Forwarded inline: the original header lines sit in the text at the forward's offset.
    await ingest(
        services,
        mail(
            "<fwd-2@example.org>",
            "Inès Roux",
            "ines@example.org",
            INLINE_FORWARD,
            1,
            subject="Fwd: Horaires",
            metadata={"quote_start": str(INLINE_FORWARD.rindex("\n-- \n") + 1)},
            details={
                "forwarded": [
                    {
                        "at": INLINE_FORWARD.index("-----"),
                        "from": "Office <info@office.example>",
                        "date": "Mon, 20 Jul 2026 at 18:00",
                        "subject": "Horaires",
                    }
                ]
            },
        ),
    )
    # An empty mail from a web form: the visitor is the contact, the form's sender shown as "via".
    await ingest(
        services,
        mail(
            "<empty-1@example.org>",
            "Zoé Vide",
            "zoe@example.org",
            "",
            2,
            details={"via": "no-reply@forms.example"},
        ),
    )
    signature = f"Absent jusqu'au 3 août {PALMS}.\n-- \nPaul Durand\nTél. 06 00 00 00 00"
    await ingest(
        services,
        mail(
            "<away-1@example.org>",
            "Paul Durand",
            "paul@example.org",
            signature,
            3,
            kind=MessageKind.AUTO_REPLY,
            metadata={"quote_start": str(signature.index("-- "))},
        ),
    )
    await ingest(
        services,
        mail("<ar-1@example.org>", ARABIC_NAME, "fatima@example.org", ARABIC_TEXT, 4),
    )
    await ingest(
        services,
        mail(
            "<rlo-1@example.org>",
            f"Ana{RLO} Martin",
            "ana@example.org",
            "Une question sur les horaires.",
            5,
            subject=f"Facture {RLO}fdp.exe",
        ),
    )
    await ingest(
        services,
        InboundMessage(
            channel=Channel.TWITTER,
            account="x-port-argent",
            external_id="1900000000000000042",
            thread_key="1900000000000000042",
            author=Author(
                external_id="4242",
                name="Nadia Costa",
                handle="nadia_x",
                profile={
                    "name": "Nadia Costa",
                    "username": "nadia_x",
                    "verified": "1",
                    "followers": "12345",
                    "url": "https://x.com/nadia_x",
                },
            ),
            text="@PortArgent ¿El ferry funciona mañana?",
            received_at=ARRIVED + timedelta(minutes=6),
            sent_at=ARRIVED + timedelta(minutes=6),
            attachments=(
                Attachment(
                    filename="3_1900000000000000042.jpg",
                    content_type="image/jpeg",
                    size=0,
                    url="https://pbs.twimg.com/media/ferry.jpg",
                ),
            ),
            details={
                "url": "https://x.com/nadia_x/status/1900000000000000042",
                "lang": "es",
                "quoted": {"id": "1800000000000000001", "unavailable": True},
            },
        ),
    )


@pytest.fixture
def seeded(live: LiveServer) -> LiveServer:
    run(seed, live)
    return live


def open_conversation(page: Page, name: str) -> None:
    if not page.get_by_test_id("conversation-list").is_visible():
        page.get_by_test_id("back").click()
    item = page.get_by_test_id("conversation-item").filter(has_text=name)
    conversation = item.get_attribute("data-id")
    # The header shows at once from the list; the messages once the conversation is read.
    with page.expect_response(lambda r: r.url.endswith(f"/api/conversations/{conversation}")):
        item.locator("button.row").click()
    expect(page.get_by_test_id("thread-title")).to_contain_text(name)
    expect(page.get_by_test_id("message").first).to_be_visible()
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => done()))")


def page_scrolls(page: Page) -> int:
    return int(page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth"))


def direction(page: Page, selector: str) -> str:
    """The computed direction of the first element matching ``selector``, once it is shown
    (the list is drawn again as live events arrive)."""
    found = page.wait_for_function(
        """(selector) => {
          const node = document.querySelector(selector);
          return node && node.isConnected && getComputedStyle(node).direction;
        }""",
        arg=selector,
    )
    return str(found.json_value())


@pytest.mark.e2e
@pytest.mark.parametrize("locale", LOCALES)
def test_every_part_forwarded_empty_and_robot_marks(
    seeded: LiveServer, new_page: Any, locale: str
) -> None:
    fr = locale == "fr-FR"
    page = new_page(locale=locale, viewport=DESKTOP)
    adviser_login(page, seeded, office_login(seeded, "port-argent"))

    open_conversation(page, "Léa Martin")
    text = page.get_by_test_id("message-text")
    expect(text).to_contain_text("Bonjour, voici le ferry de ce matin :")
    expect(text).to_contain_text("Est-il à l'heure demain matin ?")
    chip = text.get_by_test_id("image-chip")
    expect(chip).to_have_count(1)
    expect(chip).to_contain_text("ferry.png")
    # The chip stands between the two sentences, and links to the photo itself.
    order = text.evaluate(
        """(n) => [n.textContent.indexOf('ce matin'), n.textContent.indexOf('ferry.png'),
                   n.textContent.indexOf('Est-il')]"""
    )
    assert order[0] < order[1] < order[2], order
    link = chip.get_by_role("link")
    file_link = page.locator(".files [data-testid=attachment]")
    expect(file_link).to_contain_text("ferry.png")
    assert link.get_attribute("href") == file_link.get_attribute("href")
    assert str(link.get_attribute("href")).startswith("/api/attachments/")
    screenshot(page, f"fidelity-multipart-desktop-{locale}")

    open_conversation(page, "Marc Petit")
    message = page.get_by_test_id("message").first
    head = message.get_by_test_id("forwarded-head")
    expect(head).to_contain_text("Office de Saint-Malo <info@saint-malo.example>")
    expect(head).to_contain_text("De :" if fr else "From:")
    expect(head).to_contain_text("Objet :" if fr else "Subject:")
    expect(head).to_contain_text("Navette")
    # The forwarded text starts exactly at its offset, emoji before it or not.
    intro = message.get_by_test_id("message-text").evaluate(
        "(n) => [...n.childNodes].filter((c) => c.nodeType === 3).map((c) => c.data).join('')"
    )
    assert intro == FORWARD_INTRO.rstrip(), intro
    forwarded = message.get_by_test_id("forwarded").evaluate(
        "(n) => [...n.childNodes].filter((c) => c.nodeType === 3).map((c) => c.data).join('')"
    )
    assert forwarded == FORWARDED_TEXT, forwarded
    # Where the reply goes: on the message, and above the composer.
    expect(message.get_by_test_id("reply-to-line")).to_contain_text("marc.perso@example.net")
    expect(message.get_by_test_id("cc-line")).to_contain_text("Julie <julie@example.org>")
    expect(page.get_by_test_id("reply-to")).to_contain_text("marc.perso@example.net")
    # The sender's own date, years off, is information: in the reader's words and year.
    expect(message.get_by_test_id("sent-at")).to_contain_text("2002")
    expect(message.get_by_test_id("sent-at")).to_contain_text("mai" if fr else "May")
    screenshot(page, f"fidelity-forwarded-desktop-{locale}")
    assert blocking_violations(page) == [], "forwarded"

    # Forwarded inline: its own header lines are folded under the header that says the same.
    open_conversation(page, "Inès Roux")
    message = page.get_by_test_id("message").first
    expect(message.get_by_test_id("forwarded-head")).to_contain_text("Office <info@office.example>")
    raw = message.get_by_test_id("forwarded-raw")
    assert raw.evaluate("(n) => n.open") is False
    assert "---------- Forwarded message" in str(raw.text_content())
    shown = message.get_by_test_id("forwarded").evaluate(
        "(n) => [...n.childNodes].filter((c) => c.nodeType === 3).map((c) => c.data).join('')"
    )
    assert shown == "Le musée ouvre à 10 h.", shown
    expect(message.locator("details.quote:not(.fwd-raw)")).to_contain_text("Office")

    open_conversation(page, "Zoé Vide")
    message = page.get_by_test_id("message").first
    expect(message.get_by_test_id("empty-message")).to_have_text(
        "(sans texte)" if fr else "(no text)"
    )
    expect(message.get_by_test_id("erased-message")).to_have_count(0)
    expect(message.get_by_test_id("via-line")).to_have_text("via no-reply@forms.example")
    expect(page.get_by_test_id("reply-to")).to_contain_text("zoe@example.org")

    open_conversation(page, "Paul Durand")
    message = page.get_by_test_id("message").first
    expect(message.get_by_test_id("kind-badge")).to_have_text(
        "Réponse automatique" if fr else "Automatic reply"
    )
    # The signature is folded at its offset, counted in code points.
    visible = message.get_by_test_id("message-text").evaluate(
        "(n) => [...n.childNodes].filter((c) => c.nodeType === 3).map((c) => c.data).join('')"
    )
    assert visible == f"Absent jusqu'au 3 août {PALMS}.", visible
    folded = message.locator("details.quote")
    assert folded.evaluate("(n) => n.open") is False
    assert str(folded.text_content()).startswith("…-- \nPaul Durand")
    expect(folded.locator("summary")).to_be_visible()
    assert page_scrolls(page) == 0


@pytest.mark.e2e
@pytest.mark.parametrize("locale", LOCALES)
def test_arabic_is_right_to_left_and_spoofed_names_stay_put(
    seeded: LiveServer, new_page: Any, locale: str
) -> None:
    page = new_page(locale=locale, viewport=DESKTOP)
    adviser_login(page, seeded, office_login(seeded, "port-argent"))

    expect(page.get_by_test_id("conversation-item").filter(has_text=ARABIC_NAME)).to_be_visible()
    row = page.get_by_test_id("conversation-item").filter(has_text=ARABIC_NAME).get_attribute("id")
    assert direction(page, f"#{row} .who") == "rtl"
    open_conversation(page, ARABIC_NAME)
    assert direction(page, "[data-testid=message-text]") == "rtl"
    assert direction(page, "[data-testid=thread-name]") == "rtl"
    # The interface around them keeps its own direction.
    assert direction(page, "[data-testid=thread-meta]") == "ltr"
    assert direction(page, "[data-testid=composer]") == "ltr"
    screenshot(page, f"fidelity-arabic-desktop-{locale}")

    # A right-to-left override in a name is gone: the name reads as typed, the row around it
    # (time, tags) is left as it was.
    spoofed = page.get_by_test_id("conversation-item").filter(has_text="Ana Martin")
    expect(spoofed).to_have_count(1)
    assert RLO not in page.get_by_test_id("inbox").inner_text()
    row_text = spoofed.inner_text()
    assert "Une question sur les horaires." in row_text
    assert "E-mail" in row_text
    open_conversation(page, "Ana Martin")
    expect(page.get_by_test_id("thread-title")).to_have_text("Ana Martin — Facture fdp.exe")
    assert direction(page, "[data-testid=thread-title]") == "ltr"
    screenshot(page, f"fidelity-spoofed-desktop-{locale}")


@pytest.mark.e2e
@pytest.mark.parametrize("locale", LOCALES)
def test_a_tweet_in_context_with_its_authors_profile(
    seeded: LiveServer, new_page: Any, locale: str
) -> None:
    fr = locale == "fr-FR"
    page = new_page(locale=locale, viewport=DESKTOP)
    adviser_login(page, seeded, office_login(seeded, "port-argent"))
    open_conversation(page, "Nadia Costa")
    message = page.get_by_test_id("message").first
    link = message.get_by_test_id("tweet-link")
    expect(link).to_have_text("Voir sur X" if fr else "View on X")
    assert link.get_attribute("href") == "https://x.com/nadia_x/status/1900000000000000042"
    assert link.get_attribute("target") == "_blank"
    assert set(str(link.get_attribute("rel")).split()) >= {"noopener", "noreferrer"}
    expect(message.get_by_test_id("quoted-unavailable")).to_have_text(
        "Post cité indisponible" if fr else "Quoted post unavailable"
    )
    expect(message.get_by_test_id("lang-badge")).to_have_text("espagnol" if fr else "Spanish")
    expect(message.get_by_test_id("sent-at")).to_have_count(0)  # sent when it arrived
    # The photo stays on X: a link that opens there, never "missing".
    photo = message.get_by_test_id("attachment")
    assert photo.get_attribute("href") == "https://pbs.twimg.com/media/ferry.jpg"
    assert photo.get_attribute("referrerpolicy") == "no-referrer"
    expect(message).not_to_contain_text("non conservé" if fr else "not kept")
    profile = page.get_by_test_id("contact-profile")
    expect(profile).to_contain_text("@nadia_x")
    expect(profile.get_by_test_id("verified")).to_be_visible()
    followers = profile.get_by_test_id("followers").inner_text()
    assert followers.replace("\u202f", " ").replace("\xa0", " ") == (
        "12 345 abonnés" if fr else "12,345 followers"
    )
    # Reachable by the keyboard: the tweet's link takes the focus.
    link.focus()
    assert page.evaluate("() => document.activeElement.dataset.testid") == "tweet-link"
    screenshot(page, f"fidelity-tweet-desktop-{locale}")
    assert blocking_violations(page) == [], "tweet"


@pytest.mark.e2e
@pytest.mark.parametrize("locale", LOCALES)
def test_on_a_phone_every_part_fits(seeded: LiveServer, new_page: Any, locale: str) -> None:
    page = new_page(locale=locale, viewport=PHONE)
    adviser_login(page, seeded, office_login(seeded, "port-argent"))
    for name, shot in (
        ("Léa Martin", "multipart"),
        ("Marc Petit", "forwarded"),
        ("Nadia Costa", "tweet"),
        (ARABIC_NAME, "arabic"),
    ):
        open_conversation(page, name)
        message = page.get_by_test_id("message").first
        expect(message).to_be_in_viewport()
        box = message.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert page_scrolls(page) == 0, name
        # Where the reply goes is read whole, not cut with an ellipsis.
        assert page.get_by_test_id("reply-to").evaluate("(n) => n.scrollWidth <= n.clientWidth")
        screenshot(page, f"fidelity-{shot}-phone-{locale}")
    assert direction(page, "[data-testid=message-text]") == "rtl"


@pytest.mark.e2e
def test_the_widget_lays_out_arabic_right_to_left(live: LiveServer, new_page: Any) -> None:
    visitor = new_page(locale="ar")
    widget = open_widget(visitor, live)
    visitor_says(widget, ARABIC_TEXT)
    mine = widget.locator("[data-author=visitor]").last
    assert mine.evaluate("(n) => getComputedStyle(n).direction") == "rtl"
    assert widget.get_by_test_id("widget-input").get_attribute("dir") == "auto"
    adviser = new_page()
    adviser_login(adviser, live, office_login(live, "port-argent"))
    adviser.get_by_test_id("conversation-item").first.click()
    assert direction(adviser, "[data-testid=message-text]") == "rtl"
    adviser.get_by_test_id("reply-text").fill("Oui, à 9 h.")
    adviser.get_by_test_id("reply-text").press("Control+Enter")
    theirs = widget.locator("[data-author=adviser]").last
    expect(theirs).to_contain_text("Oui, à 9 h.")
    assert theirs.evaluate("(n) => getComputedStyle(n).direction") == "ltr"
    screenshot(visitor, "fidelity-widget-arabic")
