"""A chat visitor leaving (or taking back) an address for replies by e-mail, and their name.

``check_*`` validate what the visitor sent; ``leave``/``remove`` write it with an activity line
the adviser sees and publish the conversation's change after the commit.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlmodel.ext.asyncio.session import AsyncSession

from app import activity, repository, visitor_queue
from app.actions import ActionError
from app.models import Account, Activity, Contact, Conversation
from app.offline import mailbox_for, masked
from app.services import Services

MAX_NAME = 200


def check_address(value: str) -> str:
    """A usable e-mail address, normalised (the domain in its ASCII form), or a 422 in the
    visitor's language. No DNS lookup: a visitor waiting is not kept waiting for one."""
    value = value.strip()
    if not value or len(value) > 254 or any(unicodedata.category(c) == "Cc" for c in value):
        raise ActionError("widget.error.bad_email", 422)
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ActionError("widget.error.bad_email", 422) from exc
    if len(checked.local_part) > 64:  # RFC 5321's limit, which the library leaves to servers
        raise ActionError("widget.error.bad_email", 422)
    return checked.ascii_email or checked.normalized


def check_name(value: str) -> str:
    """1 to 200 characters once trimmed, no control or line-separator character."""
    name = value.strip()
    # A line break or another control character is refused, not folded: a name is one line.
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
        raise ActionError("widget.error.bad_name", 422)
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ActionError("widget.error.bad_name", 422)
    return name


@dataclass(frozen=True, slots=True)
class Left:
    """What the widget is told back."""

    email: str  # masked; "" when no reply address is kept
    reply_by_email: bool  # replies will be e-mailed if the visitor has gone
    name: str

    def out(self) -> dict[str, str | bool]:
        return {"email": self.email, "reply_by_email": self.reply_by_email, "name": self.name}


async def _conversation(session: AsyncSession, account: Account, visitor_id: str) -> Conversation:
    conversation = await visitor_queue.conversation_of(session, account, visitor_id)
    if conversation is None or conversation.id is None:
        raise ActionError("widget.error.no_conversation", 409)
    return conversation


async def leave(
    services: Services,
    account: Account,
    visitor_id: str,
    email: str | None,
    name: str | None,
) -> Left:
    """Stores the visitor's address (as the reply address when a mailbox can send from it, and
    on their contact when it had none) and name (on the contact when it had none)."""
    address = check_address(email) if email is not None and email.strip() else ""
    given = check_name(name) if name is not None and name.strip() else ""
    lines: list[Activity] = []
    async with services.db.session() as session:
        conversation = await _conversation(session, account, visitor_id)
        contact = await session.get(Contact, conversation.contact_id)
        assert contact is not None
        mailbox = await mailbox_for(session, account.destination_id, conversation.office_id)
        if address and mailbox is not None and address != conversation.reply_email:
            conversation.reply_email = address
            session.add(conversation)
            lines.append(
                activity.add(session, conversation.id or 0, "reply_address", services.clock.now())
            )
        if address and not contact.email:
            contact.email = address
        if given and not contact.name:
            contact.name = given
        session.add(contact)
        await session.commit()
        view = await repository.live_view(services, session, conversation)
        result = Left(
            masked(conversation.reply_email) if conversation.reply_email else "",
            bool(conversation.reply_email) and mailbox is not None,
            contact.name,
        )
    await activity.publish_change(services, conversation, account, view, lines)
    return result


async def remove(services: Services, account: Account, visitor_id: str) -> Left:
    """Takes the reply address back (and off the contact if it was put there from it)."""
    async with services.db.session() as session:
        conversation = await _conversation(session, account, visitor_id)
        contact = await session.get(Contact, conversation.contact_id)
        assert contact is not None
        lines: list[Activity] = []
        if conversation.reply_email:
            if contact.email == conversation.reply_email:
                contact.email = ""
                session.add(contact)
            conversation.reply_email = ""
            session.add(conversation)
            lines.append(
                activity.add(
                    session, conversation.id or 0, "reply_address_removed", services.clock.now()
                )
            )
            await session.commit()
        view = await repository.live_view(services, session, conversation)
        name = contact.name
    await activity.publish_change(services, conversation, account, view, lines)
    return Left("", False, name)
