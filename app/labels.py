"""Labels: destination-wide names with a colour that advisers put on conversations.

Managers (of an office or of the destination) create, rename, recolour and delete them; anyone
may put one on, or take one off, a conversation they may see. Names are unique per destination
by their folded key (``app.textnorm.key``): "Vélo" and "velo " are one label.

``check_*`` functions validate untrusted input; the others trust it, write, and publish after
the commit (the conversation's ``conversation.changed`` and its activity line).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import activity, repository, textnorm
from app.actions import ActionError, Loaded, check_conversation
from app.models import (
    ERASED,
    Account,
    Activity,
    Conversation,
    ConversationLabel,
    ConversationStatus,
    Label,
    Rule,
    User,
)
from app.moderation import may_manage
from app.services import Services

MAX_NAME = 64
MAX_LABELS = 500  # per destination: a menu, not a tag cloud
MAX_IDS = 200  # per bulk call, as app.bulk
COLOR = re.compile(r"#[0-9a-f]{6}")
# Offered in the "Manage labels" dialog; any other #rrggbb is accepted too.
PALETTE = (
    "#2563eb", "#0891b2", "#059669", "#65a30d", "#ca8a04", "#ea580c",
    "#dc2626", "#db2777", "#9333ea", "#6b7280",
)  # fmt: skip


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    skipped: int = 0


# --- checks -------------------------------------------------------------------------------------


def check_manager(user: User) -> None:
    if not may_manage(user):
        raise ActionError("labels.error.managers_only", 403)


def check_name(name: object) -> tuple[str, str]:
    """The name as stored (trimmed, inner runs of spaces made one) and its unique key."""
    if not isinstance(name, str):
        raise ActionError("labels.error.name_empty")
    if any(
        unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and not ch.isspace() for ch in name
    ):
        # Control characters, lone surrogates, unassigned code points: not a name (tabs and
        # line breaks are spacing, made one space below).
        raise ActionError("labels.error.name_invalid")
    shown = " ".join(name.split())
    key = textnorm.key(shown)
    if not key:  # nothing left once folded: spaces, or only combining marks
        raise ActionError("labels.error.name_empty")
    if len(shown) > MAX_NAME or len(key) > MAX_NAME:  # "ß" folds to "ss": the key grows
        raise ActionError("labels.error.name_too_long")
    return shown, key


def check_color(color: object) -> str:
    """``#rrggbb`` (either case), stored in lower case."""
    if not isinstance(color, str) or not COLOR.fullmatch(color.lower()):
        raise ActionError("labels.error.color")
    return color.lower()


async def check_label(session: AsyncSession, user: User, label_id: int) -> Label:
    """A label of the user's destination; 404 for any other (never reveal it exists)."""
    label = await session.get(Label, label_id)
    if label is None or label.destination_id != user.destination_id:
        raise ActionError("labels.error.not_found", 404)
    return label


async def _check_unique(
    session: AsyncSession, destination_id: int, key: str, but: int | None = None
) -> None:
    query = select(Label.id).where(Label.destination_id == destination_id, Label.key == key)
    if but is not None:
        query = query.where(Label.id != but)
    if (await session.exec(query)).first() is not None:
        raise ActionError("labels.error.duplicate")


# --- reading ------------------------------------------------------------------------------------


async def labels_with_usage(session: AsyncSession, user: User) -> list[tuple[Label, int]]:
    """The destination's labels by name, each with how many conversations the user may see
    carry it (spam left out)."""
    labels = (
        await session.exec(
            select(Label)
            .where(Label.destination_id == user.destination_id)
            .order_by(col(Label.key))
        )
    ).all()
    counted = (
        await session.exec(
            select(ConversationLabel.label_id, func.count())
            .join(Conversation, col(Conversation.id) == ConversationLabel.conversation_id)
            .where(repository.visible_filter(user), col(Conversation.spam).is_(False))
            .group_by(col(ConversationLabel.label_id))
        )
    ).all()
    usage = dict(counted)
    return [(label, int(usage.get(label.id or 0, 0))) for label in labels]


# --- managing the labels ------------------------------------------------------------------------


async def create(services: Services, user: User, name: object, color: object) -> Label:
    """A new label (managers): 422 for an empty, too long or taken name, or a bad colour."""
    check_manager(user)
    shown, key = check_name(name)
    colour = check_color(color)
    async with services.db.session() as session:
        await _check_unique(session, user.destination_id, key)
        count = (
            await session.exec(
                select(func.count())
                .select_from(Label)
                .where(Label.destination_id == user.destination_id)
            )
        ).one()
        if count >= MAX_LABELS:
            raise ActionError("labels.error.too_many")
        label = Label(
            destination_id=user.destination_id,
            name=shown,
            key=key,
            color=colour,
            created_by=user.id,
            created_at=services.clock.now(),
        )
        session.add(label)
        try:
            await session.commit()
        except IntegrityError:  # the same name made at the same moment by someone else
            raise ActionError("labels.error.duplicate") from None
        await session.refresh(label)
    return label


UNSET: object = object()  # a field the request did not send


async def update(
    services: Services, user: User, label_id: int, name: object = UNSET, color: object = UNSET
) -> Label:
    """Renames and/or recolours a label (managers); the open conversations carrying it are
    announced again so their chips change in every inbox."""
    check_manager(user)
    checked_name = check_name(name) if name is not UNSET else None
    colour = check_color(color) if color is not UNSET else None
    async with services.db.session() as session:
        label = await check_label(session, user, label_id)
        if checked_name is not None:
            await _check_unique(session, user.destination_id, checked_name[1], but=label_id)
            label.name, label.key = checked_name
        if colour is not None:
            label.color = colour
        session.add(label)
        try:
            await session.commit()
        except IntegrityError:
            raise ActionError("labels.error.duplicate") from None
        await session.refresh(label)
        carrying = await _open_carrying(session, label_id)
    await _announce(services, carrying)
    return label


async def remove_label(services: Services, user: User, label_id: int) -> int:
    """Deletes a label (managers): taken off every conversation, and out of any keyword rule
    that added it. Returns how many conversations carried it."""
    check_manager(user)
    async with services.db.session() as session:
        await check_label(session, user, label_id)
        carrying = await _open_carrying(session, label_id)
        count = (
            await session.exec(
                select(func.count())
                .select_from(ConversationLabel)
                .where(ConversationLabel.label_id == label_id)
            )
        ).one()
        await session.exec(
            delete(ConversationLabel).where(col(ConversationLabel.label_id) == label_id)
        )
        rules = (await session.exec(select(Rule).where(Rule.label_id == label_id))).all()
        for rule in rules:  # a rule keeps its other effects; its label is gone
            rule.label_id = None
            session.add(rule)
        label = await session.get(Label, label_id)
        await session.delete(label)
        await session.commit()
    await _announce(services, carrying)
    return int(count)


async def _open_carrying(session: AsyncSession, label_id: int) -> list[int]:
    """The open conversations with this label: those on advisers' screens now (resolved ones
    are read again when a list is loaded)."""
    rows = await session.exec(
        select(Conversation.id)
        .join(ConversationLabel, col(ConversationLabel.conversation_id) == Conversation.id)
        .where(
            ConversationLabel.label_id == label_id,
            Conversation.status == ConversationStatus.OPEN,
        )
    )
    return [i for i in rows.all() if i is not None]


async def _announce(services: Services, conversation_ids: Sequence[int]) -> None:
    """``conversation.changed`` for each conversation, read as it is after the commit."""
    for start in range(0, len(conversation_ids), 200):
        async with services.db.session() as session:
            rows = (
                await session.exec(
                    select(Conversation).where(
                        col(Conversation.id).in_(conversation_ids[start : start + 200])
                    )
                )
            ).all()
            accounts = await repository.cached_by_id(session, Account, {c.account_id for c in rows})
            live = await repository.live_visitors(services, rows)
            views = await repository.conversations_out(session, rows, live)
        for conversation, view in zip(rows, views, strict=True):
            await activity.publish_change(
                services, conversation, accounts[conversation.account_id], view
            )


# --- putting labels on conversations ------------------------------------------------------------


def _check_labellable(loaded: Loaded) -> Loaded:
    """An erased conversation is kept for the figures only: its labels stay as they were."""
    if loaded.conversation.thread_key.startswith(ERASED):
        raise ActionError("error.conversation_erased", 409)
    return loaded


async def set_label(
    services: Services, user: User, conversation_id: int, label_id: int, on: bool
) -> tuple[Conversation, bool]:
    """Puts a label on a conversation the user may see (``on``) or takes it off; doing what is
    already so changes nothing and announces nothing. Returns the conversation and whether it
    changed."""
    now = services.clock.now()
    async with services.db.session() as session:
        loaded = _check_labellable(await check_conversation(session, user, conversation_id))
        label = await check_label(session, user, label_id)
        present = await session.get(ConversationLabel, (conversation_id, label_id))
        if (present is not None) == on:
            return loaded.conversation, False
        if on:
            session.add(
                ConversationLabel(
                    conversation_id=conversation_id,
                    label_id=label_id,
                    added_by=user.id,
                    added_at=now,
                )
            )
        else:
            await session.delete(present)
        line: Activity = activity.add(
            session,
            conversation_id,
            "labelled" if on else "unlabelled",
            now,
            actor_id=user.id,
            detail=label.name,
        )
        try:
            await session.commit()
        except IntegrityError:  # put on by someone else at the same moment: already so
            return loaded.conversation, False
        await session.refresh(line)
        conversation = loaded.conversation
        view = await repository.live_view(services, session, conversation)
    await activity.publish_change(services, conversation, loaded.account, view, [line])
    return conversation, True


async def set_label_many(
    services: Services, user: User, ids: Sequence[int], label_id: int, on: bool
) -> BulkResult:
    """The same on many conversations: those the user may not see, erased ones and those
    already so are skipped, untouched (as app.bulk)."""
    if len(ids) > MAX_IDS:
        raise ActionError("error.bulk_too_many")
    async with services.db.session() as session:
        await check_label(session, user, label_id)
    result = BulkResult()
    for conversation_id in dict.fromkeys(ids):  # once each, in the order given
        try:
            _, changed = await set_label(services, user, conversation_id, label_id, on)
        except ActionError:
            result.skipped += 1
            continue
        if changed:
            result.done.append(conversation_id)
        else:
            result.skipped += 1
    return result


# --- demo -----------------------------------------------------------------------------------------

DEMO = (
    # name, colour, words its conversations contain (folded)
    ("Hébergement", "#2563eb", ("chambre", "hotel", "room", "zimmer", "camping")),
    ("Transports", "#ea580c", ("bac", "ferry", "parken", "parking", "bus", "train")),
    ("Événements", "#9333ea", ("phare", "lighthouse", "leuchtturm", "eventos", "markt", "marche")),
    ("Marées", "#0891b2", ("maree", "tide", "plage", "playa", "salt marsh")),
    ("Vélo", "#059669", ("velo", "bike", "fiets", "fahrrad")),
    ("Réclamation", "#dc2626", ("perdu", "lost", "rembourse", "refund")),
)


async def seed_demo(session: AsyncSession, destination_id: int) -> None:
    """The demo's labels, put on the conversations whose visitor asked about them (seven in
    ten, as advisers label); run again, it adds nothing twice."""
    from app.models import Direction, Message  # only the demo reads messages here

    now = (await session.exec(select(func.max(Conversation.created_at)))).one()
    known = {
        label.key: label
        for label in (
            await session.exec(select(Label).where(Label.destination_id == destination_id))
        ).all()
    }
    for name, color, _ in DEMO:
        key = textnorm.key(name)
        if key not in known:
            label = Label(
                destination_id=destination_id,
                name=name,
                key=key,
                color=color,
                created_at=now or _epoch(),
            )
            session.add(label)
            known[key] = label
    await session.flush()
    asked = await session.exec(
        select(Message.conversation_id, Message.text, Conversation.created_at)
        .join(Conversation, col(Conversation.id) == Message.conversation_id)
        .where(
            Conversation.destination_id == destination_id,
            Message.direction == Direction.IN,
            col(Conversation.spam).is_(False),
        )
        .order_by(col(Message.id))
    )
    wanted: dict[tuple[int, int], datetime] = {}
    for conversation_id, text, created_at in asked.all():
        if conversation_id % 10 >= 7:
            continue
        folded = textnorm.fold(text)
        for name, _, words in DEMO:
            if any(word in folded for word in words):
                label_id = known[textnorm.key(name)].id
                assert label_id is not None
                wanted.setdefault((conversation_id, label_id), created_at)
    present = set(
        (
            await session.exec(
                select(ConversationLabel.conversation_id, ConversationLabel.label_id).where(
                    col(ConversationLabel.label_id).in_([x.id for x in known.values()])
                )
            )
        ).all()
    )
    for (conversation_id, label_id), created_at in wanted.items():
        if (conversation_id, label_id) not in present:
            session.add(
                ConversationLabel(
                    conversation_id=conversation_id,
                    label_id=label_id,
                    added_at=created_at,
                )
            )
    await session.commit()


def _epoch() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)
