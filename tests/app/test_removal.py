"""Removing an account or an office added by mistake: only what nothing refers to goes (what
has served visitors stays, disabled), never what the rota names, and an account only once
disabled. On the real database (SQLite and PostgreSQL), with the demo destination."""

from __future__ import annotations

import pytest
from sqlmodel import col, func, select

from app import destinations, removal
from app.destinations import DestinationError
from app.inbox import ClosedAccountError, Inbox
from app.models import Account, Message, Office, Quarantine, WidgetLogo
from app.services import Services
from connectors.base import Author, Channel, InboundMessage

DEMO = "baie-dargent"


async def _refused(work: object, says: str) -> DestinationError:
    with pytest.raises(DestinationError) as refused:
        await work  # type: ignore[misc]
    assert says in refused.value.reason, refused.value.reason
    return refused.value


async def _accounts(services: Services, key: str) -> int:
    async with services.db.session() as session:
        query = select(func.count()).select_from(Account).where(Account.key == key)
        return int((await session.exec(query)).one())


def _chat(key: str, external_id: str, services: Services) -> InboundMessage:
    return InboundMessage(
        channel=Channel.WEBCHAT,
        account=key,
        external_id=external_id,
        thread_key=f"visitor-{external_id}",
        author=Author(external_id=f"visitor-{external_id}", name=""),
        text="Bonjour, le marché est ouvert ?",
        received_at=services.clock.now(),
    )


async def test_a_mistaken_account_goes_once_disabled_with_its_logo_and_its_key_is_free(
    services: Services,
) -> None:
    async with services.db.session() as session:
        account = await destinations.add_account(
            session, "chat-port-argnet", DEMO, "port-argent", "webchat", "Chat (typo)"
        )
        session.add(
            WidgetLogo(
                account_id=account.id or 0,
                content_type="image/png",
                data=b"\x89PNG",
                updated_at=services.clock.now(),
            )
        )
        await session.commit()
        refused = await _refused(
            removal.remove_account(session, "chat-port-argnet"),
            "'chat-port-argnet' is enabled: disable it first",
        )
        assert refused.field == "KEY"
    assert await _accounts(services, "chat-port-argnet") == 1

    async with services.db.session() as session:
        await destinations.set_active(session, "chat-port-argnet", False)
        removed = await removal.remove_account(session, "chat-port-argnet")
    assert (removed.key, removed.name) == ("chat-port-argnet", "Chat (typo)")
    assert await _accounts(services, "chat-port-argnet") == 0
    async with services.db.session() as session:
        assert (await session.exec(select(WidgetLogo))).all() == []
        await _refused(removal.remove_account(session, "chat-port-argnet"), "no account")
        # The key is free again, and nothing of the other accounts went.
        again = await destinations.add_account(
            session, "chat-port-argnet", DEMO, "port-argent", "webchat", "Chat"
        )
        assert again.active
    assert await _accounts(services, "chat-port-argent") == 1

    # A message still on its way from a socket of a removed widget: refused as closed.
    async with services.db.session() as session:
        await destinations.set_active(session, "chat-port-argnet", False)
        await removal.remove_account(session, "chat-port-argnet")
    with pytest.raises(ClosedAccountError):
        await Inbox(services).ingest(_chat("chat-port-argnet", "late-1", services))


async def test_an_account_that_served_visitors_stays_disabled(services: Services) -> None:
    stored = await Inbox(services).ingest(_chat("chat-saint-clair", "v-1", services))
    assert stored.created
    async with services.db.session() as session:
        await destinations.set_active(session, "chat-saint-clair", False)
        refused = await _refused(
            removal.remove_account(session, "chat-saint-clair"), "has served visitors ("
        )
    assert "conversation: 1" in refused.reason and "message: 1" in refused.reason
    assert await _accounts(services, "chat-saint-clair") == 1
    async with services.db.session() as session:
        assert len((await session.exec(select(Message))).all()) == 1


async def test_an_account_with_quarantined_mail_or_named_by_the_rota_stays(
    services: Services,
) -> None:
    async with services.db.session() as session:
        # The demo's mailboxes are not connected (inactive) and have received nothing, but the
        # rota names them: the rota would no longer load without them.
        await _refused(
            removal.remove_account(session, "mail-port-argent"),
            "the rota names 'mail-port-argent': take it out of the rota first",
        )
        mailbox = await destinations.add_account(
            session, "mail-typo", DEMO, "saint-clair", "email", "Boîte (typo)"
        )
        assert not mailbox.active
        session.add(
            Quarantine(
                account_key="mail-typo",
                reason="unreadable",
                raw=b"From: x",
                at=services.clock.now(),
            )
        )
        await session.commit()
        await _refused(removal.remove_account(session, "mail-typo"), "(quarantine: 1)")
    assert await _accounts(services, "mail-typo") == 1


async def test_a_mistaken_office_goes_but_one_in_use_or_in_the_rota_stays(
    services: Services,
) -> None:
    async with services.db.session() as session:
        await destinations.add_office(session, DEMO, "sant-clair", "Office (typo)")
        removed = await removal.remove_office(session, "sant-clair", DEMO)
        assert removed.slug == "sant-clair"
        refused = await _refused(removal.remove_office(session, "port-argent"), "is in use (")
        assert "account: " in refused.reason and "user: " in refused.reason
        assert refused.field == "SLUG"
        # An office the rota names, with nothing else yet: the rota would break without it.
        await destinations.add_office(session, DEMO, "le-phare", "Le Phare")
        destination = await destinations.destination_by_slug(session, DEMO)
        destination.rota_toml += '\n[[offices]]\nid = "le-phare"\nname = "Le Phare"\n'
        session.add(destination)
        await session.commit()
        await _refused(
            removal.remove_office(session, "le-phare"),
            "the rota names 'le-phare': take it out of the rota first",
        )
        await _refused(removal.remove_office(session, "atlantis"), "no office 'atlantis'")
        slugs = (await session.exec(select(Office.slug).order_by(col(Office.id)))).all()
    assert "sant-clair" not in slugs and {"port-argent", "le-phare"} <= set(slugs)
