"""Out-of-hours automatic replies: never to robots, per account and kind of conversation, in the
visitor's language with the manager's own text (app/auto_reply.py), through a real ingest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from app import keys
from app.auto_reply import PolicyError, check_policy, check_text, robot_address
from app.inbox import Inbox
from app.models import Account, AuthorKind, DeliveryStatus, Message
from app.services import Services
from connectors.base import Author, Channel, InboundMessage, MessageKind

TUESDAY_2330 = datetime(2026, 7, 21, 21, 30, tzinfo=UTC)  # 23:30 in Paris; nobody on duty
CHANNELS = {"mail": Channel.EMAIL, "x": Channel.TWITTER, "chat": Channel.WEBCHAT}


def inbound(
    account: str,
    external_id: str,
    author: str,
    *,
    handle: str | None = None,
    thread_key: str = "",
    language: str = "",
    **kw: object,
) -> InboundMessage:
    return InboundMessage(
        channel=CHANNELS[account.split("-")[0]],
        account=account,
        external_id=external_id,
        thread_key=thread_key or external_id,
        author=Author(
            external_id=author.lower(),
            name="",
            handle=author if handle is None else handle,
            language=language,
        ),
        text="Bonjour, avez-vous un plan de la ville ?",
        received_at=TUESDAY_2330,
        **kw,  # type: ignore[arg-type]
    )


async def automatic(services: Services, conversation_id: int) -> list[str]:
    async with services.db.session() as session:
        rows = await session.exec(
            select(Message).where(
                Message.conversation_id == conversation_id,
                Message.author_kind == AuthorKind.SYSTEM,
            )
        )
        return [m.text for m in rows.all()]


async def set_policy(services: Services, key: str, value: str) -> None:
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == key))).one()
        account.auto_reply = value
        session.add(account)
        await session.commit()


@pytest.fixture
async def night(services: Services) -> Services:
    services.clock.set(TUESDAY_2330, frozen=True)
    return services


ROBOTS = [
    ("MAILER-DAEMON@mx.example.org", {}),
    ("mailer-daemon@mx.example.org", {}),
    ("postmaster@hotel-du-port.example", {}),
    ("randonnee-request@lists.example.org", {}),
    ("randonnee-bounces@lists.example.org", {}),
    ("bounces+12345-abc@mailer.example.com", {}),
    ("owner-randonnee@lists.example.org", {}),
    ("noreply@booking.example.com", {}),
    ("no-reply@forms.example.com", {}),
    ("do_not_reply@airline.example", {}),
    ("ne-pas-repondre@impots.example.fr", {}),
    ("", {}),  # "MAILER-DAEMON <>": no address at all
    ("ana@example.org", {"kind": MessageKind.BOUNCE}),
    ("ana@example.org", {"kind": MessageKind.AUTO_REPLY}),
    ("ana@example.org", {"kind": MessageKind.LIST}),
    ("ana@example.org", {"metadata": {"auto_reply": "no"}}),  # no Message-ID
    # The reply would go to the Reply-To: a robot there is a robot.
    ("ana@example.org", {"details": {"reply_to": "noreply@forms.example.com"}}),
]


@pytest.mark.parametrize(("address", "extra"), ROBOTS)
async def test_robots_get_no_automatic_reply(
    night: Services, address: str, extra: dict[str, object]
) -> None:
    result = await Inbox(night).ingest(
        inbound(
            "mail-saint-clair",
            "<r1@example.org>",
            address or "MAILER-DAEMON",
            handle=address,
            **extra,
        )
    )
    assert await automatic(night, result.conversation_id) == []


async def test_people_get_one_on_every_channel_by_default(night: Services) -> None:
    inbox = Inbox(night)
    # A web form's no-reply@ with the visitor in Reply-To is answered (at the visitor).
    for message in (
        inbound("mail-saint-clair", "<p1@example.org>", "ana@example.org"),
        inbound(
            "mail-saint-clair",
            "<p2@example.org>",
            "no-reply@forms.example.com",
            details={"reply_to": "ben@example.org"},
        ),
        inbound("chat-saint-clair", "c1", "visitor-1"),
        inbound("x-port-argent", "d1", "1001", handle="ana_x", thread_key="dm:1001-2002"),
    ):
        result = await inbox.ingest(message)
        assert len(await automatic(night, result.conversation_id)) == 1, message.account
    # The chat's is sent once stored (its live event reaches the visitor); the others are
    # queued for their connectors.
    async with night.db.session() as session:
        stored = await session.exec(
            select(Account.channel, Message.id, Message.delivery_status)
            .join(Account, col(Account.id) == col(Message.account_id))
            .where(Message.author_kind == AuthorKind.SYSTEM)
            .order_by(col(Message.id))
        )
        statuses = [(channel, status) for channel, _, status in stored.all()]
    queued: Any = await night.redis.xrange(keys.outbox(1))
    assert statuses == [
        ("email", DeliveryStatus.PENDING),
        ("email", DeliveryStatus.PENDING),
        ("webchat", DeliveryStatus.SENT),
        ("twitter", DeliveryStatus.PENDING),
    ]
    assert len(queued) == 3


async def test_x_public_mentions_are_off_by_default_and_managers_choose(
    night: Services,
) -> None:
    inbox = Inbox(night)
    public = await inbox.ingest(inbound("x-port-argent", "t1", "1001", thread_key="t1"))
    assert await automatic(night, public.conversation_id) == []
    # The manager turns public mentions on and direct messages off.
    await set_policy(night, "x-port-argent", check_policy(enabled=False, public=True, texts={}))
    public = await inbox.ingest(inbound("x-port-argent", "t2", "1002", thread_key="t2"))
    dm = await inbox.ingest(inbound("x-port-argent", "d2", "1003", thread_key="dm:1003-2002"))
    assert len(await automatic(night, public.conversation_id)) == 1
    assert await automatic(night, dm.conversation_id) == []
    # Chat and e-mail off: nothing.
    off = check_policy(enabled=False, public=False, texts={})
    await set_policy(night, "chat-saint-clair", off)
    await set_policy(night, "mail-saint-clair", off)
    chat = await inbox.ingest(inbound("chat-saint-clair", "c9", "visitor-9"))
    mail = await inbox.ingest(inbound("mail-saint-clair", "<m9@example.org>", "eve@example.org"))
    assert await automatic(night, chat.conversation_id) == []
    assert await automatic(night, mail.conversation_id) == []


async def test_the_managers_text_in_the_visitors_language(night: Services) -> None:
    texts = {
        "fr": "Merci ! {office} vous répondra {when}. À bientôt.",
        "en": "Thanks! {office} will answer you {when}. See you soon.",
    }
    await set_policy(night, "chat-saint-clair", check_policy(True, False, texts))
    inbox = Inbox(night)
    english = await inbox.ingest(inbound("chat-saint-clair", "e1", "v-en", language="en-GB"))
    french = await inbox.ingest(inbound("chat-saint-clair", "f1", "v-fr", language="fr"))
    other = await inbox.ingest(inbound("chat-saint-clair", "g1", "v-de", language="de"))
    (en_text,) = await automatic(night, english.conversation_id)
    (fr_text,) = await automatic(night, french.conversation_id)
    (de_text,) = await automatic(night, other.conversation_id)
    assert en_text.startswith("Thanks! Office de Tourisme de Saint-Clair will answer you ")
    assert en_text.endswith(". See you soon.") and "{" not in en_text
    assert fr_text.startswith("Merci ! Office de Tourisme de Saint-Clair vous répondra ")
    assert de_text == fr_text  # no text in German: the destination's default language
    # A language without its own text gets the catalog's.
    await set_policy(night, "chat-saint-clair", check_policy(True, False, {"fr": texts["fr"]}))
    fallback = await inbox.ingest(inbound("chat-saint-clair", "e2", "v-en2", language="en"))
    (text,) = await automatic(night, fallback.conversation_id)
    assert text.startswith("Thank you for your message! Our advisers are away just now")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Bonjour {name}", "auto_reply.unknown_placeholder"),
        ("Réponse {when!r}", "auto_reply.unknown_placeholder"),
        ("Réponse {when:>30}", "auto_reply.unknown_placeholder"),
        ("{0} répondra", "auto_reply.unknown_placeholder"),
        ("{office.__class__}", "auto_reply.unknown_placeholder"),
        ("{} répondra", "auto_reply.unknown_placeholder"),
        ("Ouvert {when", "auto_reply.bad_braces"),
        ("Ouvert } demain", "auto_reply.bad_braces"),
        ("x" * 501, "auto_reply.too_long"),
    ],
)
def test_a_bad_text_is_refused(text: str, code: str) -> None:
    with pytest.raises(PolicyError) as refused:
        check_policy(True, False, {"en": text})
    assert refused.value.code == code


def test_good_texts_are_kept_as_written() -> None:
    assert (
        check_text("  {office} : réponse {when} {{sic}}  ") == "{office} : réponse {when} {{sic}}"
    )
    assert check_text("") == ""


@pytest.mark.parametrize(
    ("address", "robot"),
    [
        ("MAILER-DAEMON <>", True),
        ("Mail Delivery System <MAILER-DAEMON@example.org>", True),
        ("bbb@ddd.com (John Doe)", False),
        ("Ana <ana@example.org>", False),
        ("nora@example.org", False),
        ("owner@example.org", False),
        ("request@example.org", False),
        ("info-request@lists.example.org", True),
    ],
)
def test_robot_addresses(address: str, robot: bool) -> None:
    assert robot_address(address) is robot


async def test_a_text_stored_unchecked_falls_back_to_the_catalog(night: Services) -> None:
    await set_policy(night, "chat-saint-clair", '{"texts": {"fr": "{office.__class__} {secret}"}}')
    result = await Inbox(night).ingest(inbound("chat-saint-clair", "u1", "v-u", language="fr"))
    (text,) = await automatic(night, result.conversation_id)
    assert text.startswith("Merci pour votre message") and "class" not in text
