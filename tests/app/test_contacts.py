"""Visitor profiles: read per role, merge and unmerge, corrections, suggestions, bad input."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from app import keys
from app.inbox import Inbox
from app.models import (
    Account,
    AuthorKind,
    Contact,
    ContactEvent,
    Conversation,
    ConversationLabel,
    Destination,
    Direction,
    Label,
    Message,
    Office,
)
from app.services import Services
from connectors.base import Author, Channel, InboundMessage
from tests.conftest import LiveServer, login, office_login

EIGHT = datetime(2026, 7, 21, 8, 0, tzinfo=UTC)
_serial = iter(range(1, 10_000))


async def visitor(
    services: Services,
    account_key: str,
    external_id: str,
    *,
    name: str = "",
    handle: str = "",
    email: str = "",
    text: str = "Bonjour",
    subject: str = "",
    profile: dict[str, str] | None = None,
    destination_id: int = 1,
) -> tuple[int, int]:
    """A contact with one conversation on ``account_key`` (and one visitor message):
    (contact id, conversation id)."""
    n = next(_serial)
    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == account_key))).one()
        contact = (
            await session.exec(
                select(Contact).where(
                    Contact.destination_id == destination_id,
                    Contact.channel == account.channel,
                    Contact.external_id == external_id,
                )
            )
        ).first() or Contact(
            destination_id=destination_id, channel=account.channel, external_id=external_id,
            name=name, handle=handle, email=email, created_at=EIGHT,
            profile=json.dumps(profile) if profile else "",
        )  # fmt: skip
        session.add(contact)
        await session.flush()
        conversation = Conversation(
            destination_id=destination_id, account_id=account.id or 0, contact_id=contact.id or 0,
            office_id=account.office_id, channel=account.channel, thread_key=f"t{n}",
            subject=subject, created_at=EIGHT + timedelta(minutes=n),
            last_message_at=EIGHT + timedelta(minutes=n), preview=text[:200],
        )  # fmt: skip
        session.add(conversation)
        await session.flush()
        session.add(
            Message(
                conversation_id=conversation.id or 0, account_id=account.id or 0,
                direction=Direction.IN, author_kind=AuthorKind.VISITOR, external_id=f"m{n}",
                text=text, created_at=EIGHT + timedelta(minutes=n),
            )
        )  # fmt: skip
        await session.commit()
        return contact.id or 0, conversation.id or 0


def adviser(live: LiveServer, office: str) -> Any:
    who = office_login(live, office)
    return login(live.url, who.email, who.password)


def manager(live: LiveServer) -> Any:
    who = next(x for x in live.logins.values() if x.email.startswith("manager@"))
    return login(live.url, who.email, who.password)


async def changed_events(services: Services) -> list[dict[str, Any]]:
    entries: Any = await services.redis.xrange(keys.events(1))
    events = [json.loads(fields[b"e"]) for _, fields in entries]
    return [e for e in events if e["type"] == "conversation.changed"]


async def test_an_office_sees_its_conversations_and_counts_the_others(
    live: LiveServer, services: Services
) -> None:
    ana, here = await visitor(
        services, "mail-port-argent", "ana@example.org", name="Ana Lopes",
        email="ana@example.org", subject="Parking au port", text="Le parking ?",
    )  # fmt: skip
    _, there = await visitor(
        services, "mail-saint-clair", "ana@example.org", subject="Secret de Saint-Clair",
        text="Une question privée pour Saint-Clair",
    )  # fmt: skip
    async with services.db.session() as session:  # a label on Saint-Clair's conversation
        label = Label(destination_id=1, name="Réclamation-SC", key="reclamation-sc",
                      created_at=EIGHT)  # fmt: skip
        session.add(label)
        await session.flush()
        session.add(
            ConversationLabel(conversation_id=there, label_id=label.id or 0, added_at=EIGHT)
        )
        await session.commit()
    with adviser(live, "port-argent") as client:
        profile = client.get(f"/api/contacts/{ana}").json()
    assert profile["id"] == ana and profile["name"] == "Ana Lopes"
    assert profile["emails"] == ["ana@example.org"]
    assert [c["id"] for c in profile["conversations"]] == [here]
    assert profile["other_conversations"] == 1
    raw = json.dumps(profile)
    # Neither its subject, nor its preview, nor its label.
    assert "Saint-Clair" not in raw and "privée" not in raw and "Réclamation" not in raw
    assert profile["first_contact"] == profile["last_contact"] or profile["first_contact"]

    with manager(live) as client:
        everything = client.get(f"/api/contacts/{ana}").json()
    assert [c["id"] for c in everything["conversations"]] == [there, here]  # newest first
    assert everything["other_conversations"] == 0

    with adviser(live, "les-salines") as client:
        client.headers["accept-language"] = "en"
        refused = client.get(f"/api/contacts/{ana}")
        assert refused.status_code == 404
        assert refused.json()["detail"] == "This visitor does not exist or is not yours to see."
        assert client.get("/api/contacts/999999").status_code == 404
        assert client.get(f"/api/contacts/{2**70}").status_code == 422


async def test_merge_and_unmerge_round_trip(live: LiveServer, services: Services) -> None:
    mail, mail_conv = await visitor(
        services, "mail-port-argent", "ana@example.org", name="Ana Lopes", email="ana@example.org"
    )
    chat, chat_conv = await visitor(
        services, "chat-port-argent", "visitor-1", name="Visiteur",
        text="Bonsoir, mon adresse est ANA@Example.org, merci !",
    )  # fmt: skip
    with adviser(live, "port-argent") as client:
        profile = client.get(f"/api/contacts/{chat}").json()
        assert profile["suggestions"] == [
            {"profile_id": mail, "reason": "email", "detail": "ana@example.org",
             "name": "Ana Lopes", "channels": ["email"]}
        ]  # fmt: skip
        assert client.get(f"/api/contacts/{chat}/suggestions").json() == profile["suggestions"]

        merged = client.post(f"/api/contacts/{chat}/merge", json={"other_id": mail})
        assert merged.status_code == 200, merged.text
        body = merged.json()
        assert body["id"] == chat and set(body["contact_ids"]) == {chat, mail}
        assert {c["id"] for c in body["conversations"]} == {chat_conv, mail_conv}
        assert body["suggestions"] == []
        assert body["emails"] == ["ana@example.org"]
        event = body["events"][0]
        assert (event["kind"], event["moved"], event["can_undo"]) == ("merge", [mail], True)
        # Any identity names the profile.
        assert client.get(f"/api/contacts/{mail}").json()["id"] == chat
        changed = await changed_events(services)
        assert {e["conversation"]["id"]: e["conversation"]["profile_id"] for e in changed} == {
            mail_conv: chat
        }

        again = client.post(f"/api/contacts/{chat}/merge", json={"other_id": mail})
        assert again.status_code == 422
        assert again.json()["code"] == "contacts.error.same_profile"

        undone = client.post(f"/api/contacts/{chat}/unmerge", json={"event_id": event["id"]})
        assert undone.status_code == 200, undone.text
        after = undone.json()
        assert after["contact_ids"] == [chat]
        assert after["events"][0]["kind"] == "unmerge"
        assert after["events"][1]["undone_at"] is not None and not after["events"][1]["can_undo"]
        changed = await changed_events(services)
        assert changed[-1]["conversation"]["id"] == mail_conv
        assert changed[-1]["conversation"]["profile_id"] == mail
        twice = client.post(f"/api/contacts/{chat}/unmerge", json={"event_id": event["id"]})
        assert (twice.status_code, twice.json()["code"]) == (422, "contacts.error.already_undone")
        not_merge = client.post(
            f"/api/contacts/{chat}/unmerge", json={"event_id": after["events"][0]["id"]}
        )
        assert (not_merge.status_code, not_merge.json()["code"]) == (
            422,
            "contacts.error.not_a_merge",
        )
        # The merge event is not the mail profile's any more: unknown there.
        elsewhere = client.post(f"/api/contacts/{mail}/unmerge", json={"event_id": event["id"]})
        assert elsewhere.status_code == 404
        assert (
            client.post(f"/api/contacts/{chat}/unmerge", json={"event_id": 10**9}).status_code
            == 404
        )
    async with services.db.session() as session:
        contacts = {c.id: c for c in (await session.exec(select(Contact))).all()}
        assert contacts[mail].merged_into_id is None and contacts[chat].merged_into_id is None


async def test_merging_profiles_keeps_them_flat_and_undoes_only_its_own_merge(
    live: LiveServer, services: Services
) -> None:
    a, _ = await visitor(services, "chat-port-argent", "va", name="A")
    b, _ = await visitor(services, "chat-port-argent", "vb", name="B")
    c, _ = await visitor(services, "chat-port-argent", "vc", name="C")
    with adviser(live, "port-argent") as client:
        first = client.post(f"/api/contacts/{b}/merge", json={"other_id": c}).json()
        second = client.post(f"/api/contacts/{a}/merge", json={"other_id": c}).json()
        assert second["id"] == a and set(second["contact_ids"]) == {a, b, c}
        async with services.db.session() as session:
            rows = {x.id: x.merged_into_id for x in (await session.exec(select(Contact))).all()}
        assert rows[b] == a and rows[c] == a  # never a chain
        merge_bc = first["events"][0]["id"]
        # Undo the first merge (b ← c) from a's profile: c goes back under b, b stays under a.
        after = client.post(f"/api/contacts/{a}/unmerge", json={"event_id": merge_bc}).json()
        assert set(after["contact_ids"]) == {a, b}
        assert client.get(f"/api/contacts/{c}").json()["contact_ids"] == [c]


async def test_bad_merges_are_refused(live: LiveServer, services: Services) -> None:
    ours, _ = await visitor(services, "chat-port-argent", "v-ours", name="Ours")
    salines, _ = await visitor(services, "chat-les-salines", "v-salines", name="Salines")
    async with services.db.session() as session:
        other = Destination(slug="autre", name="Autre", timezone="Europe/Paris")
        session.add(other)
        await session.flush()
        office = Office(destination_id=other.id or 0, slug="o", name="Autre office")
        session.add(office)
        await session.flush()
        session.add(
            Account(destination_id=other.id or 0, office_id=office.id or 0, channel="webchat",
                    key="chat-autre", name="Chat autre")
        )  # fmt: skip
        await session.commit()
        other_id = other.id or 0
    foreign, _ = await visitor(
        services, "chat-autre", "v-foreign", name="Foreign", destination_id=other_id
    )
    with adviser(live, "port-argent") as client:
        client.headers["accept-language"] = "en"
        for target in (salines, foreign, 10**9):
            refused = client.post(f"/api/contacts/{ours}/merge", json={"other_id": target})
            assert refused.status_code == 404, target
        itself = client.post(f"/api/contacts/{ours}/merge", json={"other_id": ours})
        assert (
            itself.status_code == 422
            and itself.json()["detail"] == "These are already one visitor."
        )
        for body in ({"other_id": "x"}, {"other_id": 2**70}, {}, {"other_id": True}, []):
            assert client.post(f"/api/contacts/{ours}/merge", json=body).status_code == 422, body
        assert (
            client.post(
                f"/api/contacts/{ours}/merge",
                json={"other_id": ours},
                headers={"x-csrf-token": "no"},
            ).status_code
            == 403
        )
    async with services.db.session() as session:
        assert (await session.exec(select(ContactEvent))).all() == []
        assert {c.merged_into_id for c in (await session.exec(select(Contact))).all()} == {None}


async def test_corrections_are_recorded_and_bad_values_refused(
    live: LiveServer, services: Services
) -> None:
    ana, conv = await visitor(services, "chat-port-argent", "v-ana", name="Visiteur")
    with adviser(live, "port-argent") as client:
        client.headers["accept-language"] = "en"
        fixed = client.patch(
            f"/api/contacts/{ana}",
            json={"name": "  Ana Lopes ", "email": "Ana@Example.ORG", "language": "PT"},
        )
        assert fixed.status_code == 200, fixed.text
        body = fixed.json()
        assert (body["name"], body["emails"], body["language"]) == (
            "Ana Lopes",
            ["Ana@example.org"],
            "pt",
        )
        history = {e["field"]: (e["old_value"], e["new_value"]) for e in body["events"]}
        assert history == {
            "name": ("Visiteur", "Ana Lopes"),
            "email": ("", "Ana@example.org"),
            "language": ("", "pt"),
        }
        assert {e["actor_name"] for e in body["events"]} == {"Camille Martin"}
        changed = await changed_events(services)
        assert changed[-1]["conversation"]["id"] == conv
        assert changed[-1]["conversation"]["contact_name"] == "Ana Lopes"

        bad = [
            {"name": ""}, {"name": "   "}, {"name": "a" * 201}, {"name": "Ana\nLopes"},
            {"name": "Ana\x00"}, {"name": "A\u2028na"}, {"name": 5}, {"email": "ana"},
            {"email": "ana@localhost"}, {"email": "a@@b.org"}, {"email": "ana lopes@b.org"},
            {"email": "ana@-b.org"}, {"email": "ana@b..org"}, {"email": "ana@1.2.3.4"},
            {"email": "x" * 65 + "@b.org"}, {"email": "ana@b.\norg"}, {"language": "english"},
            {"language": "f"}, {"language": "12"}, {"language": "fr-FR"}, {}, {"phone": "06"},
            {"name": None, "email": None},
        ]  # fmt: skip
        for value in bad:
            refused = client.patch(f"/api/contacts/{ana}", json=value)
            assert refused.status_code == 422, value
            assert isinstance(refused.json()["detail"], str) and refused.json()["detail"]
        assert (
            client.patch(f"/api/contacts/{ana}", json={"name": "X"}, headers={"x-csrf-token": "f"})
        ).status_code == 403
    with adviser(live, "les-salines") as client:
        assert client.patch(f"/api/contacts/{ana}", json={"name": "Pirate"}).status_code == 404
    async with services.db.session() as session:
        contact = await session.get(Contact, ana)
        assert contact is not None
        assert (contact.name, contact.email, contact.language) == (
            "Ana Lopes",
            "Ana@example.org",
            "pt",
        )
        assert len((await session.exec(select(ContactEvent))).all()) == 3


async def test_suggestions_are_strict(live: LiveServer, services: Services) -> None:
    lena_mail, _ = await visitor(
        services, "mail-port-argent", "lena_unterwegs@example.de", name="Léna  Weber"
    )
    lena_x, _ = await visitor(
        services, "x-port-argent", "1001", name="lena weber", handle="@Lena_Unterwegs"
    )
    # Same name, other handle; same handle, other name: strangers.
    await visitor(services, "x-port-argent", "1002", name="Lena Weber", handle="@lena_w")
    await visitor(services, "mail-port-argent", "lena_w@example.org", name="Someone Else")
    # An X profile that gives an address in its description.
    bio_x, _ = await visitor(
        services, "x-port-argent", "1003", name="Piet", handle="@piet",
        profile={"description": "Reiziger. Mail: PIET@example.nl"},
    )  # fmt: skip
    piet_mail, _ = await visitor(services, "mail-port-argent", "piet@example.nl", name="P. Jansen")
    # Addresses inside longer ones, or in an e-mail's own text, are no match.
    chat, _ = await visitor(
        services, "chat-port-argent", "v-lookalike",
        text="Write to xpiet@example.nl or piet@example.nlx, or lena_unterwegs@example.de.uk",
    )  # fmt: skip
    # A known address the adviser may not see (Saint-Clair's only) is never suggested.
    await visitor(services, "mail-saint-clair", "hidden@example.org", name="Hidden")
    hidden_chat, _ = await visitor(
        services, "chat-port-argent", "v-hidden", text="c'est hidden@example.org"
    )
    with adviser(live, "port-argent") as client:

        def offered(contact: int) -> list[tuple[int, str]]:
            rows = client.get(f"/api/contacts/{contact}/suggestions").json()
            return [(s["profile_id"], s["reason"]) for s in rows]

        assert offered(lena_x) == [(lena_mail, "x_name_and_handle")]
        assert offered(lena_mail) == [(lena_x, "x_name_and_handle")]
        assert offered(bio_x) == [(piet_mail, "email")]
        assert offered(chat) == []
        assert offered(hidden_chat) == []
    with manager(live) as client:
        rows = client.get(f"/api/contacts/{hidden_chat}/suggestions").json()
        assert [s["reason"] for s in rows] == ["email"]


async def test_an_email_contact_records_its_address(services: Services) -> None:
    inbox = Inbox(services)
    result = await inbox.ingest(
        InboundMessage(
            channel=Channel.EMAIL, account="mail-port-argent", external_id="<m1@x>",
            thread_key="<m1@x>", author=Author("julia@example.de", "Julia", "julia@example.de"),
            text="Hallo", received_at=EIGHT,
        )
    )  # fmt: skip
    async with services.db.session() as session:
        conversation = await session.get(Conversation, result.conversation_id)
        assert conversation is not None
        contact = await session.get(Contact, conversation.contact_id)
        assert contact is not None and contact.email == "julia@example.de"


async def test_two_merges_at_once_never_make_a_loop(live: LiveServer, services: Services) -> None:
    from app import contact_actions
    from app.actions import ActionError
    from app.models import User

    pairs = [
        (await visitor(services, "chat-port-argent", f"race-{i}-a"))[0:1]
        + (await visitor(services, "chat-port-argent", f"race-{i}-b"))[0:1]
        for i in range(5)
    ]
    async with services.db.session() as session:
        camille = (
            await session.exec(select(User).where(User.email == "camille@port-argent.example"))
        ).one()
    for a, b in pairs:
        results = await asyncio.gather(
            contact_actions.merge(services, camille, a, b),
            contact_actions.merge(services, camille, b, a),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, BaseException)]
        assert all(isinstance(r, ActionError) and r.status in (409, 422) for r in refused), results
        async with services.db.session() as session:
            rows = {c.id: c.merged_into_id for c in (await session.exec(select(Contact))).all()}
        assert [rows[a], rows[b]].count(None) == 1, (rows[a], rows[b])  # one root, no loop


async def test_a_merge_undone_twice_at_once_is_undone_once(
    live: LiveServer, services: Services
) -> None:
    from app import contact_actions
    from app.actions import ActionError
    from app.models import User

    a, _ = await visitor(services, "chat-port-argent", "twice-a")
    b, _ = await visitor(services, "chat-port-argent", "twice-b")
    async with services.db.session() as session:
        camille = (
            await session.exec(select(User).where(User.email == "camille@port-argent.example"))
        ).one()
    event = await contact_actions.merge(services, camille, a, b)
    results = await asyncio.gather(
        contact_actions.unmerge(services, camille, a, event.id or 0),
        contact_actions.unmerge(services, camille, a, event.id or 0),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], ActionError), results
    async with services.db.session() as session:
        kinds = [e.kind for e in (await session.exec(select(ContactEvent))).all()]
    assert kinds == ["merge", "unmerge"]


async def test_a_visitor_pasting_thousands_of_addresses_still_gets_an_answer(
    live: LiveServer, services: Services
) -> None:
    known, _ = await visitor(services, "mail-port-argent", "known@example.org", name="Known")
    chat, conv = await visitor(services, "chat-port-argent", "v-paste", text="Bonjour")
    async with services.db.session() as session:
        for n in range(80):
            junk = " ".join(f"u{n}x{i}@spam{i}.example" for i in range(500))
            session.add(
                Message(
                    conversation_id=conv, account_id=1, direction=Direction.IN,
                    author_kind=AuthorKind.VISITOR, external_id=f"paste-{n}",
                    text=("known@example.org " if n == 79 else "") + junk, created_at=EIGHT,
                )
            )  # fmt: skip
        await session.commit()
    with adviser(live, "port-argent") as client:
        answer = client.get(f"/api/contacts/{chat}/suggestions")
        assert answer.status_code == 200, answer.text
        assert [s["profile_id"] for s in answer.json()] == [known]


async def test_an_erased_identity_stays_erased_and_an_erased_visitor_is_read_only(
    live: LiveServer, services: Services
) -> None:
    root, _ = await visitor(services, "chat-port-argent", "v-root", name="Root")
    gone, _ = await visitor(services, "chat-port-argent", "v-gone", name="Gone")
    with adviser(live, "port-argent") as client:
        assert (
            client.post(f"/api/contacts/{root}/merge", json={"other_id": gone}).status_code == 200
        )
        async with services.db.session() as session:
            contact = await session.get(Contact, gone)
            assert contact is not None
            contact.external_id, contact.name = f"erased:{gone}", ""
            session.add(contact)
            await session.commit()
        fixed = client.patch(f"/api/contacts/{root}", json={"name": "Ana", "language": "es"})
        assert fixed.status_code == 200, fixed.text
        async with services.db.session() as session:
            erased = await session.get(Contact, gone)
            assert erased is not None and (erased.name, erased.language) == ("", "")
        async with services.db.session() as session:
            contact = await session.get(Contact, root)
            assert contact is not None
            contact.external_id = f"erased:{root}"
            session.add(contact)
            await session.commit()
        refused = client.patch(f"/api/contacts/{root}", json={"name": "Back"})
        assert (refused.status_code, refused.json()["code"]) == (409, "contacts.error.erased")


async def test_a_nameless_visitor_takes_the_name_of_their_profile_until_unmerged(
    live: LiveServer, services: Services
) -> None:
    mail, mail_conv = await visitor(
        services, "mail-port-argent", "ines@example.org", name="Inès Martin",
        email="ines@example.org",
    )  # fmt: skip
    chat, chat_conv = await visitor(services, "chat-port-argent", "visitor-nameless")
    other, other_conv = await visitor(services, "chat-port-argent", "visitor-other")
    with adviser(live, "port-argent") as client:

        def name_of(conversation_id: int) -> str:
            detail = client.get(f"/api/conversations/{conversation_id}")
            assert detail.status_code == 200, detail.text
            return str(detail.json()["conversation"]["contact_name"])

        assert name_of(chat_conv) == ""
        # Merged either way round, the anonymous chat reads as the visitor they are.
        merged = client.post(f"/api/contacts/{chat}/merge", json={"other_id": mail})
        assert merged.status_code == 200, merged.text
        assert (name_of(chat_conv), name_of(mail_conv)) == ("Inès Martin", "Inès Martin")
        listed = {c["id"]: c["contact_name"] for c in client.get("/api/conversations").json()}
        assert listed[chat_conv] == "Inès Martin" and listed[other_conv] == ""
        event = merged.json()["events"][0]["id"]
        assert client.post(f"/api/contacts/{chat}/unmerge", json={"event_id": event}).is_success
        assert name_of(chat_conv) == ""

        into_mail = client.post(f"/api/contacts/{mail}/merge", json={"other_id": other})
        assert into_mail.status_code == 200, into_mail.text
        assert name_of(other_conv) == "Inès Martin"
