"""What advisers do to conversations: reply, resolve, reopen, read.

``check_*`` functions validate untrusted input; the others trust it, write, and emit events
after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import (
    activity,
    db,
    message_insert,
    offline_mail,
    orm_reads,
    recovery,
    repository,
    resolution,
    sending,
)
from app.assignment import assign_waiting
from app.events import (
    ConversationChanged,
    ConversationLeft,
    ConversationOut,
    Event,
    MessageCreated,
)
from app.metrics import close_turn
from app.models import (
    ERASED,
    Account,
    AuthorKind,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Destination,
    Direction,
    Message,
    Office,
    RoutingDecision,
    StoredAttachment,
    User,
)
from app.outbox import enqueue, sent_status
from app.preview import preview
from app.routing import lead_of, rota_choice
from app.security import SessionData
from app.services import Services


class ActionError(Exception):
    """A refusal an adviser can read: ``code`` is a translation key (filled with ``params``),
    ``status`` an HTTP code."""

    def __init__(self, code: str, status: int = 422, params: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params or {}


@dataclass(frozen=True, slots=True)
class Loaded:
    conversation: Conversation
    account: Account


# A conversation with its account and destination, in one statement: every action on a
# conversation starts so (a reply's response turn needs the destination's rota).
_WITH_ACCOUNT = (
    select(Conversation, Account, Destination)
    .join(Account, col(Account.id) == Conversation.account_id)
    .join(Destination, col(Destination.id) == Account.destination_id)
    .where(Conversation.id == bindparam("id"))
)


async def check_conversation(session: AsyncSession, user: User, conversation_id: int) -> Loaded:
    """The conversation if ``user`` may see it; 404 otherwise (never reveal it exists). Its
    account and destination are read in the same statement (the destination held for the
    unit's later look-ups), made past the ORM's loading (app.orm_reads)."""
    found = await orm_reads.objects(session, _WITH_ACCOUNT, {"id": conversation_id})
    if not found or not repository.can_see(user, found[0][0]):
        raise ActionError("error.conversation_not_found", 404)
    conversation, account, destination = found[0]
    db.hold(session, destination)
    return Loaded(conversation, account)


def check_writable(loaded: Loaded) -> Loaded:
    """An erased conversation is kept for the figures only: nobody writes to it again."""
    if loaded.conversation.thread_key.startswith(ERASED):
        raise ActionError("error.conversation_erased", 409)
    if loaded.conversation.spam:  # restored first (app.spam), or it would slip back to work
        raise ActionError("moderation.error.spam", 409)
    return loaded


def check_text(text: object, max_chars: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ActionError("error.empty_message")
    if len(text) > max_chars:
        raise ActionError("error.message_too_long")
    return text.strip("\n\r")


async def reply(
    services: Services,
    user: User,
    conversation_id: int,
    text: object,
    client_id: str = "",
    split_thread: bool = False,
    files: Sequence[StoredAttachment] = (),
) -> Message:
    """An adviser's reply: stored, shown live, and queued for its channel's connector.
    ``files`` (checked by app.files) go with it; with files, the text may be empty. A reply
    sent again with the ``client_id`` of one stored in the conversation (a second press, a
    request retried after its answer was lost) is that reply, not sent twice."""
    client_id = client_id[:64]
    try:
        return (
            await _reply(services, user, conversation_id, text, client_id, split_thread, files)
        )[0]
    except IntegrityError:  # the conversation's unique client id (ux_message_reply_client)
        stored = await stored_under(services, user, conversation_id, client_id, Direction.OUT)
        if stored is None:
            raise
        return stored


async def reply_in_session(
    services: Services,
    signed: SessionData,
    conversation_id: int,
    text: object,
    client_id: str = "",
    split_thread: bool = False,
) -> tuple[Message, User]:
    """:func:`reply` by the user of the session ``signed`` (an inbox socket's), with that user.
    The user is read, and the session checked to hold (``repository.session_holder``), in the
    reply's own unit of work rather than in one of their own before it; a session that no
    longer holds is refused 401 (``error.login_required``) and nothing is stored."""
    client_id = client_id[:64]
    try:
        return await _reply(services, signed, conversation_id, text, client_id, split_thread, ())
    except IntegrityError:  # as in reply: the one stored under this client id, by this user
        async with services.db.session(quick=True) as session:
            user = _signed_in(await repository.session_holder(session, signed))
        stored = await stored_under(services, user, conversation_id, client_id, Direction.OUT)
        if stored is None:
            raise
        return stored, user


def _signed_in(user: User | None) -> User:
    if user is None:
        raise ActionError("error.login_required", 401)
    return user


async def stored_under(
    services: Services, user: User, conversation_id: int, client_id: str, direction: Direction
) -> Message | None:
    """The reply or note (``direction``) stored under ``client_id`` in the conversation, by
    ``user`` (409 when by someone else: client ids are the browser's random ones, so never by
    chance)."""
    if not client_id:
        return None
    async with services.db.session() as session:
        stored = (
            await session.exec(
                select(Message).where(
                    Message.conversation_id == conversation_id,
                    Message.direction == direction,
                    Message.client_id == client_id,
                )
            )
        ).first()
    if stored is not None and stored.author_user_id != user.id:
        raise ActionError("error.client_id_taken", 409)
    return stored


async def _reply(
    services: Services,
    who: User | SessionData,
    conversation_id: int,
    text: object,
    client_id: str,
    split_thread: bool,
    files: Sequence[StoredAttachment],
) -> tuple[Message, User]:
    async with services.db.session(quick=True) as session:
        # No read below needs the reply flushed first: one flush, in recovery.hold.
        session.autoflush = False
        if isinstance(who, User):
            user = who
        else:
            user = _signed_in(await repository.session_holder(session, who))
        loaded = check_writable(await check_conversation(session, user, conversation_id))
        if files and not (isinstance(text, str) and text.strip()):
            body = ""
        else:
            body = check_text(text, services.settings.max_message_chars)
        conversation, account = loaded.conversation, loaded.account
        split_thread = await sending.check_sendable(
            services, account, conversation, body, split_thread
        )
        now = services.clock.now()
        queued = offline_mail.queued(account, conversation, AuthorKind.ADVISER)
        message = Message(
            conversation_id=conversation_id,
            account_id=account.id or 0,
            direction=Direction.OUT,
            author_kind=AuthorKind.ADVISER,
            author_user_id=user.id,
            client_id=client_id,
            text=body,
            created_at=now,
            delivery_status=DeliveryStatus.PENDING if queued else DeliveryStatus.SENT,
            split_thread=split_thread,
        )
        await message_insert.add(session, message)
        if files:
            for file in files:
                file.message_id = message.id or 0
                session.add(file)
        compiled = await services.router.schedule(session, account.destination_id)
        await close_turn(session, conversation, account, user, now, compiled)
        # Answered: it stays with its office until the duty in place now ends (app.handover).
        rota = lead_of(compiled, account, now)  # the rota read above: no second read
        conversation.routed_office_id = rota_choice(rota, conversation.office_id)
        if conversation.assignee_id is None:
            conversation.assignee_id = user.id
        lines = []
        if conversation.status == ConversationStatus.RESOLVED:  # answering reopens it
            lines.append(activity.add(session, conversation_id, "reopened", now, actor_id=user.id))
            resolution.on_reopened(conversation)
        conversation.status = ConversationStatus.OPEN
        conversation.waiting_since = None
        conversation.unread = 0
        conversation.last_message_at = now
        conversation.preview = preview(body or " ".join(f.filename for f in files))
        session.add(conversation)
        # Owed until published (and queued): a Redis failure below leaves the reply stored and
        # app.recovery publishes (and queues) it (the adviser gets 201).
        await recovery.hold(session, message, account.destination_id)
        # The live event's line, read once flushed: no second session after the commit.
        view = await repository.conversation_out(session, conversation)
        await session.commit()
    assert message.id is not None
    async with recovery.following(services, message.id):
        view = await repository.with_presence(services, view, conversation, account)
        audience = repository.audience(conversation, account)
        events: list[Event] = [
            MessageCreated(**audience, message=repository.message_out(message, user.name, files)),
            ConversationChanged(**audience, conversation=view),
        ]
        if not queued:  # its outcome, as the outbox says it of the replies it sends
            events.append(sent_status(audience, message.id))
        await services.hub.publish_many(account.destination_id, events)
        await activity.publish(services, conversation, account, lines)
        if queued:
            await enqueue(services, account.destination_id, message.id)
    return message, user


async def set_status(
    services: Services, user: User, conversation_id: int, status: ConversationStatus
) -> Conversation:
    return (await change_status(services, user, conversation_id, status))[0]


async def change_status(
    services: Services,
    user: User,
    conversation_id: int,
    status: ConversationStatus,
    assign: bool = True,
) -> tuple[Conversation, bool]:
    """Resolves or reopens; also says whether anything changed. ``assign`` False leaves the
    assignment pass to the caller (a bulk change runs one per office at the end)."""
    async with services.db.session() as session:
        loaded = check_writable(await check_conversation(session, user, conversation_id))
        conversation, account = loaded.conversation, loaded.account
        if conversation.status == status:
            return conversation, False
        conversation.status = status
        if status == ConversationStatus.RESOLVED:
            conversation.unread = 0
            await resolution.on_resolved(services, session, conversation, user)
        else:
            resolution.on_reopened(conversation)
        session.add(conversation)
        kind = "resolved" if status == ConversationStatus.RESOLVED else "reopened"
        line = activity.add(session, conversation_id, kind, services.clock.now(), actor_id=user.id)
        await session.commit()
        view = await repository.live_view(services, session, conversation)
    await activity.publish_change(services, conversation, account, view, [line])
    if status == ConversationStatus.RESOLVED:
        await resolution.after_resolved(services, conversation)
    if assign:
        # Resolving frees room under the cap; reopening an unassigned one queues it.
        await assign_waiting(services, account.destination_id, conversation.office_id)
    return conversation, True


async def mark_read(
    services: Services, signed: SessionData, conversation_id: int
) -> ConversationOut:
    """Marks the conversation read (its unread count back to 0, announced live) if the signed-in
    user may see it; its line as the browsers see it, read in the same unit of work. ``signed``
    is the session as Redis keeps it: its user is read, and the session checked to still hold,
    in this unit of work (401 when it no longer does)."""
    async with services.db.session(quick=True) as session:
        user = _signed_in(await repository.session_holder(session, signed))
        loaded = await check_conversation(session, user, conversation_id)
        conversation, account = loaded.conversation, loaded.account
        if conversation.unread == 0:
            return await repository.live_view(services, session, conversation)
        conversation.unread = 0
        session.add(conversation)
        await session.commit()
        view = await repository.live_view(services, session, conversation)
    await activity.publish_change(services, conversation, account, view)
    return view


async def take(services: Services, user: User, conversation_id: int) -> Conversation:
    """An adviser picks a conversation from their office's queue (caps don't stop a choice)."""
    async with services.db.session(quick=True) as session:
        loaded = check_writable(await check_conversation(session, user, conversation_id))
        conversation, account = loaded.conversation, loaded.account
        if conversation.assignee_id is not None and conversation.assignee_id != user.id:
            raise ActionError("error.already_assigned", 409)
        if conversation.assignee_id == user.id:
            return conversation
        conversation.assignee_id = user.id
        now = services.clock.now()
        session.add(conversation)
        session.add(
            RoutingDecision(
                conversation_id=conversation_id,
                office_id=conversation.office_id,
                adviser_id=user.id,
                reason="picked",
                at=now,
            )
        )
        line = activity.add(
            session, conversation_id, "picked", now, actor_id=user.id, user_id=user.id
        )
        await session.commit()
        view = await repository.live_view(services, session, conversation)
    await activity.publish_change(services, conversation, account, view, [line])
    return conversation


async def transfer(
    services: Services,
    user: User,
    conversation_id: int,
    office_id: int,
    note: object,
    assign: bool = True,
) -> Conversation:
    """Hands a conversation to another office of the destination, with a note for its advisers.
    It stays there until that office answers it, someone transfers it again, or the duty in
    place now ends and the hand-over moves it (app.handover).

    ``assign`` False leaves the target office's assignment pass to the caller."""
    text = note.strip() if isinstance(note, str) else ""
    if len(text) > services.settings.max_message_chars:
        raise ActionError("error.message_too_long")
    async with services.db.session() as session:
        loaded = check_writable(await check_conversation(session, user, conversation_id))
        conversation, account = loaded.conversation, loaded.account
        target = await session.get(Office, office_id)
        if target is None or target.destination_id != conversation.destination_id:
            raise ActionError("error.unknown_office")
        if target.id == conversation.office_id:
            raise ActionError("error.same_office")
        previous = conversation.office_id
        now = services.clock.now()
        # The transfer stands until the duty in place now ends (app.handover): the rota's
        # choice now is recorded, the office it left if that one is on duty.
        rota = await services.router.lead(session, account, now)
        conversation.routed_office_id = rota_choice(rota, previous)
        conversation.office_id = office_id
        conversation.assignee_id = None
        session.add(conversation)
        session.add(
            RoutingDecision(
                conversation_id=conversation_id,
                office_id=office_id,
                adviser_id=user.id,
                reason="transfer",
                detail=text[:500],
                at=now,
            )
        )
        line = activity.add(
            session,
            conversation_id,
            "transferred",
            now,
            actor_id=user.id,
            office_id=office_id,
            from_office_id=previous,
            detail=text,
        )
        note_message = None
        if text:
            note_message = Message(
                conversation_id=conversation_id,
                account_id=account.id or 0,
                direction=Direction.NOTE,
                author_kind=AuthorKind.ADVISER,
                author_user_id=user.id,
                text=text,
                kind="note",
                created_at=now,
                delivery_status=DeliveryStatus.RECEIVED,
            )
            session.add(note_message)
        await session.commit()
        view = await repository.live_view(services, session, conversation)
    audience = repository.audience(conversation, account)
    if previous != conversation.office_id:  # the office it left may no longer read it
        await services.hub.publish(
            account.destination_id,
            ConversationLeft(conversation_id=conversation_id, office_id=previous),
        )
    if note_message is not None:
        await services.hub.publish(
            account.destination_id,
            MessageCreated(**audience, message=repository.message_out(note_message, user.name)),
        )
    await services.hub.publish(
        account.destination_id, ConversationChanged(**audience, conversation=view)
    )
    await activity.publish(services, conversation, account, [line])
    if assign:
        await assign_waiting(services, account.destination_id, office_id)
    return conversation
