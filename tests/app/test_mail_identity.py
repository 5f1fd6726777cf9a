"""Who a message is from and which message it is: no contact shared by senders nobody can
name, duplicate Message-IDs of different mails stored apart, the same mail read again stored
once, and what a channel says of a person (profile, media links) kept."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from app import privacy, repository
from app.inbound_identity import names_nobody
from app.inbox import Inbox
from app.models import Contact, Conversation, Message, Role, StoredAttachment, User
from app.services import Services
from connectors.base import Attachment, Author, Channel, InboundMessage

EIGHT = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)  # 10:00 in Paris: every office is open


def mail(
    message_id: str,
    text: str,
    *,
    sender: str = "ana@example.org",
    name: str = "",
    fingerprint: str | None = None,
    **extra: object,
) -> InboundMessage:
    metadata = {"fingerprint": fingerprint} if fingerprint is not None else {}
    return InboundMessage(
        channel=Channel.EMAIL,
        account="mail-port-argent",
        external_id=message_id,
        thread_key=message_id,
        author=Author(external_id=sender.lower(), name=name, handle=sender),
        text=text,
        received_at=EIGHT,
        metadata=metadata,
        **extra,  # type: ignore[arg-type]
    )


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def all_of(services: Services, model: type) -> list:  # type: ignore[type-arg]
    async with services.db.session() as session:
        return list((await session.exec(select(model).order_by(col(model.id)))).all())


async def manager(services: Services) -> User:
    async with services.db.session() as session:
        found = (
            await session.exec(select(User).where(User.role == Role.DESTINATION_MANAGER))
        ).first()
    assert found is not None
    return found


# Senders of mails without a usable From, as parsers and broken mailers give them.
NOBODY = ["", "unknown", "UNKNOWN", "  ", "<>", "mailer-daemon", "undisclosed-recipients:;",
          "John Doe", "no-reply@forms.example", "MAILER-DAEMON@mx.example",
          "sender@concierge.invalid"]  # fmt: skip


@pytest.mark.parametrize("sender", NOBODY)
def test_placeholder_senders_name_nobody(sender: str) -> None:
    assert names_nobody(Channel.EMAIL, sender)


@pytest.mark.parametrize(
    "channel,sender",
    [
        (Channel.EMAIL, "ana@example.org"),
        (Channel.EMAIL, "noreplyer.fan@example.org"),
        (Channel.EMAIL, "info@port-argent.example"),
        (Channel.TWITTER, "1234567"),
        (Channel.WEBCHAT, "v-3f2a"),
    ],
)
def test_real_senders_name_someone(channel: Channel, sender: str) -> None:
    assert not names_nobody(channel, sender)


async def test_mails_without_a_usable_sender_each_get_their_own_contact(
    services: Services,
) -> None:
    inbox = Inbox(services)
    senders = ["", "unknown", "unknown", "<>", "John Doe", "no-reply@forms.example", "nobody"]
    results = [
        await inbox.ingest(
            mail(f"lost-{n}@mx.example", f"Bonjour, je suis le visiteur {n}.", sender=sender)
        )
        for n, sender in enumerate(senders)
    ]
    conversations = {r.conversation_id for r in results}
    assert len(conversations) == 7
    contacts = await all_of(services, Contact)
    assert len(contacts) == 7 and len({c.external_id for c in contacts}) == 7
    # Read again (a replay, an IMAP re-scan), each finds its own message and contact.
    again = await inbox.ingest(mail("lost-2@mx.example", "Bonjour, je suis le visiteur 2.",
                                    sender="unknown"))  # fmt: skip
    assert not again.created and again.conversation_id == results[2].conversation_id
    assert len(await all_of(services, Contact)) == 7
    # Erasing one of them erases that one's conversation only.
    outcome = await privacy.erase_visitor(
        services, await manager(services), results[1].conversation_id
    )
    assert outcome == {"conversations": 1, "visitor_erased": True}
    texts = {m.conversation_id: m.text for m in await all_of(services, Message)}
    assert texts[results[1].conversation_id] == ""
    assert all(
        texts[r.conversation_id] == f"Bonjour, je suis le visiteur {n}."
        for n, r in enumerate(results)
        if n != 1
    )


async def test_a_follow_up_from_a_real_sender_keeps_one_contact(services: Services) -> None:
    inbox = Inbox(services)
    await inbox.ingest(mail("a@mx.example", "Bonjour", sender="Ana@Example.org"))
    await inbox.ingest(mail("b@mx.example", "Encore moi", sender="ana@example.org"))
    assert len(await all_of(services, Contact)) == 1


async def test_a_different_mail_with_the_same_message_id_is_stored_apart(
    services: Services,
) -> None:
    inbox = Inbox(services)
    shared = "same-id@broken-mailer.example"
    first = await inbox.ingest(mail(shared, "Horaires du phare ?", fingerprint=digest("a")))
    other = await inbox.ingest(
        mail(shared, "Je voudrais réserver un vélo.", sender="bob@example.net",
             fingerprint=digest("b"))
    )  # fmt: skip
    assert other.created and other.message_id != first.message_id
    assert other.conversation_id != first.conversation_id  # a stranger's thread is not joined
    async with services.db.session() as session:
        stored = await session.get(Message, other.message_id)
        shown = await repository.messages_out(session, other.conversation_id)
        conversation = await session.get(Conversation, other.conversation_id)
        contact = await session.get(Contact, conversation.contact_id if conversation else 0)
    assert stored is not None and stored.external_id == f"{shared}#{digest('b')[:12]}"
    assert shown[0].details == {"duplicate_of": shared}  # the digest is the app's, not shown
    assert json.loads(stored.details) == {"duplicate_of": shared, "fingerprint": digest("b")}
    assert contact is not None and contact.external_id == "bob@example.net"
    # Both read again byte for byte (a UIDVALIDITY re-scan): still two messages.
    assert not (
        await inbox.ingest(mail(shared, "Horaires du phare ?", fingerprint=digest("a")))
    ).created
    replay = await inbox.ingest(
        mail(shared, "Je voudrais réserver un vélo.", sender="bob@example.net",
             fingerprint=digest("b"))
    )  # fmt: skip
    assert (replay.message_id, replay.created) == (other.message_id, False)
    assert len(await all_of(services, Message)) == 2


async def test_a_different_mail_whose_references_lead_to_a_thread_joins_it(
    services: Services,
) -> None:
    inbox = Inbox(services)
    start = await inbox.ingest(mail("thread-start@example.org", "Bonjour", fingerprint=digest("s")))
    await inbox.ingest(mail("dup@example.org", "Premier", fingerprint=digest("1")))
    reply = await inbox.ingest(
        mail("dup@example.org", "Suite du fil", fingerprint=digest("2"),
             references=("thread-start@example.org",))
    )  # fmt: skip
    assert reply.created and reply.conversation_id == start.conversation_id


async def test_a_stored_row_without_fingerprint_is_compared_by_its_words(
    services: Services,
) -> None:
    inbox = Inbox(services)
    shared = "legacy@example.org"
    first = await inbox.ingest(mail(shared, "Bonjour,\nle phare ouvre à quelle heure ?"))
    # The same mail read by a newer connector, which now gives a fingerprint: the same one.
    same = await inbox.ingest(
        mail(shared, "Bonjour, le phare ouvre à quelle heure ?", fingerprint=digest("x"))
    )
    assert (same.message_id, same.created) == (first.message_id, False)
    different = await inbox.ingest(mail(shared, "Autre chose", fingerprint=digest("y")))
    assert different.created and different.message_id != first.message_id


async def test_an_erased_mail_read_again_stays_erased_and_so_does_its_twin(
    services: Services,
) -> None:
    inbox = Inbox(services)
    shared = "twice@example.org"
    await inbox.ingest(mail(shared, "Premier", fingerprint=digest("1")))
    twin = await inbox.ingest(
        mail(shared, "Second", sender="bob@example.net", fingerprint=digest("2"))
    )
    await privacy.erase_visitor(services, await manager(services), twin.conversation_id)
    again = await inbox.ingest(
        mail(shared, "Second", sender="bob@example.net", fingerprint=digest("2"))
    )
    assert (again.message_id, again.created) == (twin.message_id, False)
    async with services.db.session() as session:
        stored = await session.get(Message, twin.message_id)
    assert stored is not None and stored.text == "" and stored.external_id.startswith("erased:")
    assert len(await all_of(services, Message)) == 2


async def test_a_profile_and_media_links_are_kept(services: Services) -> None:
    inbox = Inbox(services)
    profile = {"name": "Ana ✈", "username": "ana_voyage", "verified": "1", "followers": "1204"}
    tweet = InboundMessage(
        channel=Channel.TWITTER, account="x-port-argent", external_id="1790000000000000001",
        thread_key="1790000000000000001",
        author=Author(external_id="42", name="Ana ✈", handle="ana_voyage", profile=profile),
        text="@PortArgentOT le phare ?", received_at=EIGHT,
        attachments=(
            Attachment("photo.jpg", "image/jpeg", 0, url="https://pbs.twimg.com/media/a.jpg"),
            Attachment("evil.jpg", "image/jpeg", 0, url="javascript:alert(1)"),
        ),
        details={"url": "https://x.com/ana_voyage/status/1790000000000000001", "lang": "fr"},
        sent_at=EIGHT - timedelta(minutes=2),
    )  # fmt: skip
    result = await inbox.ingest(tweet)
    (contact,) = await all_of(services, Contact)
    assert json.loads(contact.profile) == profile
    # A later tweet without a profile leaves it; a fresher one replaces it.
    later = dataclasses.replace(
        tweet, external_id="1790000000000000002", attachments=(),
        author=Author(external_id="42", name="Ana ✈", handle="ana_voyage"),
    )  # fmt: skip
    await inbox.ingest(later)
    (contact,) = await all_of(services, Contact)
    assert json.loads(contact.profile) == profile
    fresher = {**profile, "followers": "1300"}
    await inbox.ingest(
        dataclasses.replace(
            later, external_id="1790000000000000003",
            author=Author(external_id="42", name="Ana ✈", handle="ana_voyage", profile=fresher),
        )
    )  # fmt: skip
    (contact,) = await all_of(services, Contact)
    assert json.loads(contact.profile) == fresher
    attachments = await all_of(services, StoredAttachment)
    assert [(a.filename, a.stored, a.url) for a in attachments] == [
        ("photo.jpg", False, "https://pbs.twimg.com/media/a.jpg"),
        ("evil.jpg", False, ""),
    ]
    async with services.db.session() as session:
        (view,) = await repository.conversations_out(
            session, [await session.get(Conversation, result.conversation_id)]
        )
        shown = await repository.messages_out(session, result.conversation_id)
        stored = await session.get(Message, result.message_id)
    assert view.contact_profile == fresher
    assert shown[0].details == {"url": "https://x.com/ana_voyage/status/1790000000000000001",
                                "lang": "fr"}  # fmt: skip
    assert shown[0].sent_at == EIGHT - timedelta(minutes=2)
    assert shown[0].attachments[0].url == "https://pbs.twimg.com/media/a.jpg"
    assert stored is not None and '"lang":"fr"' in stored.details  # compact, not escaped


async def test_a_long_fingerprint_still_recognises_the_same_mail(services: Services) -> None:
    inbox = Inbox(services)
    long = "f" * 100 + digest("x") * 2  # longer than what is kept of it
    first = await inbox.ingest(mail("long@example.org", "Bonjour", fingerprint=long))
    again = await inbox.ingest(mail("long@example.org", "Bonjour", fingerprint=long))
    assert (again.message_id, again.created) == (first.message_id, False)
    other = await inbox.ingest(mail("long@example.org", "Autre", fingerprint=digest("y")))
    assert other.created and other.message_id != first.message_id
