"""Sending a satisfaction survey once its resolution is committed (app.surveys).

- chat: a ``survey`` frame to the visitor's widget, stored in the stream so a widget that
  reconnects still gets it (and ``hello`` carries it while it is pending);
- e-mail, and X direct-message conversations: a system message with the signed link, in the
  visitor's language, through the outbox like any reply (threaded, from the office's mailbox);
- an X public conversation: a direct message with the link only when X says the person accepts
  the account's DMs (``receives_your_dm``); otherwise nothing goes and ``via`` stays "".
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from app import recovery, repository
from app.connector_registry import ConfigurationError, connector_for
from app.events import MessageCreated, VisitorFrame
from app.i18n import gettext
from app.models import (
    Account,
    AuthorKind,
    Contact,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    Survey,
)
from app.outbox import enqueue
from app.services import Services
from app.surveys import frame, link
from connectors.base import Author, Channel, OutboundMessage

log = logging.getLogger(__name__)


@runtime_checkable
class DirectMessages(Protocol):
    """What the X connector tells of a person's DMs, and how it sends one."""

    async def receives_dm(self, user_id: str) -> bool | None: ...

    async def send(self, message: OutboundMessage) -> object: ...


async def send(services: Services, survey_id: int) -> None:
    """Sends the survey by the conversation's channel and records ``via``."""
    async with services.db.session() as session:
        survey = await session.get(Survey, survey_id)
        if survey is None:  # its resolution rolled back
            return
        conversation = await session.get(Conversation, survey.conversation_id)
        account = await session.get(Account, survey.account_id)
        contact = await session.get(Contact, conversation.contact_id) if conversation else None
    if conversation is None or account is None or contact is None:
        return
    if conversation.channel == Channel.WEBCHAT:
        await _record_via(services, survey_id, "widget")
        survey.via = "widget"
        await services.hub.publish(
            account.destination_id,
            VisitorFrame(
                **repository.audience(conversation, account),
                frame={"type": "survey", "survey": frame(survey)},
            ),
        )
    elif conversation.channel == Channel.EMAIL or conversation.thread_key.startswith("dm:"):
        await _by_outbox(services, survey, conversation, account)
    elif conversation.channel == Channel.TWITTER:
        await _by_dm(services, survey, conversation, account, contact)


def text(services: Services, survey: Survey) -> str:
    """The question with its link, in the visitor's language."""
    assert survey.id is not None
    return gettext(
        survey.language,
        "visitor.survey.message",
        link=link(services, survey.id, survey.language),
        days=services.settings.survey_valid_days,
    )


async def _record_via(services: Services, survey_id: int, via: str) -> None:
    async with services.db.session() as session:
        row = await session.get(Survey, survey_id)
        if row is not None:
            row.via = via
            session.add(row)
            await session.commit()


def _system_message(
    survey: Survey, conversation: Conversation, account: Account, body: str, status: str
) -> Message:
    return Message(
        conversation_id=conversation.id or 0,
        account_id=account.id or 0,
        direction=Direction.OUT,
        author_kind=AuthorKind.SYSTEM,
        kind="survey",
        text=body,
        created_at=survey.sent_at,
        delivery_status=DeliveryStatus(status),
    )


async def _by_outbox(
    services: Services, survey: Survey, conversation: Conversation, account: Account
) -> None:
    """A system message in the thread, sent by the outbox (the mail's thread, the DM)."""
    async with services.db.session() as session:
        message = _system_message(
            survey, conversation, account, text(services, survey), DeliveryStatus.PENDING
        )
        session.add(message)
        row = await session.get(Survey, survey.id)
        assert row is not None
        row.via = "x" if conversation.channel == Channel.TWITTER else "email"
        session.add(row)
        await recovery.hold(session, message, account.destination_id)
        await session.commit()
        await session.refresh(message)
    assert message.id is not None
    async with recovery.following(services, message.id):
        await services.hub.publish(
            account.destination_id,
            MessageCreated(
                **repository.audience(conversation, account),
                message=repository.message_out(message),
            ),
        )
        await enqueue(services, account.destination_id, message.id)


async def _by_dm(
    services: Services,
    survey: Survey,
    conversation: Conversation,
    account: Account,
    contact: Contact,
) -> None:
    """A public X conversation: a DM only if the person accepts the account's DMs."""
    try:
        connector = connector_for(services, account)
    except ConfigurationError:
        connector = None
    if not isinstance(connector, DirectMessages) or not contact.external_id.isdigit():
        return
    if await connector.receives_dm(contact.external_id) is not True:
        return  # closed, or unknown: a DM nobody allowed is not sent
    body = text(services, survey)
    outbound = OutboundMessage(
        channel=Channel.TWITTER,
        account=account.key,
        conversation_id=conversation.id or 0,
        message_id=0,
        thread_key=f"dm:{contact.external_id}",
        recipient=Author(contact.external_id, contact.name, contact.handle),
        text=body,
        metadata={"auto": "1"},
    )
    result = await connector.send(outbound)
    if not getattr(result, "ok", False):
        log.info("survey %s: the DM was refused by X", survey.id)
        return
    async with services.db.session() as session:
        message = _system_message(survey, conversation, account, body, DeliveryStatus.SENT)
        session.add(message)
        row = await session.get(Survey, survey.id)
        assert row is not None
        row.via = "x"
        session.add(row)
        await session.commit()
        await session.refresh(message)
    await services.hub.publish(
        account.destination_id,
        MessageCreated(
            **repository.audience(conversation, account),
            message=repository.message_out(message),
        ),
    )
